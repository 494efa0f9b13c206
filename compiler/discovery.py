"""Which spec files a command names: a file, a spec folder, or a folder of spec folders.

Kept apart from the pipeline, whose imports (troposphere, awacs, jsonschema) a no-change compile never needs.
"""

from __future__ import annotations

from pathlib import Path

SPEC_FILE = "spec.yaml"


class UsageError(Exception):
    """The command line asked for something that does not exist (exit 2)."""


def discover(paths: list[Path]) -> list[Path]:
    """Spec files named by ``paths``: a file, a spec folder, or a folder of spec folders."""
    found: list[Path] = []
    for path in paths or [Path("specs")]:
        if path.is_file():
            found.append(path)
        elif (path / SPEC_FILE).is_file():
            found.append(path / SPEC_FILE)
        elif path.is_dir():
            inside = sorted(path.glob(f"*/{SPEC_FILE}"))
            if not inside:
                raise UsageError(f"{path}: no {SPEC_FILE} in it or in its subfolders")
            found.extend(inside)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))
