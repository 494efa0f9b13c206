"""Topics: SNS, encrypted with the environment key, TLS only, delivering to queues, e-mail and HTTPS endpoints.

A queue subscribed to a topic gets a policy that admits that topic only (by ``aws:SourceArn``), and raw
delivery by default so consumers read the message as it was published. Functions subscribe from their own
``on: [{topic: topics.<name>}]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import kms as kms_actions
from awacs import sns as sns_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, sns

from ..context import Context, Fragment, camel
from .base import Connection, Problem, Section, Spec, Use, UseTarget, deny_insecure_transport, env_name
from .buses import delivery_arns
from .secrets import key_arn

STACK = "data"


def title(name: str) -> str:
    return f"Topic{camel(name)}"


def check(spec: Spec) -> Iterator[Problem]:
    for name, topic in spec.get("topics", {}).items():
        for index, subscription in enumerate(topic["subscriptions"]):
            where = ("topics", name, "subscriptions", index)
            queue = subscription.get("queue")
            if queue is None:
                if "email" in subscription and "raw" in subscription:
                    yield (*where, "raw"), "raw delivery is for queue and HTTPS subscriptions"
                continue
            queue_name = queue.split(".", 1)[1]
            if queue_name not in spec.get("queues", {}):
                known = ", ".join(sorted(spec.get("queues", {}))) or "none are declared"
                yield (*where, "queue"), f"topics.{name} delivers to {queue}, which does not exist (queues: {known})"
            elif spec["queues"][queue_name]["fifo"] != topic["fifo"]:
                yield (*where, "queue"), "a FIFO topic delivers to FIFO queues only, and a standard topic to standard queues"


def build(topics: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    key = key_arn(ctx, same_stack=True)
    for name, topic in sorted(topics.items()):
        out.at = ("topics", name)
        physical = ctx.name(name) + (".fifo" if topic["fifo"] else "")
        fifo: dict[str, Any] = {"FifoTopic": True} if topic["fifo"] else {}
        resource = out.add(
            sns.Topic(
                title(name),
                TopicName=physical,
                DisplayName=topic.get("display_name", physical)[:100],
                KmsMasterKeyId=key,
                Tags=ctx.resource_tags(physical),
                **fifo,
            )
        )
        out.add(
            sns.TopicPolicy(
                f"{title(name)}Policy",
                Topics=[Ref(resource)],
                PolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        deny_insecure_transport([sns_actions.Publish], [Ref(resource)]),
                        *_alarm_delivery(ctx.spec, name, resource),
                        *_bus_delivery(ctx, name, resource),
                    ],
                ),
            )
        )
        for index, subscription in enumerate(topic["subscriptions"]):
            out.at = ("topics", name, "subscriptions", index)
            properties: dict[str, Any] = {"TopicArn": Ref(resource)}
            if "queue" in subscription:
                properties.update(Protocol="sqs", Endpoint=GetAtt(f"Queue{camel(subscription['queue'].split('.', 1)[1])}", "Arn"))
                properties["RawMessageDelivery"] = subscription.get("raw", True)
            elif "email" in subscription:
                properties.update(Protocol="email", Endpoint=subscription["email"])
            else:
                properties.update(Protocol="https", Endpoint=subscription["https"], RawMessageDelivery=subscription.get("raw", False))
            if "filter" in subscription:
                properties["FilterPolicy"] = subscription["filter"]
                properties["FilterPolicyScope"] = "MessageBody" if subscription.get("filter_body") else "MessageAttributes"
            out.add(sns.SubscriptionResource(f"{title(name)}Subscription{index + 1}", **properties))
        out.at = ("topics", name)
        out.export(ctx, STACK, f"{title(name)}Arn", Ref(resource), f"ARN of topic {name}.")
        out.export(ctx, STACK, f"{title(name)}Name", GetAtt(resource, "TopicName"), f"Name of topic {name}.")
    return out


def _alarm_delivery(spec: Spec, name: str, resource: sns.Topic) -> list[Statement]:
    """Alarms that notify this topic (alarms.notify: topics.<name>) publish as CloudWatch, from this account only."""
    notify = spec.get("alarms", {}).get("notify", {})
    if not any(f"topics.{name}" in refs for refs in notify.values()):
        return []
    return [
        Statement(
            Sid="AlarmsPublish",
            Effect=Allow,
            Principal=Principal("Service", "cloudwatch.amazonaws.com"),
            Action=[sns_actions.Publish],
            Resource=[Ref(resource)],
            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
        )
    ]


def _bus_delivery(ctx: Context, name: str, resource: sns.Topic) -> list[Statement]:
    """Rules of event buses that deliver to this topic publish as EventBridge, each admitted by its own ARN."""
    rules = delivery_arns(ctx, f"topics.{name}")
    if not rules:
        return []
    return [
        Statement(
            Sid="BusRulesPublish",
            Effect=Allow,
            Principal=Principal("Service", "events.amazonaws.com"),
            Action=[sns_actions.Publish],
            Resource=[Ref(resource)],
            Condition=Condition(ArnEquals({"aws:SourceArn": rules})),
        )
    ]


# --- what a use of a topic means ---


def connect(ctx: Context, use: Use) -> Connection:
    """The topic's ARN as a setting."""
    return Connection(variables={env_name("topic", use.name, "arn"): ctx.imported(STACK, f"{title(use.name)}Arn")})


