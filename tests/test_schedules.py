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
