"""Validation: every bad fixture gets exactly the errors written at its end, each at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, ROOT, ivc

BAD = sorted((FIXTURES / "bad").glob("*.yaml"))


def expected(path: Path) -> list[str]:
    """The `# expect: LINE:COL: severity: message` lines at the end of a bad fixture."""
    return [line[len("# expect: ") :] for line in path.read_text().splitlines() if line.startswith("# expect: ")]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_fixture_reports_exact_errors(path: Path) -> None:
    display = path.relative_to(ROOT).as_posix()
    with pytest.raises(SpecError) as exc:
        load_and_validate(path)
    got = [d.render().removeprefix(display + ":") for d in exc.value.diagnostics]
    assert got == expected(path)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_cli_exits_1_without_traceback(path: Path) -> None:
    result = ivc("validate", path)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.splitlines()[0].startswith(path.relative_to(ROOT).as_posix() + ":")


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "good").glob("*.yaml")) + sorted(ROOT.glob("specs/*/spec.yaml")), ids=lambda p: p.parent.name + "/" + p.stem
)
def test_good_specs_are_valid(path: Path) -> None:
    result = ivc("validate", path)
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("ivc: 1 spec(s) valid")


def test_all_errors_of_all_specs_in_one_run() -> None:
    result = ivc("validate", FIXTURES / "bad" / "unknown_key.yaml", FIXTURES / "bad" / "wrong_type.yaml")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == len(expected(FIXTURES / "bad" / "unknown_key.yaml")) + len(
        expected(FIXTURES / "bad" / "wrong_type.yaml")
    )


def test_usage_errors_exit_2() -> None:
    assert ivc("validate", "no/such/spec.yaml").exit_code == 2
    assert ivc("validate", "--bogus").exit_code == 2
    result = ivc("validate", "specs/socialflow", "--env", "qa")
    assert result.exit_code == 1
    assert "no environment 'qa' in this spec; it has dev, staging, prod" in result.stderr


def test_json_and_sarif_formats_carry_positions() -> None:
    bad = FIXTURES / "bad" / "zones_region.yaml"
    as_json = ivc("validate", bad, "--format", "json")
    assert as_json.exit_code == 1
    import json

    payload = json.loads(as_json.stdout)
    assert payload["ok"] is False
    first = payload["diagnostics"][0]
    assert {key: first[key] for key in ("file", "line", "col", "severity", "code")} == {
        "file": "tests/fixtures/bad/zones_region.yaml",
        "line": 6,
        "col": 10,
        "severity": "error",
        "code": "semantic",
    }
    sarif = json.loads(ivc("validate", bad, "--format", "sarif").stdout)
    result = sarif["runs"][0]["results"][0]
    assert sarif["version"] == "2.1.0"
    assert result["level"] == "error"
    assert result["locations"][0]["physicalLocation"]["region"] == {"startLine": 6, "startColumn": 10}


def test_debug_shows_traceback_for_internal_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.pipeline

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(compiler.pipeline, "validate", broken)
    quiet = ivc("validate")
    assert quiet.exit_code == 1
    assert quiet.stderr == "ivc: internal error: RuntimeError: boom (run with --debug for the traceback)\n"
    with pytest.raises(RuntimeError):
        ivc("--debug", "validate")


def test_every_schema_pattern_is_said_in_words() -> None:
    from compiler.validate import PATTERN_WORDS, schema

    patterns: set[str] = set()

    def walk(piece: object) -> None:
        if isinstance(piece, dict):
            for key, value in piece.items():
                if key == "pattern" and isinstance(value, str):
                    patterns.add(value)
                elif key not in ("examples", "default", "enum", "const"):
                    walk(value)
        elif isinstance(piece, list):
            for value in piece:
                walk(value)

    walk(schema())
    assert sorted(patterns - set(PATTERN_WORDS)) == []


def test_a_pattern_without_words_is_never_shown_as_a_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    import compiler.validate

    monkeypatch.setattr(compiler.validate, "PATTERN_WORDS", {})
    with pytest.raises(SpecError) as exc:
        load_and_validate(FIXTURES / "bad" / "patterns.yaml")
    first = exc.value.diagnostics[0].message
    assert first == "databases.main.instance is 't4g.micro'; expected a value in the form described for it in `ivc schema`"


@pytest.mark.parametrize(
    ("typo", "meant"), [("netwrk", "network"), ("enviroments", "environments"), ("vpn", None), ("vpc_id", None), ("tgas", "tags")]
)
def test_did_you_mean_only_for_close_matches(typo: str, meant: str | None) -> None:
    from compiler.validate import _suggest, schema

    assert _suggest(typo, list(schema()["properties"]) + ["cidr"]) == meant
