"""Buses: EventBridge custom event buses, encrypted with the environment key, their archives and their rules.

A bus lives in the data stack beside the queues and topics its rules deliver to: the bus, a dead-letter queue
(for events the bus cannot encrypt or a target cannot take), and an archive when `archive` says for how many days.
Its rules are built in the app stack by ``bus_rules`` (the functions they invoke are there, and a rule must not
exist before its targets). Whoever receives from a rule admits that rule only, by its ARN: a queue's or a topic's
policy (here, by name, since the rule's ARN is fixed by its bus and its name) and a function's permission (in the app
stack, beside it). Publishers `uses: [buses.<name>:publish]` may call events:PutEvents on that bus alone.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from awacs import events as events_actions
from awacs import sqs as sqs_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement
from troposphere import GetAtt, Ref, Sub, events, sqs

from ..context import Context, Fragment, camel
from .base import Connection, Path, Problem, Section, Spec, Use, UseTarget, deny_insecure_transport, env_name
from .secrets import key_arn

STACK = "data"
DAY = 86_400
DEAD_LETTER_DAYS = 14
ARCHIVE_NAME_MAX = 48  # EventBridge's limit on an archive's name
TARGET_KINDS = ("queues", "functions", "topics")
# EventBridge's content filters: the one key of an object inside a field's array (event patterns' grammar).
MATCHERS = ("prefix", "suffix", "anything-but", "numeric", "exists", "equals-ignore-case", "wildcard", "cidr")
NUMERIC_OPERATORS = ("<", "<=", "=", ">", ">=")
DEFAULT_ATTEMPTS = 185  # EventBridge's own defaults, written out so the template says what happens
DEFAULT_MAX_AGE = 86_400


def title(name: str) -> str:
    return f"Bus{camel(name)}"


def bus_name(ctx: Context, name: str) -> str:
    return ctx.name(name)


def bus_arn(ctx: Context, name: str) -> Sub:
    """A bus's ARN, known from its name (no reference needed, so any stack may name it)."""
    return Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:event-bus/{bus_name(ctx, name)}")


def rule_arn(ctx: Context, bus: str, rule: str) -> Sub:
    """A rule's ARN on a custom bus: rule/<bus name>/<rule name>, fixed before the rule exists."""
    return Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{bus_name(ctx, bus)}/{rule}")


def deliveries(spec: Spec, target: str) -> list[tuple[str, str]]:
    """(bus, rule) of every rule that delivers to ``target`` (``queues.jobs``), in order."""
    return sorted(
        (bus, rule)
        for bus, settings in spec.get("buses", {}).items()
        for rule, routed in settings["rules"].items()
        if target in routed["to"]
    )


def delivery_arns(ctx: Context, target: str) -> list[Sub]:
    return [rule_arn(ctx, bus, rule) for bus, rule in deliveries(ctx.spec, target)]


# --- checks ---


