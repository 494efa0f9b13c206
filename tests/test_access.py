"""Access: Session Manager by default, a bastion whose group is the only SSH source for what it reaches, and a
Client VPN endpoint, compiled from tests/fixtures/access/access.yaml and linted by cfn-lint for real.

The deploy test at the end runs the keys, network and security stacks of a bastion-only spec on moto and reads back
the rules EC2 holds. The access stack does not build on moto 5.2.5, for two reasons of moto's: its CloudFormation
hands an AWS::SSM::Parameter's Tags (a map, as CloudFormation documents them) to SSM as a list and fails on the
bastion's agent configuration (the fleets' app stack fails the same way), and it has no Client VPN at all (its EC2
answers DescribeClientVpnEndpoints with a server error). It also ignores a security group's inline egress rules. So
the bastion's instance, the VPN endpoint and the groups' egress are proven here on the compiled, cfn-linted templates
only, never as deployed.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import boto3
import pytest

from compiler.errors import SpecError
from compiler.sections.access import ssh_source_problem
from compiler.validate import load_and_validate
from conftest import FIXTURES, MotoServer, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "access" / "access.yaml"
BASTION = {"Fn::GetAtt": ["BastionSecurityGroup", "GroupId"]}
VPN = {"Fn::GetAtt": ["ClientVpnSecurityGroup", "GroupId"]}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("access")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "gate"


def stack(out: Path, env: str, name: str) -> dict[str, Any]:
    return dict(read_json(out / env / "us-east-1" / f"{name}.json"))


def ingress(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inbound rule of a template: standalone rules and those written inside groups (with their group)."""
    rules = [dict(r["Properties"]) for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()]
    for title, group in of_type(template, "AWS::EC2::SecurityGroup").items():
        rules += [{**r, "GroupId": {"Fn::GetAtt": [title, "GroupId"]}} for r in group["Properties"].get("SecurityGroupIngress", [])]
    return rules


def admits(rule: dict[str, Any], port: int) -> bool:
    return str(rule["IpProtocol"]) == "-1" or (rule["IpProtocol"] == "tcp" and rule["FromPort"] <= port <= rule["ToPort"])


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_template_admits_ssh_from_the_internet(out: Path, env: str) -> None:
    for template in sorted((out / env / "us-east-1").glob("*.json")):
        for rule in ingress(read_json(template)):
            if admits(rule, 22):
                assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0", (template.name, rule)
                if "CidrIp" in rule:
                    assert ipaddress.IPv4Network(rule["CidrIp"]).prefixlen >= 16, rule


def test_the_fleets_admit_ssh_only_from_the_bastions_group(out: Path) -> None:
    security = stack(out, "dev", "security")
    for fleet in ("FleetWebSecurityGroup", "FleetAppSecurityGroup"):
        ssh = [r for r in ingress(security) if r["GroupId"] == {"Fn::GetAtt": [fleet, "GroupId"]} and admits(r, 22)]
        assert [(r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]) for r in ssh] == [(22, 22, BASTION)], fleet


def test_the_data_stores_admit_their_port_from_the_bastion_and_the_vpn_only_besides_their_users(out: Path) -> None:
    security = stack(out, "dev", "security")
    database = {"Fn::GetAtt": ["DatabaseMainSecurityGroup", "GroupId"]}
    sources = sorted(
        (r["FromPort"], r["ToPort"], r["SourceSecurityGroupId"]["Fn::GetAtt"][0]) for r in ingress(security) if r["GroupId"] == database
    )
    assert sources == [(5432, 5432, "BastionSecurityGroup"), (5432, 5432, "ClientVpnSecurityGroup"), (5432, 5432, "FleetAppSecurityGroup")]
    cache = props(security, "CacheSessionsIngressFromBastion")
    assert (cache["FromPort"], cache["ToPort"], cache["SourceSecurityGroupId"]) == (6379, 6379, BASTION)


def test_the_bastion_admits_ssh_from_its_office_range_and_the_vpn_and_sends_only_where_it_reaches(out: Path) -> None:
    security = stack(out, "dev", "security")
    admitted = [r for r in ingress(security) if r["GroupId"] == BASTION]
    assert sorted((r["FromPort"], r.get("CidrIp") or r["SourceSecurityGroupId"]["Fn::GetAtt"][0]) for r in admitted) == [
        (22, "203.0.113.0/24"),
        (22, "ClientVpnSecurityGroup"),
    ]
    egress = props(security, "BastionSecurityGroup")["SecurityGroupEgress"]
    assert [(r["FromPort"], r.get("CidrIp") or r["DestinationSecurityGroupId"]["Fn::GetAtt"][0]) for r in egress] == [
        (443, "0.0.0.0/0"),
        (22, "FleetWebSecurityGroup"),
        (22, "FleetAppSecurityGroup"),
        (5432, "DatabaseMainSecurityGroup"),
        (6379, "CacheSessionsSecurityGroup"),
    ]
    vpn = props(security, "ClientVpnSecurityGroup")["SecurityGroupEgress"]
    assert [(r["FromPort"], r["DestinationSecurityGroupId"]["Fn::GetAtt"][0]) for r in vpn] == [
        (5432, "DatabaseMainSecurityGroup"),
        (22, "BastionSecurityGroup"),
    ]


