"""The JSON Schema is valid, closed, documented, and agrees with the compiler's tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from compiler.regions import ZONES_PER_REGION
from compiler.validate import SCHEMA_PATH, schema
from conftest import ROOT, ivc


def objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield path, node
        for key, child in node.items():
            yield from objects(child, f"{path}/{key}")
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from objects(child, f"{path}/{index}")


def test_schema_is_valid_draft_2020_12() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema())


def test_every_object_is_closed() -> None:
    for path, node in objects(schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{path} accepts unknown keys"
        else:  # a map with named entries: its values must be described by a schema
            assert isinstance(node.get("additionalProperties"), dict), f"{path} accepts anything"


def test_every_property_has_a_description() -> None:
    for path, node in objects(schema()):
        for name, prop in node.get("properties", {}).items():
            assert prop.get("description"), f"{path}/properties/{name} has no description"


def test_region_enum_matches_zone_table() -> None:
    assert schema()["$defs"]["region"]["enum"] == sorted(ZONES_PER_REGION)


def test_bundled_specs_carry_the_schema_modeline() -> None:
    for spec in ROOT.glob("specs/**/*.yaml"):
        assert "# yaml-language-server: $schema=../../schemas/ivc.schema.json" in spec.read_text(), spec


def test_ivc_schema_prints_the_schema() -> None:
    result = ivc("schema")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(SCHEMA_PATH.read_text())


def test_published_schema_is_assembled_from_the_sections() -> None:
    from compiler.schema import PUBLISHED, assemble, render

    assert PUBLISHED == SCHEMA_PATH
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(assemble()), "schemas/ivc.schema.json is stale: run `ivc schema --write`"


def test_every_section_owns_its_keys_and_what_environments_may_change() -> None:
    from compiler.sections import SECTIONS

    owners: dict[str, str] = {}
    for section in SECTIONS:
        for key in section.properties:
            assert key not in owners, f"{key} is owned by {owners[key]} and {section.name}"
            owners[key] = section.name
        assert set(section.overlay) <= set(section.properties), f"{section.name} lets environments change keys it does not own"
    assert set(owners) == set(schema()["properties"])
