"""Write an environment's outputs: templates and manifest, atomically, pruning what no longer exists."""

from __future__ import annotations

import hashlib
import json
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
    """Write files atomically, manifests last, then remove stale ones (and folders they empty, up to root).

    Each file goes to a temp file, is fsynced and renamed over its target, so a reader sees the old or the
    new bytes, never a mix. Templates are written before the manifest that lists their hashes: a run killed
    half-way leaves a manifest that still describes the templates it names, or an older one to be replaced.
    """
    for target, content in sorted(files.items(), key=lambda item: (item[0].name == MANIFEST, item[0])):
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(target)
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
        _remove_stale_temp_files(path)
        parent = path.parent
        while parent != root and root in parent.parents and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent


def _remove_stale_temp_files(target: Path) -> None:
    """Temp files an interrupted run left beside ``target``: only ivc makes names of this form."""
    if target.parent.is_dir():
        for temp in target.parent.glob(f".{target.name}.*.tmp"):
            temp.unlink(missing_ok=True)


def owned_files(folder: Path) -> list[Path]:
    """The files ivc wrote in an environment's ``folder``: its manifest and the templates the manifest lists.

    Nothing else is ever removed, so files a person put under output/ survive every compile.
    """
    listed = _manifest(folder)
    if listed is None:
        return []
    stacks = listed.get("stacks")
    files = [stack.get("file") for stack in stacks if isinstance(stack, dict)] if isinstance(stacks, list) else []
    owned = [folder / MANIFEST]
    for relative in files:
        # Only plain relative paths inside the folder: a tampered manifest must not reach outside it.
        if (
            isinstance(relative, str)
            and relative.endswith(".json")
            and ".." not in Path(relative).parts
            and not Path(relative).is_absolute()
        ):
            path = folder / relative
            if path.is_file():
                owned.append(path)
    return sorted(set(owned))


def placed(folder: Path) -> dict[tuple[str, str], str]:
    """(region, logical ID) -> stack name of every resource in the templates ivc wrote in ``folder``."""
    found: dict[tuple[str, str], str] = {}
    for path in owned_files(folder):
        if path.name == MANIFEST:
            continue
        try:
            resources = json.loads(path.read_text(encoding="utf-8")).get("Resources", {})
        except (OSError, ValueError, AttributeError):
            continue  # a file that is not ivc's template any more: the plan rewrites it
        if isinstance(resources, dict):
            found.update({(path.parent.name, logical): path.stem for logical in resources})
    return found


def _manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of an environment folder ivc wrote, or None when there is none (or it is not ivc's)."""
    try:
        loaded = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, dict) or "ivc_version" not in loaded or loaded.get("environment") != folder.name:
        return None
    return loaded


def environment_folders(system_folder: Path) -> list[Path]:
    """Environment folders below a system's output folder that ivc wrote (they hold its manifest)."""
    if not system_folder.is_dir():
        return []
    return [child for child in sorted(system_folder.iterdir()) if child.is_dir() and _manifest(child) is not None]
