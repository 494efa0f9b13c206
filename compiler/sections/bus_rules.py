"""Buses, rule side: each rule of an event bus with its targets, in the app stack.

A section feeds one stack. A bus (and its dead-letter queue and archive) is data, in the data stack with the queues
and topics; a rule is built where all of its targets already exist, after the functions it invokes, so it lives in
the app stack and names the bus, the queues, the topics and the dead-letter queue by their data-stack exports. Each
target retries (``retries``, ``max_age``) and then sends the event to the bus's dead-letter queue; a function target
gets a permission that admits this rule only (``SourceArn``). Queues and topics admit the rule in their own policies
(queues.py, topics.py), by the ARN the rule will have. The language, checks and the bus are in buses.py.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, awslambda, events

from ..context import Context, Fragment, camel
from . import functions, queues, topics
from .base import Section, Spec
from .buses import STACK as BUS_STACK
from .buses import bus_name, title

STACK = "app"


def rule_title(bus: str, rule: str) -> str:
    return f"{title(bus)}Rule{camel(rule)}"


def target_arn(ctx: Context, target: str) -> Any:
    kind, _, name = target.partition(".")
    if kind == "functions":
        return GetAtt(functions.title(name), "Arn")
    if kind == "queues":
        return ctx.imported(queues.STACK, f"{queues.title(name)}Arn")
    return ctx.imported(topics.STACK, f"{topics.title(name)}Arn")


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    for bus, settings in sorted(spec["buses"].items()):
        for rule, routed in sorted(settings["rules"].items()):
            out.at = ("buses", bus, "rules", rule)
            targets = []
            for target in routed["to"]:
                kind, _, name = target.partition(".")
                properties: dict[str, Any] = {
                    "Id": f"{kind[:-1]}-{name}",
                    "Arn": target_arn(ctx, target),
                    "DeadLetterConfig": events.DeadLetterConfig(Arn=ctx.imported(BUS_STACK, f"{title(bus)}DeadLetterArn")),
                    "RetryPolicy": events.RetryPolicy(MaximumRetryAttempts=routed["retries"], MaximumEventAgeInSeconds=routed["max_age"]),
                }
                if kind == "queues" and spec["queues"][name]["fifo"]:
                    properties["SqsParameters"] = events.SqsParameters(MessageGroupId=rule)
                targets.append(events.Target(**properties))
            resource = out.add(
                events.Rule(
                    rule_title(bus, rule),
                    Name=rule,
                    Description=routed.get("description", f"{bus_name(ctx, bus)}: rule {rule} to {', '.join(routed['to'])}")[:512],
                    EventBusName=ctx.imported(BUS_STACK, f"{title(bus)}Name"),
                    EventPattern=routed["pattern"],
                    State="ENABLED",
                    Targets=targets,
                )
            )
            for target in routed["to"]:
                kind, _, name = target.partition(".")
                if kind != "functions":
                    continue
                out.add(
                    awslambda.Permission(
                        f"{rule_title(bus, rule)}Invoke{camel(name)}",
                        Action="lambda:InvokeFunction",
                        FunctionName=Ref(functions.title(name)),
                        Principal="events.amazonaws.com",
                        SourceArn=GetAtt(resource, "Arn"),
                    )
                )
    return out


def needed(spec: Spec) -> bool:
    return any(bus["rules"] for bus in spec.get("buses", {}).values())


SECTION = Section("bus-rules", build=build, stack=STACK, needed=needed, whole_spec=True, site=True)
