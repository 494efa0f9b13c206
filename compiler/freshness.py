"""A compile that would change nothing, known without compiling: the stamp of the last clean compile.

After a compile that wrote (or, with --check, found) every output clean, ivc keeps a stamp beside the lint cache:
what went in (each spec's source files, by content), what came out (every file ivc keeps in each system's output
folder, by content), and the summary it printed. The stamp is found by a key of everything else that decides the
output: the command's options, the working folder, the day (validation refuses what is past a date), ivc's own
code (every file of the `compiler` package and the published schema, by content), and the versions of the
libraries that build and lint (troposphere, awacs, jsonschema, PyYAML, cfn-lint). A later compile with the same key
is a hit only when every source and every output file still has the bytes the stamp recorded, and the output
folders hold no other file; anything else is a miss, and the full pipeline runs. So a hit is what the pipeline
would have said, and it costs reading and hashing those files: none of the pipeline's imports, no validation, no
build, no lint.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from .discovery import discover

FORMAT = "1"  # of the stamp: part of its key
LIBRARIES = ("troposphere", "awacs", "jsonschema", "PyYAML", "cfn-lint")
PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Fresh:
    """What a hit reports: the summary the compile that made the stamp printed."""

    environments: list[str]  # one progress line per environment, as the pipeline says it
    specs: int
    environment_count: int
    stacks: int
    resources: int


def folder() -> Path | None:
    """Where stamps are kept: beside the lint cache ($IVC_CACHE_DIR, else ~/.cache/ivc); none when it is off."""
    from .lint import cache_dir  # lint's imports are light until it lints

    lint = cache_dir()
    return None if lint is None else lint.parent / "fresh"


@cache
def code_digest(package: Path = PACKAGE) -> str:
    """ivc's own code: every file of the package and of the published schema beside it (which validation reads), by
    path and content, so any edit is a miss (not only a release)."""
    digest = hashlib.sha256()
    for root in (package, package.parent / "schemas"):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(path.relative_to(root.parent).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _versions() -> list[str]:
    found = []
    for library in LIBRARIES:
        try:
            found.append(f"{library}={version(library)}")
        except PackageNotFoundError:
            found.append(f"{library}=none")
    return found


def key(specs: list[Path], out: Path, env: str | None, region: str | None) -> str:
    """Everything but file contents that decides what a compile writes and says: the options, the working folder, the
    day, ivc's code and the libraries. Not --strict or --check: a stamp is kept only for a compile with no finding at
    all and nothing out of date, which both would say too."""
    options = {
        "format": FORMAT,
        # Display paths in manifests and messages are relative to the working folder; and validation refuses what
        # is past a date (runtimes, engine versions), so a stamp answers for its day only.
        "cwd": str(Path.cwd().resolve()),
        "day": date.today().isoformat(),
        "code": code_digest(),
        "libraries": _versions(),
        "specs": [str(p.resolve()) for p in specs],
        "out": str(out.resolve()),
        "env": env,
        "region": region,
    }
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _listing(system_folders: list[Path]) -> dict[str, str | None]:
    """Every file in the systems' output folders, by content."""
    return {str(p): _sha256(p) for root in system_folders for p in sorted(root.rglob("*")) if p.is_file()}


def lookup(paths: list[Path], out: Path, env: str | None, region: str | None) -> Fresh | None:
    """The last clean compile's summary when nothing it read or wrote has changed since; else None."""
    where = folder()
    if where is None:
        return None
    try:
        specs = discover(paths)
        stamp = json.loads((where / f"{key(specs, out, env, region)}.json").read_text(encoding="utf-8"))
        if any(_sha256(Path(path)) != digest for path, digest in stamp["sources"].items()):
            return None
        if _listing([Path(p) for p in stamp["systems"]]) != stamp["outputs"]:
            return None
        return Fresh(stamp["environments"], stamp["specs"], stamp["environment_count"], stamp["stacks"], stamp["resources"])
    except Exception:  # any doubt (a bad stamp, a missing file, a usage error) is a miss: the pipeline decides
        return None


def record(
    paths: list[Path],
    out: Path,
    env: str | None,
    region: str | None,
    sources: dict[str, str],
    systems: list[Path],
    summary: Fresh,
) -> None:
    """Keep the stamp of a clean compile (no finding, nothing out of date): ``sources`` are the files it read with the
    digests it compiled (path -> sha256), ``systems`` the output folders it wrote in. A stamp that cannot be written
    only costs time next run."""
    where = folder()
    if where is None:
        return
    stamp: dict[str, Any] = {
        "sources": dict(sorted(sources.items())),
        "systems": [str(p) for p in systems],
        "outputs": _listing(systems),
        "environments": summary.environments,
        "specs": summary.specs,
        "environment_count": summary.environment_count,
        "stacks": summary.stacks,
        "resources": summary.resources,
    }
    try:
        where.mkdir(parents=True, exist_ok=True)
        target = where / f"{key(discover(paths), out, env, region)}.json"
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(stamp, sort_keys=True), encoding="utf-8")
        os.replace(temp, target)
    except OSError:
        pass
