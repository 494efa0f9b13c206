"""The front door, secure by default: access logs of the load balancer and the CDN, deletion protection in protected
environments, a load balancer behind CloudFront that admits only CloudFront, and one reached only through an HTTP API
that is internal."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import ivc, props, read_json

HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
services:
  web: {image: nginx, port: 80, route: {path: /}}
"""
CDN = """\
buckets:
  static: {}
cdn:
  default: {origin: services.web}
  paths: {"/static/*": {origin: buckets.static}}
"""


def compile_spec(folder: Path, body: str, environments: str = "dev: {}", head: str = HEAD) -> dict[str, dict[str, Any]]:
    """Every template of the first environment, compiled and linted through the CLI (warnings fail it)."""
    spec = folder / "spec.yaml"
    spec.write_text(head + textwrap.dedent(body) + "environments:\n  " + environments + "\n")
    result = ivc("compile", spec, "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    environment = environments.split(":", 1)[0]
    return {p.stem: read_json(p) for p in (folder / "out" / "shop" / environment / "us-east-1").glob("*.json")}


def errors(folder: Path, body: str, primary: str = "us-east-1", head: str = HEAD) -> list[str]:
    spec = folder / "spec.yaml"
    spec.write_text(head.replace("us-east-1", primary) + textwrap.dedent(body) + "environments:\n  dev: {}\n")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec)
    return [d.render().split(":", 1)[1] for d in exc.value.diagnostics]


def attributes(app: dict[str, Any]) -> dict[str, Any]:
    return {a["Key"]: a["Value"] for a in props(app, "LoadBalancer")["LoadBalancerAttributes"]}


# --- 1. access logs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def behind_cdn(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return compile_spec(tmp_path_factory.mktemp("behind-cdn"), CDN)


def test_the_load_balancer_logs_every_request_to_the_environments_log_bucket(behind_cdn: dict[str, dict[str, Any]]) -> None:
    logged = attributes(behind_cdn["app"])
    assert logged["access_logs.s3.enabled"] == "true"
    assert logged["access_logs.s3.bucket"] == {"Fn::ImportValue": "shop-dev-data-AccessLogsBucketName"}
    assert logged["access_logs.s3.prefix"] == "load-balancer"
    # The bucket admits ELB's delivery account for us-east-1 exactly under that prefix, in this account.
    policy = props(behind_cdn["data"], "AccessLogsBucketPolicy")["PolicyDocument"]["Statement"]
    delivery = next(s for s in policy if s["Sid"] == "LoadBalancerAccessLogsDelivery")
    assert delivery["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::127311923021:root"}}
    assert delivery["Resource"] == [
        {"Fn::Join": ["", [{"Fn::GetAtt": ["AccessLogsBucket", "Arn"]}, "/load-balancer/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"]]}
    ]


def test_cloudfront_writes_standard_logs_without_cookies_to_a_bucket_that_takes_its_acl_grants(
    behind_cdn: dict[str, dict[str, Any]],
) -> None:
    config = props(behind_cdn["edge"], "Distribution")["DistributionConfig"]
    assert config["Logging"] == {
        "Bucket": {"Fn::ImportValue": "shop-dev-data-AccessLogsBucketDomainName"},
        "Prefix": "cdn/",
        "IncludeCookies": False,
    }
    bucket = props(behind_cdn["data"], "AccessLogsBucket")
    # Legacy standard logging writes through an ACL grant: ACLs must stay enabled; the owner still owns each log.
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    # Both ELB and CloudFront deliver only to SSE-S3 buckets, never SSE-KMS.
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    outputs = behind_cdn["data"]["Outputs"]
    assert outputs["AccessLogsBucketDomainName"]["Value"] == {"Fn::GetAtt": ["AccessLogsBucket", "DomainName"]}


def test_without_a_cdn_the_log_bucket_keeps_acls_off(tmp_path: Path) -> None:
    templates = compile_spec(tmp_path, "")
    bucket = props(templates["data"], "AccessLogsBucket")
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "AccessLogsBucketDomainName" not in templates["data"]["Outputs"]
    assert attributes(templates["app"])["access_logs.s3.enabled"] == "true"


def test_a_cdn_in_a_region_cloudfront_cannot_log_to_is_refused_at_the_primary_region(tmp_path: Path) -> None:
    assert errors(tmp_path, CDN, "eu-south-1") == [
        "3:20: error: the cdn logs to the environment's log bucket in the primary region, and CloudFront delivers no "
        "standard logs to eu-south-1; choose another primary region for a spec with a cdn"
    ]


