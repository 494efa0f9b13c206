"""The spec's frame: language version, system name, tags, regions and environments.

It builds nothing itself; every other section lives inside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..context import RESERVED_TAGS
from .base import Problem, Section, Spec

# Sections that place resources in the VPC.
IN_NETWORK = ("databases", "caches", "services", "filesystems", "fleets")


def check(spec: Spec) -> Iterator[Problem]:
    for key in spec.get("tags", {}):
        if key in RESERVED_TAGS or key == "Name":
            yield ("tags", key), f"tag '{key}' is set by ivc on every resource; remove it from tags"
    regions = spec["regions"]
    if regions.get("secondary") == regions["primary"]:
        yield ("regions", "secondary"), f"regions.secondary is the same region as regions.primary ({regions['primary']})"
    if any(spec.get(name) for name in IN_NETWORK) and "network" not in spec:
        yield ("network",), "databases, caches, services, file systems and fleets need a network section to live in"


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "ivc": {
        "description": "Version of the spec language this file is written in. Only 1 exists.",
        "const": 1,
        "default": 1,
        "examples": [1],
    },
    "system": {
        "description": "Short name of the system; prefixes every stack, export and resource name, so keep it stable.",
        "type": "string",
        "pattern": "^[a-z][a-z0-9-]*[a-z0-9]$",
        "minLength": 2,
        "maxLength": 24,
        "examples": ["socialflow", "acme-shop"],
    },
    "description": {
        "description": "Free text for humans; lands in each template's Description.",
        "type": "string",
        "maxLength": 512,
        "examples": ["Social Flow backend"],
    },
    "extends": {
        "description": "Shared defaults merged underneath this spec, as paths relative to this file (later files win, this spec wins "
        "over all). Same merge rules as environments.",
        "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
        "examples": ["../_defaults/org.yaml"],
    },
    "tags": {
        "$ref": "#/$defs/tags",
        "description": "Tags put on every taggable resource, besides the System, Environment and ManagedBy tags ivc always adds.",
    },
    "regions": {
        "$ref": "#/$defs/regions",
        "description": "Where the environment runs: a primary region and optionally a disaster-recovery region that gets its own copy "
        "of the regional stacks.",
    },
    "environments": {
        "$ref": "#/$defs/environments",
        "description": "The environments this system has, each an overlay on the spec above: maps merge, lists replace, null "
        "removes a key. `{}` (or nothing) means no changes.",
    },
}
DEFS: dict[str, Any] = {
    "tags": {
        "description": "Tags put on every taggable resource, besides the System, Environment and ManagedBy tags ivc always adds.",
        "type": "object",
        "propertyNames": {"pattern": "^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$"},
        "additionalProperties": {"type": "string", "maxLength": 256},
        "default": {},
        "examples": [{"Project": "SocialFlow", "Owner": "platform", "CostCenter": "web"}],
    },
    "region": {
        "description": "An AWS region name.",
        "type": "string",
        "enum": [
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-gov-east-1",
            "us-gov-west-1",
            "us-west-1",
            "us-west-2",
        ],
    },
    "regions": {
        "description": "Where the environment runs: a primary region and optionally a disaster-recovery region that gets its own copy "
        "of the regional stacks.",
        "type": "object",
        "additionalProperties": False,
        "required": ["primary"],
        "properties": {
            "primary": {"$ref": "#/$defs/region", "description": "Region that serves traffic.", "examples": ["us-east-1"]},
            "secondary": {
                "$ref": "#/$defs/region",
                "description": "Disaster-recovery region; omit (or set null in an environment) for none. Needs network.secondary_cidr.",
                "examples": ["us-west-2"],
            },
        },
    },
    "environments": {
        "description": "The environments this system has, each an overlay on the spec above: maps merge, lists replace, null "
        "removes a key. `{}` (or nothing) means no changes.",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": "^[a-z][a-z0-9]{0,15}$"},
        "additionalProperties": {"$ref": "#/$defs/overlay"},
        "examples": [{"dev": {}, "prod": {"network": {"nat": "per-zone", "zones": 3}}}],
    },
    "overlay": {
        "description": "What one environment changes. Each section is checked in full once merged.",
        "type": ["object", "null"],
        "additionalProperties": False,
    },
}
OVERLAY: dict[str, Any] = {
    "description": {"description": "Replaces the spec's description in this environment.", "type": "string"},
    "tags": {"description": "Tags merged over the spec's tags; null removes one.", "type": ["object", "null"]},
    "regions": {
        "description": "Regions for this environment; `secondary: null` drops the disaster-recovery region.",
        "type": ["object", "null"],
    },
}

SECTION = Section("core", PROPERTIES, DEFS, OVERLAY, check=check)
