"""REST APIs: the resource tree, methods, keys and usage plan, validation, the stage, the VPC link, WAF, and redeployment."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.sections.rest_apis import ACCESS_LOG_FORMAT
from conftest import FIXTURES, ivc, read_json

FIXTURE = FIXTURES / "good" / "rest_apis.yaml"
HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
functions:
  forms: {runtime: python3.13, handler: forms.handler, code: "s3:shop-artifacts/forms/1.0.0.zip"}
"""
PREFIX = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiPartners}/*/"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("rest_apis")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    return folder / "restapis"


def template(out: Path, env: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / env / "us-east-1" / f"{stack}.json"))


def resources(out: Path, env: str, stack: str = "app") -> dict[str, Any]:
    return dict(template(out, env, stack)["Resources"])


def of_type(found: dict[str, Any], kind: str) -> dict[str, Any]:
    return {title: r["Properties"] for title, r in found.items() if r["Type"] == f"AWS::ApiGateway::{kind}"}


def _compiled(tmp_path: Path, body: str, name: str = "spec") -> dict[str, Any]:
    """A spec's app stack, compiled and linted through the CLI with --strict."""
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(HEAD + textwrap.dedent(body) + "environments:\n  dev: {}\n")
    result = ivc("compile", spec, "--out", tmp_path / name, "--strict")
    assert result.exit_code == 0, result.output
    return dict(read_json(tmp_path / name / "shop" / "dev" / "us-east-1" / "app.json")["Resources"])


def test_the_routes_paths_make_one_regional_api_and_a_tree_of_resources(out: Path) -> None:
    app = resources(out, "dev")
    api = app["RestApiPartners"]["Properties"]
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert api["ApiKeySourceType"] == "HEADER"
    root = {"Fn::GetAtt": ["RestApiPartners", "RootResourceId"]}
    tree = {title: (r["ParentId"], r["PathPart"]) for title, r in of_type(app, "Resource").items()}
    assert tree == {
        "RestApiPartnersResourceForms": (root, "forms"),
        "RestApiPartnersResourceFormsIdParam": ({"Ref": "RestApiPartnersResourceForms"}, "{id}"),
        "RestApiPartnersResourceUploads": (root, "uploads"),
        "RestApiPartnersResourceProxyAll": (root, "{proxy+}"),
    }


def test_every_method_requires_a_key_and_is_validated_with_what_its_route_requires(out: Path) -> None:
    app = resources(out, "dev")
    methods = of_type(app, "Method")
    assert {title: (m["HttpMethod"], m["ResourceId"]["Ref"]) for title, m in methods.items()} == {
        "RestApiPartnersGetFormsIdParam": ("GET", "RestApiPartnersResourceFormsIdParam"),
        "RestApiPartnersPostUploads": ("POST", "RestApiPartnersResourceUploads"),
        "RestApiPartnersAnyProxyAll": ("ANY", "RestApiPartnersResourceProxyAll"),
    }
    for method in methods.values():
        assert method["ApiKeyRequired"] is True
        assert method["AuthorizationType"] == "NONE"
        assert method["RequestValidatorId"] == {"Ref": "RestApiPartnersValidator"}
    validator = app["RestApiPartnersValidator"]["Properties"]
    assert (validator["ValidateRequestBody"], validator["ValidateRequestParameters"]) == (True, True)
    get, post = methods["RestApiPartnersGetFormsIdParam"], methods["RestApiPartnersPostUploads"]
    assert get["RequestParameters"] == {"method.request.path.id": True, "method.request.querystring.locale": True}
    assert post["RequestParameters"] == {"method.request.header.content-type": True}
    assert post["RequestModels"] == {"application/json": {"Ref": "RestApiPartnersModelPostUploads"}}
    model = app["RestApiPartnersModelPostUploads"]["Properties"]
    assert model["ContentType"] == "application/json"
    schema = json.loads(model["Schema"])  # CloudFormation takes the schema as JSON text
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["required"] == ["name", "size"]
    assert schema["properties"]["size"] == {"type": "integer", "maximum": 104857600}


def test_function_routes_are_lambda_proxies_each_invocable_only_by_this_api_on_its_route(out: Path) -> None:
    app = resources(out, "dev")
    integration = app["RestApiPartnersPostUploads"]["Properties"]["Integration"]
    assert integration["Type"] == "AWS_PROXY"
    assert integration["IntegrationHttpMethod"] == "POST"
    assert integration["Uri"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${FunctionUpload.Arn}/invocations"
    }
    permissions = {title: r["Properties"] for title, r in app.items() if r["Type"] == "AWS::Lambda::Permission" and "RestApi" in title}
    assert {title: (p["FunctionName"], p["SourceArn"]) for title, p in permissions.items()} == {
        "RestApiPartnersPermissionGetFormsIdParam": ({"Ref": "FunctionForms"}, {"Fn::Sub": PREFIX + "GET/forms/*"}),
        "RestApiPartnersPermissionPostUploads": ({"Ref": "FunctionUpload"}, {"Fn::Sub": PREFIX + "POST/uploads"}),
    }
    assert all(p["Principal"] == "apigateway.amazonaws.com" for p in permissions.values())


def test_a_service_route_reaches_the_internal_load_balancer_through_a_vpc_link_to_the_alb_itself(out: Path) -> None:
    app, security = resources(out, "dev"), resources(out, "dev", "security")
    assert app["LoadBalancer"]["Properties"]["Scheme"] == "internal"  # the REST API is the only way in
    integration = app["RestApiPartnersAnyProxyAll"]["Properties"]["Integration"]
    assert integration["Type"] == "HTTP_PROXY"
    assert integration["ConnectionType"] == "VPC_LINK"
    assert integration["ConnectionId"] == {"Ref": "RestApiVpcLink"}
    assert integration["IntegrationTarget"] == {"Ref": "LoadBalancer"}  # an ALB: no Network Load Balancer in between
    # HTTPS to the name the certificate covers; the greedy path passes through as the load balancer's rules expect it.
    assert integration["Uri"] == {"Fn::Join": ["", ["https://", "app.internal.example.com", "/{proxy}"]]}
    assert integration["RequestParameters"] == {"integration.request.path.proxy": "method.request.path.proxy"}
    link = app["RestApiVpcLink"]
    assert link["Type"] == "AWS::ApiGatewayV2::VpcLink"
    assert link["Properties"]["SecurityGroupIds"] == [{"Fn::ImportValue": "restapis-dev-security-ApiLinkSecurityGroup"}]
    assert link["Properties"]["SubnetIds"] == {"Fn::Split": [",", {"Fn::ImportValue": "restapis-dev-network-AppSubnetIds"}]}
    ingress = security["LoadBalancerIngressFromApiVpcLink"]["Properties"]
    assert (ingress["FromPort"], ingress["SourceSecurityGroupId"]) == (443, {"Fn::GetAtt": ["ApiLinkSecurityGroup", "GroupId"]})
    assert not [r for r in security.values() if r["Properties"].get("CidrIp") == "0.0.0.0/0" and r["Type"].endswith("Ingress")]
    assert "ApiVpcLink" not in app  # no HTTP API, no HTTP API link


def test_keys_are_generated_by_api_gateway_and_share_the_usage_plan_of_the_stage(out: Path) -> None:
    dev, prod = resources(out, "dev"), resources(out, "prod")
    keys = of_type(dev, "ApiKey")
    assert {title: k["Enabled"] for title, k in keys.items()} == {"RestApiPartnersKeyPartnerA": True, "RestApiPartnersKeyPartnerB": False}
    assert all("Value" not in k for k in keys.values())  # never a key in a template
    plan_keys = of_type(dev, "UsagePlanKey")
    assert sorted(k["KeyId"]["Ref"] for k in plan_keys.values()) == sorted(keys)
    assert all(k["UsagePlanId"] == {"Ref": "RestApiPartnersUsagePlan"} and k["KeyType"] == "API_KEY" for k in plan_keys.values())
    plan = dev["RestApiPartnersUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "RestApiPartners"}, "Stage": {"Ref": "RestApiPartnersStage"}}]
    assert plan["Throttle"] == {"RateLimit": 50.0, "BurstLimit": 100}
    assert plan["Quota"] == {"Limit": 100000, "Period": "MONTH"}
    prod_plan = prod["RestApiPartnersUsagePlan"]["Properties"]
    assert prod_plan["Throttle"] == {"RateLimit": 200.0, "BurstLimit": 400}
    assert prod_plan["Quota"] == {"Limit": 100000, "Period": "MONTH"}  # maps merge: the quota stays
    outputs = template(out, "dev", "app")["Outputs"]
    assert outputs["RestApiPartnersKeyPartnerAId"]["Value"] == {"Ref": "RestApiPartnersKeyPartnerA"}


def test_the_stage_throttles_traces_caches_nothing_and_logs_each_request_as_json_to_an_encrypted_group(out: Path) -> None:
    dev, prod = resources(out, "dev"), resources(out, "prod")
    stage = dev["RestApiPartnersStage"]["Properties"]
    assert stage["StageName"] == "dev"
    assert stage["DeploymentId"]["Ref"].startswith("RestApiPartnersDeployment")
    assert (stage["TracingEnabled"], prod["RestApiPartnersStage"]["Properties"]["TracingEnabled"]) == (False, True)
    assert stage["CacheClusterEnabled"] is False
    assert stage["MethodSettings"] == [
        {
            "HttpMethod": "*",
            "ResourcePath": "/*",
            "ThrottlingRateLimit": 100.0,
            "ThrottlingBurstLimit": 200,
            "CachingEnabled": False,
            "DataTraceEnabled": False,
            "LoggingLevel": "OFF",
            "MetricsEnabled": False,
        }
    ]
    assert prod["RestApiPartnersStage"]["Properties"]["MethodSettings"][0]["ThrottlingRateLimit"] == 500.0
    logs = stage["AccessLogSetting"]
    assert logs["DestinationArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${RestApiPartnersAccessLogGroup}"
    }
    assert logs["Format"] == ACCESS_LOG_FORMAT
    assert list(json.loads(logs["Format"]))[:2] == ["requestId", "ip"]
    assert {"apiKeyId", "resourcePath", "status", "xrayTraceId"} <= set(json.loads(logs["Format"]))
    group = dev["RestApiPartnersAccessLogGroup"]
    assert group["Properties"]["LogGroupName"] == "/restapis/dev/rest-apis/partners"
    assert group["Properties"]["RetentionInDays"] == 14
    assert group["Properties"]["KmsKeyId"] == {"Fn::ImportValue": "restapis-dev-keys-EnvironmentKeyArn"}
    assert "DeletionPolicy" not in group
    kept = prod["RestApiPartnersAccessLogGroup"]
    assert kept["Properties"]["LogGroupName"] == "/aws/apigateway/partners"
    assert (kept["DeletionPolicy"], kept["UpdateReplacePolicy"]) == ("Retain", "Retain")
    outputs = template(out, "dev", "app")["Outputs"]
    assert outputs["RestApiPartnersId"]["Export"]["Name"] == "restapis-dev-app-RestApiPartnersId"
    assert outputs["RestApiPartnersUrl"]["Value"]["Fn::Join"][1][-1] == {"Ref": "RestApiPartnersStage"}


def test_a_web_acl_protects_the_stage(out: Path) -> None:
    app = resources(out, "dev")
    association = app["FirewallPartnersRestApiPartnersAssociation"]["Properties"]
    assert association["ResourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestApiPartners}/stages/${RestApiPartnersStage}"
    }
    assert association["WebACLArn"] == {"Fn::GetAtt": ["FirewallPartners", "Arn"]}
    assert app["FirewallPartners"]["Properties"]["Scope"] == "REGIONAL"
    assert app["FirewallPartners"]["Properties"]["Description"] == "restapis-dev firewall partners for the REST API partners"


def test_the_deployment_is_new_when_a_route_changes_and_the_same_when_nothing_does(tmp_path: Path) -> None:
    def deployments(name: str, routes: str) -> list[str]:
        app = _compiled(tmp_path, f"rest_apis:\n  public:\n    routes: {routes}\n", name)
        found = [title for title, r in app.items() if r["Type"] == "AWS::ApiGateway::Deployment"]
        assert len(found) == 1
        assert app["RestApiPublicStage"]["Properties"]["DeploymentId"] == {"Ref": found[0]}
        return found

    first = deployments("first", '{"GET /forms/{id}": functions.forms}')
    assert first == deployments("again", '{"GET /forms/{id}": functions.forms}')
    changed = deployments("changed", '{"GET /forms/{id}": functions.forms, "POST /forms": functions.forms}')
    assert changed != first
    assert first[0].removeprefix("RestApiPublicDeployment").isalnum() and len(first[0]) == len("RestApiPublicDeployment") + 10


def test_without_keys_or_validation_nothing_requires_a_key_and_no_validator_is_made(tmp_path: Path) -> None:
    app = _compiled(tmp_path, 'rest_apis:\n  public:\n    routes: {"GET /": functions.forms}\n    validate: none\n    tracing: false\n')
    method = app["RestApiPublicGetRoot"]["Properties"]
    assert method["ApiKeyRequired"] is False
    assert method["ResourceId"] == {"Fn::GetAtt": ["RestApiPublic", "RootResourceId"]}
    assert "RequestValidatorId" not in method
    assert not [r for r in app.values() if r["Type"] in ("AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey")]
    assert app["RestApiPublicPermissionGetRoot"]["Properties"]["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${RestApiPublic}/*/GET/"
    }


