"""Fleets: EC2 Auto Scaling groups whose launch template, role, security group, load balancer registration,
scaling and boot steps are derived from a few lines of spec."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "good" / "fleets.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("fleets")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "estate" / "prod" / "us-east-1"


def stack(out: Path, name: str) -> dict[str, Any]:
    return dict(read_json(out / f"{name}.json"))


def launch_data(out: Path, fleet: str) -> dict[str, Any]:
    return dict(props(stack(out, "app"), f"Fleet{fleet}LaunchTemplate")["LaunchTemplateData"])


def user_data(out: Path, fleet: str) -> str:
    """The boot script with every CloudFormation value shown as <...>."""
    parts = launch_data(out, fleet)["UserData"]["Fn::Base64"]["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else "<" + str(p) + ">" for p in parts)


def test_instances_require_imdsv2_have_no_key_and_boot_from_an_encrypted_gp3_volume(out: Path) -> None:
    for fleet in ("Web", "App"):
        data = launch_data(out, fleet)
        assert data["MetadataOptions"] == {"HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1}
        assert "KeyName" not in data and "NetworkInterfaces" not in data  # no SSH key, no public address
        [volume] = data["BlockDeviceMappings"]
        assert volume["Ebs"]["VolumeType"] == "gp3" and volume["Ebs"]["Encrypted"] is True
        assert volume["Ebs"]["KmsKeyId"] == {"Fn::ImportValue": "estate-prod-keys-EnvironmentKeyArn"}
    assert launch_data(out, "Web")["ImageId"] == "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    assert launch_data(out, "App")["ImageId"] == "ami-0123456789abcdef0"


def test_each_fleet_spans_its_tier_registers_with_the_load_balancer_and_uses_its_health_checks(out: Path) -> None:
    app = stack(out, "app")
    web = props(app, "FleetWebGroup")
    assert web["VPCZoneIdentifier"] == {"Fn::Split": [",", {"Fn::ImportValue": "estate-prod-network-WebSubnetIds"}]}
    assert (web["MinSize"], web["MaxSize"], web["HealthCheckType"]) == ("2", "10", "ELB")
    assert web["TargetGroupARNs"] == [{"Ref": "FleetWebTargetGroup"}]
    group = props(app, "FleetWebTargetGroup")
    assert (group["TargetType"], group["Port"], group["HealthCheckPath"]) == ("instance", 80, "/healthz")
    assert props(app, "FleetAppGroup")["VPCZoneIdentifier"]["Fn::Split"][1] == {"Fn::ImportValue": "estate-prod-network-AppSubnetIds"}
    # web is at /, so the default; app's path is a rule.
    listener = props(app, "LoadBalancerHttpsListener")
    assert listener["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": {"Ref": "FleetWebTargetGroup"}}]
    rule = props(app, "FleetAppListenerRule")
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}]


def test_a_new_launch_template_version_rolls_through_the_group_keeping_min_in_service(out: Path) -> None:
    group = stack(out, "app")["Resources"]["FleetWebGroup"]
    assert group["Properties"]["LaunchTemplate"]["Version"] == {"Fn::GetAtt": ["FleetWebLaunchTemplate", "LatestVersionNumber"]}
    assert group["UpdatePolicy"]["AutoScalingRollingUpdate"] == {
        "MinInstancesInService": "2",
        "MaxBatchSize": "1",
        "PauseTime": "PT5M",
        "WaitOnResourceSignals": False,
    }


def test_scaling_on_cpu_and_requests_and_on_a_schedule(out: Path) -> None:
    app = stack(out, "app")
    cpu = props(app, "FleetWebScaleOnCpu")["TargetTrackingConfiguration"]
    assert (cpu["PredefinedMetricSpecification"]["PredefinedMetricType"], cpu["TargetValue"]) == ("ASGAverageCPUUtilization", 60.0)
    requests = props(app, "FleetWebScaleOnRequests")["TargetTrackingConfiguration"]
    assert requests["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ALBRequestCountPerTarget"
    assert requests["TargetValue"] == 1000.0
    night, morning = props(app, "FleetWebSchedule1"), props(app, "FleetWebSchedule2")
    assert (night["Recurrence"], night["MinSize"], night["DesiredCapacity"], night["TimeZone"]) == ("0 20 * * 1-5", "1", "1", "Etc/UTC")
    assert (morning["Recurrence"], morning["MinSize"]) == ("0 7 * * 1-5", "2") and "DesiredCapacity" not in morning


def test_a_spot_mix_keeps_a_base_on_demand(out: Path) -> None:
    policy = props(stack(out, "app"), "FleetAppGroup")["MixedInstancesPolicy"]
    assert policy["InstancesDistribution"] == {
        "OnDemandBaseCapacity": 1,
        "OnDemandPercentageAboveBaseCapacity": 50,
        "SpotAllocationStrategy": "price-capacity-optimized",
    }
    assert [o["InstanceType"] for o in policy["LaunchTemplate"]["Overrides"]] == ["m5.large", "m5a.large", "m6i.large"]


def test_the_role_is_session_manager_the_agent_and_exactly_the_uses(out: Path) -> None:
    role = props(stack(out, "app"), "FleetAppRole")
    assert role["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["PublishAgentMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}
    assert statements["MountFileSystemShared"]["Resource"] == [{"Fn::ImportValue": "estate-prod-data-FileSystemSharedArn"}]
    assert statements["ReadUsedSecrets"]["Resource"] == [
        {"Fn::ImportValue": "estate-prod-data-DatabaseMainSecretArn"},
        {"Fn::ImportValue": "estate-prod-data-SecretApiTokenArn"},
    ]
    assert "ReadwriteBucketUploadsObjects" in statements
    web = {s["Sid"] for s in props(stack(out, "app"), "FleetWebRole")["Policies"][0]["PolicyDocument"]["Statement"]}
    assert web == {"PublishAgentMetrics", "ReadAgentConfiguration"}  # web uses nothing


def test_the_security_groups_admit_the_load_balancer_and_the_fleets_uses_only(out: Path) -> None:
    security = stack(out, "security")
    ingress = props(security, "FleetWebIngressFromLoadBalancer")
    assert (ingress["FromPort"], ingress["SourceSecurityGroupId"]) == (80, {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]})
    assert props(security, "DatabaseMainIngressFromFleetApp")["SourceSecurityGroupId"] == {
        "Fn::GetAtt": ["FleetAppSecurityGroup", "GroupId"]
    }
    assert props(security, "FileSystemSharedIngressFromFleetApp")["FromPort"] == 2049
    assert "DatabaseMainIngressFromFleetWeb" not in security["Resources"]


def test_boot_writes_settings_but_no_secret_value_mounts_the_file_system_and_starts_the_agent(out: Path) -> None:
    script = user_data(out, "App")
    assert "DATABASE_MAIN_HOST=<{'Fn::ImportValue': 'estate-prod-data-DatabaseMainAddress'}>" in script
    assert "DATABASE_MAIN_PASSWORD_SECRET_ARN=<{'Fn::ImportValue': 'estate-prod-data-DatabaseMainSecretArn'}>\n" in script
    assert "DATABASE_MAIN_PASSWORD_SECRET_KEY=password\n" in script
    assert "LOG_LEVEL=info\n" in script
    assert "efs _netdev,noresvport,tls,iam,accesspoint=" in script and "mount -a -t efs" in script
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:/estate/prod/fleets/app/cloudwatch-agent" in script
    assert script.rstrip().endswith("systemctl enable --now app")  # the spec's own user data runs last
    base64.b64encode(script.encode())  # plain text: nothing binary slipped in


def test_instances_carry_the_patch_group_so_the_patch_window_reaches_them(out: Path) -> None:
    tags = {t["Key"]: t["Value"] for t in launch_data(out, "Web")["TagSpecifications"][0]["Tags"]}
    assert tags["Patch Group"] == "estate-prod"
    target = next(iter(of_type(stack(out, "operations"), "AWS::SSM::MaintenanceWindowTarget").values()))["Properties"]
    assert target["Targets"] == [{"Key": "tag:Patch Group", "Values": ["estate-prod"]}]


HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, app], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
"""


def _errors(tmp_path: Path, body: str) -> list[str]:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + textwrap.dedent(body) + "environments: {dev: {}}\n")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec_file)
    return [d.render().split(":", 1)[1] for d in exc.value.diagnostics]


def test_mistakes_are_told_at_their_line(tmp_path: Path) -> None:
    body = """\
    fleets:
      web:
        instance: m5.lage
        min: 3
        max: 2
        tier: public
        route: {path: /}
        scale: {cpu: 50}
        environment: {GREETING: "a\\nb"}
      worker:
        instance: t3.medium
        max: 2
        scale: {requests_per_instance: 100}
    """
    assert _errors(tmp_path, body) == [
        "7:15: error: m5.lage is not an EC2 instance type in us-east-1; did you mean m5.large?",
        "9:10: error: fleets.web.max 2 is below its min 3",
        "10:11: error: fleets.web: instances never go in the public tier (they would need public addresses)",
        "11:12: error: fleets.web has a route but no port for the load balancer to reach",
        "13:29: error: GREETING holds a line break; a settings file takes one line per setting",
        "17:36: error: requests_per_instance needs the fleet to have a route",
    ]
