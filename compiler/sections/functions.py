"""Functions: AWS Lambda, each with its own role, encrypted log group, triggers and `uses:`.

A function's permissions come only from what the spec says about it: its `uses:` (the same relationships
as a service's, plus queues, topics and other functions), its triggers in `on:` (consuming the queue it
is fed by) and its dead-letter queue. Each function has its own execution role, never shared, so one
function's rights never leak into another's. A function joins the VPC (the app tier, behind its own
security group) only when it uses something that lives there; otherwise it stays out, with no ENIs to pay
for or wait on. Code is a release: its S3 key or image tag is a template parameter, so `ivc deploy --set`
ships a new version without a recompile.
"""

from __future__ import annotations

import difflib
import json
import re
import zoneinfo
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from awacs import awslambda as lambda_actions
from awacs import ec2 as ec2_actions
from awacs import kms as kms_actions
from awacs import secretsmanager as secrets_actions
from awacs import sts
from awacs import xray as xray_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, awslambda, encode_to_dict, events, iam, scheduler, sns

from .. import relations
from ..context import Context, Fragment, camel
from . import databases, filesystems, network, security
from .base import LOG_GROUP_PATTERN, Connection, Problem, Section, Spec, Use, UseTarget, env_name, uses_property
from .logs import log_group as log_group_for
from .logs import writes_own_logs
from .secrets import key_arn

