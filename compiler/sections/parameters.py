"""Parameters: a Parameter Store hierarchy per environment, in groups, readable through `uses: [parameters.<group>]`.

`parameters.values.<group>.<name>: value` becomes the String parameter `<root>/<group>/<name>`; the root is
`/<system>/<environment>` unless the spec names another (`{environment}` and `{system}` are filled in, so one
spec gives every environment its own hierarchy, as `/production/...`). Values are configuration, never secrets:
CloudFormation cannot create SecureString parameters, and secrets belong in `secrets:` (Secrets Manager).
A service, function or fleet that uses a group may read exactly that group's parameters (GetParameter,
GetParameters and GetParametersByPath under its path) and is handed the path as `PARAMETERS_<GROUP>_PATH`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import ssm as ssm_actions
from awacs.aws import Allow, Statement
from troposphere import Sub, ssm

from ..context import Context, Fragment, camel
from .base import Connection, Problem, Section, Spec, Use, UseTarget, env_name

STACK = "operations"
DEFAULT_ROOT = "/{system}/{environment}"
NAME_PATTERN = "^[a-zA-Z0-9_.-]{1,100}$"


def root(ctx: Context) -> str:
    return str(ctx.spec["parameters"]["root"]).format(system=ctx.system, environment=ctx.environment).rstrip("/")


def group_path(ctx: Context, group: str) -> str:
    return f"{root(ctx)}/{group}"


def groups(spec: Spec) -> list[str]:
    """The groups a `uses: [parameters.<group>]` may name."""
    return list((spec.get("parameters") or {}).get("values", {}))


def check(spec: Spec) -> Iterator[Problem]:
    parameters = spec.get("parameters")
    if not parameters:
        return
    try:
        str(parameters["root"]).format(system="s", environment="e")
    except (KeyError, IndexError, ValueError):
        yield ("parameters", "root"), "root may use {system} and {environment}, and no other {...}"
    for group, values in parameters["values"].items():
        for name, value in values.items():
            if any(c in str(value) for c in "\n\r") or str(value) == "":
                yield ("parameters", "values", group, name), f"{group}/{name} is empty or holds a line break; give one line of text"


def connect(ctx: Context, use: Use) -> Connection:
    return Connection(variables={env_name("parameters", use.name, "path"): group_path(ctx, use.name)})


def statements(ctx: Context, use: Use) -> list[Statement]:
    path = group_path(ctx, use.name)
    return [
        Statement(
            Sid=f"ReadParameters{camel(use.name)}",
            Effect=Allow,
            Action=[ssm_actions.GetParameter, ssm_actions.GetParameters, ssm_actions.GetParametersByPath],
            Resource=[
                Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{path}"),
                Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{path}/*"),
            ],
        )
    ]


def build(parameters: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tags = {**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc"}
    for group, values in sorted(parameters["values"].items()):
        for name, value in sorted(values.items()):
            out.at = ("parameters", "values", group, name)
            out.add(
                ssm.Parameter(
                    f"Parameter{camel(group)}{camel(name)}",
                    Name=f"{group_path(ctx, group)}/{name}",
                    Type="String",
                    Tier="Standard",
                    Value=str(value).lower() if isinstance(value, bool) else str(value),
                    Description=f"{ctx.name()}: parameters.values.{group}.{name}",
                    Tags=tags,
                )
            )
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "parameters": {
        "$ref": "#/$defs/parameters",
        "description": "A Parameter Store hierarchy of plain configuration, in groups that services, functions and fleets "
        "read through `uses: [parameters.<group>]`.",
    }
}
DEFS: dict[str, Any] = {
    "parameters": {
        "description": "The environment's Parameter Store hierarchy.",
        "type": "object",
        "additionalProperties": False,
        "required": ["values"],
        "properties": {
            "root": {
                "description": "Where the hierarchy starts; {system} and {environment} are filled in.",
                "type": "string",
                "pattern": "^/[A-Za-z0-9_.{}/-]*$",
                "default": DEFAULT_ROOT,
                "examples": ["/{environment}"],
            },
            "values": {
                "description": "Groups of parameters: `<group>: {<name>: value}` becomes <root>/<group>/<name>.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": {
                    "description": "One group's parameters by name.",
                    "type": "object",
                    "propertyNames": {"pattern": NAME_PATTERN},
                    "additionalProperties": {"type": ["string", "number", "boolean"]},
                    "minProperties": 1,
                },
                "examples": [{"app": {"log-level": "info", "feature-uploads": True}}],
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "parameters": {"description": "Changes to parameters in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "parameters",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    site=True,
    use=UseTarget(default="read", accesses=("read",), connect=connect, statements=statements, names=groups),
)