def _close(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return found[0] if found else None


def check(spec: Spec) -> Iterator[Problem]:
    for name, bus in spec.get("buses", {}).items():
        for rule, routed in bus["rules"].items():
            where: Path = ("buses", name, "rules", rule)
            yield from pattern_problems(routed["pattern"], (*where, "pattern"))
            for index, target in enumerate(routed["to"]):
                kind, _, item = target.partition(".")
                declared = list(spec.get(kind, {}))
                if item not in declared:
                    close = _close(item, declared)
                    known = f"did you mean {kind}.{close}?" if close else f"{kind}: {', '.join(sorted(declared)) or 'none are declared'}"
                    yield (*where, "to", index), f"buses.{name} rule {rule} delivers to {target}, which does not exist ({known})"


def pattern_problems(pattern: Any, where: Path) -> Iterator[Problem]:
    """What EventBridge would refuse in an event pattern, at a basic level: fields hold arrays of values or
    content filters, or objects of further fields; `$or` holds a list of patterns."""
    if not isinstance(pattern, dict) or not pattern:
        yield where, "an event pattern is an object of fields, such as {source: [my.app], detail-type: [Order placed]}"
        return
    for field, value in pattern.items():
        at = (*where, field)
        if field == "$or":
            if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
                yield at, "$or takes a list of patterns (objects of fields), any of which may match"
                continue
            for index, item in enumerate(value):
                yield from pattern_problems(item, (*at, index))
        elif isinstance(value, dict):
            yield from pattern_problems(value, at)
        elif isinstance(value, list):
            if not value:
                yield at, f"'{field}' matches nothing: give at least one value"
            for index, item in enumerate(value):
                yield from _value_problems(field, item, (*at, index))
        else:
            yield at, f"'{field}' must be a list of values to match (EventBridge matches arrays): write [{value}]"


def _value_problems(field: str, value: Any, at: Path) -> Iterator[Problem]:
    if value is None or isinstance(value, (str, int, float, bool)):
        return
    if isinstance(value, list):
        yield at, f"'{field}' holds a list inside its list; list the values once"
        return
    if len(value) != 1:
        yield at, f"a content filter has one key, one of: {', '.join(MATCHERS)}"
        return
    matcher, argument = next(iter(value.items()))
    if matcher not in MATCHERS:
        close = _close(str(matcher), list(MATCHERS))
        advice = f"did you mean {close}?" if close else f"one of: {', '.join(MATCHERS)}"
        yield (*at, matcher), f"'{matcher}' is not an EventBridge content filter; {advice}"
    elif matcher == "exists" and not isinstance(argument, bool):
        yield (*at, matcher), "exists takes true or false"
    elif matcher == "numeric" and not _numeric(argument):
        yield (*at, matcher), "numeric takes comparisons and numbers in turn, such as ['>', 0, '<=', 5]"
    elif matcher in ("prefix", "suffix", "equals-ignore-case", "wildcard", "cidr") and not isinstance(argument, (str, dict)):
        yield (*at, matcher), f"{matcher} takes a string"


def _numeric(argument: Any) -> bool:
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        return False
    pairs = zip(argument[::2], argument[1::2], strict=True)
    return all(op in NUMERIC_OPERATORS and isinstance(n, (int, float)) and not isinstance(n, bool) for op, n in pairs)


def environment_problems(environment: str, spec: Spec) -> Iterator[Problem]:
    """An archive is named after its bus, and EventBridge takes at most 48 characters."""
    for name, bus in spec.get("buses", {}).items():
        archived = f"{spec['system']}-{environment}-{name}"
        if "archive" in bus and len(archived) > ARCHIVE_NAME_MAX:
            yield (
                ("buses", name, "archive"),
                f"the archive would be named {archived} ({len(archived)} characters); EventBridge takes at most "
                f"{ARCHIVE_NAME_MAX}: give the bus a shorter name",
            )


# --- the builder ---


def build(buses: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    key = key_arn(ctx)
    for name, bus in sorted(buses.items()):
        out.at = ("buses", name)
        logical = title(name)
        physical = bus_name(ctx, name)
        dead_letter = out.add(
            sqs.Queue(
                f"{logical}DeadLetter",
                QueueName=ctx.name(name, "bus-dlq"),
                MessageRetentionPeriod=DEAD_LETTER_DAYS * DAY,
                KmsMasterKeyId=key,
                KmsDataKeyReusePeriodSeconds=300,
                Tags=ctx.resource_tags(ctx.name(name, "bus-dlq")),
            )
        )
        resource = out.add(
            events.EventBus(
                logical,
                Name=physical,
                Description=f"{physical}: events of {ctx.system} ({ctx.environment})",
                KmsKeyIdentifier=key,
                DeadLetterConfig=events.DeadLetterConfig(Arn=GetAtt(dead_letter, "Arn")),
                Tags=ctx.resource_tags(physical),
            )
        )
        # The bus (events it cannot encrypt) and its rules (deliveries that fail every retry) send here, nobody else.
        senders = [bus_arn(ctx, name), *(rule_arn(ctx, name, rule) for rule in sorted(bus["rules"]))]
        out.add(
            sqs.QueuePolicy(
                f"{logical}DeadLetterPolicy",
                Queues=[Ref(dead_letter)],
                PolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        deny_insecure_transport([sqs_actions.Action("*")], [GetAtt(dead_letter, "Arn")]),
                        Statement(
                            Sid="BusAndRulesDeadLetter",
                            Effect=Allow,
                            Principal=Principal("Service", "events.amazonaws.com"),
                            Action=[sqs_actions.SendMessage],
                            Resource=[GetAtt(dead_letter, "Arn")],
                            Condition=Condition(ArnEquals({"aws:SourceArn": senders})),
                        ),
                    ],
                ),
            )
        )
        if "archive" in bus:
            out.at = ("buses", name, "archive")
            out.add(
                events.Archive(
                    f"{logical}Archive",
                    ArchiveName=physical,
                    Description=f"{physical}: every event, kept {bus['archive']} days for replay",
                    SourceArn=GetAtt(resource, "Arn"),
                    RetentionDays=bus["archive"],
                    KmsKeyIdentifier=key,
                )
            )
            out.at = ("buses", name)
        out.export(ctx, STACK, f"{logical}Arn", GetAtt(resource, "Arn"), f"ARN of event bus {name}.")
        out.export(ctx, STACK, f"{logical}Name", Ref(resource), f"Name of event bus {name}.")
        out.export(ctx, STACK, f"{logical}DeadLetterArn", GetAtt(dead_letter, "Arn"), f"ARN of event bus {name}'s dead-letter queue.")
        out.export(
            ctx, STACK, f"{logical}DeadLetterName", GetAtt(dead_letter, "QueueName"), f"Name of event bus {name}'s dead-letter queue."
        )
    return out