STACK = "app"
KIND = "functions"
SOURCES = ("queue", "schedule", "bucket", "topic")  # what a trigger in `on:` may name, exactly one each
OPTIONS = {"queue": ("batch",), "schedule": ("timezone",), "bucket": ("events", "prefix"), "topic": ()}
# Trigger options have no schema default (a trigger is one object whose keys depend on its source, and a
# default would land on every trigger); these are the documented defaults, applied by the builder.
DEFAULT_BATCH = 10
DEFAULT_TIMEZONE = "UTC"
DEFAULT_EVENTS = ("created",)
BUCKET_EVENTS = {"created": "Object Created", "removed": "Object Deleted"}
FIFO_BATCH = 10  # SQS hands a FIFO queue's consumer at most 10 messages per batch
# Above 10 messages per batch, Lambda requires a batching window of at least one second.
WINDOW_ABOVE_TEN = 1
# Names the Lambda runtime sets itself; a function may not set them.
RESERVED_VARIABLES = frozenset(["_HANDLER", "_X_AMZN_TRACE_ID", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ"])


def title(name: str) -> str:
    """Logical ID of a function, which APIs integrate with: ``FunctionApi``."""
    return f"Function{camel(name)}"


def function_name(ctx: Context, name: str) -> str:
    """The physical name, fixed so a function's ARN is known without referring to it (no cycles between users)."""
    return ctx.name(name)


def function_arn(ctx: Context, name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{function_name(ctx, name)}")


def log_group_name(ctx: Context, name: str, function: dict[str, Any]) -> str:
    """The spec's `log_group`, or /<system>/<environment>/functions/<name>."""
    return str(function.get("log_group") or ctx.log_group_name("functions", name))


def named_log_groups(spec: Spec, ctx: Context) -> list[str]:
    """Log groups the spec names outside /<system>/<environment>/, which the environment key must still encrypt."""
    own = ctx.log_group_name() + "/"
    names = (log_group_name(ctx, name, function) for name, function in spec.get(KIND, {}).items())
    return sorted(name for name in names if not name.startswith(own))


def source(trigger: dict[str, Any]) -> str:
    """Which kind of trigger this is: the one source key it names."""
    return next(key for key in SOURCES if key in trigger)


# --- runtimes, from cfn-lint's lifecycle data (no hand-kept list) ---


@cache
def _lifecycle() -> dict[str, dict[str, Any]]:
    # Found, not imported (as compiler/offerings.py does): importing cfnlint costs most of a second.
    from importlib.util import find_spec

    found = find_spec("cfnlint")
    assert found is not None and found.submodule_search_locations
    path = Path(next(iter(found.submodule_search_locations))) / "data" / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _passed(day: str | None, today: date) -> bool:
    return day is not None and date.fromisoformat(day) <= today


def creatable_runtimes(today: date) -> list[str]:
    """Runtimes Lambda still creates functions with on ``today``."""
    return sorted(name for name, life in _lifecycle().items() if not _passed(life["create-block"], today))


def runtime_problem(runtime: str, today: date) -> str | None:
    """Why Lambda would refuse to create a function with ``runtime`` on ``today``, or None."""
    life = _lifecycle().get(runtime)
    if life is None:
        close = difflib.get_close_matches(runtime, creatable_runtimes(today), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; Lambda has {', '.join(creatable_runtimes(today))}"
        return f"Lambda has no runtime {runtime}{hint}"
    if _passed(life["create-block"], today):
        successor = f"; use {life['successor']}" if life["successor"] else ""
        return f"{runtime} is deprecated by Lambda, which creates no functions with it since {life['create-block']}{successor}"
    return None


# --- cross-field checks ---


def check(spec: Spec) -> Iterator[Problem]:
    today = date.today()
    log_groups: dict[str, str] = {}
    for name, function in spec.get(KIND, {}).items():
        path = (KIND, name)
        if function.get("vpc") and "network" not in spec:
            yield (*path, "vpc"), f"functions.{name} runs in the VPC: add a network section"
        image = function["code"].startswith("ecr:")
        if image:
            for key in ("handler", "runtime"):
                if key in function:
                    yield (*path, key), f"functions.{name} runs a container image, whose own {key} Lambda uses; remove {key}"
        else:
            for key in ("runtime", "handler"):
                if key not in function:
                    yield (*path, "code"), f"functions.{name} has code from S3 and needs a {key}"
            if "runtime" in function:
                problem = runtime_problem(function["runtime"], today)
                if problem:
                    yield (*path, "runtime"), problem
        for variable in function["environment"]:
            if variable in RESERVED_VARIABLES or variable.startswith("AWS_"):
                yield (*path, "environment", variable), f"{variable} is set by the Lambda runtime; choose another name"
        chosen = function.get("log_group")
        if chosen is not None:
            if chosen in log_groups:
                yield (*path, "log_group"), f"functions.{name} and functions.{log_groups[chosen]} name the same log group {chosen}"
            log_groups[chosen] = name
        dead_letter = function.get("dead_letter")
        if dead_letter is not None:
            yield from _exists(spec, dead_letter, (*path, "dead_letter"), f"functions.{name}'s dead_letter is")
        for index, trigger in enumerate(function["on"]):
            yield from _check_trigger(spec, name, function, trigger, (*path, "on", index))


def _exists(spec: Spec, ref: str, where: tuple[Any, ...], who: str) -> Iterator[Problem]:
    kind, _, item = ref.partition(".")
    if item not in spec.get(kind, {}):
        known = ", ".join(sorted(spec.get(kind, {}))) or "none are declared"
        yield where, f"{who} {ref}, which does not exist ({kind}: {known})"


def _check_trigger(spec: Spec, name: str, function: dict[str, Any], trigger: dict[str, Any], where: tuple[Any, ...]) -> Iterator[Problem]:
    named = [key for key in SOURCES if key in trigger]
    if len(named) != 1:
        said = f"names {' and '.join(named)}" if named else "names none of them"
        yield where, f"a trigger is one of {', '.join(SOURCES)}; this one {said}"
        return
    kind = named[0]
    for option in sorted(set(trigger) - {kind, *OPTIONS[kind]}):
        owner = next(key for key, options in OPTIONS.items() if option in options)
        yield (*where, option), f"{option} belongs to {owner} triggers, not to a {kind} trigger"
    ref = trigger[kind]
    if kind != "schedule":
        yield from _exists(spec, ref, (*where, kind), f"functions.{name} is triggered by")
    if kind == "queue":
        queue = spec.get("queues", {}).get(ref.partition(".")[2])
        batch = trigger.get("batch", DEFAULT_BATCH)
        if queue is not None and queue.get("fifo") and batch > FIFO_BATCH:
            yield (*where, "batch"), f"{ref} is a FIFO queue, which hands a function at most {FIFO_BATCH} messages per batch, not {batch}"
    if kind == "topic":
        topic = spec.get("topics", {}).get(ref.partition(".")[2])
        if topic is not None and topic.get("fifo"):
            yield (*where, "topic"), f"{ref} is a FIFO topic, which delivers to queues only; subscribe a queue and trigger on that"
    if kind == "schedule":
        problem = schedule_problem(trigger["schedule"])
        if problem:
            yield (*where, "schedule"), problem
        problem = timezone_problem(trigger.get("timezone"))
        if problem:
            yield (*where, "timezone"), problem


def timezone_problem(zone: str | None) -> str | None:
    """An IANA time zone EventBridge Scheduler knows, or what is wrong with it."""
    zones = zoneinfo.available_timezones()
    if zone is None or not zones or zone in zones:
        return None
    close = difflib.get_close_matches(zone, sorted(zones), n=1, cutoff=0.6)
    return f"{zone} is not a time zone" + (f"; did you mean {close[0]}?" if close else " (an IANA name such as Europe/London)")


def schedule_problem(expression: str) -> str | None:
    """What EventBridge Scheduler would refuse in a rate or cron expression, or None."""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if expression.startswith("rate("):
        if rate is None:
            return f"{expression} is not a rate: write rate(<number> minutes|hours|days), such as rate(5 minutes)"
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1:
            return f"{expression} must be at least 1 {unit.rstrip('s')}"
        if (value == 1) != (not unit.endswith("s")):
            return f"{expression}: write rate({value} {unit.rstrip('s') if value == 1 else unit.rstrip('s') + 's'})"
        return None
    fields = expression[len("cron(") : -1].split()
    if len(fields) != 6:
        return (
            f"{expression} has {len(fields)} fields; a schedule's cron has 6: minutes hours day-of-month month "
            "day-of-week year, such as cron(0 3 * * ? *)"
        )
    if "?" not in (fields[2], fields[4]):
        return f"{expression}: one of day-of-month and day-of-week must be ?, such as cron(0 3 * * ? *)"
    return None


# --- what `uses: [functions.<n>]` means ---


def connect(ctx: Context, use: Use) -> Connection:
    """The function's name, to invoke it by."""
    return Connection(variables={env_name("function", use.name, "name"): function_name(ctx, use.name)})


def statements(ctx: Context, use: Use) -> list[Statement]:
    """Invoke that function only."""
    return [
        Statement(
            Sid=f"InvokeFunction{camel(use.name)}",
            Effect=Allow,
            Action=[lambda_actions.InvokeFunction],
            Resource=[function_arn(ctx, use.name)],
        )
    ]


# --- the builder ---


def build(functions: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    for name, function in sorted(functions.items()):
        out.at = (KIND, name)
        _function(name, function, ctx, out)
    return out


def _trust(service: str) -> PolicyDocument:
    """Only ``service`` acting for this account may assume the role."""
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", service),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            )
        ],
    )


def _used(ctx: Context, kind: str, name: str, access: str) -> list[Statement]:
    """The statements a use of ``kind.name`` in ``access`` grants, as that section defines them."""
    meaning = relations.target(kind)
    if meaning is None or meaning.statements is None:
        return []
    return meaning.statements(ctx, Use(kind, name, access))


def _key(value: Any) -> str:
    """What a template value will render as, to tell equal ones apart."""
    return json.dumps(encode_to_dict(value), sort_keys=True)


def _unique(statements: list[Statement]) -> list[Statement]:
    """Each statement once; a Sid two different statements share gets a number, as IAM wants Sids unique."""
    seen: dict[str, Statement] = {}
    for statement in statements:
        seen.setdefault(_key(statement), statement)
    result: list[Statement] = []
    sids: dict[str, int] = {}
    for statement in seen.values():
        sid = getattr(statement, "Sid", None)
        if sid:
            sids[sid] = sids.get(sid, 0) + 1
            if sids[sid] > 1:
                statement = Statement(**{**statement.properties, "Sid": f"{sid}{sids[sid]}"})
        result.append(statement)
    return result


def _secret_reference(value: Any) -> tuple[Any, str | None]:
    """An ECS `valueFrom` (a secret's ARN, or ``<arn>:<json-key>::`` joined) as (ARN, JSON key or None)."""
    if isinstance(value, Join):
        _, parts = value.data["Fn::Join"]
        if len(parts) == 2 and isinstance(parts[1], str) and parts[1].startswith(":") and parts[1].endswith("::"):
            return parts[0], parts[1][1:-2]
    return value, None


def _settings(function: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], list[Any]]:
    """Environment variables and the secret ARNs the function may read.

    Lambda cannot inject a secret's value the way ECS does, and a value must never be in the template, so
    each secret a use would inject arrives as `<VAR>_SECRET_ARN` (and `<VAR>_SECRET_KEY` for one key of
    a JSON secret, such as a database's username); the code reads it at start with GetSecretValue.
    """
    connection = relations.connections(function, ctx)
    variables, readable = connection.variables, connection.readable
    for variable, value in connection.injected.items():
        arn, key = _secret_reference(value)
        variables[f"{variable}_SECRET_ARN"] = arn
        if key:
            variables[f"{variable}_SECRET_KEY"] = key
    unique = list({_key(arn): arn for arn in readable}.values())
    return dict(sorted(variables.items())), unique


def _vpc_statements(ctx: Context, name: str) -> list[Statement]:
    """What Lambda needs to place the function's network interfaces: in this account, with its own group only."""
    prefix = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"
    vpc_arn = Join("", [Sub(f"{prefix}:vpc/"), ctx.imported(network.STACK, "VpcId")])
    group_arn = Join("", [Sub(f"{prefix}:security-group/"), security.imported(ctx, "function", name)])
    interfaces = Sub(f"{prefix}:network-interface/*")
    return [
        # Describe calls support no resource-level permissions: AWS documents "*" as their only resource.
        Statement(
            Sid="DescribeNetworkInterfaces",
            Effect=Allow,
            Action=[ec2_actions.DescribeNetworkInterfaces, ec2_actions.DescribeSubnets],
            Resource=["*"],
        ),
        Statement(
            Sid="CreateOwnNetworkInterfaces",
            Effect=Allow,
            Action=[ec2_actions.CreateNetworkInterface],
            Resource=[interfaces, Sub(f"{prefix}:subnet/*"), group_arn],
        ),
        Statement(
            Sid="ManageNetworkInterfacesInVpc",
            Effect=Allow,
            Action=[ec2_actions.DeleteNetworkInterface, ec2_actions.AssignPrivateIpAddresses, ec2_actions.UnassignPrivateIpAddresses],
            Resource=[interfaces],
            Condition=Condition(ArnEquals({"ec2:Vpc": vpc_arn})),
        ),
    ]


def _code(name: str, function: dict[str, Any], out: Fragment) -> tuple[dict[str, Any], awslambda.Code]:
    """Function properties for the code, and the code itself, its version a release parameter."""
    code = function["code"]
    if code.startswith("ecr:"):
        repository, _, tag = code[len("ecr:") :].rpartition(":")
        release = out.release(f"{title(name)}ImageTag", tag, f"Release of functions.{name}: the image tag")
        uri = Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository}:${{{release.title}}}")
        return {"PackageType": "Image"}, awslambda.Code(ImageUri=uri)
    bucket, _, key = code[len("s3:") :].partition("/")
    release = out.release(f"{title(name)}CodeKey", key, f"Release of functions.{name}: the code's S3 key")
    return (
        {"PackageType": "Zip", "Runtime": function["runtime"], "Handler": function["handler"]},
        awslambda.Code(S3Bucket=bucket, S3Key=Ref(release)),
    )


def _function(name: str, function: dict[str, Any], ctx: Context, out: Fragment) -> None:
    spec = ctx.spec
    logical = title(name)
    log_group = out.add(log_group_for(f"{logical}LogGroup", log_group_name(ctx, name, function), ctx, name, STACK))
    variables, readable = _settings(function, ctx)
    granted = [writes_own_logs(log_group)]
    if function["tracing"]:
        # X-Ray's write calls support no resource-level permissions: "*" is the only resource they take.
        granted.append(
            Statement(
                Sid="WriteTraces",
                Effect=Allow,
                Action=[xray_actions.PutTraceSegments, xray_actions.PutTelemetryRecords],
                Resource=["*"],
            )
        )
    if readable:
        granted.append(Statement(Sid="ReadUsedSecrets", Effect=Allow, Action=[secrets_actions.GetSecretValue], Resource=readable))
    if readable or variables:
        # The environment key encrypts the variables and the secrets; Lambda decrypts variables as the role.
        granted.append(
            Statement(Sid="DecryptWithEnvironmentKey", Effect=Allow, Action=[kms_actions.Decrypt], Resource=[key_arn(ctx, False)])
        )
    vpc = relations.in_vpc(spec, function)
    if vpc:
        granted += _vpc_statements(ctx, name)
    for use in relations.uses(function):
        granted += _used(ctx, use.kind, use.name, use.access)
    mounts = relations.mounts(ctx, KIND, name, function)
    for mounted in mounts:
        granted += mounted.statements
    granted += databases.rotation_statements(ctx, name)
    dead_letter = function.get("dead_letter")
    if dead_letter is not None:
        granted += _used(ctx, "queues", dead_letter.partition(".")[2], "send")
    for trigger in function["on"]:
        if source(trigger) == "queue":
            granted += _used(ctx, "queues", trigger["queue"].partition(".")[2], "consume")
    role = out.add(
        iam.Role(
            f"{logical}Role",
            Description=f"{function_name(ctx, name)}: what function {name} may do, from its uses, triggers and logs",
            AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"),
            Policies=[iam.Policy(PolicyName="function", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=_unique(granted)))],
            Tags=ctx.resource_tags(ctx.name(name, "function")),
        )
    )
    package, code = _code(name, function, out)
    properties: dict[str, Any] = {
        **package,
        "FunctionName": function_name(ctx, name),
        "Description": f"{function_name(ctx, name)}: functions.{name}",
        "Code": code,
        "Role": GetAtt(role, "Arn"),
        "MemorySize": function["memory"],
        "Timeout": function["timeout"],
        "Architectures": [function["architecture"]],
        "LoggingConfig": awslambda.LoggingConfig(LogGroup=Ref(log_group)),
        "Tags": ctx.resource_tags(function_name(ctx, name)),
    }
    if variables:
        properties["Environment"] = awslambda.Environment(Variables=variables)
        properties["KmsKeyArn"] = key_arn(ctx, False)
    if function["tracing"]:
        properties["TracingConfig"] = awslambda.TracingConfig(Mode="Active")
    if "concurrency" in function:
        properties["ReservedConcurrentExecutions"] = function["concurrency"]
    if dead_letter is not None:
        properties["DeadLetterConfig"] = awslambda.DeadLetterConfig(TargetArn=_queue(ctx, dead_letter, "Arn"))
    if vpc:
        properties["VpcConfig"] = awslambda.VPCConfig(
            SecurityGroupIds=[security.imported(ctx, "function", name)],
            SubnetIds=network.subnet_ids(ctx, network.app_tier(spec["network"])),
        )
    if mounts:
        properties["FileSystemConfigs"] = [filesystems.function_config(mounted) for mounted in mounts]
    resource = out.add(awslambda.Function(logical, **properties))
    out.export(ctx, STACK, f"{logical}Arn", GetAtt(resource, "Arn"), f"ARN of function {name}.")
    out.export(ctx, STACK, f"{logical}Name", Ref(resource), f"Name of function {name}.")
    for index, trigger in enumerate(function["on"], start=1):
        out.at = (KIND, name, "on", index - 1)
        kind = source(trigger)
        {"queue": _queue_trigger, "schedule": _schedule_trigger, "bucket": _bucket_trigger, "topic": _topic_trigger}[kind](
            name, index, trigger, ctx, out, resource
        )
    out.at = (KIND, name)


