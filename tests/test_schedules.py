"""schedules: a one-off ECS task of a service, or a function, on cron or rate, with a role that may do exactly that."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
buckets:
  media: {}
services:
  worker: {image: shop/worker:1.0.0, uses: [buckets.media:read]}
  beat: {image: shop/worker:1.0.0}
functions:
  cleanup: {runtime: python3.12, handler: app.handler, code: s3:shop-artifacts/cleanup.zip}
schedules:
  nightly-report: {run: services.worker, expression: "cron(0 3 * * ? *)", timezone: Europe/London, command: [python, report.py]}
  hourly-beat: {run: services.beat, expression: rate(1 hour)}
  cleanup: {run: functions.cleanup, expression: rate(6 hours)}
environments:
  dev: {}
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("schedules")
    (folder / "spec.yaml").write_text(SPEC)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out")
    assert result.exit_code == 0, result.output
    return read_json(folder / "out" / "shop" / "dev" / "us-east-1" / "app.json")["Resources"]  # type: ignore[no-any-return]


def test_a_service_task_runs_on_cron_in_its_own_network_with_another_command(app: dict[str, Any]) -> None:
    schedule = app["ScheduleNightlyReport"]["Properties"]
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == ("cron(0 3 * * ? *)", "Europe/London")
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = schedule["Target"]
    assert target["Arn"] == {"Fn::GetAtt": ["Cluster", "Arn"]}
    ecs = target["EcsParameters"]
    assert ecs["TaskDefinitionArn"] == {"Ref": "ServiceWorkerTaskDefinition"} and ecs["LaunchType"] == "FARGATE"
    network = ecs["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert network["SecurityGroups"] == [{"Fn::ImportValue": "shop-dev-security-ServiceWorkerSecurityGroup"}]
    assert json.loads(target["Input"]) == {"containerOverrides": [{"command": ["python", "report.py"], "name": "worker"}]}


def test_each_schedule_may_start_exactly_its_task_and_pass_exactly_its_roles(app: dict[str, Any]) -> None:
    worker = app["ScheduleNightlyReportRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert worker[0]["Action"] == ["ecs:RunTask"] and worker[0]["Resource"] == [{"Ref": "ServiceWorkerTaskDefinition"}]
    assert worker[1]["Resource"] == [
        {"Fn::GetAtt": ["ServiceWorkerExecutionRole", "Arn"]},
        {"Fn::GetAtt": ["ServiceWorkerTaskRole", "Arn"]},
    ]
    assert worker[1]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    beat = app["ScheduleHourlyBeatRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert beat[1]["Resource"] == [{"Fn::GetAtt": ["ServiceBeatExecutionRole", "Arn"]}]  # beat has no task role
    function = app["ScheduleCleanupRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert function == [
        {
            "Action": ["lambda:InvokeFunction"],
            "Effect": "Allow",
            "Resource": [{"Fn::GetAtt": ["FunctionCleanup", "Arn"]}],
            "Sid": "InvokeTheFunction",
        }
    ]
    assert app["ScheduleCleanup"]["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": ["FunctionCleanup", "Arn"]}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("run: services.worker,", "run: services.wroker,"), "runs services.wroker, which does not exist (services: beat, worker)"),
        (("run: functions.cleanup, expression", "run: functions.cleanup, command: [x], expression"), "a function takes none"),
        (('"cron(0 3 * * ? *)"', '"cron(0 3 * * *)"'), "has 5 fields; a schedule's cron has 6"),
        (("timezone: Europe/London", "timezone: Europe/Londn"), "Europe/Londn is not a time zone; did you mean Europe/London?"),
    ],
)
def test_bad_schedules_are_refused_at_their_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace(*change))
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert expected in result.stderr and result.stderr.startswith(f"{spec}:"), result.stderr


FLEET_SPEC = """\
ivc: 1
system: ships
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, app, data], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
queues:
  jobs: {}
fleets:
  ecs: {instance: m5.large, ecs: true, tier: data, min: 1, max: 4}
services:
  worker: {image: shop/worker:1.0.0, capacity: {fleet: ecs}, uses: [queues.jobs:consume]}
  bridged: {image: shop/worker:1.0.0, capacity: {fleet: ecs}, network_mode: bridge}
schedules:
  nightly-cleanup: {run: services.worker, expression: "cron(0 2 * * ? *)", command: [python, cleanup.py]}
  hourly-sweep: {run: services.bridged, expression: rate(1 hour)}
environments:
  dev: {}
"""


@pytest.fixture(scope="module")
def fleet_app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Scheduled tasks of services on an ECS fleet, compiled and linted (warnings failing it)."""
    folder = tmp_path_factory.mktemp("fleet-schedules")
    (folder / "spec.yaml").write_text(FLEET_SPEC)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return read_json(folder / "out" / "ships" / "dev" / "us-east-1" / "app.json")["Resources"]  # type: ignore[no-any-return]


def test_a_scheduled_task_of_a_fleet_service_runs_through_the_fleets_capacity_provider(fleet_app: dict[str, Any]) -> None:
    schedule = fleet_app["ScheduleNightlyCleanup"]
    ecs = schedule["Properties"]["Target"]["EcsParameters"]
    assert "LaunchType" not in ecs  # a launch type would bypass the provider's managed scaling
    assert ecs["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": "FleetEcsCapacityProvider"}, "Weight": 1}]
    assert ecs["PlacementStrategy"] == [
        {"Field": "attribute:ecs.availability-zone", "Type": "spread"},
        {"Field": "memory", "Type": "binpack"},
    ]
    assert ecs["TaskDefinitionArn"] == {"Ref": "ServiceWorkerTaskDefinition"}
    # awsvpc: the service's own group, in its fleet's tier (where the instances and their network interfaces are).
    network = ecs["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["SecurityGroups"] == [{"Fn::ImportValue": "ships-dev-security-ServiceWorkerSecurityGroup"}]
    assert network["Subnets"] == fleet_app["ServiceWorker"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert "Data" in json.dumps(network["Subnets"])
    # Created after the provider is the cluster's, deleted before it.
    assert schedule["DependsOn"] == ["ClusterCapacityProviders"]
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == {
        "containerOverrides": [{"command": ["python", "cleanup.py"], "name": "worker"}]
    }


def test_a_bridge_mode_scheduled_task_has_no_network_configuration_and_the_same_narrow_role(fleet_app: dict[str, Any]) -> None:
    ecs = fleet_app["ScheduleHourlySweep"]["Properties"]["Target"]["EcsParameters"]
    assert "NetworkConfiguration" not in ecs  # the task shares its instance's network
    assert ecs["CapacityProviderStrategy"] == [{"CapacityProvider": {"Ref": "FleetEcsCapacityProvider"}, "Weight": 1}]
    statements = fleet_app["ScheduleHourlySweepRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements[0]["Action"] == ["ecs:RunTask"] and statements[0]["Resource"] == [{"Ref": "ServiceBridgedTaskDefinition"}]
    assert statements[0]["Condition"] == {"StringEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}}
    assert statements[1]["Action"] == ["iam:PassRole"]
    assert statements[1]["Resource"] == [{"Fn::GetAtt": ["ServiceBridgedExecutionRole", "Arn"]}]
    assert len(statements) == 2


def test_a_fargate_scheduled_task_is_unchanged(app: dict[str, Any]) -> None:
    ecs = app["ScheduleHourlyBeat"]["Properties"]["Target"]["EcsParameters"]
    assert ecs["LaunchType"] == "FARGATE" and "CapacityProviderStrategy" not in ecs and "PlacementStrategy" not in ecs
    assert "DependsOn" not in app["ScheduleHourlyBeat"]