def test_prod_reaches_the_bastion_through_session_manager_only_so_it_is_private(out: Path) -> None:
    security = stack(out, "prod", "security")
    assert [r for r in ingress(security) if r["GroupId"] == BASTION] == []
    assert "SSH to the bastion" not in str(props(security, "ClientVpnSecurityGroup")["SecurityGroupEgress"])
    access = stack(out, "prod", "access")
    [nic] = props(access, "BastionLaunchTemplate")["LaunchTemplateData"]["NetworkInterfaces"]
    assert nic["AssociatePublicIpAddress"] is False
    assert props(access, "BastionGroup")["VPCZoneIdentifier"] == {"Fn::Split": [",", {"Fn::ImportValue": "gate-prod-network-AppSubnetIds"}]}


def test_the_bastion_is_one_self_healing_instance_with_imdsv2_an_encrypted_volume_and_a_public_address(out: Path) -> None:
    access = stack(out, "dev", "access")
    data = props(access, "BastionLaunchTemplate")["LaunchTemplateData"]
    assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1}
    assert "KeyName" not in data and "SecurityGroupIds" not in data
    [nic] = data["NetworkInterfaces"]
    assert nic["AssociatePublicIpAddress"] is True
    assert nic["Groups"] == [{"Fn::ImportValue": "gate-dev-security-BastionSecurityGroup"}]
    [volume] = data["BlockDeviceMappings"]
    assert volume["Ebs"]["VolumeType"] == "gp3" and volume["Ebs"]["Encrypted"] is True
    assert volume["Ebs"]["KmsKeyId"] == {"Fn::ImportValue": "gate-dev-keys-EnvironmentKeyArn"}
    assert data["ImageId"] == "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    group = props(access, "BastionGroup")
    assert (group["MinSize"], group["MaxSize"], group["DesiredCapacity"]) == ("1", "1", "1")
    assert group["VPCZoneIdentifier"] == {"Fn::Split": [",", {"Fn::ImportValue": "gate-dev-network-PublicSubnetIds"}]}
    assert {"Key": "Patch Group", "PropagateAtLaunch": False, "Value": "gate-dev"} in group["Tags"]
    role = props(access, "BastionRole")
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]
    assert [s["Sid"] for s in role["Policies"][0]["PolicyDocument"]["Statement"]] == ["PublishAgentMetrics", "ReadAgentConfiguration"]


def test_the_vpn_logs_to_an_encrypted_group_and_is_authorized_for_the_vpc_only(out: Path) -> None:
    access = stack(out, "dev", "access")
    endpoint = props(access, "ClientVpnEndpoint")
    assert endpoint["ConnectionLogOptions"] == {"Enabled": True, "CloudwatchLogGroup": {"Ref": "ClientVpnLogGroup"}}
    logs = props(access, "ClientVpnLogGroup")
    assert logs["KmsKeyId"] == {"Fn::ImportValue": "gate-dev-keys-EnvironmentKeyArn"}
    assert logs["LogGroupName"] == "/gate/dev/access/vpn"
    assert endpoint["SplitTunnel"] is True and endpoint["SessionTimeoutHours"] == 8
    assert endpoint["ServerCertificateArn"] == {"Fn::ImportValue": "gate-dev-dns-CertificateVpnArn"}
    assert endpoint["SecurityGroupIds"] == [{"Fn::ImportValue": "gate-dev-security-ClientVpnSecurityGroup"}]
    assert [o["Type"] for o in endpoint["AuthenticationOptions"]] == ["certificate-authentication", "federated-authentication"]
    assert endpoint["DnsServers"] == ["10.40.0.2"]
    rules = of_type(access, "AWS::EC2::ClientVpnAuthorizationRule")
    assert [(r["Properties"]["TargetNetworkCidr"], r["Properties"]["AccessGroupId"]) for r in rules.values()] == [
        ("10.40.0.0/16", "admins")
    ]
    associations = of_type(access, "AWS::EC2::ClientVpnTargetNetworkAssociation")
    assert [a["Properties"]["SubnetId"]["Fn::Select"][0] for a in associations.values()] == [0, 1]  # one per zone
    assert all(
        a["Properties"]["SubnetId"]["Fn::Select"][1] == {"Fn::Split": [",", {"Fn::ImportValue": "gate-dev-network-AppSubnetIds"}]}
        for a in associations.values()
    )
    assert "0.0.0.0/0" not in str(of_type(access, "AWS::EC2::ClientVpnRoute"))


