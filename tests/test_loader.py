"""Loading YAML: positions, strictness, and the limits that keep hostile input cheap."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.loader import MAX_FILE_BYTES, load_file, load_text, to_plain


def messages(exc: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [d.render() for d in exc.value.diagnostics]


def test_yaml11_lookalikes_stay_text() -> None:
    data = to_plain(load_text("a: no\nb: on\nc: 0755\nd: 12:30\ne: 012345678901\nf: 1_000\n", "s.yaml"))
    assert data == {"a": "no", "b": "on", "c": "0755", "d": "12:30", "e": "012345678901", "f": "1_000"}


def test_core_schema_values() -> None:
    data = to_plain(load_text("a: true\nb: 42\nc: 0x1F\nd: 0o17\ne: 1.5\nf: ~\ng: -3\nh: 'true'\n", "s.yaml"))
    assert data == {"a": True, "b": 42, "c": 31, "d": 15, "e": 1.5, "f": None, "g": -3, "h": "true"}


def test_positions_are_one_based_line_and_column() -> None:
    tree = load_text("ivc: 1\nnetwork:\n  cidr: 10.0.0.0/16\n", "s.yaml")
    cidr = tree.value["network"].value["cidr"]
    assert (cidr.mark.line, cidr.mark.col) == (3, 9)
    assert (cidr.key_mark.line, cidr.key_mark.col) == (3, 3)


def test_anchors_aliases_and_merge_keys_work() -> None:
    text = "base: &base {zones: 2, nat: single}\nprod:\n  <<: *base\n  nat: per-zone\nlist: &l [1, 2]\ncopy: *l\n"
    data = to_plain(load_text(text, "s.yaml"))
    assert data["prod"] == {"zones": 2, "nat": "per-zone"}
    assert data["copy"] == [1, 2]


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(SpecError) as exc:
        load_text("a: &a [1, *a]\n", "s.yaml")
    assert messages(exc) == ["s.yaml:1:4: error: an alias refers to the mapping or list that contains it"]


def test_unknown_tags_are_refused() -> None:
    with pytest.raises(SpecError) as exc:
        load_text("vpc: !Ref Vpc\n", "s.yaml")
    assert messages(exc) == ["s.yaml:1:6: error: unsupported YAML tag !Ref; specs use plain maps, lists and values"]


def test_non_utf8_bytes_are_located(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_bytes(b"ivc: 1\nsystem: caf\xe9\n")
    with pytest.raises(SpecError) as exc:
        load_file(spec, "s.yaml")
    assert messages(exc) == ["s.yaml:2:12: error: byte 0xe9 is not valid UTF-8; save the file as UTF-8"]


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    with pytest.raises(SpecError) as exc:
        load_file(spec, "s.yaml")
    assert "over the 1048576-byte limit" in messages(exc)[0]


def test_unreadable_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as exc:
        load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert messages(exc) == ["missing.yaml:1:1: error: cannot read file: No such file or directory"]
