"""A compile that would change nothing is answered from the last clean compile's stamp, and anything that could
change the output is a miss: the spec or a file it extends, an output file, ivc's code, a library's version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler import freshness
from conftest import FIXTURES, ivc, tree

UP_TO_DATE = "up to date: nothing changed since the last clean compile"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A spec that extends a defaults file, copied where the test may change both."""
    folder = tmp_path / "specs" / "tiny"
    folder.mkdir(parents=True)
    (tmp_path / "specs" / "defaults.yaml").write_text("ivc: 1\ntags: {Team: platform}\n")
    text = (FIXTURES / "good" / "minimal.yaml").read_text()
    (folder / "spec.yaml").write_text(text.replace("ivc: 1\n", "ivc: 1\nextends: ../defaults.yaml\n", 1))
    return folder / "spec.yaml"


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVC_CACHE_DIR", str(tmp_path / "cache"))


def compile_(spec: Path, out: Path, *options: str) -> tuple[int, str]:
    result = ivc("compile", spec, "--out", out, *options)
    return result.exit_code, result.stderr


def test_a_second_compile_with_nothing_changed_is_answered_from_the_stamp(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, said = compile_(spec, out)
    assert code == 0 and UP_TO_DATE not in said
    written = tree(out)
    code, said = compile_(spec, out)
    assert code == 0 and UP_TO_DATE in said
    assert tree(out) == written
    # The same stamp answers --check and --strict: it is kept only for a compile with no finding at all.
    for options in (["--check"], ["--strict"]):
        code, said = compile_(spec, out, *options)
        assert code == 0 and UP_TO_DATE in said, options


@pytest.mark.parametrize("changed", ["spec", "extended"])
def test_a_changed_source_is_a_miss(spec: Path, tmp_path: Path, changed: str) -> None:
    out = tmp_path / "out"
    compile_(spec, out)
    source = spec if changed == "spec" else tmp_path / "specs" / "defaults.yaml"
    source.write_text(source.read_text().replace("ivc: 1\n", "ivc: 1\n# a comment changes the bytes\n", 1))
    code, said = compile_(spec, out)
    assert code == 0 and UP_TO_DATE not in said
    assert UP_TO_DATE in compile_(spec, out)[1]  # and the new state is stamped


def test_a_hand_edited_or_deleted_output_is_a_miss_and_compile_restores_it(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    compile_(spec, out)
    written = tree(out)
    template = next(p for p in out.rglob("*.json") if p.name != "manifest.json")
    template.write_text(template.read_text().replace('"Resources"', '"Resources" ', 1))
    result = ivc("compile", spec, "--out", out, "--check")
    assert result.exit_code == 1 and UP_TO_DATE not in result.stderr  # --check reports the drift
    assert ivc("compile", spec, "--out", out, "--check").exit_code == 1  # and is never stamped while it lasts
    assert UP_TO_DATE not in compile_(spec, out)[1]
    assert tree(out) == written
    template.unlink()
    assert UP_TO_DATE not in compile_(spec, out)[1]
    assert tree(out) == written


def test_another_file_in_the_output_folder_is_a_miss(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    compile_(spec, out)
    system = next(out.iterdir())
    (system / "notes.txt").write_text("someone's file\n")
    assert UP_TO_DATE not in compile_(spec, out)[1]
    assert (system / "notes.txt").exists()  # only files ivc wrote are ever removed


def test_other_options_and_a_cache_turned_off_never_hit(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    compile_(spec, out)
    assert UP_TO_DATE not in compile_(spec, tmp_path / "elsewhere")[1]
    assert UP_TO_DATE not in compile_(spec, out, "--env", "dev")[1]
    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    assert UP_TO_DATE not in compile_(spec, out)[1]


def test_ivcs_code_and_the_libraries_versions_are_in_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "compiler"
    shutil.copytree(freshness.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(freshness.PACKAGE.parent / "schemas", tmp_path / "schemas")
    digests = [freshness.code_digest.__wrapped__(package)]
    for edited in (package / "stacks.py", tmp_path / "schemas" / "ivc.schema.json"):  # the code, the schema validate reads
        edited.write_text(edited.read_text() + "\n")
        digests.append(freshness.code_digest.__wrapped__(package))
    assert len(set(digests)) == 3
    specs, out = [FIXTURES / "good" / "minimal.yaml"], tmp_path / "out"
    key = freshness.key(specs, out, None, None)
    monkeypatch.setattr(freshness, "version", lambda library: "0.0.0")
    assert freshness.key(specs, out, None, None) != key


def test_another_working_folder_is_a_miss(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Manifests name the spec relative to the working folder: compiled from elsewhere, they differ.
    out = tmp_path / "out"
    compile_(spec, out)
    monkeypatch.chdir(tmp_path)
    assert UP_TO_DATE not in compile_(spec, out)[1]
    assert UP_TO_DATE in compile_(spec, out)[1]


def test_a_stamp_answers_for_its_day_only(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Validation refuses runtimes and engine versions past a date: tomorrow's compile must validate again.
    import datetime

    out = tmp_path / "out"
    compile_(spec, out)
    assert freshness.lookup([spec], out, None, None) is not None

    class Later(datetime.date):
        @classmethod
        def today(cls) -> datetime.date:
            return datetime.date.fromordinal(datetime.date.today().toordinal() + 1)

    monkeypatch.setattr(freshness, "date", Later)
    assert freshness.lookup([spec], out, None, None) is None