@pytest.mark.parametrize(
    ("cidr", "refused"),
    [
        ("0.0.0.0/0", "the whole internet"),
        ("0.0.0.0/1", "2,147,483,648 addresses"),
        ("128.0.0.0/1", "2,147,483,648 addresses"),
        ("0.0.0.0/8", "16,777,216 addresses"),  # not a private range, whatever Python's is_private says
        ("1.0.0.0/15", "at most a /16"),
        ("::/0", "the whole IPv6 internet"),
        ("::/1", "the VPC has no IPv6"),
        ("203.0.113.7/24", "host bits"),
        ("10.0.0.0/33", "not a valid IPv4 CIDR"),
    ],
)
def test_ssh_sources_that_are_the_internet_or_nearly_are_refused(cidr: str, refused: str) -> None:
    problem = ssh_source_problem(cidr)
    assert problem is not None and refused in problem


@pytest.mark.parametrize("cidr", ["203.0.113.0/24", "1.0.0.0/16", "198.51.100.7/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.4.0/24"])
def test_office_ranges_and_private_networks_are_admitted(cidr: str) -> None:
    assert ssh_source_problem(cidr) is None


# IndiVillage.com's data tier ACL (specs/indivillage): replies come in on 1024-65535 from anywhere, which admits 5432 too.
DATA_ACL = """\
ivc: 1
system: acl
regions: {primary: us-east-1}
network:
  cidr: 10.0.0.0/16
  tiers: [public, web, app, data]
  isolated: [data]
  acls:
    data:
      inbound:
        - {from: app, ports: 5432}
        - {from: vpc, ports: 443}
        - {from: anywhere, ports: 1024-65535}
      outbound:
        - {to: app, ports: 1024-65535}
        - {to: vpc, ports: 443}
        - {to: anywhere, ports: 443}
databases:
  main: {version: "16.10", instance: db.t3.medium}
fleets:
  app: {instance: t3.small, max: 2}
access:
  bastion: {reach: [fleets.app, databases.main]%s}
environments:
  dev: {}
"""


def test_a_private_bastion_needs_no_new_acl_rule_and_a_public_one_is_told_the_one_rule_it_lacks(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(DATA_ACL % "")  # Session Manager only: the bastion is in the app tier, which the ACL admits
    assert load_and_validate(spec)
    spec.write_text(DATA_ACL % ", tier: public")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec)
    assert [d.render().split(":", 1)[1] for d in exc.value.diagnostics] == [
        "23:33: error: access.bastion reaches databases.main on port 5432, but the data tier's network ACL drops the replies to "
        "port 5432: add {to: public, ports: 1024-65535} to network.acls.data.outbound"
    ]


BASTION_ONLY = """\
ivc: 1
system: gate
regions: {primary: us-east-1}
network: {cidr: 10.41.0.0/16, tiers: [public, app, data], isolated: [data], nat: single}
databases:
  main: {version: "16.10", instance: db.t3.medium}
fleets:
  app: {instance: t3.small, max: 2, uses: [databases.main]}
access:
  bastion: {ssh_from: [203.0.113.0/24], reach: [fleets.app, databases.main]}
environments:
  dev: {}
"""


def test_the_bastions_rules_deploy_to_moto_and_read_back(tmp_path: Path, aws: MotoServer) -> None:
    (tmp_path / "specs" / "gate").mkdir(parents=True)
    (tmp_path / "specs" / "gate" / "spec.yaml").write_text(BASTION_ONLY)
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / "output")
    assert result.exit_code == 0, result.output
    for layer in ("keys", "network", "security"):
        result = ivc("deploy", tmp_path / "specs" / "gate", "--env", "dev", "--out", tmp_path / "output", "--stack", layer, "--yes")
        assert result.exit_code == 0, result.output

    ec2 = boto3.client("ec2", region_name="us-east-1")
    groups = {
        tag["Value"]: group
        for group in ec2.describe_security_groups()["SecurityGroups"]
        for tag in group.get("Tags", [])
        if tag["Key"] == "Name"
    }
    bastion = groups["gate-dev-bastion"]["GroupId"]

    def inbound(name: str) -> list[tuple[int, list[str], list[str]]]:
        return sorted(
            (p["FromPort"], [r["CidrIp"] for r in p["IpRanges"]], sorted(g["GroupId"] for g in p["UserIdGroupPairs"]))
            for p in groups[name]["IpPermissions"]
        )

    assert inbound("gate-dev-bastion") == [(22, ["203.0.113.0/24"], [])]
    assert inbound("gate-dev-fleet-app") == [(22, [], [bastion])]
    assert inbound("gate-dev-database-main") == [(5432, [], sorted([bastion, groups["gate-dev-fleet-app"]["GroupId"]]))]
