"""Log groups for what ivc runs: named under the environment, encrypted with its key, kept for the spec's retention."""

from __future__ import annotations

from troposphere import logs

from .context import Context
from .secrets import STACK as KEY_STACK
from .secrets import key_arn


def log_group(title: str, group_name: str, ctx: Context, owner: str, stack: str) -> logs.LogGroup:
    """An encrypted log group; ``stack`` is the stack it lands in (the key is local to the data stack, imported elsewhere)."""
    return logs.LogGroup(
        title,
        LogGroupName=group_name,
        RetentionInDays=ctx.spec["logs"]["retention"],
        KmsKeyId=key_arn(ctx, same_stack=stack == KEY_STACK),
        Tags=ctx.resource_tags(ctx.name(owner)),
    )
