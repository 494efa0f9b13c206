"""Schedules: EventBridge Scheduler runs a one-off ECS task of a service, or invokes a function, on cron or rate.

A scheduled task is the service's own task definition (same image release, roles, settings and secrets) run
once where the service runs, optionally with another command: the nightly report or migration next to the web
service it belongs to. A Fargate service's task runs in the app tier with the service's security group; an ECS on
EC2 service's (`capacity: {fleet: <n>}`) on the fleet's instances through the fleet's capacity provider, with the
service's group in its fleet's tier in awsvpc mode, or on the instance's network in bridge mode. Each schedule
has a role that may start exactly that task (and pass exactly its roles) or invoke exactly that function. For a
function, `on: [{schedule: ...}]` says the same from the function's side.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from awacs import awslambda as lambda_actions
from awacs import ecs as ecs_actions
from awacs import iam as iam_actions
from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, iam, scheduler

from ..context import Context, Fragment, camel
from . import network, security
from .base import Problem, Section, Spec
from .functions import schedule_problem, timezone_problem
from .services import ASSOCIATION, capacity_provider_title, on_fleet, task_statements, task_tier

STACK = "app"
DEFAULT_TIMEZONE = "UTC"


def title(name: str) -> str:
    return f"Schedule{camel(name)}"


def check(spec: Spec) -> Iterator[Problem]:
    for name, schedule in spec.get("schedules", {}).items():
        where = ("schedules", name)
        kind, _, target = schedule["run"].partition(".")
        known = spec.get(kind, {})
        if target not in known:
            listed = ", ".join(sorted(known)) or "none are declared"
            yield (*where, "run"), f"schedules.{name} runs {schedule['run']}, which does not exist ({kind}: {listed})"
        if kind == "functions" and "command" in schedule:
            yield (*where, "command"), "command overrides a service's container command; a function takes none"
        for key, problem in (
            ("expression", schedule_problem(schedule["expression"])),
            ("timezone", timezone_problem(schedule.get("timezone"))),
        ):
            if problem:
                yield (*where, key), problem


def _trust(ctx: Context) -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "scheduler.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            )
        ],
    )


def _task_target(name: str, schedule: dict[str, Any], ctx: Context) -> tuple[list[Statement], scheduler.Target]:
    service_name = schedule["run"].partition(".")[2]
    service = f"Service{camel(service_name)}"
    roles = [GetAtt(f"{service}ExecutionRole", "Arn")]
    if task_statements(service_name, ctx.spec["services"][service_name], ctx):  # the service has a task role only then
        roles.append(GetAtt(f"{service}TaskRole", "Arn"))
    statements = [
        Statement(
            Sid="RunTheServicesTask",
            Effect=Allow,
            Action=[ecs_actions.RunTask],
            Resource=[Ref(f"{service}TaskDefinition")],
            Condition=Condition(StringEquals({"ecs:cluster": GetAtt("Cluster", "Arn")})),
        ),
        Statement(
            Sid="PassTheTasksRoles",
            Effect=Allow,
            Action=[iam_actions.PassRole],
            Resource=roles,
            Condition=Condition(StringEquals({"iam:PassedToService": "ecs-tasks.amazonaws.com"})),
        ),
    ]
    overrides: dict[str, Any] = {}
    if "command" in schedule:
        overrides = {"containerOverrides": [{"name": service_name, "command": schedule["command"]}]}
    target = scheduler.Target(
        Arn=GetAtt("Cluster", "Arn"),
        RoleArn=GetAtt(f"{title(name)}Role", "Arn"),
        EcsParameters=scheduler.EcsParameters(
            TaskDefinitionArn=Ref(f"{service}TaskDefinition"), TaskCount=1, PropagateTags="TASK_DEFINITION", **_placement(service_name, ctx)
        ),
        RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=schedule["retries"]),
        **({"Input": json.dumps(overrides, sort_keys=True)} if overrides else {}),
    )
    return statements, target


def _placement(service_name: str, ctx: Context) -> dict[str, Any]:
    """Where the task runs: on Fargate in the app tier; or on its service's fleet, through the fleet's capacity provider
    (a launch type would bypass the provider's managed scaling), placed as the service places its tasks, in the fleet's
    tier in awsvpc mode and on the instance's own network in bridge mode."""
    service = ctx.spec["services"][service_name]
    awsvpc = scheduler.NetworkConfiguration(
        AwsvpcConfiguration=scheduler.AwsVpcConfiguration(
            AssignPublicIp="DISABLED",
            SecurityGroups=[security.imported(ctx, "service", service_name)],
            Subnets=network.subnet_ids(ctx, task_tier(ctx.spec, service)),
        )
    )
    fleet = on_fleet(service)
    if fleet is None:
        return {"LaunchType": "FARGATE", "NetworkConfiguration": awsvpc}
    placement: dict[str, Any] = {
        # The provider's name, in this stack: Ref of an AWS::ECS::CapacityProvider is its name, which RunTask takes.
        "CapacityProviderStrategy": [
            scheduler.CapacityProviderStrategyItem(CapacityProvider=Ref(capacity_provider_title(fleet)), Weight=1)
        ],
        "PlacementStrategy": [
            scheduler.PlacementStrategy(Type="spread", Field="attribute:ecs.availability-zone"),
            scheduler.PlacementStrategy(Type="binpack", Field="memory"),
        ],
    }
    if service["network_mode"] != "bridge":
        placement["NetworkConfiguration"] = awsvpc
    return placement


def _function_target(name: str, schedule: dict[str, Any]) -> tuple[list[Statement], scheduler.Target]:
    function = f"Function{camel(schedule['run'].partition('.')[2])}"
    statements = [
        Statement(Sid="InvokeTheFunction", Effect=Allow, Action=[lambda_actions.InvokeFunction], Resource=[GetAtt(function, "Arn")])
    ]
    target = scheduler.Target(
        Arn=GetAtt(function, "Arn"),
        RoleArn=GetAtt(f"{title(name)}Role", "Arn"),
        RetryPolicy=scheduler.RetryPolicy(MaximumRetryAttempts=schedule["retries"]),
    )
    return statements, target


def build(schedules: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    for name, schedule in sorted(schedules.items()):
        out.at = ("schedules", name)
        kind = schedule["run"].partition(".")[0]
        statements, target = _task_target(name, schedule, ctx) if kind == "services" else _function_target(name, schedule)
        out.add(
            iam.Role(
                f"{title(name)}Role",
                Description=f"{ctx.name(name)}: EventBridge Scheduler runs {schedule['run']} and nothing else",
                AssumeRolePolicyDocument=_trust(ctx),
                Policies=[iam.Policy(PolicyName="run", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
                Tags=ctx.resource_tags(ctx.name(name, "schedule")),
            )
        )
        # A task on a fleet names its capacity provider, which must be the cluster's first (and outlive the schedule).
        fleet = on_fleet(ctx.spec["services"][schedule["run"].partition(".")[2]]) if kind == "services" else None
        out.add(
            scheduler.Schedule(
                title(name),
                **({"DependsOn": [ASSOCIATION]} if fleet else {}),
                Name=ctx.name(name),
                Description=f"{ctx.name(name)}: {schedule['run']} on {schedule['expression']}",
                ScheduleExpression=schedule["expression"],
                ScheduleExpressionTimezone=schedule.get("timezone", DEFAULT_TIMEZONE),
                FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
                State="ENABLED" if schedule["enabled"] else "DISABLED",
                Target=target,
            )
        )
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "schedules": {
        "description": "Jobs on a schedule (EventBridge Scheduler): a one-off ECS task of a service's task definition, "
        "optionally with another command, or a function invocation.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/schedule"},
        "default": {},
        "examples": [{"nightly-report": {"run": "services.worker", "expression": "cron(0 3 * * ? *)", "command": ["report"]}}],
    }
}
DEFS: dict[str, Any] = {
    "schedule": {
        "description": "One scheduled job.",
        "type": "object",
        "additionalProperties": False,
        "required": ["run", "expression"],
        "properties": {
            "run": {
                "description": "What runs: services.<name> (one task of its task definition) or functions.<name>.",
                "type": "string",
                "pattern": "^(functions|services)\\.[a-z][a-z0-9-]*$",
            },
            "expression": {
                "description": "When: cron(<6 fields>) or rate(<n> <unit>), such as cron(0 3 * * ? *).",
                "type": "string",
                "pattern": "^(cron|rate)\\(.+\\)$",
            },
            "timezone": {
                "description": "IANA time zone the cron is read in. Default UTC.",
                "type": "string",
                "examples": ["Europe/London"],
            },
            "command": {
                "description": "For a service: the container command for this run instead of the image's.",
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
            },
            "retries": {
                "description": "Times the scheduler retries a failed start (0 to 185).",
                "type": "integer",
                "minimum": 0,
                "maximum": 185,
                "default": 3,
            },
            "enabled": {"description": "Whether the schedule fires.", "type": "boolean", "default": True},
        },
    }
}
OVERLAY: dict[str, Any] = {
    "schedules": {"description": "Changes to schedules in this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section("schedules", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK)
