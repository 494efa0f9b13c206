"""The escape hatch: `overrides:` changes generated resources, or adds ones ivc does not make, by logical ID.

Keyed by the logical IDs users see in output/. ``Properties`` and ``Metadata`` merge into the generated
resource by the spec's merge rules (maps merge, lists replace, null removes); ``DeletionPolicy``,
``UpdateReplacePolicy`` and ``DependsOn`` replace. A key with ``Type`` and ``stack`` adds a resource. Every
override needs a ``reason``, and the template's Metadata lists each one applied with it, so a reviewer
sees them in the pull request.

Everything is checked before anything is written, against the resource type's CloudFormation schema
(the ones cfn-lint ships): unknown logical ID, stack, type or property, and a value of the wrong type, each
at the override's own line, with "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from .base import Path, Problem, Section, Spec

SECTION_KEY = "overrides"
REPLACED = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn")
MERGED = ("Properties", "Metadata")
INTRINSICS = ("Ref", "Condition")
KEY = "<key>"  # last step of a problem's path that points at a key's name, not its value


def check(spec: Spec) -> Iterator[Problem]:
    """What can be told from the spec alone: a new resource names both its stack and its type."""
    for logical_id, override in spec.get(SECTION_KEY, {}).items():
        if "Type" in override and "stack" not in override:
            yield (SECTION_KEY, logical_id, "Type"), f"{logical_id} adds a resource: say which stack it goes in with stack:"
        if "stack" in override and "Type" not in override:
            yield (SECTION_KEY, logical_id, "stack"), f"{logical_id} names a stack: a new resource also needs its Type"


def apply(templates: dict[tuple[str, str], dict[str, Any]], spec: Spec, region_of: dict[str, str]) -> list[Problem]:
    """Apply the spec's overrides to ``templates`` (keyed by (region, stack)) in place; return the problems.

    A problem's path ends in ``KEY`` when it is about a key's name rather than its value.

    An override of a generated resource applies wherever that logical ID is (a network resource in both
    regions); a new resource goes in the named stack in every region that has it.
    """
    problems: list[Problem] = []
    overrides = spec.get(SECTION_KEY, {})
    if not overrides:
        return problems
    where: dict[str, list[tuple[str, str]]] = {}
    for key, template in templates.items():
        for logical_id in template.get("Resources", {}):
            where.setdefault(logical_id, []).append(key)
    stacks = sorted({stack for _, stack in templates})
    for logical_id, override in sorted(overrides.items()):
        path: Path = (SECTION_KEY, logical_id)
        if "Type" in override:
            if logical_id in where:
                existing = templates[where[logical_id][0]]["Resources"][logical_id]["Type"]
                problems.append(
                    ((*path, "Type"), f"{logical_id} already exists (a {existing}); to change it, drop Type and stack from the override")
                )
                continue
            if "stack" not in override:
                continue  # reported by check()
            if override["stack"] not in stacks:
                problems.append(
                    ((*path, "stack"), f"there is no stack '{override['stack']}' in this environment{_hint(override['stack'], stacks)}")
                )
                continue
            targets = [key for key in templates if key[1] == override["stack"]]
            resource_type = override["Type"]
            base: dict[str, Any] = {"Type": resource_type}
        else:
            if logical_id not in where:
                problems.append(((*path, KEY), f"no generated resource is called {logical_id}{_hint(logical_id, list(where))}"))
                continue
            targets = where[logical_id]
            resource_type = templates[targets[0]]["Resources"][logical_id]["Type"]
            base = {}
        found = list(_check_properties(resource_type, override.get("Properties"), (*path, "Properties"), region_of[targets[0][0]]))
        if "Type" in override and not found:
            found += _missing_required(resource_type, override.get("Properties") or {}, path, region_of[targets[0][0]])
        problems += found
        if found:
            continue
        for key in targets:
            resources = templates[key].setdefault("Resources", {})
            resources[logical_id] = _merged(resources.get(logical_id, base), override)
            applied = templates[key].setdefault("Metadata", {}).setdefault("ivc", {}).setdefault("overrides", {})
            applied[logical_id] = override["reason"]
    return problems


def _merged(resource: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(resource)
    for key in MERGED:
        if key in override:
            merged = merge(result.get(key), override[key])
            if merged is None or merged == {}:
                result.pop(key, None)
            else:
                result[key] = merged
    for key in REPLACED:
        if key in override:
            if override[key] is None:
                result.pop(key, None)
            else:
                result[key] = override[key]
    return result


def merge(base: Any, over: Any) -> Any:
    """The spec's merge rules on plain data: maps merge, everything else replaces, None removes."""
    if over is None:
        return None
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return _without_nulls(over)
    result = dict(base)
    for key, value in over.items():
        merged = merge(result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


# --- checking against CloudFormation's resource schemas -------------------------------------------


def _schema(resource_type: str, region: str) -> dict[str, Any] | None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    try:
        found: dict[str, Any] = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None
    return found


def _check_properties(resource_type: str, properties: Any, path: Path, region: str) -> Iterator[Problem]:
    schema = _schema(resource_type, region)
    if schema is None:
        from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

        known = PROVIDER_SCHEMA_MANAGER.get_resource_types(region)
        yield (path[:-1] + ("Type",)), f"{resource_type} is not a CloudFormation resource type in {region}{_hint(resource_type, known)}"
        return
    if properties is not None:
        yield from _check_value(properties, {"type": "object", "properties": schema.get("properties", {})}, schema, path)


def _missing_required(resource_type: str, properties: dict[str, Any], path: Path, region: str) -> list[Problem]:
    schema = _schema(resource_type, region) or {}
    missing = [name for name in schema.get("required", []) if name not in properties]
    return [((*path, "Type"), f"a {resource_type} needs {', '.join(missing)} under Properties")] if missing else []


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node and seen < 32:
        ref = node["$ref"]
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def _intrinsic(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and (next(iter(value)) in INTRINSICS or next(iter(value)).startswith("Fn::"))


TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}


def _fits(value: Any, kind: str) -> bool:
    # CloudFormation takes numbers and booleans written as text, and text written as numbers.
    if kind == "string":
        return not isinstance(value, (list, dict))
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, str) and value.lstrip("-").isdigit())
    if kind == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return True
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _check_value(value: Any, node: dict[str, Any], root: dict[str, Any], path: Path) -> Iterator[Problem]:
    if value is None or _intrinsic(value):
        return  # null removes; intrinsic functions are checked by cfn-lint on the template
    node = _resolve(node, root)
    kinds = node.get("type")
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if kinds and not any(_fits(value, kind) for kind in kinds):
        expected = " or ".join(TYPE_WORDS.get(kind, kind) for kind in kinds)
        yield path, f"{'.'.join(str(p) for p in path[1:])} must be {expected} for CloudFormation"
        return
    if isinstance(value, dict) and "properties" in node:
        allowed = node["properties"]
        for key, child in value.items():
            if key in allowed:
                yield from _check_value(child, allowed[key], root, (*path, key))
            elif node.get("additionalProperties") is not True and not node.get("patternProperties"):
                yield (*path, key, KEY), f"{key} is not a property here{_hint(key, list(allowed))}"
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for index, item in enumerate(value):
            yield from _check_value(item, node["items"], root, (*path, index))


