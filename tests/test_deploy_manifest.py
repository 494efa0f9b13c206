"""Deploy, diff and destroy read output/<system>/<env>/manifest.json and refuse one that does not check out.

Each case breaks a compiled environment's output the way a person or a killed process could, and every
command must stop with one line naming the file and saying to run `ivc compile`, before any AWS call:
the endpoint is a closed port, so a command that went on would fail differently.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MotoServer, _free_port, ivc

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
buckets:
  media: {}
deploy:
  accounts: ["111111111111"]
environments:
  dev: {}
  staging: {}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    (tmp_path / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / "output")
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")  # nothing listens
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return tmp_path


def _truncate(folder: Path) -> None:
    manifest = folder / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:200])


def _edit_template(folder: Path) -> None:
    template = folder / "us-east-1" / "data.json"
    template.write_text(template.read_text() + "\n")  # still valid JSON, still the same template, other bytes


def _foreign(folder: Path) -> None:
    shutil.copy(folder.parent / "staging" / "manifest.json", folder / "manifest.json")


def _edit_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["stacks"][0]["wave"] = 7
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2))


REWRITE = "run `ivc compile` to write it again"
BESIDE = "does not match the templates beside it ({}): run `ivc compile` to write them again"
CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (lambda f: (f / "manifest.json").unlink(), "manifest.json is missing: run `ivc compile` first"),
    "truncated": (_truncate, f"manifest.json is not valid JSON (truncated or edited): {REWRITE}"),
    "not a manifest": (
        lambda f: (f / "manifest.json").write_text("[]"),
        f"manifest.json is not an ivc manifest (it lacks system, environment or a list of stacks with file and sha256): {REWRITE}",
    ),
    "reaching outside": (
        lambda f: (f / "manifest.json").write_text((f / "manifest.json").read_text().replace('"us-east-1/data.json"', '"../x.json"')),
        f"manifest.json is not an ivc manifest (it lacks system, environment or a list of stacks with file and sha256): {REWRITE}",
    ),
    "template edited": (
        _edit_template,
        "manifest.json " + BESIDE.format("us-east-1/data.json was edited after compiling: its sha256 differs"),
    ),
    "template missing": (
        lambda f: (f / "us-east-1" / "data.json").unlink(),
        "manifest.json " + BESIDE.format("it lists us-east-1/data.json, which is missing"),
    ),
    "template not listed": (
        lambda f: shutil.copy(f / "us-east-1" / "data.json", f / "us-east-1" / "extra.json"),
        "manifest.json " + BESIDE.format("us-east-1/extra.json is not listed in it"),
    ),
    "foreign": (_foreign, "manifest.json describes shop/staging, not shop/dev: run `ivc compile` to write this environment's own"),
    "manifest edited": (_edit_manifest, "manifest.json is out of date with the spec: run `ivc compile` first"),
}


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_manifest_stops_the_command_in_one_line(project: Path, case: str, command: str) -> None:
    folder = project / "output" / "shop" / "dev"
    breaks, message = CASES[case]
    breaks(folder)
    confirm = [] if command == "diff" else ["--yes"]
    result = ivc(command, project / "specs" / "shop", "--env", "dev", "--out", project / "output", *confirm)
    assert result.exit_code == 1
    assert result.stderr == f"ivc: error: {folder}/{message}\n"
    assert result.stdout == ""


def test_checked_output_deploys_from_any_working_directory(project: Path, aws: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Compiled from the repository root through a relative path, deployed from the project folder: the manifest
    # then names the spec by another path, which must not count as a change.
    relative = Path(os.path.relpath(project, Path.cwd()))
    assert ivc("compile", relative / "specs", "--out", relative / "output").exit_code == 0
    monkeypatch.chdir(project)
    result = ivc("deploy", "specs/shop", "--env", "dev", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == "create    shop-dev-data-us-east-1 (us-east-1): instances in 111111111111\n"
