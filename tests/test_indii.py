"""Indii Music (seed 002): the compiled templates carry the document's facts, read from the JSON as a reviewer would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import ROOT, of_type, props, read_json

OUT = ROOT / "output" / "indii-music"
ENVS = ("staging", "production")


def stack(env: str, name: str) -> dict[str, Any]:
    return read_json(OUT / env / "us-east-1" / f"{name}.json")


@pytest.mark.parametrize("env", ENVS)
def test_network_two_zones_public_private_nat(env: str) -> None:
    network = stack(env, "network")
    assert props(network, "Vpc")["CidrBlock"] == "10.0.0.0/16"
    assert len(of_type(network, "AWS::EC2::Subnet")) == 4
    assert len(of_type(network, "AWS::EC2::NatGateway")) == 1
    assert of_type(network, "AWS::EC2::InternetGateway")


@pytest.mark.parametrize(("env", "zone"), [("staging", "staging.indiimusic.com"), ("production", "indiimusic.com")])
def test_https_listener_with_acm_and_route53_record_with_health_check(env: str, zone: str) -> None:
    app, dns, edge = stack(env, "app"), stack(env, "dns"), stack(env, "edge")
    listener = props(app, "LoadBalancerHttpsListener")
    assert (listener["Port"], listener["Protocol"]) == (443, "HTTPS")
    assert listener["Certificates"] == [{"CertificateArn": {"Fn::ImportValue": f"indii-music-{env}-dns-CertificateApiArn"}}]
    redirect = props(app, "LoadBalancerHttpListener")["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"
    assert next(iter(of_type(dns, "AWS::Route53::HostedZone").values()))["Properties"]["Name"] == zone
    certificate = next(iter(of_type(dns, "AWS::CertificateManager::Certificate").values()))["Properties"]
    assert certificate["DomainName"] == f"api.{zone}" and certificate["ValidationMethod"] == "DNS"
    records = [r["Properties"] for r in of_type(edge, "AWS::Route53::RecordSet").values()]
    assert any(r["Name"] == f"api.{zone}" and r["Type"] == "A" for r in records)
    check = next(iter(of_type(edge, "AWS::Route53::HealthCheck").values()))["Properties"]["HealthCheckConfig"]
    assert (check["Type"], check["ResourcePath"]) == ("HTTPS", "/health")


@pytest.mark.parametrize(("env", "spot"), [("staging", True), ("production", False)])
def test_fargate_api_scaling_discovery_tracing_and_spot(env: str, spot: bool) -> None:
    app = stack(env, "app")
    service = props(app, "ServiceApi")
    assert ("CapacityProviderStrategy" in service) == spot
    policies = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"]
        for p in of_type(app, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert policies == {"ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization"}
    assert of_type(app, "AWS::ServiceDiscovery::PrivateDnsNamespace") and of_type(app, "AWS::ServiceDiscovery::Service")
    containers = props(app, "ServiceApiTaskDefinition")["ContainerDefinitions"]
    assert {c["Name"] for c in containers} == {"api", "xray-daemon"} or len(containers) == 2
    assert {s["Name"] for s in containers[0]["Secrets"]} | {s["Name"] for c in containers for s in c.get("Secrets", [])} >= {
        "DB_USERNAME",
        "DB_PASSWORD",
    }


@pytest.mark.parametrize("env", ENVS)
def test_ecr_waf_assets_and_tags(env: str) -> None:
    data, app = stack(env, "data"), stack(env, "app")
    repository = next(iter(of_type(data, "AWS::ECR::Repository").values()))["Properties"]
    assert repository["RepositoryName"] == "indii-music-api"
    assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert repository["ImageTagMutability"] == "IMMUTABLE"
    rules = json.loads(repository["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert {"countNumber": 5, "countType": "imageCountMoreThan", "tagStatus": "any"} in [r["selection"] for r in rules]
    acl = next(iter(of_type(app, "AWS::WAFv2::WebACL").values()))["Properties"]
    groups = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesSQLiRuleSet"} <= groups
    assert of_type(app, "AWS::WAFv2::WebACLAssociation")
    assert props(data, "BucketAssets")["VersioningConfiguration"] == {"Status": "Enabled"}
    tags = {t["Key"]: t["Value"] for t in props(data, "BucketAssets")["Tags"]}
    assert tags["CostCenter"] == "indii-music" and tags["Environment"] == env
