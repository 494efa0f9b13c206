"""Hostile input: no crash, no hang, no lost position, and whatever validates also builds strict JSON.

Two kinds of tests. Large generated inputs, each with a time bound, for the cases that used to take minutes
(they must stay linear in the size of the file). And a property test: hypothesis mutates the bundled specs
and the good fixtures (keys deleted, duplicated, retyped; values swapped for long text, huge numbers, floats,
nan and inf, nulls, unicode, control characters, deep nesting, aliases, tags, bad indentation...) and checks
that ivc either accepts the result and compiles it to strict JSON, or says what is wrong at a position in
the spec or a file it extends, in one line, with exit status 1.

`IVC_HOSTILE_EXAMPLES=2000 pytest tests/test_hostile.py` runs a long search; the default is sized for CI.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.errors import SpecError
from compiler.merge import display_path
from compiler.validate import load_and_validate
from conftest import FIXTURES, ROOT, ivc

EXAMPLES = int(os.environ.get("IVC_HOSTILE_EXAMPLES", "40"))
SEEDS = sorted(ROOT.glob("specs/*/spec.yaml")) + sorted((FIXTURES / "good").glob("*.yaml"))
DEFAULTS = ROOT / "specs" / "_defaults" / "org.yaml"

# Where mutated specs are written: a copy of the layout the seeds expect, so `extends: ../_defaults/org.yaml` works.
WORK = Path(tempfile.mkdtemp(prefix="ivc-hostile-"))
(WORK / "_defaults").mkdir()
shutil.copy(DEFAULTS, WORK / "_defaults" / "org.yaml")


def timed(path: Path, limit: float) -> tuple[float, list[str]]:
    """Seconds to load and validate ``path``, and the problems found (none when it is valid)."""
    started = time.perf_counter()
    try:
        load_and_validate(path)
        problems: list[str] = []
    except SpecError as exc:
        problems = [d.render() for d in exc.diagnostics]
    seconds = time.perf_counter() - started
    assert seconds < limit, f"{path.name} took {seconds:.1f}s"
    return seconds, problems


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


HEAD = "ivc: 1\nsystem: shop\nregions: {primary: us-east-1}\n"


# --- large inputs, each bounded in time ------------------------------------------------------


def test_long_value_where_a_number_belongs(tmp_path: Path) -> None:
    # The YAML 1.1 hint's regex once backtracked quadratically here: 100 KB took 109 s.
    path = write(tmp_path, HEAD + "network:\n  cidr: 10.0.0.0/16\n  zones: 1" + "_" * 100_000 + "x\nenvironments: {dev: {}}\n")
    _, problems = timed(path, 3)
    assert problems == [f"{display_path(path)}:6:10: error: network.zones must be a whole number, not text '1{'_' * 38}…'"]


def test_long_list_of_maps_where_unique_items_belong(tmp_path: Path) -> None:
    # jsonschema compares every pair of unhashable items: 8,000 maps took 173 s.
    items = "".join(f"    - {{a: {i}}}\n" for i in range(8000))
    path = write(tmp_path, HEAD + "network:\n  cidr: 10.0.0.0/16\n  endpoints:\n" + items + "    - {a: 0}\nenvironments: {dev: {}}\n")
    _, problems = timed(path, 5)
    assert len(problems) == 8002
    assert f"{display_path(path)}:8007:7: error: network.endpoints lists (a mapping) twice; each item may appear once" in problems


def test_thousand_environments(tmp_path: Path) -> None:
    # Each environment once validated the whole spec, environments included: 1,000 took 93 s.
    envs = "".join(f"  e{i}: {{network: {{nat: single}}, tags: {{Env: e{i}}}}}\n" for i in range(1000))
    path = write(tmp_path, HEAD + "network: {cidr: 10.0.0.0/16, tiers: [public, private]}\nenvironments:\n" + envs)
    _, problems = timed(path, 5)
    assert problems == []


def test_large_spec_validates_in_seconds(tmp_path: Path) -> None:
    # About 1 MiB in one environment: linear, so seconds (6 s here on 2 cores; the bound leaves room for a slower
    # CI machine and catches what used to take minutes, e.g. each `uses:` scanning every name: quadratic).
    buckets = "".join(f"  b{i}: {{versioning: true, lifecycle: {{expire: 30}}}}\n" for i in range(8500))
    services = "".join(f"  s{i}: {{image: 'web:1', port: 80, uses: [buckets.b{i}:read]}}\n" for i in range(8500))
    text = HEAD + "network: {cidr: 10.0.0.0/16, tiers: [public, app]}\nbuckets:\n" + buckets + "services:\n" + services
    text += "environments: {dev: {}}\n"
    assert 900_000 < len(text) < 1024 * 1024
    _, problems = timed(write(tmp_path, text), 20)
    assert problems == []


def test_environments_times_size_is_bounded(tmp_path: Path) -> None:
    # Every environment is built in full, so many environments of a large spec are refused up front.
    services = "".join(f"  s{i}: {{image: 'web:1', port: 80}}\n" for i in range(2000))
    envs = "".join(f"  e{i}: {{services: {{s{i}: {{port: 81}}}}}}\n" for i in range(2000))
    path = write(tmp_path, HEAD + "network: {cidr: 10.0.0.0/16}\nservices:\n" + services + "environments:\n" + envs)
    _, problems = timed(path, 5)
    assert problems == [
        f"{display_path(path)}:2006:1: error: 2000 environments of 6007 values each is more than ivc checks from one spec"
        " (at most 100000 values over all environments); split the spec"
    ]


def test_aliases_of_a_long_value_cannot_amplify(tmp_path: Path) -> None:
    # 1,000 aliases to one long string once printed 500 MB.
    aliases = "".join(f"  e{i}: *s\n" for i in range(1000))
    path = write(tmp_path, HEAD + "x: &s " + "a" * 500_000 + "\nenvironments:\n" + aliases)
    _, problems = timed(path, 3)
    assert problems == [
        f"{display_path(path)}:4:4: error: aliases expand to more than 2097152 characters of keys and values (an alias bomb?);"
        " alias fewer long values"
    ]


def test_messages_echo_a_short_prefix_of_long_values(tmp_path: Path) -> None:
    aliases = "".join(f"  e{i}: *s\n" for i in range(1000))
    path = write(tmp_path, HEAD + "x: &s " + "a" * 1000 + "\nenvironments:\n" + aliases)
    result = ivc("validate", path)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1001  # the unknown key x, and each environment that is text instead of a mapping
    assert not any("a" * 100 in line for line in lines)  # the long value is echoed as a short prefix
    # Measured after the file's path (a temporary folder of any length); the first line lists the top-level keys (38 with
    # backups), which grow with the language: the bound is on everything else.
    assert max(len(line.removeprefix(display_path(path))) for line in lines[1:]) < 400
    assert len(lines[0].removeprefix(display_path(path))) < 600


# --- generated hostile specs -----------------------------------------------------------------

TOKENS = [
    "\t", "\x07", "\x00", "\x1b", "\ufeff", "\u2028", "\ud7ff", "é", "😀", "&a ", "*a", "*nowhere", "<<: *a", "!!bool yes", "!!int 0755",
    "!Ref Vpc", "!!binary aGk=", "---", "...", "? ", "- ", "  ", "{", "}", "[", "]", '"\\udce9"', '"\\U0011FFFF"', '"\\0"', "'", '"',
    "%YAML 1.1", "#", ": ", "|", ">", "yes", "no", "0755", "12:30", "1_000", ".nan", ".inf", "-.inf", "443.0", "2.0", "1e400",
    "9" * 400, "0x" + "f" * 30, "~", "null",
]  # fmt: skip

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "x" * 5000, "yes", "no", "on", "0755", "12:30", "1_000", "10.0.0.0/8", "us-east-1", "public", "web:1", "a" * 64]),
    st.sampled_from(TOKENS),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in ``data``."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        data = data[step]
    return data


def _similar(value: Any) -> st.SearchStrategy[Any]:
    """Another value of the same kind as ``value``."""
    if isinstance(value, bool):
        return st.just(not value)
    if isinstance(value, int):
        return st.sampled_from([0, 1, -1, value + 1, value * 1000, 2**31, 2**63 - 1, 65535, 65536, 4096, 3, 5])
    if isinstance(value, float):
        return st.sampled_from([0.0, 0.5, value * 10, 1e300, 100.0])
    if isinstance(value, str):
        return st.sampled_from([value + "é", value.upper(), value * 3, "x" * 300, value[:1], value + "-2", "ünïcödé", "a"]) | st.text(
            max_size=10
        )
    if isinstance(value, list):
        return st.sampled_from([[], value * 2, value[::-1], value[:1], value + value[:1]])
    return st.just({}) if isinstance(value, dict) else st.just(value)


@st.composite
def mutated_data(draw: st.DrawFn, seed: Path) -> str:
    """The seed's data, changed a few times where it matters, written back as YAML."""
    data = yaml.safe_load(seed.read_text(encoding="utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, step = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["delete", "replace", "nest", "rename", "copy", "empty", "similar", "similar", "clone", "clone"]))
        if action == "similar":  # a value of the same kind: often still valid, so the builders see it
            parent[step] = draw(_similar(parent[step]))
        elif action == "clone" and isinstance(parent, dict) and isinstance(parent[step], dict):
            name = draw(st.sampled_from(["a", "x-1", "web2", "b" * 30, "z9", f"{step}2"]))
            parent[step][name] = json.loads(json.dumps(next(iter(parent[step].values()), {})))
        elif action == "delete":
            del parent[step]
        elif action == "replace":
            parent[step] = draw(VALUES)
        elif action == "nest":
            for _ in range(draw(st.integers(min_value=1, max_value=40))):
                parent[step] = [parent[step]]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from([f"{step}s", str(step)[:-1], str(step).upper(), f"{step}_id", "dns", "vpc_id"]))] = parent.pop(step)
        elif action == "copy" and isinstance(parent, dict):
            target = draw(st.sampled_from(paths))
            parent[step] = json.loads(json.dumps(_parent(data, target)[target[-1]]))
        elif action == "empty":
            parent[step] = {} if isinstance(parent[step], dict) else [] if isinstance(parent[step], list) else None
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()), width=10_000)


