"""Render diagnostics for people (text) and for CI annotations (json, sarif)."""

from __future__ import annotations

import json
from typing import Any

from . import __version__
from .errors import Diagnostic

SARIF_LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def text(diagnostics: list[Diagnostic], detail: bool = False) -> str:
    """One line per problem; with ``detail`` (--debug), the whole story under a line that was cut."""
    return "".join(d.render() + "\n" + (f"    {d.detail}\n" if detail and d.detail else "") for d in diagnostics)


def _where(diagnostic: Diagnostic) -> dict[str, Any]:
    if diagnostic.mark:
        return {"file": diagnostic.mark.file, "line": diagnostic.mark.line, "col": diagnostic.mark.col}
    return {"file": diagnostic.location, "line": None, "col": None}


def as_json(diagnostics: list[Diagnostic], actions: list[tuple[str, str]], ok: bool) -> str:
    payload = {
        "ok": ok,
        "diagnostics": [
            {**_where(d), "severity": d.severity, "code": d.code, "message": d.message, "detail": d.detail, "resource": d.resource}
            for d in diagnostics
        ],
        "actions": [{"action": action, "path": path} for action, path in actions],
    }
    return json.dumps(payload, indent=2, sort_keys=True) + "\n"


def as_sarif(diagnostics: list[Diagnostic]) -> str:
    """SARIF 2.1.0, the format code-scanning tools read to annotate pull requests."""
    rules = sorted({d.code for d in diagnostics})
    results = []
    for d in diagnostics:
        where = _where(d)
        location: dict[str, Any] = {"artifactLocation": {"uri": where["file"] or "ivc"}}
        if where["line"]:
            location["region"] = {"startLine": where["line"], "startColumn": where["col"]}
        results.append(
            {
                "ruleId": d.code,
                "level": SARIF_LEVELS.get(d.severity, "warning"),
                "message": {"text": d.message + (f"\n{d.detail}" if d.detail else "")},
                "locations": [{"physicalLocation": location}],
            }
        )
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "ivc", "version": __version__, "rules": [{"id": rule} for rule in rules]}},
                "results": results,
            }
        ],
    }
    return json.dumps(sarif, indent=2, sort_keys=True) + "\n"
