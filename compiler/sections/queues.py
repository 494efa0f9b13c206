"""Queues: SQS, each with a dead-letter queue, long polling, TLS only and the environment key.

A message that fails ``retries`` times moves to the queue's dead-letter queue, kept 14 days (the longest SQS
allows) so nothing is lost while someone looks. The visibility timeout follows AWS's advice for Lambda
consumers: six times the longest consumer's timeout, so a message is never handed out twice while a
consumer still works on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import kms as kms_actions
from awacs import sqs as sqs_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, sqs

from ..context import Context, Fragment, camel
from .base import Connection, Problem, Section, Spec, Use, UseTarget, deny_insecure_transport, env_name
from .buses import delivery_arns
from .secrets import key_arn

STACK = "data"
DAY = 86_400
DEAD_LETTER_DAYS = 14
MIN_VISIBILITY = 30  # SQS's default, for queues whose consumers say nothing about their time
MAX_VISIBILITY = 43_200


def title(name: str) -> str:
    return f"Queue{camel(name)}"


def physical_name(ctx: Context, name: str, fifo: bool, *suffix: str) -> str:
    return ctx.name(name, *suffix) + (".fifo" if fifo else "")


def consumers(spec: Spec, name: str) -> list[str]:
    """Functions triggered by the queue."""
    ref = f"queues.{name}"
    return sorted(f for f, fn in spec.get("functions", {}).items() if any(t.get("queue") == ref for t in fn.get("on", [])))


def visibility_timeout(spec: Spec, name: str) -> int:
    """The spec's, else six times the longest consumer timeout (AWS's advice for Lambda), at least SQS's default."""
    queue = spec["queues"][name]
    if "visibility_timeout" in queue:
        return int(queue["visibility_timeout"])
    longest = max((int(spec["functions"][f].get("timeout", 0)) for f in consumers(spec, name)), default=0)
    return min(MAX_VISIBILITY, max(MIN_VISIBILITY, 6 * longest))


def subscribed_topics(spec: Spec, name: str) -> list[str]:
    """Topics that deliver to the queue."""
    ref = f"queues.{name}"
    return sorted(t for t, topic in spec.get("topics", {}).items() if any(s.get("queue") == ref for s in topic["subscriptions"]))


def check(spec: Spec) -> Iterator[Problem]:
    for name, queue in spec.get("queues", {}).items():
        if queue["content_based_deduplication"] and not queue["fifo"]:
            yield ("queues", name, "content_based_deduplication"), "content_based_deduplication needs fifo: true"
        if "visibility_timeout" not in queue:
            continue
        for function in consumers(spec, name):
            timeout = int(spec["functions"][function].get("timeout", 0))
            if queue["visibility_timeout"] < timeout:
                yield (
                    ("queues", name, "visibility_timeout"),
                    f"visibility_timeout {queue['visibility_timeout']} is shorter than functions.{function}'s timeout "
                    f"{timeout}: messages would be handed out again while it works; leave it out to get 6x the timeout",
                )


def build(queues: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    key = key_arn(ctx, same_stack=True)
    for name, queue in sorted(queues.items()):
        out.at = ("queues", name)
        fifo = queue["fifo"]
        fifo_settings: dict[str, Any] = {"FifoQueue": True} if fifo else {}
        if fifo and queue["content_based_deduplication"]:
            fifo_settings["ContentBasedDeduplication"] = True
        dead_letter = out.add(
            sqs.Queue(
                f"{title(name)}DeadLetter",
                QueueName=physical_name(ctx, name, fifo, "dlq"),
                MessageRetentionPeriod=DEAD_LETTER_DAYS * DAY,
                KmsMasterKeyId=key,
                KmsDataKeyReusePeriodSeconds=300,
                Tags=ctx.resource_tags(physical_name(ctx, name, fifo, "dlq")),
                **fifo_settings,
            )
        )
        resource = out.add(
            sqs.Queue(
                title(name),
                QueueName=physical_name(ctx, name, fifo),
                MessageRetentionPeriod=queue["retention"] * DAY,
                ReceiveMessageWaitTimeSeconds=queue["wait"],
                VisibilityTimeout=visibility_timeout(spec, name),
                DelaySeconds=queue["delay"],
                KmsMasterKeyId=key,
                KmsDataKeyReusePeriodSeconds=300,
                RedrivePolicy=sqs.RedrivePolicy(deadLetterTargetArn=GetAtt(dead_letter, "Arn"), maxReceiveCount=queue["retries"]),
                Tags=ctx.resource_tags(physical_name(ctx, name, fifo)),
                **fifo_settings,
            )
        )
        statements = [deny_insecure_transport([sqs_actions.Action("*")], [GetAtt(resource, "Arn"), GetAtt(dead_letter, "Arn")])]
        topics = subscribed_topics(spec, name)
        if topics:
            statements.append(
                Statement(
                    Sid="TopicsDeliver",
                    Effect=Allow,
                    Principal=Principal("Service", "sns.amazonaws.com"),
                    Action=[sqs_actions.SendMessage],
                    Resource=[GetAtt(resource, "Arn")],
                    Condition=Condition(ArnEquals({"aws:SourceArn": [Ref(f"Topic{camel(t)}") for t in topics]})),
                )
            )
        rules = delivery_arns(ctx, f"queues.{name}")
        if rules:
            statements.append(
                Statement(
                    Sid="BusRulesDeliver",
                    Effect=Allow,
                    Principal=Principal("Service", "events.amazonaws.com"),
                    Action=[sqs_actions.SendMessage],
                    Resource=[GetAtt(resource, "Arn")],
                    Condition=Condition(ArnEquals({"aws:SourceArn": rules})),
                )
            )
        out.add(
            sqs.QueuePolicy(
                f"{title(name)}Policy",
                Queues=[Ref(resource), Ref(dead_letter)],
                PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements),
            )
        )
        out.export(ctx, STACK, f"{title(name)}Arn", GetAtt(resource, "Arn"), f"ARN of queue {name}.")
        out.export(ctx, STACK, f"{title(name)}Url", Ref(resource), f"URL of queue {name}.")
        out.export(ctx, STACK, f"{title(name)}Name", GetAtt(resource, "QueueName"), f"Name of queue {name}.")
        out.export(ctx, STACK, f"{title(name)}DeadLetterArn", GetAtt(dead_letter, "Arn"), f"ARN of queue {name}'s dead-letter queue.")
        out.export(
            ctx, STACK, f"{title(name)}DeadLetterName", GetAtt(dead_letter, "QueueName"), f"Name of queue {name}'s dead-letter queue."
        )
    return out