@st.composite
def mutated_text(draw: st.DrawFn, text: str) -> str:
    """The text, with tokens inserted, lines duplicated, dropped or re-indented, and aliases added."""
    lines = text.splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            break
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(st.sampled_from(["insert", "insert", "duplicate", "drop", "indent", "dedent", "alias", "value"]))
        line = lines[index]
        if action == "insert":
            at = draw(st.integers(min_value=0, max_value=len(line)))
            lines[index] = line[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=4)) + line[at:]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "drop":
            del lines[index]
        elif action == "indent":
            lines[index] = " " * draw(st.integers(min_value=1, max_value=3)) + line
        elif action == "dedent":
            lines[index] = line[draw(st.integers(min_value=1, max_value=3)) :]
        elif action == "alias" and ": " in line and not line.rstrip().endswith(":"):
            key, _, value = line.partition(": ")
            lines[index] = f"{key}: &a {value}"
            lines.append(f"copy{index}: [*a, *a, *a]")
        elif action == "value" and ": " in line:
            key, _, _ = line.partition(": ")
            lines[index] = f"{key}: {draw(st.sampled_from(TOKENS))}"
    return "\n".join(lines) + "\n"


@st.composite
def hostile_specs(draw: st.DrawFn) -> tuple[Path, str]:
    seed = draw(st.sampled_from(SEEDS))
    mode = draw(st.sampled_from(["data", "data", "text", "both"]))  # data mutations reach the builders more often
    text = draw(mutated_data(seed)) if mode != "text" else seed.read_text(encoding="utf-8")
    if mode != "data":
        text = draw(mutated_text(text))
    return seed, text


