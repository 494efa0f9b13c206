"""HTTP APIs: routes to services and functions, CORS, throttling, access logs, and an API as a CDN origin."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.context import Context
from compiler.sections import BY_NAME
from compiler.sections.apis import ACCESS_LOG_FORMAT, parse_route
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, read_json

FIXTURE = FIXTURES / "good" / "apis.yaml"
HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("apis")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    return folder / "apis"


def resources(out: Path, env: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / env / "eu-west-1" / f"{stack}.json")["Resources"])


def test_the_api_allows_exactly_the_written_origins_and_the_routes_methods(out: Path) -> None:
    api = resources(out, "dev", "app")["ApiPublic"]
    assert api["Type"] == "AWS::ApiGatewayV2::Api"
    assert api["Properties"]["ProtocolType"] == "HTTP"
    assert api["Properties"]["CorsConfiguration"] == {
        "AllowOrigins": ["https://app.example.com", "http://localhost:3000"],
        "AllowMethods": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],  # an ANY route answers all
        "AllowHeaders": ["authorization", "content-type"],
        "AllowCredentials": True,
        "MaxAge": 600,
    }
    assert api["Properties"]["Tags"]["System"] == "apis"


def test_the_stage_throttles_and_logs_every_request_as_json(out: Path) -> None:
    dev, prod = resources(out, "dev", "app"), resources(out, "prod", "app")
    stage = dev["ApiPublicStage"]["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 50.0, "ThrottlingBurstLimit": 100}
    assert prod["ApiPublicStage"]["Properties"]["DefaultRouteSettings"] == {"ThrottlingRateLimit": 500.0, "ThrottlingBurstLimit": 1000}
    logs = stage["AccessLogSettings"]
    assert logs["DestinationArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${ApiPublicAccessLogGroup}"
    }
    assert logs["Format"] == ACCESS_LOG_FORMAT
    assert list(json.loads(logs["Format"])) == [
        "requestId",
        "ip",
        "requestTime",
        "httpMethod",
        "routeKey",
        "status",
        "protocol",
        "responseLength",
        "integrationError",
        "latency",
    ]


def test_the_access_log_group_is_named_retained_and_encrypted(out: Path) -> None:
    dev = resources(out, "dev", "app")["ApiPublicAccessLogGroup"]["Properties"]
    prod = resources(out, "prod", "app")["ApiPublicAccessLogGroup"]["Properties"]
    assert dev["LogGroupName"] == "/apis/dev/apis/public"
    assert prod["LogGroupName"] == "/aws/apigateway/prod"
    assert dev["RetentionInDays"] == prod["RetentionInDays"] == 14
    assert prod["KmsKeyId"] == {"Fn::ImportValue": "apis-prod-keys-EnvironmentKeyArn"}
    # The environment key lets CloudWatch Logs encrypt the name the spec chose, and only in the environment that chose it.
    key = {env: json.dumps(resources(out, env, "keys")["EnvironmentKey"]) for env in ("dev", "prod")}
    assert "log-group:/aws/apigateway/prod" in key["prod"]
    assert "/aws/apigateway" not in key["dev"]


def test_service_routes_reach_the_internal_load_balancer_through_a_vpc_link_over_https_keeping_the_path(out: Path) -> None:
    app = resources(out, "dev", "app")
    integration = app["ApiPublicRouteAnyApiProxyAllIntegration"]["Properties"]
    assert integration["IntegrationType"] == "HTTP_PROXY"
    assert integration["IntegrationMethod"] == "ANY"
    assert integration["PayloadFormatVersion"] == "1.0"
    # The APIs are the only way into the services: a private integration to the HTTPS listener, verifying the name.
    assert (integration["ConnectionType"], integration["ConnectionId"]) == ("VPC_LINK", {"Ref": "ApiVpcLink"})
    assert integration["IntegrationUri"] == {"Ref": "LoadBalancerHttpsListener"}
    assert integration["TlsConfig"] == {"ServerNameToVerify": "origin.example.com"}
    assert integration["RequestParameters"] == {"overwrite:path": "$request.path"}
    link = app["ApiVpcLink"]["Properties"]
    assert link["SubnetIds"] == app["LoadBalancer"]["Properties"]["Subnets"]  # the app tier's private subnets
    assert link["SecurityGroupIds"] == [{"Fn::ImportValue": "apis-dev-security-ApiLinkSecurityGroup"}]
    balancer = app["LoadBalancer"]["Properties"]
    assert balancer["Scheme"] == "internal"
    assert balancer["Subnets"] == {"Fn::Split": [",", {"Fn::ImportValue": "apis-dev-network-AppSubnetIds"}]}
    assert [i for i, r in app.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"] == ["LoadBalancerHttpsListener"]
    # The load balancer's group admits the VPC link's group on 443, and nothing else.
    security = resources(out, "dev", "security")
    admitted = [
        r["Properties"]
        for r in security.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    ]
    assert [(a["FromPort"], a["SourceSecurityGroupId"]) for a in admitted] == [(443, {"Fn::GetAtt": ["ApiLinkSecurityGroup", "GroupId"]})]
    route = app["ApiPublicRouteAnyApiProxyAll"]["Properties"]
    assert route["RouteKey"] == "ANY /api/{proxy+}"
    assert route["Target"] == {"Fn::Join": ["/", ["integrations", {"Ref": "ApiPublicRouteAnyApiProxyAllIntegration"}]]}
    outputs = read_json(out / "dev" / "eu-west-1" / "app.json")["Outputs"]
    assert outputs["ApiPublicEndpoint"]["Value"] == {"Fn::GetAtt": ["ApiPublic", "ApiEndpoint"]}
    assert outputs["ApiPublicEndpoint"]["Export"] == {"Name": "apis-dev-app-ApiPublicEndpoint"}
    assert outputs["ApiPublicId"]["Export"] == {"Name": "apis-dev-app-ApiPublicId"}


def test_an_api_is_a_cdn_origin_over_https_caching_nothing_unless_told(out: Path) -> None:
    edge = resources(out, "dev", "edge")
    config = edge["Distribution"]["Properties"]["DistributionConfig"]
    origin = next(o for o in config["Origins"] if o["Id"] == "api-public")
    assert origin["DomainName"] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Fn::ImportValue": "apis-dev-app-ApiPublicEndpoint"}]}]}
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "api-public"
    policy = edge["CachePolicyDefault"]["Properties"]["CachePolicyConfig"]
    assert (policy["DefaultTTL"], policy["MaxTTL"]) == (0, 1)
    assert policy["ParametersInCacheKeyAndForwardedToOrigin"]["HeadersConfig"] == {
        "HeaderBehavior": "whitelist",
        "Headers": ["Authorization"],
    }
    # The bucket behavior keeps its day-long default.
    assert edge["CachePolicyStatic"]["Properties"]["CachePolicyConfig"]["DefaultTTL"] == 86400
    manifest = read_json(out / "dev" / "manifest.json")
    waves = {stack["name"]: stack["wave"] for stack in manifest["stacks"]}
    assert waves["edge"] > waves["app"]
    edge_imports = next(stack["imports"] for stack in manifest["stacks"] if stack["name"] == "edge")
    assert "apis-dev-app-ApiPublicEndpoint" in edge_imports


def _built(tmp_path: Path, body: str) -> dict[str, Any]:
    """The apis section's resources for a spec, built alone: the builder is pure, so functions need not build."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + textwrap.dedent(body) + "environments:\n  dev: {}\n")
    environment = load_and_validate(spec_file)[0]
    spec = environment.spec
    ctx = Context("shop", "dev", "us-east-1", "primary", (), spec)
    fragment = BY_NAME["apis"].builds(spec, ctx)
    return {resource.title: resource.to_dict() for resource in fragment.resources}