# --- 2. deletion protection -----------------------------------------------------------------------


def test_a_protected_environments_load_balancer_refuses_deletion_unless_the_spec_turns_it_off(tmp_path: Path) -> None:
    body = "deploy: {protected: false}\n"
    environments = (
        "prod: {}\n  staging: {deploy: {protected: true}}\n  dev: {}\n"
        "  lab: {load_balancer: {deletion_protection: false}, deploy: {protected: true}}"
    )
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body + "environments:\n  " + environments + "\n")
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output

    def protection(environment: str) -> str:
        app = read_json(tmp_path / "out" / "shop" / environment / "us-east-1" / "app.json")
        return str(attributes(app)["deletion_protection.enabled"])

    assert {e: protection(e) for e in ("prod", "staging", "dev", "lab")} == {
        "prod": "true",  # always protected by its name
        "staging": "true",  # deploy.protected
        "dev": "false",
        "lab": "false",  # protected, and the spec turns it off explicitly
    }


# --- 3. a load balancer behind CloudFront admits only CloudFront --------------------------------------------------

CERTIFICATE = "load_balancer: {certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123}\n"
SECRET = {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Fn::ImportValue": "shop-dev-data-CdnOriginSecretArn"}, ":SecretString}}"]]}


@pytest.fixture(scope="module")
def behind_cdn_https(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return compile_spec(tmp_path_factory.mktemp("behind-cdn-https"), CERTIFICATE + CDN)


def ingress(security: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in security["Resources"].items()
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress"
        and resource["Properties"]["GroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    }


@pytest.mark.parametrize(("https", "port"), [(False, 80), (True, 443)])
def test_the_load_balancer_admits_only_cloudfronts_prefix_list_on_the_one_port_cloudfront_uses(
    behind_cdn: dict[str, dict[str, Any]], behind_cdn_https: dict[str, dict[str, Any]], https: bool, port: int
) -> None:
    security = (behind_cdn_https if https else behind_cdn)["security"]
    [(logical_id, rule)] = ingress(security).items()  # nothing from 0.0.0.0/0, and one port only
    assert logical_id == f"LoadBalancerIngressCloudFront{'HTTPS' if https else 'HTTP'}"
    assert rule["Properties"]["SourcePrefixListId"] == {"Ref": "CloudFrontOriginPrefixList"}
    assert (rule["Properties"]["FromPort"], rule["Properties"]["ToPort"]) == (port, port)
    assert "CidrIp" not in rule["Properties"]
    # The prefix list's ID depends on the region: a parameter without a default, which the rule says ivc deploy supplies.
    parameter = security["Parameters"]["CloudFrontOriginPrefixList"]
    assert "Default" not in parameter and parameter["AllowedPattern"] == "^pl-[0-9a-f]+$"
    assert "describe-managed-prefix-lists" in parameter["Description"]
    assert rule["Metadata"] == {
        "ivc": {
            "supplied_at_deploy": {"CloudFrontOriginPrefixList": {"managed_prefix_list": "com.amazonaws.global.cloudfront.origin-facing"}}
        }
    }


def test_the_origin_secret_is_generated_at_creation_encrypted_with_the_environment_key_and_retained(
    behind_cdn: dict[str, dict[str, Any]],
) -> None:
    data = behind_cdn["data"]
    secret = data["Resources"]["CdnOriginSecret"]
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = secret["Properties"]
    assert "SecretString" not in properties  # generated by Secrets Manager, never a value in output/
    assert properties["GenerateSecretString"] == {"PasswordLength": 64, "ExcludePunctuation": True}
    assert properties["KmsKeyId"] == {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}
    assert data["Outputs"]["CdnOriginSecretArn"]["Export"] == {"Name": "shop-dev-data-CdnOriginSecretArn"}


def test_cloudfront_sends_the_secret_header_and_the_load_balancer_forwards_only_requests_carrying_it(
    behind_cdn_https: dict[str, dict[str, Any]],
) -> None:
    [origin] = [o for o in props(behind_cdn_https["edge"], "Distribution")["DistributionConfig"]["Origins"] if o["Id"] == "load-balancer"]
    assert origin["OriginCustomHeaders"] == [{"HeaderName": "X-Origin-Verify", "HeaderValue": SECRET}]
    app = behind_cdn_https["app"]
    listeners = {i: r["Properties"] for i, r in app["Resources"].items() if r["Type"] == "AWS::ElasticLoadBalancingV2::Listener"}
    assert list(listeners) == ["LoadBalancerHttpsListener"]  # port 80 is closed to everyone: no redirect listener
    assert listeners["LoadBalancerHttpsListener"]["DefaultActions"] == [
        {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403"}}
    ]
    rule = props(app, "ServiceWebListenerRule")
    assert rule["Priority"] == 50000  # the service at / comes after every path rule
    assert rule["Conditions"] == [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Origin-Verify", "Values": [SECRET]}}]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "ServiceWebTargetGroup"}}]


def test_a_path_rule_behind_the_cdn_needs_its_path_and_the_header(tmp_path: Path) -> None:
    head = HEAD + "  api: {image: nginx, port: 81, route: {path: /api/*}}\n"
    conditions = props(compile_spec(tmp_path, CDN, head=head)["app"], "ServiceApiListenerRule")["Conditions"]
    assert [c["Field"] for c in conditions] == ["path-pattern", "http-header"]
    assert conditions[0]["PathPatternConfig"] == {"Values": ["/api/*"]}
    assert conditions[1]["HttpHeaderConfig"]["Values"] == [SECRET]


def test_without_a_cdn_origin_on_the_load_balancer_it_stays_open_to_the_internet(tmp_path: Path) -> None:
    templates = compile_spec(tmp_path, "")
    rules = ingress(templates["security"])
    assert sorted(r["Properties"]["FromPort"] for r in rules.values()) == [80, 443]
    assert {r["Properties"]["CidrIp"] for r in rules.values()} == {"0.0.0.0/0"}
    assert "Parameters" not in templates["security"] and "CdnOriginSecret" not in templates["data"]["Resources"]


def test_what_cannot_reach_a_load_balancer_that_admits_only_cloudfront_is_refused_where_it_is_written(tmp_path: Path) -> None:
    body = (
        CERTIFICATE
        + CDN
        + """\
apis:
  public: {routes: {"GET /{proxy+}": services.web}}
dns:
  zone: shop.example
  records: {origin: services.web}
  health_checks: {origin: {path: /health}}
"""
    )
    assert errors(tmp_path, body, head=HEAD.replace("route: {path: /}", "route: {path: /, priority: 50000}")) == [
        "6:60: error: priority 50000 is the rule that sends CloudFront's requests to what is at /; choose a lower one",
        "14:38: error: apis.public routes 'GET /{proxy+}' to services.web, but the load balancer is the cdn's origin and admits "
        "only CloudFront; route the cdn to apis.public instead (an `apis.public` origin), or remove this route",
        "18:27: error: Route 53's health checkers cannot reach services.web: its load balancer is the cdn's origin and admits "
        "only CloudFront; check a record that points at the cdn instead",
    ]


# --- 4. a load balancer reached only through an HTTP API is internal -----------------------------------------------


def test_a_load_balancer_only_apis_reach_needs_no_public_tier_and_is_internal_in_the_private_subnets(tmp_path: Path) -> None:
    head = HEAD.replace("tiers: [public, private]", "tiers: [private]")
    templates = compile_spec(tmp_path, 'apis:\n  public: {routes: {"ANY /{proxy+}": services.web}}\n', head=head)
    balancer = props(templates["app"], "LoadBalancer")
    assert balancer["Scheme"] == "internal"
    assert balancer["Subnets"] == {"Fn::Split": [",", {"Fn::ImportValue": "shop-dev-network-PrivateSubnetIds"}]}
    assert props(templates["app"], "ApiVpcLink")["SubnetIds"] == balancer["Subnets"]
    # Plain HTTP inside the VPC without a certificate; nothing from the internet.
    [rule] = ingress(templates["security"]).values()
    assert rule["Properties"]["FromPort"] == 80 and "CidrIp" not in rule["Properties"]


def test_a_routed_service_without_a_public_tier_is_refused_when_the_load_balancer_must_face_the_internet(tmp_path: Path) -> None:
    head = HEAD.replace("tiers: [public, private]", "tiers: [private]")
    assert errors(tmp_path, "", head=head) == [
        "6:40: error: services.web has a route, and the internet-facing load balancer needs a 'public' tier in network.tiers"
    ]
