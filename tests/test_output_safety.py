"""Nothing is lost: compile writes atomically, manifest last, and removes only files its own manifests list."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_compile import TWO_ENVS

from compiler import emit
from conftest import ROOT, ivc, tree


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "specs" / "shop" / "spec.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(TWO_ENVS)
    return path


def test_files_ivc_did_not_write_survive_compile_and_pruning(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert ivc("compile", spec, "--out", out).exit_code == 0
    mine = {
        out / "shop" / "notes.json": "{}\n",  # beside the environments
        out / "shop" / "dev" / "extra.json": "{}\n",  # inside an environment ivc owns
        out / "shop" / "dev" / "eu-west-1" / "hand-made.json": "{}\n",  # inside a region folder ivc owns
        out / "shop" / "legacy" / "eu-west-1" / "network.json": "{}\n",  # an environment folder with no ivc manifest
    }
    for path, text in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    spec.write_text(TWO_ENVS.replace("  dev: {}\n", ""))  # dev goes away: its templates are pruned
    result = ivc("compile", spec, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"removed {out}/shop/dev/eu-west-1/network.json" in result.stdout
    assert f"removed {out}/shop/dev/manifest.json" in result.stdout
    for path, text in mine.items():
        assert path.read_text() == text, f"{path} was removed or changed"


def test_a_tampered_manifest_cannot_make_compile_remove_other_files(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ivc("compile", spec, "--out", out)
    precious = tmp_path / "precious.json"
    precious.write_text("{}")
    manifest = out / "shop" / "dev" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"file": "eu-west-1/network.json"', '"file": "../../../precious.json"'))
    spec.write_text(TWO_ENVS.replace("  dev: {}\n", ""))
    assert ivc("compile", spec, "--out", out).exit_code == 0
    assert precious.exists()


@pytest.mark.parametrize("inside", ["specs", "specs/shop", "specs/shop/out"])
def test_out_inside_the_spec_folders_is_refused(spec: Path, tmp_path: Path, inside: str) -> None:
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / inside)
    assert result.exit_code == 2
    assert "where specs live" in result.stderr
    assert sorted(tree(tmp_path / "specs")) == ["shop/spec.yaml"]


def test_templates_are_written_before_the_manifest_and_stale_temp_files_go(
    spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    leftover = out / "shop" / "dev" / ".manifest.json.abc123.tmp"  # what a killed run leaves
    leftover.parent.mkdir(parents=True)
    leftover.write_text("partial")
    order: list[str] = []
    real_replace = os.replace

    def recording_replace(source: str, target: Path) -> None:
        if out in Path(target).parents:  # the output's files, not the caches beside it
            order.append(Path(target).name)
        real_replace(source, target)

    monkeypatch.setattr(emit.os, "replace", recording_replace)
    assert ivc("compile", spec, "--out", out, "--env", "dev").exit_code == 0
    assert order == ["network.json", "manifest.json"]
    assert not leftover.exists()
    assert not list(out.rglob("*.tmp"))


def test_a_file_where_a_folder_should_be_is_one_line_error(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "shop").write_text("not a folder")
    result = ivc("compile", spec, "--out", out, "--env", "dev")
    assert result.exit_code == 1
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert "error: cannot write the output:" in result.stderr
    assert f"{out}/shop" in result.stderr


def test_a_full_disk_is_one_line_error_and_leaves_no_partial_file(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(emit.os, "fsync", disk_full)
    result = ivc("compile", spec, "--out", out, "--env", "dev")
    assert result.exit_code == 1
    assert "No space left on device" in result.stderr and "internal error" not in result.stderr
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_two_specs_with_one_system_name_are_refused_at_the_second_ones_line(spec: Path, tmp_path: Path) -> None:
    twin = tmp_path / "specs" / "shop-copy" / "spec.yaml"
    twin.parent.mkdir()
    twin.write_text(TWO_ENVS)
    for command in ("validate", "compile"):
        args = [command, tmp_path / "specs"] + (["--out", tmp_path / "out"] if command == "compile" else [])
        result = ivc(*args)
        assert result.exit_code == 1
        assert "spec.yaml:2:9: error: system 'shop' is also declared by" in result.stderr
    assert not (tmp_path / "out" / "shop").exists() or sorted(tree(tmp_path / "out" / "shop"))


def test_a_closed_stdout_pipe_is_not_an_error_message() -> None:
    ivc_script = Path(sys.executable).parent / "ivc"
    result = subprocess.run(f"'{ivc_script}' schema | head -1", shell=True, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout == "{\n"
    assert result.stderr == ""
