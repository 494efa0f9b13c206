"""Write an environment's outputs: templates and manifest, atomically, pruning what no longer exists."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .stacks import Stack, render
from .validate import Environment

MANIFEST = "manifest.json"


def manifest(environment: Environment, stacks: list[Stack]) -> dict[str, Any]:
    """What pipelines read: where each stack goes, in which order, and what it exchanges."""
    accounts = environment.spec.get("deploy", {}).get("accounts", [])
    waves: dict[int, list[str]] = {}
    for stack in stacks:
        waves.setdefault(stack.wave, []).append(stack.key)
    return {
        "ivc_version": __version__,
        "system": environment.system,
        "environment": environment.name,
        "spec": {
            "path": environment.source.display,
            "sha256": environment.source.sha256,
            "sources": [{"path": path, "sha256": sha} for path, sha in environment.source.sources],
        },
        "regions": [{"name": region, "role": role} for region, role in environment.regions],
        "deploy_order": [waves[w] for w in sorted(waves)],
        "stacks": [
            {
                "name": stack.name,
                "region": stack.region,
                "role": stack.role,
                "file": stack.file,
                "sha256": hashlib.sha256(stack.body.encode()).hexdigest(),
                "size": len(stack.body.encode()),
                "deploy_size": len(stack.deploy_body.encode()),
                "resources": stack.resource_count,
                "parameters": stack.parameters,
                "exports": stack.exports,
                "imports": stack.imports,
                "wave": stack.wave,
                "accounts": accounts,
            }
            for stack in stacks
        ],
    }


def environment_files(environment: Environment, stacks: list[Stack]) -> dict[str, str]:
    """Every file of an environment's output folder, relative to it, with its content."""
    files = {stack.file: stack.body for stack in stacks}
    files[MANIFEST] = render(manifest(environment, stacks))
    return files


@dataclass
class Changes:
    """How an output folder differs from what a compile produces."""

    written: list[Path] = field(default_factory=list)  # new or changed
    removed: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def plan(folder: Path, files: dict[str, str], owned: list[Path]) -> Changes:
    """Compare wanted ``files`` under ``folder`` with what is there; ``owned`` are files ivc may remove."""
    changes = Changes()
    for relative, content in sorted(files.items()):
        target = folder / relative
        try:
            current = target.read_bytes()
        except OSError:
            current = None
        (changes.unchanged if current == content.encode() else changes.written).append(target)
    wanted = {folder / relative for relative in files}
    changes.removed = sorted(path for path in owned if path not in wanted)
    return changes


def apply(files: dict[Path, str], removed: list[Path], root: Path) -> None:
    """Write each file atomically (temp file, fsync, rename) and remove stale ones (and folders they empty, up to root)."""
    for target, content in sorted(files.items()):
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content.encode())
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    for path in removed:
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != root and root in parent.parents and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def owned_files(folder: Path) -> list[Path]:
    """JSON files ivc wrote below ``folder``: the only files a compile ever removes."""
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []
