"""Secrets: the Secrets Manager secrets the spec declares, encrypted with the environment key (see keys.py).

Generated values are made by Secrets Manager at creation; no value ever appears
in a template or in output/.
"""

from __future__ import annotations

from typing import Any

from troposphere import Ref, secretsmanager

from ..context import Context, Fragment, camel
from . import keys
from .base import Connection, Section, Spec, Use, UseTarget, env_name

STACK = "data"
key_arn = keys.key_arn  # sections that encrypt take the key's ARN from here, as they did while the key lived in data


def secret_logical_id(name: str) -> str:
    return f"Secret{camel(name)}"


def build(secrets: Spec, ctx: Context) -> Fragment:
    """The secrets the spec declares, encrypted with the environment key (the keys stack's)."""
    out = Fragment()
    for name, settings in sorted(secrets.items()):
        out.at = ("secrets", name)
        properties: dict[str, Any] = {
            "Name": f"{ctx.system}/{ctx.environment}/{name}",
            "Description": settings.get("description", f"{ctx.name()} secret {name}"),
            "KmsKeyId": key_arn(ctx),
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if "generate" in settings:
            generate = settings["generate"]
            properties["GenerateSecretString"] = secretsmanager.GenerateSecretString(
                PasswordLength=generate["length"], ExcludePunctuation=not generate["punctuation"]
            )
        secret = out.add(
            secretsmanager.Secret(secret_logical_id(name), DeletionPolicy="Retain", UpdateReplacePolicy="Retain", **properties)
        )
        out.export(ctx, STACK, f"{secret_logical_id(name)}Arn", Ref(secret), f"ARN of secret {name}.")
    return out


def secret_arn(ctx: Context, name: str) -> Any:
    """A secret's ARN, as the app layer imports it."""
    return ctx.imported(STACK, f"{secret_logical_id(name)}Arn")


def connect(ctx: Context, use: Use) -> Connection:
    """`uses: [secrets.x]` injects the secret as X and lets the execution role read it."""
    secret = secret_arn(ctx, use.name)
    return Connection(injected={env_name(use.name): secret}, readable=[secret])


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "secrets": {
        "description": "Secrets Manager secrets, encrypted with the environment's KMS key. Services read them through `uses:` or "
        "`secrets:`.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/secret"},
        "default": {},
        "examples": [{"jwt-secret": {"generate": {"length": 64}}}],
    }
}
DEFS: dict[str, Any] = {
    "secret": {
        "description": "One secret value.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"description": "What the secret is for; shown in the console.", "type": "string", "maxLength": 200},
            "generate": {
                "description": "Have Secrets Manager generate the value when the secret is created (never in a "
                "template). Without it, the secret is created empty and its value is set out of "
                "band.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "length": {
                        "description": "Length of the generated value.",
                        "type": "integer",
                        "minimum": 16,
                        "maximum": 4096,
                        "default": 64,
                    },
                    "punctuation": {"description": "Include punctuation characters.", "type": "boolean", "default": False},
                },
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "secrets": {"description": "Changes to secrets in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "secrets",
    PROPERTIES,
    DEFS,
    OVERLAY,
    build=build,
    stack=STACK,
    use=UseTarget(default="read", connect=connect),
)