def test_a_load_balancer_also_reached_otherwise_stays_internet_facing_and_the_api_reaches_it_by_name(tmp_path: Path) -> None:
    # services.admin has a route but no API route to it: the load balancer's own name is a way in, so it stays public.
    app = _compiled(
        tmp_path,
        """\
        services:
          web: {image: nginx, port: 80, route: {path: /}}
          admin: {image: nginx, port: 81, route: {path: /admin/*}}
        rest_apis:
          public:
            routes: {"GET /items/{id}": services.web}
        """,
    )
    assert app["LoadBalancer"]["Properties"]["Scheme"] == "internet-facing"
    assert "RestApiVpcLink" not in app
    integration = app["RestApiPublicGetItemsIdParam"]["Properties"]["Integration"]
    assert "ConnectionType" not in integration
    assert integration["Uri"] == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}, "/items/{id}"]]}
    assert integration["RequestParameters"] == {"integration.request.path.id": "method.request.path.id"}


def test_a_load_balancer_behind_the_cdn_cannot_be_a_rest_api_target(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n"
        + "cdn: {default: {origin: services.web}}\n"
        + "rest_apis:\n  public:\n    routes: {'GET /{proxy+}': services.web}\n"
        + "environments:\n  dev: {}\n"
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{spec}:12:31: error: rest_apis.public routes 'GET /{{proxy+}}' to services.web, but the load balancer is the cdn's origin "
        "and admits only CloudFront (with its secret header); route to a function, or give the cdn a path to the service instead "
        "of this route"
    ]
