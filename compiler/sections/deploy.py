"""Where an environment deploys: accounts or organizational units, StackSet roles and preferences.

The compiler only records it (in the manifest); `ivc deploy` (compiler.deploy) acts on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import Problem, Section, Spec


def check(spec: Spec) -> Iterator[Problem]:
    deploy = spec.get("deploy", {})
    if deploy.get("permission_model") == "service-managed" and not deploy.get("organizational_units"):
        yield ("deploy", "permission_model"), "service-managed stack sets deploy to organizational_units; list at least one"
    if deploy.get("permission_model", "self-managed") == "self-managed" and deploy.get("organizational_units"):
        yield ("deploy", "organizational_units"), "organizational_units need permission_model: service-managed"


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {"deploy": {"$ref": "#/$defs/deploy", "description": "Where an environment deploys."}}
DEFS: dict[str, Any] = {
    "deploy": {
        "description": "Where and how an environment deploys with CloudFormation StackSets (`ivc deploy`).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "accounts": {
                "description": "AWS account IDs (12 digits, quoted) every stack deploys to (self-managed). "
                "Default: the account of the credentials ivc runs with.",
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9]{12}$"},
                "uniqueItems": True,
                "default": [],
                "examples": [["111111111111"]],
            },
            "organizational_units": {
                "description": "Organizational unit IDs to deploy to (service-managed).",
                "type": "array",
                "items": {"type": "string", "pattern": "^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$"},
                "uniqueItems": True,
                "default": [],
                "examples": [["ou-ab12-34cd56ef"]],
            },
            "permission_model": {
                "description": "self-managed: you provide the administration and execution roles; "
                "service-managed: AWS Organizations does, and new accounts in the OUs get "
                "the stacks automatically.",
                "enum": ["self-managed", "service-managed"],
                "default": "self-managed",
            },
            "administration_role_arn": {
                "description": "Role StackSets assumes in the administrator account (self-managed). "
                "Default: AWSCloudFormationStackSetAdministrationRole in the "
                "caller's account.",
                "type": "string",
                "pattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$",
            },
            "execution_role_name": {
                "description": "Role StackSets assumes in each target account (self-managed).",
                "type": "string",
                "default": "AWSCloudFormationStackSetExecutionRole",
            },
            "auto_deployment": {
                "description": "Service-managed: deploy to accounts that join the OUs, and what to do with stacks of accounts that leave.",
                "type": "object",
                "additionalProperties": False,
                "default": {"enabled": True, "retain_stacks": True},
                "properties": {
                    "enabled": {"description": "Deploy automatically to accounts added to the OUs.", "type": "boolean", "default": True},
                    "retain_stacks": {
                        "description": "Keep the stacks of accounts removed from the OUs.",
                        "type": "boolean",
                        "default": True,
                    },
                },
            },
            "preferences": {
                "$ref": "#/$defs/preferences",
                "default": {"max_concurrent": 1, "failure_tolerance": 0},
                "description": "How operations fan out across accounts, for every stack unless overridden under stacks.",
            },
            "stacks": {
                "description": "Per-stack overrides, by stack name (network, security, data, app, edge, monitoring).",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z]+$"},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "description": "One stack's overrides.",
                    "properties": {"preferences": {"$ref": "#/$defs/preferences", "description": "This stack's operation preferences."}},
                },
                "default": {},
            },
            "bucket": {
                "description": "S3 bucket (in the administrator account and primary region) for templates over "
                "CloudFormation's 51,200-byte inline limit.",
                "type": "string",
                "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            },
            "protected": {
                "description": "Ask for confirmation before deploying or destroying (always on for environments named prod or production).",
                "type": "boolean",
                "default": False,
            },
        },
    },
    "preferences": {
        "description": "How a StackSet operation fans out across accounts.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "max_concurrent": {
                "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"}],
                "description": 'Accounts deployed at once per region: a number, or a percentage such as "25%".',
                "default": 1,
                "examples": [1, "25%"],
            },
            "failure_tolerance": {
                "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^(100|[1-9]?[0-9])%$"}],
                "description": "Failed accounts tolerated per region before the operation stops: a number or a percentage.",
                "default": 0,
                "examples": [0, "10%"],
            },
        },
    },
}
OVERLAY: dict[str, Any] = {"deploy": {"description": "Where this environment deploys.", "type": ["object", "null"]}}

SECTION = Section("deploy", PROPERTIES, DEFS, OVERLAY, check=check)
