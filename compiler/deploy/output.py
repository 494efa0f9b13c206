"""The compiled output deploy, diff and destroy act on, checked before any AWS call.

``output/<system>/<env>/manifest.json`` must be there, be valid JSON, describe this system and
environment, and list exactly the templates beside it with their sha256; and the manifest and
templates must be what the spec compiles to now. Anything else stops the command with one line
naming the file and saying to run ``ivc compile``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..errors import DeployError

if TYPE_CHECKING:
    from ..stacks import Stack
    from ..validate import Environment

REWRITE = "run `ivc compile` to write it again"


def read_manifest(folder: Path, system: str, environment: str) -> dict[str, Any]:
    """The manifest of an environment's output ``folder``, checked against the folder and the templates in it."""
    from ..emit import MANIFEST

    path = folder / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(f"{path} is missing: run `ivc compile` first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"{path} cannot be read ({getattr(exc, 'strerror', None) or exc}): {REWRITE}") from None
    try:
        manifest: dict[str, Any] = json.loads(text)
    except ValueError:
        raise DeployError(f"{path} is not valid JSON (truncated or edited): {REWRITE}") from None
    if not _well_formed(manifest):
        raise DeployError(
            f"{path} is not an ivc manifest (it lacks system, environment or a list of stacks with file and sha256): {REWRITE}"
        )
    if (manifest["system"], manifest["environment"]) != (system, environment):
        raise DeployError(
            f"{path} describes {manifest['system']}/{manifest['environment']}, not {system}/{environment}: "
            f"run `ivc compile` to write this environment's own"
        )
    problems = []
    listed = set()
    for stack in manifest["stacks"]:
        relative = stack["file"]
        listed.add(relative)
        template = folder / relative
        if not template.is_file():
            problems.append(f"it lists {relative}, which is missing")
        elif hashlib.sha256(template.read_bytes()).hexdigest() != stack["sha256"]:
            problems.append(f"{relative} was edited after compiling: its sha256 differs")
    for template in sorted(folder.glob("*/*.json")):  # where templates go: <region>/<stack>.json
        relative = template.relative_to(folder).as_posix()
        if relative not in listed:
            problems.append(f"{relative} is not listed in it")
    if problems:
        raise DeployError(f"{path} does not match the templates beside it ({'; '.join(problems)}): run `ivc compile` to write them again")
    return manifest


def _well_formed(manifest: Any) -> bool:
    if not isinstance(manifest, dict) or not isinstance(manifest.get("stacks"), list):
        return False
    if not isinstance(manifest.get("system"), str) or not isinstance(manifest.get("environment"), str):
        return False
    for stack in manifest["stacks"]:
        if not isinstance(stack, dict) or not isinstance(stack.get("file"), str) or not isinstance(stack.get("sha256"), str):
            return False
        relative = PurePosixPath(stack["file"])
        if relative.is_absolute() or ".." in relative.parts:  # a manifest must not reach outside its folder
            return False
    return True


def compiled(environment: Environment, out: Path) -> list[Stack]:
    """The environment's stacks, once its manifest checks out and it and the templates are what the spec compiles to now."""
    from ..emit import manifest as manifest_for
    from ..stacks import assemble

    folder = out / environment.system / environment.name
    manifest = read_manifest(folder, environment.system, environment.name)
    fresh = assemble(environment)
    stale = []
    for stack in fresh:
        path = folder / stack.file
        if not path.is_file() or path.read_text(encoding="utf-8") != stack.body:
            stale.append(str(path))
    stale += [str(folder / s["file"]) for s in manifest["stacks"] if s["file"] not in {f.file for f in fresh}]
    if not stale:
        # The manifest too, all but the spec's paths and hashes, which depend on where ivc runs.
        wanted = json.loads(json.dumps(manifest_for(environment, fresh)))
        if {k: v for k, v in manifest.items() if k != "spec"} != {k: v for k, v in wanted.items() if k != "spec"}:
            stale.append(str(folder / "manifest.json"))
    if stale:
        raise DeployError(f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} out of date with the spec: run `ivc compile` first")
    return fresh
