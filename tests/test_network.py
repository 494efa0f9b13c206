"""The network section, read from the compiled JSON as CloudFormation would read it."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from conftest import read_json


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def template(out: Path, system: str, env: str, region: str = "us-east-1") -> dict[str, Any]:
    return read_json(out / system / env / region / "network.json")


@pytest.mark.parametrize(("env", "nats"), [("dev", 1), ("staging", 3), ("prod", 3)])
def test_socialflow_nat_per_environment(compiled: Path, env: str, nats: int) -> None:
    network = template(compiled, "socialflow", env)
    assert len(resources(network, "AWS::EC2::NatGateway")) == nats
    assert len(resources(network, "AWS::EC2::EIP")) == nats
    subnets = resources(network, "AWS::EC2::Subnet")
    assert sorted(subnets) == [f"Subnet{tier}{zone}" for tier in ("Private", "Public") for zone in (1, 2, 3)]
    vpc = network["Resources"]["Vpc"]["Properties"]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    assert vpc["EnableDnsSupport"] is True and vpc["EnableDnsHostnames"] is True


def test_subnets_are_disjoint_inside_the_vpc_and_spread_over_zones(compiled: Path) -> None:
    network = template(compiled, "indivillage", "production")
    vpc = ipaddress.IPv4Network(network["Resources"]["Vpc"]["Properties"]["CidrBlock"])
    subnets = resources(network, "AWS::EC2::Subnet")
    blocks = [ipaddress.IPv4Network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    assert len(blocks) == 4 * 3
    assert all(block.subnet_of(vpc) for block in blocks)
    assert all(not a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    assert {str(b.prefixlen) for b in blocks} == {"21"}
    zones = {s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values()}
    assert zones == {0, 1, 2}


def test_per_zone_nat_routes_each_zone_through_its_own_gateway(compiled: Path) -> None:
    network = template(compiled, "socialflow", "prod")
    routes = resources(network, "AWS::EC2::Route")
    for zone in (1, 2, 3):
        route = routes[f"RouteTablePrivate{zone}NatRoute"]["Properties"]
        assert route == {
            "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": {"Ref": f"NatGateway{zone}"},
            "RouteTableId": {"Ref": f"RouteTablePrivate{zone}"},
        }
        assert routes[f"RouteTablePublic{zone}InternetRoute"]["Properties"]["GatewayId"] == {"Ref": "InternetGateway"}


def test_isolated_tier_has_no_default_route_but_reaches_s3(compiled: Path) -> None:
    network = template(compiled, "indivillage", "production")
    routes = resources(network, "AWS::EC2::Route")
    assert not [name for name in routes if name.startswith("RouteTableData")]
    s3 = network["Resources"]["EndpointS3"]["Properties"]
    assert {"Ref": "RouteTableData1"} in s3["RouteTableIds"]
    assert s3["VpcEndpointType"] == "Gateway"


def test_interface_endpoints_live_in_their_tier_behind_https_only_group(compiled: Path) -> None:
    network = template(compiled, "full", "prod", "us-east-2")
    endpoints = resources(network, "AWS::EC2::VPCEndpoint")
    assert sorted(endpoints) == [
        "EndpointDynamodb",
        "EndpointEcrApi",
        "EndpointEcrDkr",
        "EndpointKms",
        "EndpointLogs",
        "EndpointS3",
        "EndpointSecretsmanager",
        "EndpointSsm",
        "EndpointSts",
    ]
    ecr = endpoints["EndpointEcrDkr"]["Properties"]
    assert ecr["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.ecr.dkr"}
    assert ecr["SubnetIds"] == [{"Ref": "SubnetApp1"}, {"Ref": "SubnetApp2"}, {"Ref": "SubnetApp3"}]
    assert ecr["PrivateDnsEnabled"] is True
    group = network["Resources"]["EndpointSecurityGroup"]["Properties"]
    assert [(r["FromPort"], r["ToPort"], r["IpProtocol"]) for r in group["SecurityGroupIngress"]] == [(443, 443, "tcp")]
    assert all(r["Description"] for r in group["SecurityGroupIngress"] + group["SecurityGroupEgress"])


def test_flow_logs_role_can_write_only_its_log_group(compiled: Path) -> None:
    network = template(compiled, "full", "prod", "us-east-2")
    group = network["Resources"]["FlowLogGroup"]
    assert group["Properties"]["RetentionInDays"] == 90
    assert group["DeletionPolicy"] == "Retain"
    role = network["Resources"]["FlowLogRole"]["Properties"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    [statement] = role["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == [{"Fn::GetAtt": ["FlowLogGroup", "Arn"]}]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
    flow = network["Resources"]["FlowLog"]["Properties"]
    assert flow["TrafficType"] == "REJECT"


def test_network_acl_rules_expand_tiers_to_their_subnets(compiled: Path) -> None:
    network = template(compiled, "full", "prod", "us-east-2")
    entries = resources(network, "AWS::EC2::NetworkAclEntry")
    app = [s["Properties"]["CidrBlock"] for n, s in sorted(resources(network, "AWS::EC2::Subnet").items()) if n.startswith("SubnetApp")]
    inbound = [entries[f"NetworkAclDataInbound{100 + z}"]["Properties"] for z in range(3)]
    assert [e["CidrBlock"] for e in inbound] == app
    assert all(e["PortRange"] == {"From": 5432, "To": 5432} and e["Protocol"] == 6 and e["Egress"] is False for e in inbound)
    deny = entries["NetworkAclDataOutbound110"]["Properties"]
    assert (deny["RuleAction"], deny["Protocol"], deny["CidrBlock"]) == ("deny", -1, "192.168.0.0/16")
    assert len(resources(network, "AWS::EC2::SubnetNetworkAclAssociation")) == 3


def test_every_taggable_resource_is_tagged(compiled: Path) -> None:
    network = template(compiled, "full", "prod", "us-east-2")
    untaggable = {
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
        "AWS::EC2::SubnetRouteTableAssociation",
        "AWS::EC2::NetworkAclEntry",
        "AWS::EC2::SubnetNetworkAclAssociation",
    }
    for name, resource in network["Resources"].items():
        if resource["Type"] in untaggable:
            continue
        tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
        assert (
            tags.items() >= {"System": "full", "Environment": "prod", "ManagedBy": "ivc", "Project": "Full", "CostCenter": "0042"}.items()
        ), name


def test_secondary_region_gets_its_own_cidr_and_exports(compiled: Path) -> None:
    primary = template(compiled, "full", "prod", "us-east-2")
    secondary = template(compiled, "full", "prod", "us-west-2")
    assert secondary["Resources"]["Vpc"]["Properties"]["CidrBlock"] == "10.130.0.0/16"
    assert primary["Outputs"]["VpcId"]["Export"] == {"Name": "full-prod-network-VpcId"}
    assert secondary["Metadata"]["ivc"]["role"] == "secondary"
    assert not (compiled / "full" / "staging" / "us-west-2").exists()


def test_minimal_spec_has_no_internet_path(compiled: Path) -> None:
    network = template(compiled, "minimal", "dev", "eu-west-1")
    kinds = {r["Type"] for r in network["Resources"].values()}
    assert kinds == {"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::RouteTable", "AWS::EC2::SubnetRouteTableAssociation"}
    assert [s["Properties"]["CidrBlock"] for _, s in sorted(resources(network, "AWS::EC2::Subnet").items())] == [
        "10.20.0.0/27",
        "10.20.0.32/27",
    ]
