"""Lint templates in-process with cfn-lint, each for its own region.

Results are cached by template bytes, region and both tools' versions, so an
unchanged template is not linted twice: the cache holds cfn-lint's own
findings and cannot go stale, because any change to its key is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from functools import cache
from pathlib import Path

from . import __version__
from .errors import Diagnostic

SEVERITY = {"error": "error", "warning": "warning", "informational": "info"}
FORMAT = "2"  # of cached findings: part of the cache key, so a new format is a miss
SHORT = 200  # characters of cfn-lint's message in the one-line form; the rest is in ``detail``


def lint(body: str, region: str, location: str) -> list[Diagnostic]:
    """cfn-lint's findings for one template, as diagnostics naming stack, resource and rule."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as cfn_lint

    findings = []
    for match in cfn_lint(body, config=ManualArgs(regions=[region])):
        path = [str(step) for step in (match.path or [])]
        resource = path[1] if len(path) > 1 and path[0] in ("Resources", "Outputs") else None
        if resource and path[0] == "Outputs":
            resource = f"Outputs/{resource}"
        where = "/".join(path)
        text = " ".join(str(match.message).split())
        short = text if len(text) <= SHORT else text[: SHORT - 1] + "…"
        findings.append(
            Diagnostic(
                f"{match.rule.id}" + (f" resource {path[1]}" if resource else "") + f": {short}",
                severity=SEVERITY.get(match.rule.severity.lower(), "warning"),
                code=f"cfn-lint/{match.rule.id}",
                location=location,
                resource=resource,
                detail=f"{text} (at {where})" if where else text,
            )
        )
    return findings


@cache
def cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")


def cache_dir() -> Path | None:
    """Where lint results are kept: $IVC_CACHE_DIR, else ~/.cache/ivc; IVC_CACHE_DIR=off disables it."""
    configured = os.environ.get("IVC_CACHE_DIR")
    if configured == "off":
        return None
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ivc"
    return base / "lint"


def _key(body: str, region: str) -> str:
    return hashlib.sha256(f"{__version__}\0{FORMAT}\0{cfn_lint_version()}\0{region}\0{body}".encode()).hexdigest()


def _lint_job(job: tuple[str, str, str]) -> list[Diagnostic]:
    return lint(*job)


def lint_all(jobs: list[tuple[str, str, str]], done: Callable[[int, int], None] | None = None) -> list[list[Diagnostic]]:
    """Lint (body, region, location) jobs, from the cache where possible, the rest in parallel over the cores."""
    folder = cache_dir()
    results: list[list[Diagnostic] | None] = [None] * len(jobs)
    for index, (body, region, location) in enumerate(jobs):
        if folder is not None:
            try:
                cached = json.loads((folder / f"{_key(body, region)}.json").read_text(encoding="utf-8"))
                results[index] = [Diagnostic(**{**item, "location": location}) for item in cached]
            except (OSError, ValueError, TypeError):
                pass
    todo = [index for index, result in enumerate(results) if result is None]
    if todo:
        import cfnlint.api  # noqa: F401 - loaded once here, so forked workers start with it

        workers = min(os.cpu_count() or 1, len(todo))
        if workers <= 1:
            fresh = []
            for count, index in enumerate(todo, start=1):
                fresh.append(_lint_job(jobs[index]))
                if done:
                    done(count, len(todo))
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                fresh = []
                for count, found in enumerate(pool.map(_lint_job, [jobs[index] for index in todo]), start=1):
                    fresh.append(found)
                    if done:
                        done(count, len(todo))
        for index, found in zip(todo, fresh, strict=True):
            results[index] = found
            if folder is not None:
                _store(folder / f"{_key(jobs[index][0], jobs[index][1])}.json", found)
    return [result or [] for result in results]


def _store(path: Path, findings: list[Diagnostic]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps([asdict(d) | {"location": None} for d in findings]), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time