# --- what a use of a queue means ---


def connect(ctx: Context, use: Use) -> Connection:
    """The queue's URL as a setting."""
    return Connection(variables={env_name("queue", use.name, "url"): ctx.imported(STACK, f"{title(use.name)}Url")})


def statements(ctx: Context, use: Use) -> list[Statement]:
    """send: SendMessage; consume: receive, delete and extend visibility. Both with the key the queue is encrypted with."""
    arn = ctx.imported(STACK, f"{title(use.name)}Arn")
    if use.access == "consume":
        actions = [
            sqs_actions.ReceiveMessage,
            sqs_actions.DeleteMessage,
            sqs_actions.ChangeMessageVisibility,
            sqs_actions.GetQueueAttributes,
        ]
        key_actions = [kms_actions.Decrypt]
    else:
        actions = [sqs_actions.SendMessage, sqs_actions.GetQueueAttributes]
        key_actions = [kms_actions.GenerateDataKey, kms_actions.Decrypt]
    return [
        Statement(Sid=f"{camel(use.access)}Queue{camel(use.name)}", Effect=Allow, Action=actions, Resource=[arn]),
        Statement(Sid=f"KeyForQueue{camel(use.name)}", Effect=Allow, Action=key_actions, Resource=[key_arn(ctx, False)]),
    ]


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "queues": {
        "description": "SQS queues, each with a dead-letter queue (kept 14 days), long polling, TLS only, encrypted with the "
        "environment's key. Services and functions send or consume through `uses:`; functions are triggered with `on:`.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/queue"},
        "default": {},
        "examples": [{"jobs": {"retries": 5}, "orders": {"fifo": True}}],
    }
}
DEFS: dict[str, Any] = {
    "queue": {
        "description": "One queue.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fifo": {
                "description": "First-in-first-out with exactly-once processing (the name gets .fifo).",
                "type": "boolean",
                "default": False,
            },
            "content_based_deduplication": {
                "description": "FIFO only: deduplicate by a hash of the body instead of an id the sender gives.",
                "type": "boolean",
                "default": False,
            },
            "retention": {
                "description": "Days a message is kept (SQS allows 1 to 14; its default is 4).",
                "type": "integer",
                "minimum": 1,
                "maximum": 14,
                "default": 4,
            },
            "retries": {
                "description": "Receives before a message moves to the dead-letter queue.",
                "type": "integer",
                "minimum": 1,
                "maximum": 1000,
                "default": 3,
            },
            "wait": {
                "description": "Long polling: seconds a receive waits for messages (20, the most, saves empty receives).",
                "type": "integer",
                "minimum": 0,
                "maximum": 20,
                "default": 20,
            },
            "delay": {
                "description": "Seconds before a new message can be received.",
                "type": "integer",
                "minimum": 0,
                "maximum": 900,
                "default": 0,
            },
            "visibility_timeout": {
                "description": "Seconds a received message stays hidden. Default: 6x the longest consuming function's timeout, at "
                "least 30.",
                "type": "integer",
                "minimum": 0,
                "maximum": 43200,
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "queues": {"description": "Changes to queues in this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section(
    "queues",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    use=UseTarget(default="send", accesses=("send", "consume"), connect=connect, statements=statements),
    site=True,
)
