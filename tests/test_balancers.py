"""Two load balancers: the public one the internet reaches, and an internal one in the app tier only APIs reach."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ivc, read_json

FIXTURE = FIXTURES / "balancers" / "two.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("balancers")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "tiers" / "dev" / "us-east-1"


def resources(out: Path, stack: str) -> dict[str, Any]:
    return dict(read_json(out / f"{stack}.json")["Resources"])


def test_the_app_tier_sits_behind_an_internal_load_balancer_of_its_own(out: Path) -> None:
    app = resources(out, "app")
    public, internal = app["LoadBalancer"]["Properties"], app["InternalLoadBalancer"]["Properties"]
    assert public["Scheme"] == "internet-facing"
    assert public["Subnets"] == {"Fn::Split": [",", {"Fn::ImportValue": "tiers-dev-network-PublicSubnetIds"}]}
    assert internal["Scheme"] == "internal"
    assert internal["Subnets"] == {"Fn::Split": [",", {"Fn::ImportValue": "tiers-dev-network-AppSubnetIds"}]}
    # Each forwards to its own tier only: the web fleet is the public default, the app fleet the internal one's.
    assert app["LoadBalancerHttpsListener"]["Properties"]["DefaultActions"][0]["TargetGroupArn"] == {"Ref": "FleetWebTargetGroup"}
    listener = app["InternalLoadBalancerHttpsListener"]["Properties"]
    assert listener["LoadBalancerArn"] == {"Ref": "InternalLoadBalancer"}
    assert listener["DefaultActions"][0]["TargetGroupArn"] == {"Ref": "FleetAppTargetGroup"}
    assert listener["Certificates"][0]["CertificateArn"].endswith("66666666-7777-8888-9999-000000000000")
    assert "InternalLoadBalancerHttpListener" not in app  # nothing may reach it in clear text
    # Scaling on requests reads the app fleet's target group on the load balancer it sits behind.
    label = app["FleetAppScaleOnRequests"]["Properties"]["TargetTrackingConfiguration"]["PredefinedMetricSpecification"]["ResourceLabel"]
    assert label["Fn::Join"][1][0] == {"Fn::GetAtt": ["InternalLoadBalancer", "LoadBalancerFullName"]}


def test_only_the_apis_vpc_link_reaches_the_internal_load_balancer_and_only_it_reaches_the_app_tier(out: Path) -> None:
    security = resources(out, "security")
    ingress = {t: r["Properties"] for t, r in security.items() if r["Type"] == "AWS::EC2::SecurityGroupIngress"}
    into = {
        group: [rule for rule in ingress.values() if rule["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}]
        for group in ("InternalLoadBalancerSecurityGroup", "FleetAppSecurityGroup", "FleetWebSecurityGroup")
    }
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in into["InternalLoadBalancerSecurityGroup"]] == [
        (443, {"Fn::GetAtt": ["ApiLinkSecurityGroup", "GroupId"]})
    ]
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in into["FleetAppSecurityGroup"]] == [
        (8080, {"Fn::GetAtt": ["InternalLoadBalancerSecurityGroup", "GroupId"]})
    ]
    assert [(r["FromPort"], r["SourceSecurityGroupId"]) for r in into["FleetWebSecurityGroup"]] == [
        (80, {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    ]
    assert all("CidrIp" not in rule for rules in into.values() for rule in rules)


def test_the_rest_api_reaches_the_app_fleet_through_its_vpc_link_over_https(out: Path) -> None:
    app = resources(out, "app")
    link = app["RestApiVpcLink"]["Properties"]
    assert link["SubnetIds"] == {"Fn::Split": [",", {"Fn::ImportValue": "tiers-dev-network-AppSubnetIds"}]}
    integration = app["RestApiPartnersAnyV1ProxyAll"]["Properties"]["Integration"]
    assert integration["ConnectionType"] == "VPC_LINK"
    assert integration["ConnectionId"] == {"Ref": "RestApiVpcLink"}
    assert integration["IntegrationTarget"] == {"Ref": "InternalLoadBalancer"}
    # API Gateway verifies the internal load balancer's certificate for the URI's host.
    assert integration["Uri"] == {"Fn::Join": ["", ["https://", "app.tiers.example.com", "/v1/{proxy}"]]}
    assert app["RestApiPartnersAnyV1ProxyAll"]["Properties"]["ApiKeyRequired"] is True


def _validate(tmp_path: Path, body: str) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(body))
    result = ivc("validate", spec)
    assert result.exit_code == 1, result.output
    return result.stderr


HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/21, tiers: [public, app], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
"""


def test_load_balancer_internal_without_a_second_load_balancer_is_refused_at_its_line(tmp_path: Path) -> None:
    message = _validate(
        tmp_path,
        HEAD
        + """\
load_balancer:
  internal: {server_name: app.shop.example.com}
fleets:
  web: {instance: t3.medium, tier: app, max: 2, port: 80, route: {path: /}}
environments:
  dev: {}
""",
    )
    assert "spec.yaml:6:13: error: load_balancer.internal configures a second, internal load balancer" in message


def test_an_api_only_fleet_alone_puts_the_one_load_balancer_inside(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + """\
fleets:
  app: {instance: t3.medium, tier: app, max: 2, port: 8080, route: {path: /, internal: true}}
rest_apis:
  partners:
    routes: {"GET /orders": fleets.app}
environments:
  dev: {}
"""
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    app = read_json(tmp_path / "out" / "shop" / "dev" / "us-east-1" / "app.json")["Resources"]
    assert app["LoadBalancer"]["Properties"]["Scheme"] == "internal"
    assert "InternalLoadBalancer" not in app
    assert app["RestApiPartnersGetOrders"]["Properties"]["Integration"]["IntegrationTarget"] == {"Ref": "LoadBalancer"}
