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


def compile_spec(folder: Path, body: str, environments: str = "dev: {}") -> dict[str, dict[str, Any]]:
    """Every template of the first environment, compiled and linted through the CLI (warnings fail it)."""
    spec = folder / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent(body) + "environments:\n  " + environments + "\n")
    result = ivc("compile", spec, "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    environment = environments.split(":", 1)[0]
    return {p.stem: read_json(p) for p in (folder / "out" / "shop" / environment / "us-east-1").glob("*.json")}


def errors(folder: Path, body: str, primary: str = "us-east-1") -> list[str]:
    spec = folder / "spec.yaml"
    spec.write_text(HEAD.replace("us-east-1", primary) + textwrap.dedent(body) + "environments:\n  dev: {}\n")
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