def statements(ctx: Context, use: Use) -> list[Statement]:
    """Publish to this topic only, with the key it is encrypted with."""
    return [
        Statement(
            Sid=f"PublishTopic{camel(use.name)}",
            Effect=Allow,
            Action=[sns_actions.Publish],
            Resource=[ctx.imported(STACK, f"{title(use.name)}Arn")],
        ),
        Statement(
            Sid=f"KeyForTopic{camel(use.name)}",
            Effect=Allow,
            Action=[kms_actions.GenerateDataKey, kms_actions.Decrypt],
            Resource=[key_arn(ctx, False)],
        ),
    ]


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_SUBSCRIPTION: dict[str, Any] = {
    "description": "One subscriber: a queue of this spec, an e-mail address or an HTTPS endpoint.",
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "queue": {"description": "A queue of this spec: queues.<name>.", "type": "string", "pattern": "^queues\\.[a-z][a-z0-9-]*$"},
        "email": {
            "description": "An e-mail address (the owner confirms the subscription).",
            "type": "string",
            "pattern": "^[^@\\s]+@[^@\\s]+$",
        },
        "https": {"description": "An HTTPS endpoint (it confirms the subscription).", "type": "string", "pattern": "^https://\\S+$"},
        "raw": {"description": "Deliver the message as published, without SNS's envelope (default: true for queues).", "type": "boolean"},
        "filter": {
            "description": "An SNS filter policy: only matching messages are delivered.",
            "type": "object",
            "additionalProperties": {"description": "A filter policy condition, in SNS's own words."},
        },
        "filter_body": {"description": "Match the filter against the message body instead of its attributes.", "type": "boolean"},
    },
    "oneOf": [{"required": ["queue"]}, {"required": ["email"]}, {"required": ["https"]}],
}

PROPERTIES: dict[str, Any] = {
    "topics": {
        "description": "SNS topics, encrypted with the environment's key and TLS only, with subscriptions to queues, e-mail and "
        "HTTPS endpoints. Services and functions publish through `uses: [topics.<name>:publish]`.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/topic"},
        "default": {},
        "examples": [{"notifications": {"subscriptions": [{"queue": "queues.email"}]}}],
    }
}
DEFS: dict[str, Any] = {
    "topic": {
        "description": "One topic.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fifo": {"description": "A FIFO topic (delivers to FIFO queues; the name gets .fifo).", "type": "boolean", "default": False},
            "display_name": {"description": "Sender name for e-mail and SMS subscribers.", "type": "string", "maxLength": 100},
            "subscriptions": {"description": "Who receives the messages.", "type": "array", "items": _SUBSCRIPTION, "default": []},
        },
    }
}
OVERLAY: dict[str, Any] = {
    "topics": {"description": "Changes to topics in this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section(
    "topics",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    use=UseTarget(default="publish", accesses=("publish",), connect=connect, statements=statements),
    site=True,
)
