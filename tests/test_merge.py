"""Environments and extends: maps merge, lists replace, null removes; positions follow the override."""

from __future__ import annotations

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