def _hint(word: str, options: list[str]) -> str:
    """``; did you mean X?`` when one option is close (case aside), else nothing."""
    by_lower = {option.lower(): option for option in options}
    if word.lower() in by_lower:
        return f"; did you mean {by_lower[word.lower()]}?"
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


# --- this section's piece of the spec language ---

_OVERRIDE: dict[str, Any] = {
    "description": "Changes to one resource, in CloudFormation's own words, with the reason.",
    "type": ["object", "null"],
    "additionalProperties": False,
    "required": ["reason"],
    "properties": {
        "reason": {
            "description": "Why this override exists; shown in the template's Metadata for reviewers.",
            "type": "string",
            "minLength": 1,
        },
        "stack": {
            "description": "For a new resource: the stack it goes in (network, security, data, app, edge, monitoring).",
            "type": "string",
        },
        "Type": {
            "description": "For a new resource: its CloudFormation type, such as AWS::SQS::Queue.",
            "type": "string",
            "pattern": "^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$",
        },
        "Properties": {
            "description": "Merged into the resource's Properties: maps merge, lists replace, null removes.",
            "type": "object",
            "additionalProperties": {"description": "A CloudFormation property, checked against the resource type's schema."},
        },
        "Metadata": {
            "description": "Merged into the resource's Metadata.",
            "type": "object",
            "additionalProperties": {"description": "Free-form CloudFormation metadata."},
        },
        "DependsOn": {
            "description": "Replaces the resource's DependsOn.",
            "type": ["string", "array", "null"],
            "items": {"type": "string"},
        },
        "DeletionPolicy": {
            "description": "Replaces the resource's DeletionPolicy.",
            "enum": ["Delete", "Retain", "RetainExceptOnDelete", "Snapshot", None],
        },
        "UpdateReplacePolicy": {
            "description": "Replaces the resource's UpdateReplacePolicy.",
            "enum": ["Delete", "Retain", "Snapshot", None],
        },
    },
}

PROPERTIES: dict[str, Any] = {
    "overrides": {
        "description": (
            "The escape hatch: change generated resources or add ones ivc does not make, keyed by the logical IDs in output/. "
            "Checked against CloudFormation's resource schemas; every override needs a reason."
        ),
        "type": "object",
        "propertyNames": {"pattern": "^[A-Za-z0-9]{1,255}$"},
        "additionalProperties": {"$ref": "#/$defs/override"},
    }
}
DEFS: dict[str, Any] = {"override": _OVERRIDE}
OVERLAY: dict[str, Any] = {
    "overrides": {"description": "Overrides for this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section(SECTION_KEY, PROPERTIES, DEFS, OVERLAY, check=check)