def _queue(ctx: Context, ref: str, what: str) -> Any:
    return ctx.imported("data", f"Queue{camel(ref.partition('.')[2])}{what}")


def _queue_trigger(name: str, index: int, trigger: dict[str, Any], ctx: Context, out: Fragment, function: awslambda.Function) -> None:
    batch = trigger.get("batch", DEFAULT_BATCH)
    properties: dict[str, Any] = {}
    if batch > 10:
        properties["MaximumBatchingWindowInSeconds"] = WINDOW_ABOVE_TEN
    out.add(
        awslambda.EventSourceMapping(
            f"{title(name)}Trigger{index}",
            EventSourceArn=_queue(ctx, trigger["queue"], "Arn"),
            FunctionName=Ref(function),
            BatchSize=batch,
            # A failed message is retried alone, not with the whole batch it came in.
            FunctionResponseTypes=["ReportBatchItemFailures"],
            Enabled=True,
            **properties,
        )
    )


def _schedule_trigger(name: str, index: int, trigger: dict[str, Any], ctx: Context, out: Fragment, function: awslambda.Function) -> None:
    logical = f"{title(name)}Trigger{index}"
    role = out.add(
        iam.Role(
            f"{logical}Role",
            Description=f"{function_name(ctx, name)}: EventBridge Scheduler invokes function {name} and nothing else",
            AssumeRolePolicyDocument=_trust("scheduler.amazonaws.com"),
            Policies=[
                iam.Policy(
                    PolicyName="invoke",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Sid="InvokeThisFunction",
                                Effect=Allow,
                                Action=[lambda_actions.InvokeFunction],
                                Resource=[GetAtt(function, "Arn")],
                            )
                        ],
                    ),
                )
            ],
            Tags=ctx.resource_tags(ctx.name(name, "schedule")),
        )
    )
    out.add(
        scheduler.Schedule(
            logical,
            Description=f"{function_name(ctx, name)}: functions.{name} on {trigger['schedule']}",
            ScheduleExpression=trigger["schedule"],
            ScheduleExpressionTimezone=trigger.get("timezone", DEFAULT_TIMEZONE),
            FlexibleTimeWindow=scheduler.FlexibleTimeWindow(Mode="OFF"),
            State="ENABLED",
            Target=scheduler.Target(Arn=GetAtt(function, "Arn"), RoleArn=GetAtt(role, "Arn")),
        )
    )


