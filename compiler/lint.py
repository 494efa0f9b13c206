"""Lint templates in-process with cfn-lint, each for its own region."""

from __future__ import annotations

from .errors import Diagnostic

SEVERITY = {"error": "error", "warning": "warning", "informational": "info"}


def lint(body: str, region: str, location: str) -> list[Diagnostic]:
    """cfn-lint's findings for one template, as diagnostics naming stack, resource and rule."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    findings = []
    for match in cfn_lint(body, config=ManualArgs(regions=[region])):
        path = [str(step) for step in (match.path or [])]
        resource = f" resource {path[1]}" if len(path) > 1 and path[0] == "Resources" else ""
        where = "/".join(path)
        findings.append(Diagnostic(
            f"{match.rule.id}{resource}: {match.message}" + (f" (at {where})" if where else ""),
            severity=SEVERITY.get(match.rule.severity.lower(), "warning"),
            code=f"cfn-lint/{match.rule.id}",
            location=location,
        ))
    return findings


def cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")
