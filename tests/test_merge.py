"""Environments and extends: maps merge, lists replace, null removes; positions follow the override."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES


def environments() -> dict[str, dict]:
    return {e.name: e.spec for e in load_and_validate(FIXTURES / "extends" / "spec.yaml")}


def test_extends_lays_defaults_underneath_the_spec() -> None:
    prod = environments()["prod"]
    assert prod["tags"] == {"Owner": "platform", "Team": "web"}  # maps merge; the spec wins
    assert prod["network"]["nat"] == "per-zone"  # from the defaults file
    assert prod["network"]["endpoints"] == ["s3", "logs"]  # lists replace
    assert prod["network"]["flow_logs"] == {"enabled": True, "retention": 60, "traffic": "ALL"}  # schema defaults fill the rest


def test_environment_overlay_merges_replaces_and_removes() -> None:
    dev = environments()["dev"]
    assert dev["tags"] == {"Team": "web"}  # Owner: null removed it
    assert dev["regions"] == {"primary": "us-east-1"}  # secondary: null removed the DR region
    assert "secondary_cidr" not in dev["network"]
    assert dev["network"]["nat"] == "single"
    assert dev["network"]["cidr"] == "10.0.0.0/16"  # untouched keys stay


def test_error_from_override_points_at_override_line() -> None:
    envs = load_and_validate(FIXTURES / "extends" / "spec.yaml")
    dev = next(e for e in envs if e.name == "dev")
    mark = dev.mark(("network", "nat"))
    assert (mark.file, mark.line) == ("tests/fixtures/extends/spec.yaml", 14)
    prod = next(e for e in envs if e.name == "prod")
    assert prod.mark(("network", "nat")).file == "tests/fixtures/extends/base.yaml"


def test_spec_hash_covers_every_source_file() -> None:
    source = load_and_validate(FIXTURES / "extends" / "spec.yaml")[0].source
    assert [path for path, _ in source.sources] == ["tests/fixtures/extends/spec.yaml", "tests/fixtures/extends/base.yaml"]
    assert len(source.sha256) == 64


def spec_error(path: Path) -> list[str]:
    with pytest.raises(SpecError) as exc:
        load_and_validate(path)
    return [d.render() for d in exc.value.diagnostics]


SPEC = "ivc: 1\nsystem: shop\nextends: {}\nregions: {{primary: us-east-1}}\nenvironments: {{dev: {{}}}}\n"


def test_extends_through_a_symlink_loop_is_located(tmp_path: Path) -> None:
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format("loop1"))
    assert spec_error(spec) == [f"{spec.as_posix()}:3:10: error: extends 'loop1': the path is a loop of symbolic links"]


def test_extends_with_an_over_long_path_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format("x" * 5000))
    assert spec_error(spec) == [f"{spec.as_posix()}:3:10: error: extends '{'x' * 39}…': cannot use this path: File name too long"]


def test_extends_with_a_nul_is_located(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format('"base\\0.yaml"'))
    assert spec_error(spec) == [
        f"{spec.as_posix()}:3:10: error: this value's escape makes U+0000, which is not a printable character;"
        " a spec holds printable text only"
    ]


def test_whole_spec_problems_point_at_the_spec_not_what_it_extends() -> None:
    assert spec_error(FIXTURES / "bad" / "extends_whole.yaml") == [
        "tests/fixtures/bad/extends_whole.yaml:1:1: error: the top level is missing required key 'environments'",
        "tests/fixtures/bad/extends_whole.yaml:1:1: error: the top level is missing required key 'system'",
    ]


def test_environments_share_what_their_overlays_leave_alone(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "ivc: 1\nsystem: shop\nregions: {primary: us-east-1}\nnetwork: {cidr: 10.0.0.0/16}\ntags: {Team: web}\n"
        "environments:\n  dev:\n  qa: {}\n  prod: {network: {zones: 3}}\n"
    )
    dev, qa, prod = load_and_validate(spec)
    assert dev.spec is qa.spec  # no changes: one spec, checked once
    assert prod.spec["tags"] is dev.spec["tags"]
    assert (prod.spec["network"]["zones"], dev.spec["network"]["zones"]) == (3, 2)


def test_whole_spec_problems_of_an_environment_point_at_the_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("# a spec\nivc: 1\nregions: {primary: us-east-1}\nenvironments:\n  dev: {}\n  prod: {tags: {Team: a}}\n")
    assert spec_error(spec) == [f"{spec.as_posix()}:1:1: error: the top level is missing required key 'system'"]
