"""Validate specs: the JSON Schema first, then each section's cross-field checks.

All problems are collected before anything is reported, so one run shows every
mistake in a spec, each at its own ``file:line:col``.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import Diagnostic, Mark, SpecError
from .loader import YAML11_BOOL, YAML11_NUMBER, Node, find, to_plain
from .merge import SpecSource, effective, load_spec

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "ivc.schema.json"
with SCHEMA_PATH.open(encoding="utf-8") as _handle:
    # What an environment may change; anything else in an overlay is reported by the schema, not merged.
    OVERLAY_KEYS = frozenset(json.load(_handle)["$defs"]["overlay"]["properties"])

# Patterns in the schema, said in words.
PATTERN_WORDS = {
    "^[a-z][a-z0-9-]*[a-z0-9]$": "lowercase letters, digits and hyphens, starting with a letter",
    "^[a-z][a-z0-9]{0,15}$": "lowercase letters and digits, starting with a letter, at most 16",
    "^[0-9]{12}$": "a 12-digit AWS account ID, quoted",
    "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$": "an IPv4 CIDR such as 10.0.0.0/16",
    "^([0-9]{1,5}-[0-9]{1,5}|all)$": "a port, a range such as 1024-65535, or all",
}


@dataclass
class Environment:
    """One environment of one spec, validated, with defaults applied."""

    source: SpecSource
    name: str
    spec: dict[str, Any]
    tree: Node

    @property
    def system(self) -> str:
        return str(self.spec["system"])

    @property
    def regions(self) -> list[tuple[str, str]]:
        """(region, role) pairs, primary first."""
        regions = self.spec["regions"]
        pairs = [(regions["primary"], "primary")]
        if "secondary" in regions:
            pairs.append((regions["secondary"], "secondary"))
        return pairs

    def mark(self, path: tuple[Any, ...]) -> Mark:
        return find(self.tree, path).mark


@cache
def schema() -> dict[str, Any]:
    """The spec language's JSON Schema."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema())


def load_and_validate(path: Path, only_env: str | None = None) -> list[Environment]:
    """Load a spec and return its valid environments, or raise SpecError with every problem."""
    source = load_spec(path)
    found: dict[tuple[Mark | None, str, str], list[str]] = {}
    environments: list[Environment] = []
    names = source.environments or [""]
    if only_env is not None and source.environments and only_env not in source.environments:
        raise SpecError(
            [
                Diagnostic(
                    f"no environment '{only_env}' in this spec; it has {', '.join(source.environments)}",
                    Mark(source.display, 1, 1),
                    code="usage",
                )
            ]
        )
    for env in names:
        if only_env is not None and env != only_env:
            continue
        try:
            tree = effective(source, env, OVERLAY_KEYS) if env else source.tree
        except SpecError as exc:
            for diagnostic in exc.diagnostics:
                found.setdefault((diagnostic.mark, diagnostic.message, diagnostic.code), []).append(env)
            continue
        problems = list(schema_problems(tree))
        if not problems:
            spec = apply_defaults(schema(), to_plain(tree))
            environment = Environment(source, env, spec, tree)
            problems = list(_semantic_problems(environment))
            if not problems:
                environments.append(environment)
        for diagnostic in problems:
            found.setdefault((diagnostic.mark, diagnostic.message, diagnostic.code), []).append(env)
    if found:
        raise SpecError(_label_environments(found, names))
    return environments


def _label_environments(found: dict[tuple[Mark | None, str, str], list[str]], names: list[str]) -> list[Diagnostic]:
    """One diagnostic per problem; name the environments when not all of them have it."""
    diagnostics = []
    for (mark, message, code), envs in found.items():
        if len(names) > 1 and len(envs) < len(names) and all(envs):
            message = f"{message} (in {', '.join(envs)})"
        diagnostics.append(Diagnostic(message, mark, code=code))
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _semantic_problems(environment: Environment) -> Iterable[Diagnostic]:
    from . import sections

    for path, message in sections.check(environment.spec):
        yield Diagnostic(message, environment.mark(path), code="semantic")


# --- schema errors in words -------------------------------------------------------------


def schema_problems(tree: Node) -> Iterable[Diagnostic]:
    """Schema violations in ``tree`` as positioned, readable diagnostics."""
    data = to_plain(tree)
    for error in _validator().iter_errors(data):
        yield from _explain(error, tree)


