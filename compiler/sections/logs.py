"""Log groups for what ivc runs: named under the environment, encrypted with its key, kept for the spec's retention."""

from __future__ import annotations

from typing import Any

from awacs import logs as logs_actions
from awacs.aws import Allow, Statement
from troposphere import GetAtt, logs

from ..context import Context
from .base import Section
from .keys import STACK as KEY_STACK
from .keys import key_arn


def retained(ctx: Context) -> dict[str, str]:
    """A protected environment keeps its log groups, and what they hold, when their stack deletes or replaces them."""
    return {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"} if ctx.protected else {}


def writes_own_logs(group: logs.LogGroup) -> Statement:
    """What a role needs to deliver its code's logs to ``group``, and nothing more."""
    return Statement(
        Sid="WriteOwnLogs", Effect=Allow, Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents], Resource=[GetAtt(group, "Arn")]
    )


def log_group(title: str, group_name: str, ctx: Context, owner: str, stack: str) -> logs.LogGroup:
    """An encrypted log group; ``stack`` is the stack it lands in, never the keys stack, so the key is imported.

    Outside protected environments it goes with its stack (CloudFormation's default), as it always has.
    """
    assert stack != KEY_STACK, f"{title}: the keys stack holds the key alone"
    return logs.LogGroup(
        title,
        LogGroupName=group_name,
        RetentionInDays=ctx.spec["logs"]["retention"],
        KmsKeyId=key_arn(ctx),
        Tags=ctx.resource_tags(ctx.name(owner)),
        **retained(ctx),
    )


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "logs": {
        "$ref": "#/$defs/logs",
        "description": "Log retention for the logs ivc creates (containers, functions, APIs, database, cache, access logs).",
    }
}
DEFS: dict[str, Any] = {
    "logs": {
        "description": "Retention of log groups ivc creates.",
        "type": "object",
        "additionalProperties": False,
        "default": {"retention": 30, "access_logs": 365},
        "properties": {
            "access_logs": {
                "description": "Days the environment's access-logs bucket keeps S3 server and CDN access logs.",
                "type": "integer",
                "minimum": 1,
                "maximum": 3653,
                "default": 365,
            },
            "retention": {
                "description": "Days CloudWatch keeps container, database and cache logs.",
                "enum": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
                "default": 30,
                "examples": [14],
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "logs": {"description": "Changes to logs in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("logs", PROPERTIES, DEFS, OVERLAY)