def strict_json(body: str) -> Any:
    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def check_hostile(seed: Path, text: str) -> None:
    """The properties: located one-line errors or strict JSON; exit 0 or 1; never an internal error."""
    from compiler.stacks import assemble

    folder = WORK / seed.parent.name if seed.name == "spec.yaml" else WORK / seed.stem
    folder.mkdir(exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    allowed = {display_path(path), display_path(WORK / "_defaults" / "org.yaml")}

    def located(error: SpecError) -> None:
        assert error.diagnostics
        for diagnostic in error.diagnostics:
            assert diagnostic.mark is not None, diagnostic
            assert diagnostic.mark.file in allowed, diagnostic
            assert diagnostic.mark.line >= 1 and diagnostic.mark.col >= 1, diagnostic
            assert "\n" not in diagnostic.message and len(diagnostic.message) < 1000, diagnostic

    try:
        environments = load_and_validate(path)
    except SpecError as exc:
        located(exc)
        environments = []
    for environment in environments:
        try:
            stacks = assemble(environment)
        except SpecError as exc:
            located(exc)
            continue
        for stack in stacks:
            strict_json(stack.body)
    result = ivc("validate", path)
    assert result.exit_code in (0, 1), result.output
    assert "internal error" not in result.output and "Traceback" not in result.output, result.output


@settings(
    max_examples=EXAMPLES,
    deadline=20_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    derandomize=EXAMPLES <= 40,  # CI runs the same examples every time; a long local run explores
)
@given(hostile_specs())
def test_hostile_specs_fail_cleanly_or_build_strict_json(case: tuple[Path, str]) -> None:
    check_hostile(*case)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.parent.name + "/" + p.stem)
def test_seeds_themselves_hold(seed: Path) -> None:
    check_hostile(seed, seed.read_text(encoding="utf-8"))