def _dotted(path: Iterable[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "the top level"


def _deepest(error: Any) -> Any:
    """For oneOf/anyOf, the branch error that got furthest into the data."""
    from jsonschema.exceptions import best_match

    if error.context:
        inner = best_match(error.context)
        if len(inner.absolute_path) > len(error.absolute_path):
            return _deepest(inner)
    return error


def _explain(error: Any, tree: Node) -> Iterable[Diagnostic]:
    error = _deepest(error)
    path = tuple(error.absolute_path)
    node = find(tree, path)
    where = _dotted(path)
    kind, value, rule = error.validator, error.instance, error.validator_value
    if kind == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            key_node = node.value[key]
            hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            advice = f"did you mean '{hint[0]}'?" if hint else f"allowed keys: {', '.join(allowed)}"
            place = f"in {where}" if path else "at the top level"
            yield _diag(f"unknown key '{key}' {place}; {advice}", key_node.key_mark or key_node.mark)
        return
    if kind == "required":
        missing = [key for key in rule if key not in value]
        for key in missing:
            yield _diag(f"{where} is missing required key '{key}'", node.key_mark or node.mark)
        return
    if "propertyNames" in error.relative_schema_path:
        key_node = node.value.get(value) if isinstance(node.value, dict) else None
        words = PATTERN_WORDS.get(error.schema.get("pattern", ""), "a valid name")
        yield _diag(f"'{value}' is not a valid name in {where}: use {words}", key_node.key_mark if key_node else node.mark)
        return
    yield _diag(_message(kind, where, value, rule, node, error), node.mark)


def _message(kind: str, where: str, value: Any, rule: Any, node: Node, error: Any) -> str:
    shown = _show(value, node)
    if kind == "type":
        expected = " or ".join(rule) if isinstance(rule, list) else rule
        return f"{where} must be {_article(expected)}, not {_kind(value)} {shown}{_yaml11_hint(expected, node)}"
    if kind == "enum":
        options = ", ".join(str(option) for option in rule)
        numbers = [o for o in rule if isinstance(o, (int, float)) and not isinstance(o, bool)]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and numbers:
            hint = [str(min(numbers, key=lambda option: abs(option - value)))]
        else:
            hint = difflib.get_close_matches(str(value), [str(option) for option in rule], n=1, cutoff=0.6)
        advice = f"; did you mean {hint[0]}?" if hint else _yaml11_hint("number" if numbers else "", node)
        return f"{where} is {shown}, which is not one of: {options}{advice}"
    if kind == "const":
        return f"{where} must be {json.dumps(rule)}, not {shown}"
    if kind == "pattern":
        return f"{where} is {shown}; expected {PATTERN_WORDS.get(rule, 'a value matching ' + rule)}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[kind]
        return f"{where} is {shown}; it must be {relation} {rule}"
    if kind in ("minItems", "maxItems"):
        return f"{where} has {len(value)} items; it must have {'at least' if kind == 'minItems' else 'at most'} {rule}"
    if kind in ("minLength", "maxLength"):
        return f"{where} is {len(value)} characters long; it must be {'at least' if kind == 'minLength' else 'at most'} {rule}"
    if kind == "minProperties":
        return f"{where} must have at least {rule} entr{'y' if rule == 1 else 'ies'}"
    if kind == "uniqueItems":
        return f"{where} lists the same item twice; each item may appear once"
    if kind in ("oneOf", "anyOf"):
        return f"{where} is {shown}; expected {error.schema.get('description', 'another form').rstrip('.')}"
    return f"{where}: {error.message}"


def _diag(message: str, mark: Mark) -> Diagnostic:
    return Diagnostic(message, mark, code="schema")


def _show(value: Any, node: Node) -> str:
    if node.text is not None and not isinstance(value, (dict, list)):
        return f"'{node.text}'" if isinstance(value, str) else node.text
    if isinstance(value, dict):
        return "(a mapping)"
    if isinstance(value, list):
        return "(a list)"
    return json.dumps(value)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a mapping"


def _article(expected: str) -> str:
    words = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }
    return " or ".join(words.get(part.strip(), part) for part in expected.split(" or "))


def _yaml11_hint(expected: str, node: Node) -> str:
    text = node.text or ""
    if "boolean" in expected and YAML11_BOOL.match(text):
        return f" (YAML 1.1 would read '{text}' as a boolean; ivc reads YAML 1.2: write true or false)"
    if ("integer" in expected or "number" in expected) and YAML11_NUMBER.match(text):
        return f" (ivc does not read '{text}' as octal, base 60 or with underscores: write the plain decimal number)"
    if "string" in expected and text and isinstance(node.value, (int, float)):
        return f" (quote it to keep it as text: '{text}')"
    return ""


# --- defaults -----------------------------------------------------------------------------


def _resolve(node_schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node_schema:
        ref = node_schema["$ref"]
        target: Any = schema()
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node_schema = {**target, **{k: v for k, v in node_schema.items() if k != "$ref"}}
    return node_schema


def apply_defaults(node_schema: dict[str, Any], data: Any) -> Any:
    """Fill in the schema's defaults, so builders never guess; the schema is their one source."""
    node_schema = _resolve(node_schema)
    if isinstance(data, dict):
        result = dict(data)
        for key, prop in node_schema.get("properties", {}).items():
            prop = _resolve(prop)
            if key not in result and "default" in prop:
                result[key] = copy.deepcopy(prop["default"])
            if key in result:
                result[key] = apply_defaults(prop, result[key])
        extra = node_schema.get("additionalProperties")
        if isinstance(extra, dict):
            known = node_schema.get("properties", {})
            for key in result:
                if key not in known:
                    result[key] = apply_defaults(extra, result[key])
        return result
    if isinstance(data, list) and isinstance(node_schema.get("items"), dict):
        return [apply_defaults(node_schema["items"], item) for item in data]
    return data