needs_functions = pytest.mark.skipif("functions" not in BY_NAME, reason="the functions section is not in this tree")


@needs_functions
def test_function_routes_are_lambda_proxies_each_invocable_only_by_its_own_route(tmp_path: Path) -> None:
    built = _built(
        tmp_path,
        """\
        functions:
          api: {runtime: python3.13, handler: app.handler, code: "s3:shop-artifacts/api/1.0.0.zip"}
        apis:
          public:
            routes:
              "GET /items/{id}": functions.api
              "POST /items": functions.api
              "ANY /{proxy+}": functions.api
        """,
    )
    integrations = [title for title, r in built.items() if r["Type"] == "AWS::ApiGatewayV2::Integration"]
    assert integrations == ["ApiPublicFunctionApiIntegration"]  # one per function, shared by its routes
    integration = built["ApiPublicFunctionApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["FunctionApi", "Arn"]}
    prefix = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ApiPublic}/*/"
    permissions = {title: r["Properties"] for title, r in built.items() if r["Type"] == "AWS::Lambda::Permission"}
    assert {title: p["SourceArn"] for title, p in permissions.items()} == {
        "ApiPublicRouteGetItemsIdParamPermission": {"Fn::Sub": prefix + "GET/items/*"},
        "ApiPublicRoutePostItemsPermission": {"Fn::Sub": prefix + "POST/items"},
        "ApiPublicRouteAnyProxyAllPermission": {"Fn::Sub": prefix + "*/*"},
    }
    for permission in permissions.values():
        assert permission["FunctionName"] == {"Ref": "FunctionApi"}
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"


