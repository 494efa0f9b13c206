"""ECS on EC2: a fleet with `ecs: true` is the cluster's capacity, and services run on it with
`capacity: {fleet: <name>}`, in awsvpc or bridge mode; security groups and IAM are derived."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, props, read_json

FIXTURE = FIXTURES / "good" / "ecs_on_ec2.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("ecs")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "ships" / "prod" / "us-east-1"


def stack(out: Path, name: str) -> dict[str, Any]:
    return dict(read_json(out / f"{name}.json"))


def test_the_capacity_provider_scales_and_drains_and_never_blocks_deletion(out: Path) -> None:
    app = stack(out, "app")
    provider = props(app, "FleetEcsCapacityProvider")["AutoScalingGroupProvider"]
    assert provider["AutoScalingGroupArn"] == {"Ref": "FleetEcsGroup"}
    assert provider["ManagedScaling"]["Status"] == "ENABLED" and provider["ManagedScaling"]["TargetCapacity"] == 90
    assert provider["ManagedTerminationProtection"] == "DISABLED"
    assert provider["ManagedDraining"] == "ENABLED"
    group = props(app, "FleetEcsGroup")
    # Nothing pins the size managed scaling sets, and no instance is protected from scale-in.
    assert "DesiredCapacity" not in group and "NewInstancesProtectedFromScaleIn" not in group and "TargetGroupARNs" not in group
    assert group["HealthCheckType"] == "EC2"


def test_one_association_lists_every_capacity_provider_and_the_cluster_lists_none(out: Path) -> None:
    app = stack(out, "app")
    assert "CapacityProviders" not in props(app, "Cluster")
    association = props(app, "ClusterCapacityProviders")
    assert association["Cluster"] == {"Ref": "Cluster"}
    assert association["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT", {"Ref": "FleetEcsCapacityProvider"}]


def test_the_instances_join_the_cluster_with_the_ecs_image_and_one_metadata_hop(out: Path) -> None:
    data = props(stack(out, "app"), "FleetEcsLaunchTemplate")["LaunchTemplateData"]
    assert data["ImageId"] == "resolve:ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
    assert data["MetadataOptions"]["HttpPutResponseHopLimit"] == 1
    parts = data["UserData"]["Fn::Base64"]["Fn::Join"][1]
    script = "".join(p if isinstance(p, str) else "<" + str(p) + ">" for p in parts)
    assert "cat >> /etc/ecs/ecs.config <<'IVC_ECS'\nECS_CLUSTER=<{'Ref': 'Cluster'}>\n" in script
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in script


def test_the_instance_role_has_the_agents_rights_on_this_cluster_only(out: Path) -> None:
    [policy] = props(stack(out, "app"), "FleetEcsRole")["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    join = statements["JoinCluster"]
    assert "ecs:RegisterContainerInstance" in join["Action"]
    assert join["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/ships-prod"}]
    assert statements["ServeCluster"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:container-instance/ships-prod/*"}
    ]
    assert "ecs:Poll" in statements["ServeCluster"]["Action"]
    every = [a for s in statements.values() for a in s["Action"]]
    assert not any(a.startswith(("ecr:", "logs:")) or a == "ecs:CreateCluster" for a in every)


def test_services_on_the_fleet_launch_through_its_capacity_provider_as_ec2_tasks(out: Path) -> None:
    app = stack(out, "app")
    for name in ("Web", "Worker"):
        service = app["Resources"][f"Service{name}"]
        assert service["Properties"]["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": "FleetEcsCapacityProvider"}, "Weight": 1}]
        assert "LaunchType" not in service["Properties"]
        assert "ClusterCapacityProviders" in service["DependsOn"]
        definition = props(app, f"Service{name}TaskDefinition")
        assert definition["RequiresCompatibilities"] == ["EC2"] and "RuntimePlatform" not in definition
    assert props(app, "ServiceWorkerTaskDefinition")["NetworkMode"] == "awsvpc"
    worker = props(app, "ServiceWorker")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert worker["SecurityGroups"] == [{"Fn::ImportValue": "ships-prod-security-ServiceWorkerSecurityGroup"}]
    # Fargate stays as it was.
    api = props(app, "ServiceApi")
    assert api["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert props(app, "ServiceApiTaskDefinition")["RequiresCompatibilities"] == ["FARGATE"]


def test_bridge_mode_maps_dynamic_host_ports_behind_an_instance_target_group(out: Path) -> None:
    app = stack(out, "app")
    definition = props(app, "ServiceWebTaskDefinition")
    assert definition["NetworkMode"] == "bridge"
    assert definition["ContainerDefinitions"][0]["PortMappings"] == [{"ContainerPort": 8080, "HostPort": 0, "Protocol": "tcp"}]
    assert "NetworkConfiguration" not in props(app, "ServiceWeb")
    group = props(app, "ServiceWebTargetGroup")
    assert (group["TargetType"], group["HealthCheckPort"]) == ("instance", "traffic-port")
    assert props(app, "ServiceApiTargetGroup")["TargetType"] == "ip"


def test_the_fleet_admits_the_load_balancer_on_the_ephemeral_range_only_and_bridge_uses_come_from_the_fleet(out: Path) -> None:
    security = stack(out, "security")["Resources"]
    rule = security["FleetEcsIngressFromLoadBalancerToTasks"]["Properties"]
    assert (rule["FromPort"], rule["ToPort"]) == (32768, 65535)
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    assert "CidrIp" not in rule
    assert "ServiceWebIngressFromLoadBalancer" not in security  # bridge tasks have no group of their own to open
    database = security["DatabaseMainIngressFromServiceWeb"]["Properties"]
    assert database["SourceSecurityGroupId"] == {"Fn::GetAtt": ["FleetEcsSecurityGroup", "GroupId"]}
    others = [r for r in security.values() if r["Type"] == "AWS::EC2::SecurityGroupIngress" and r["Properties"].get("FromPort") == 32768]
    assert len(others) == 1


def test_scaling_on_cpu_requests_and_queue_depth_works_on_the_fleet(out: Path) -> None:
    resources = stack(out, "app")["Resources"]
    assert {"ServiceWebScaleOnCpu", "ServiceWebScaleOnRequests", "ServiceWorkerScaleOnBacklog"} <= set(resources)


def problems(tmp_path: Path, fleets: str, services: str) -> list[str]:
    text = FIXTURE.read_text(encoding="utf-8").split("fleets:\n")[0]
    text += "fleets:\n" + textwrap.indent(textwrap.dedent(fleets), "  ") + "services:\n" + textwrap.indent(textwrap.dedent(services), "  ")
    text += "environments:\n  prod: {}\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_and_validate(path)
    return [d.render().split(":", 1)[1] for d in raised.value.diagnostics]


def test_misuse_is_told_at_the_spec_line(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """\
        ecs:
          instance: m5.large
          ecs: true
          max: 4
          port: 80
          route: {path: /}
        idle:
          instance: m5.large
          ecs: true
          max: 2
        plain:
          instance: m5.large
          max: 2
          target_capacity: 50
        """,
        """\
        web:
          image: nginx
          capacity: {fleet: ecs, spot: 1}
          network_mode: bridge
          tracing: true
        lost:
          image: nginx
          capacity: {fleet: nowhere}
        plain:
          image: nginx
          capacity: {fleet: plain}
        fargate:
          image: nginx
          network_mode: bridge
        """,
    )
    text = "\n".join(found)
    assert "takes no route" in text and "takes no port" in text
    assert "fleets.idle is ECS capacity but no service runs on it" in text
    assert "target_capacity is for ECS capacity" in text
    assert "spot weighs Fargate capacity" in text
    assert "fleets.nowhere does not exist" in text
    assert "fleets.plain is not ECS capacity" in text
    assert "bridge networking needs EC2 instances" in text
    assert "X-Ray daemon" in text
    assert any(line.startswith("24:12: error: fleets.ecs is ECS capacity") for line in found)  # at the route's line