def _bucket_trigger(name: str, index: int, trigger: dict[str, Any], ctx: Context, out: Fragment, function: awslambda.Function) -> None:
    logical = f"{title(name)}Trigger{index}"
    bucket = trigger["bucket"].partition(".")[2]
    detail: dict[str, Any] = {"bucket": {"name": [ctx.imported("data", f"Bucket{camel(bucket)}Name")]}}
    if trigger.get("prefix"):
        detail["object"] = {"key": [{"prefix": trigger["prefix"]}]}
    # Through EventBridge (the bucket only turns its notifications on), so the data layer never refers to the app layer.
    rule = out.add(
        events.Rule(
            logical,
            Description=f"{function_name(ctx, name)}: buckets.{bucket} events for functions.{name}",
            EventBusName="default",
            State="ENABLED",
            EventPattern={
                "source": ["aws.s3"],
                "detail-type": [BUCKET_EVENTS[event] for event in trigger.get("events", DEFAULT_EVENTS)],
                "detail": detail,
            },
            Targets=[events.Target(Id="function", Arn=GetAtt(function, "Arn"))],
        )
    )
    out.add(
        awslambda.Permission(
            f"{logical}Permission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(function),
            Principal="events.amazonaws.com",
            SourceArn=GetAtt(rule, "Arn"),
        )
    )