def test_secure_defaults_no_cors_unless_written_and_explicit_throttling(tmp_path: Path) -> None:
    built = _built(
        tmp_path,
        """\
        services:
          web: {image: nginx, port: 80, route: {path: /}}
        apis:
          plain:
            routes: {"GET /{proxy+}": services.web}
          open:
            routes: {"GET /{proxy+}": services.web, "POST /forms": services.web}
            cors: {origins: ["*"]}
        """,
    )
    assert "CorsConfiguration" not in built["ApiPlain"]["Properties"]
    assert built["ApiPlainStage"]["Properties"]["DefaultRouteSettings"] == {"ThrottlingRateLimit": 100.0, "ThrottlingBurstLimit": 200}
    assert built["ApiOpen"]["Properties"]["CorsConfiguration"] == {
        "AllowOrigins": ["*"],
        "AllowMethods": ["GET", "POST"],
        "AllowHeaders": ["content-type"],
        "AllowCredentials": False,
        "MaxAge": 600,
    }
    # Without a certificate the internal load balancer listens on HTTP only, inside the VPC.
    integration = built["ApiPlainRouteGetProxyAllIntegration"]["Properties"]
    assert integration["IntegrationUri"] == {"Ref": "LoadBalancerHttpListener"}
    assert "TlsConfig" not in integration


def test_a_load_balancer_also_reached_otherwise_stays_internet_facing_and_the_api_reaches_it_by_name(tmp_path: Path) -> None:
    # services.admin has a route but no API route to it: the load balancer's own name is a way in, so it stays public.
    built = _built(
        tmp_path,
        """        services:
          web: {image: nginx, port: 80, route: {path: /}}
          admin: {image: nginx, port: 81, route: {path: /admin/*}}
        apis:
          plain:
            routes: {"GET /{proxy+}": services.web}
        """,
    )
    assert "ApiVpcLink" not in built
    uri = built["ApiPlainRouteGetProxyAllIntegration"]["Properties"]["IntegrationUri"]
    assert uri == {"Fn::Join": ["", ["http://", {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}, "/{proxy}"]]}


def test_an_api_verifies_a_name_on_the_internal_load_balancers_certificate_arn_only_when_told_which(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "load_balancer: {certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-1}\n"
        + "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n"
        + "apis:\n  public:\n    routes: {'GET /{proxy+}': services.web}\n"
        + "environments:\n  dev: {}\n"
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].endswith(
        "error: the load balancer is reached only through HTTP APIs, which reach it inside the VPC over HTTPS and verify a "
        "name its certificate covers; name it in load_balancer.server_name, or use certificates.<name> of this spec"
    )


def test_an_api_origin_caches_when_its_ttl_says_so(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n"
        + "apis:\n  public:\n    routes: {'GET /{proxy+}': services.web}\n"
        + "cdn:\n  default: {origin: apis.public, ttl: 300}\n"
        + "environments:\n  dev: {}\n"
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    edge = read_json(tmp_path / "out" / "shop" / "dev" / "us-east-1" / "edge.json")["Resources"]
    assert edge["CachePolicyDefault"]["Properties"]["CachePolicyConfig"]["DefaultTTL"] == 300
    origin = edge["Distribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["Id"] == "api-public"


def test_a_problem_in_the_template_is_told_at_the_route_line(tmp_path: Path) -> None:
    # Two routes whose logical IDs would clash are refused at the second route's own line.
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n"
        + "apis:\n  public:\n    routes:\n      'GET /a-b': services.web\n      'GET /a_b': services.web\n"
        + "environments:\n  dev: {}\n"
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert (
        f"{spec}:11:7: error: apis.public.routes.GET /a_b and apis.public.routes.GET /a-b would both make the resource "
        "ApiPublicRouteGetABIntegration; rename one of them"
    ) in result.stderr


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("GET /", ("GET", "/")),
        ("ANY /{proxy+}", ("ANY", "/{proxy+}")),
        ("DELETE /users/{user_id}/tokens/{token}", ("DELETE", "/users/{user_id}/tokens/{token}")),
        ("PATCH /v1/items.json", ("PATCH", "/v1/items.json")),
    ],
)
def test_valid_route_keys(key: str, parsed: tuple[str, str]) -> None:
    assert parse_route(key) == parsed


@needs_functions
def test_a_function_behind_an_api_compiles_lint_clean_in_one_stack(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "functions:\n  api: {runtime: python3.13, handler: app.handler, code: 's3:shop-artifacts/api/1.0.0.zip'}\n"
        + "apis:\n  public:\n    routes: {'ANY /{proxy+}': functions.api}\n    log_group: /aws/apigateway/dev\n"
        + "environments:\n  dev: {}\n"
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    app = read_json(tmp_path / "out" / "shop" / "dev" / "us-east-1" / "app.json")["Resources"]
    assert app["FunctionApi"]["Type"] == "AWS::Lambda::Function"
    assert app["ApiPublicRouteAnyProxyAllPermission"]["Properties"]["FunctionName"] == {"Ref": "FunctionApi"}
    assert app["ApiPublicAccessLogGroup"]["Properties"]["LogGroupName"] == "/aws/apigateway/dev"
