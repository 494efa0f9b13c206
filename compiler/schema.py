"""The spec language's JSON Schema, assembled from the sections' pieces.

Each section module owns its piece (``Section.properties``, ``defs``, ``overlay``); this module puts them
together. The published file, ``schemas/ivc.schema.json``, is what editors and ``ivc validate`` read;
``ivc schema --write`` regenerates it and a test fails when it is stale, like the golden files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PUBLISHED = Path(__file__).resolve().parent.parent / "schemas" / "ivc.schema.json"

HEADER: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ivc environment spec",
    "description": (
        "One system's environments (dev, staging, prod...) described by intent; `ivc compile` turns it into CloudFormation. "
        "Reference: docs/spec.md."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["ivc", "system", "regions", "environments"],
}


def assemble() -> dict[str, Any]:
    """The whole schema: the frame, then every section's keys, definitions and overlay entries, in registry order."""
    from .sections import SECTIONS

    properties: dict[str, Any] = {}
    defs: dict[str, Any] = {}
    overlay: dict[str, Any] = {}
    for section in SECTIONS:
        for target, piece in ((properties, section.properties), (defs, section.defs), (overlay, section.overlay)):
            clash = sorted(set(target) & set(piece))
            if clash:
                raise ValueError(f"section {section.name} redefines {', '.join(clash)}")
            target.update(piece)
    defs["overlay"] = {**defs["overlay"], "properties": overlay}
    return {**HEADER, "properties": properties, "$defs": defs}


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(path: Path = PUBLISHED) -> bool:
    """Write the assembled schema to ``path``; True when it changed."""
    text = render(assemble())
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True