def _topic_trigger(name: str, index: int, trigger: dict[str, Any], ctx: Context, out: Fragment, function: awslambda.Function) -> None:
    logical = f"{title(name)}Trigger{index}"
    topic = ctx.imported("data", f"Topic{camel(trigger['topic'].partition('.')[2])}Arn")
    out.add(
        awslambda.Permission(
            f"{logical}Permission",
            Action="lambda:InvokeFunction",
            FunctionName=Ref(function),
            Principal="sns.amazonaws.com",
            SourceArn=topic,
        )
    )
    out.add(sns.SubscriptionResource(logical, Protocol="lambda", Endpoint=GetAtt(function, "Arn"), TopicArn=topic))


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_NAME = "[a-z][a-z0-9-]*"
PROPERTIES: dict[str, Any] = {
    "functions": {
        "description": "AWS Lambda functions, each with its own role and encrypted log group. `uses:` derives their network "
        "access, IAM permissions and settings; `on:` says what invokes them.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/function"},
        "default": {},
        "examples": [
            {
                "worker": {
                    "runtime": "python3.13",
                    "handler": "app.handler",
                    "code": "s3:my-artifacts/worker/1.4.2.zip",
                    "on": [{"queue": "queues.jobs", "batch": 5}],
                }
            }
        ],
    }
}
DEFS: dict[str, Any] = {
    "function": {
        "description": "A Lambda function.",
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "runtime": {
                "description": "Lambda runtime for code from S3 (checked against the runtimes Lambda still creates functions "
                "with); not for container images, which bring their own.",
                "type": "string",
                "minLength": 1,
                "examples": ["python3.13", "nodejs22.x", "java21", "provided.al2023"],
            },
            "handler": {
                "description": "Entry point for code from S3, such as `app.handler`; not for container images.",
                "type": "string",
                "minLength": 1,
                "maxLength": 128,
                "examples": ["app.handler", "index.handler"],
            },
            "code": {
                "description": "The code: `s3:<bucket>/<key>` (a zip) or `ecr:<repository>:<tag>` (an image in this account's ECR). "
                "The key or tag is a release: a template parameter `ivc deploy --set` changes without a recompile.",
                "type": "string",
                "pattern": "^(s3:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+|ecr:[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$",
                "examples": ["s3:acme-artifacts/api/1.2.0.zip", "ecr:api:1.2.0"],
            },
            "memory": {
                "description": "Memory in MiB (CPU grows with it). Default 256: enough for a typical API handler.",
                "type": "integer",
                "minimum": 128,
                "maximum": 10240,
                "default": 256,
            },
            "timeout": {
                "description": "Seconds an invocation may run, at most 900. Default 30: API Gateway waits at most 30 s.",
                "type": "integer",
                "minimum": 1,
                "maximum": 900,
                "default": 30,
            },
            "architecture": {
                "description": "Processor architecture. Default arm64: Graviton costs about 20% less for the same work.",
                "enum": ["arm64", "x86_64"],
                "default": "arm64",
            },
            "environment": {
                "description": "Plain environment variables (never secrets: `uses: [secrets.<n>]` hands the code a secret's ARN).",
                "type": "object",
                "propertyNames": {"pattern": "^[a-zA-Z][a-zA-Z0-9_]{0,62}$"},
                "additionalProperties": {"type": ["string", "integer", "number", "boolean"]},
                "default": {},
            },
            "concurrency": {
                "description": "Reserved concurrency: instances kept for this function and its ceiling. Default: none reserved.",
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
            },
            "vpc": {
                "description": "Run in the VPC's app tier behind a security group of its own even when nothing it uses is there, "
                "so its traffic to AWS stays on the VPC's endpoints and NAT (a function using a database, a cache or a file "
                "system runs there anyway).",
                "type": "boolean",
                "default": False,
            },
            "tracing": {
                "description": "X-Ray active tracing. Default true: a request is followed through every function it reaches.",
                "type": "boolean",
                "default": True,
            },
            "log_group": {
                "description": "Log group name, when the spec chooses one. Default /<system>/<environment>/functions/<name>.",
                "type": "string",
                "pattern": LOG_GROUP_PATTERN,
                "examples": ["/aws/lambda/dev-api"],
            },
            "uses": uses_property("function", ["databases.main", "queues.jobs:send", "secrets.stripe-key"]),
            "on": {
                "description": "What invokes the function besides API routes: queues, schedules, bucket events, topics.",
                "type": "array",
                "items": {"$ref": "#/$defs/functionTrigger"},
                "default": [],
                "examples": [[{"queue": "queues.jobs", "batch": 5}, {"schedule": "cron(0 3 * * ? *)", "timezone": "Europe/London"}]],
            },
            "dead_letter": {
                "description": "Queue that receives asynchronous invocations (schedules, bucket events, topics) that failed "
                "every retry. Default: none.",
                "type": "string",
                "pattern": f"^queues\\.{_NAME}$",
                "examples": ["queues.failed-jobs"],
            },
        },
    },
    "functionTrigger": {
        "description": "One trigger: exactly one of queue, schedule, bucket or topic, with that source's options.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "queue": {
                "description": "Consume this queue (an event source mapping that reports partial batch failures).",
                "type": "string",
                "pattern": f"^queues\\.{_NAME}$",
                "examples": ["queues.jobs"],
            },
            "batch": {
                "description": "Queue triggers: messages per invocation, at most 10 for a FIFO queue. Default 10: SQS's own default.",
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
            },
            "schedule": {
                "description": "Invoke on a schedule (EventBridge Scheduler): `cron(<6 fields>)` or `rate(<n> <unit>)`.",
                "type": "string",
                "pattern": "^(cron|rate)\\(.+\\)$",
                "examples": ["cron(0 3 * * ? *)", "rate(5 minutes)"],
            },
            "timezone": {
                "description": "Schedule triggers: the IANA time zone cron expressions are read in. Default UTC.",
                "type": "string",
                "minLength": 1,
                "examples": ["Europe/London"],
            },
            "bucket": {
                "description": "Invoke on this bucket's object events (through EventBridge: the bucket never depends on the function).",
                "type": "string",
                "pattern": f"^buckets\\.{_NAME}$",
                "examples": ["buckets.uploads"],
            },
            "events": {
                "description": "Bucket triggers: which object events. Default [created].",
                "type": "array",
                "items": {"enum": ["created", "removed"]},
                "minItems": 1,
                "uniqueItems": True,
            },
            "prefix": {
                "description": "Bucket triggers: only objects whose key starts with this. Default: every object.",
                "type": "string",
                "minLength": 1,
                "examples": ["incoming/"],
            },
            "topic": {
                "description": "Subscribe to this topic.",
                "type": "string",
                "pattern": f"^topics\\.{_NAME}$",
                "examples": ["topics.orders"],
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "functions": {"description": "Changes to functions in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    KIND,
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    use=UseTarget(default="invoke", accesses=("invoke",), connect=connect, statements=statements),
    log_groups=named_log_groups,
    site=True,
)
