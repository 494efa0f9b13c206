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


def error_of(text: str) -> str:
    with pytest.raises(SpecError) as exc:
        load_text(text, "s.yaml")
    assert len(exc.value.diagnostics) == 1
    return exc.value.diagnostics[0].render()


def test_control_characters_are_located() -> None:
    assert (
        error_of("ivc: 1\nsystem: a\x1bb\n")
        == "s.yaml:2:10: error: U+001B is a control character; a spec holds printable text only: remove it"
    )
    assert error_of('a: "\\0"\n') == (
        "s.yaml:1:4: error: this value's escape makes U+0000, which is not a printable character; a spec holds printable text only"
    )


@pytest.mark.parametrize("escape", ["\\udce9", "\\U0011FFFF", "\\ud800\\udc00"])
def test_escapes_naming_no_character_are_located(escape: str) -> None:
    assert error_of(f'ivc: 1\nname: "x{escape}"\n').startswith("s.yaml:2:7: error: a quoted value holds an escape that names no character")


def test_explicit_tags_must_agree_with_yaml_1_2() -> None:
    assert error_of("a: !!bool yes\n") == "s.yaml:1:4: error: !!bool 'yes' is not a boolean; write true or false (ivc reads YAML 1.2)"
    assert error_of("a: !!int 0755\n").startswith("s.yaml:1:4: error: !!int '0755' is not a whole number")
    assert error_of("a: !!null nothing\n").startswith("s.yaml:1:4: error: !!null 'nothing' is not null")
    assert error_of("!!binary aGk=: 1\n").startswith("s.yaml:1:1: error: unsupported YAML tag !!binary")
    data = to_plain(load_text("a: !!bool true\nb: !!int '12'\nc: !!float 2\nd: !!str 0755\n", "s.yaml"))
    assert data == {"a": True, "b": 12, "c": 2.0, "d": "0755"}


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.Inf", "1e400", "-1e999"])
def test_numbers_json_cannot_hold_are_refused(text: str) -> None:
    assert error_of(f"zones: {text}\n") == (
        f"s.yaml:1:8: error: '{text}' is not a finite number, which a CloudFormation template (strict JSON) cannot hold;"
        " write a number, or quote it to keep it as text"
    )


def test_huge_integers_are_refused_with_a_short_echo() -> None:
    message = error_of("zones: " + "9" * 5000 + "\n")
    assert message == f"s.yaml:1:8: error: '{'9' * 39}…' is too large a number (at most 9223372036854775807); quote it to keep it as text"
    assert error_of("zones: 0x" + "f" * 20 + "\n").startswith("s.yaml:1:8: error: '0xffff")
    assert to_plain(load_text("a: 9223372036854775807\n", "s.yaml")) == {"a": 2**63 - 1}


def test_alias_expansion_is_bounded_in_characters() -> None:
    text = "a: &s " + "x" * 100_000 + "\nb: [" + ", ".join(["*s"] * 30) + "]\n"
    assert error_of(text) == (
        "s.yaml:1:4: error: aliases expand to more than 2097152 characters of keys and values (an alias bomb?); alias fewer long values"
    )


def test_nesting_is_bounded_in_text_and_through_aliases() -> None:
    assert error_of("a: " + "[" * 40 + "]" * 40 + "\n") == (
        "s.yaml:1:35: error: values nest more than 32 levels deep; no spec needs that many (check the indentation)"
    )
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 40))
    assert "values nest more than 32 levels deep" in error_of(chain)
    assert "values nest more than 32 levels deep" in error_of("a: " + "[" * 300_000 + "]" * 300_000 + "\n")  # libyaml would crash


def test_yaml11_number_hint_is_linear() -> None:
    import time

    from compiler.loader import YAML11_NUMBER

    started = time.perf_counter()
    assert not YAML11_NUMBER.match("1" + "_" * 100_000 + "x")
    assert YAML11_NUMBER.match("1_000") and YAML11_NUMBER.match("0755") and YAML11_NUMBER.match("12:30") and YAML11_NUMBER.match("1_0:30")
    assert not YAML11_NUMBER.match("10") and not YAML11_NUMBER.match("1.5")
    assert time.perf_counter() - started < 0.5


def test_without_libyaml_the_same_tree_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.loader

    text = "ivc: 1\nnetwork: {cidr: 10.0.0.0/16, zones: 2}\nlist: [a, 'b', \"c\\t\"]\n"
    fast = load_text(text, "s.yaml")
    fast_errors = [error_of(bad) for bad in ("a: [1\n", 'a: "\\U0011FFFF"\n', "a: " + "[" * 40 + "]" * 40)]
    monkeypatch.setattr(compiler.loader, "CParser", None)
    assert load_text(text, "s.yaml") == fast
    assert [error_of(bad) for bad in ("a: [1\n", 'a: "\\U0011FFFF"\n', "a: " + "[" * 40 + "]" * 40)] == fast_errors