# --- what a use of a bus means ---


def connect(ctx: Context, use: Use) -> Connection:
    """The bus's name, to put events on."""
    return Connection(variables={env_name("bus", use.name, "name"): ctx.imported(STACK, f"{title(use.name)}Name")})


def statements(ctx: Context, use: Use) -> list[Statement]:
    """PutEvents on this bus only. EventBridge encrypts with the key as itself (the key policy admits it), so the
    publisher needs no key permission."""
    return [
        Statement(
            Sid=f"PublishBus{camel(use.name)}",
            Effect=Allow,
            Action=[events_actions.PutEvents],
            Resource=[ctx.imported(STACK, f"{title(use.name)}Arn")],
        )
    ]


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_RULE: dict[str, Any] = {
    "description": "One rule: the events it matches and where it delivers them.",
    "type": "object",
    "additionalProperties": False,
    "required": ["pattern", "to"],
    "properties": {
        "description": {"description": "What the rule is for; shown in the console.", "type": "string", "maxLength": 512},
        "pattern": {
            "description": "An EventBridge event pattern, in EventBridge's own words: fields (source, detail-type, detail.<...>) "
            "hold lists of values or content filters (prefix, suffix, anything-but, numeric, exists, equals-ignore-case, "
            "wildcard, cidr), or objects of further fields; `$or` holds a list of patterns.",
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {"description": "A field of the event to match: a list of values, or an object of fields."},
            "examples": [{"source": ["indivillage.api"], "detail-type": ["File uploaded"], "detail": {"size": [{"numeric": [">", 0]}]}}],
        },
        "to": {
            "description": "Where matching events go: queues.<n>, functions.<n> or topics.<n> of this spec (at most 5, "
            "EventBridge's limit). Each admits this rule only (by its ARN); failed deliveries go to the bus's dead-letter queue.",
            "type": "array",
            "minItems": 1,
            "maxItems": 5,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^(queues|functions|topics)\\.[a-z][a-z0-9-]*$"},
        },
        "retries": {
            "description": "Attempts to deliver before an event goes to the dead-letter queue (EventBridge's default, 185).",
            "type": "integer",
            "minimum": 0,
            "maximum": 185,
            "default": DEFAULT_ATTEMPTS,
        },
        "max_age": {
            "description": "Seconds EventBridge keeps trying an event before it goes to the dead-letter queue (60 to 86400, its default).",
            "type": "integer",
            "minimum": 60,
            "maximum": 86400,
            "default": DEFAULT_MAX_AGE,
        },
    },
}

PROPERTIES: dict[str, Any] = {
    "buses": {
        "description": "EventBridge custom event buses, encrypted with the environment's key, each with a dead-letter queue, "
        "an optional archive and rules that route matching events to queues, functions and topics of the spec. Services, "
        "functions and fleets publish through `uses: [buses.<name>:publish]`.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/bus"},
        "default": {},
        "examples": [{"system": {"archive": 30, "rules": {"uploads": {"pattern": {"source": ["app"]}, "to": ["queues.file-processing"]}}}}],
    }
}
DEFS: dict[str, Any] = {
    "bus": {
        "description": "One event bus.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "archive": {
                "description": "Keep every event in an encrypted archive for this many days, to replay them.",
                "type": "integer",
                "minimum": 1,
            },
            "rules": {
                "description": "The bus's rules, by name (the rule's name on the bus).",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": _RULE,
                "default": {},
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "buses": {"description": "Changes to event buses in this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section(
    "buses",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    check_environment=environment_problems,
    build=build,
    stack=STACK,
    use=UseTarget(default="publish", accesses=("publish",), connect=connect, statements=statements),
    site=True,
)
