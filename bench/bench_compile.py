"""Time ivc's stages on the bundled specs: `python bench/bench_compile.py [--repeat N]`.

Prints the conditions, then a Markdown table of each stage's median wall time over N runs: the README's
Performance section quotes both as printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import conditions

    from compiler.lint import lint_all
    from compiler.pipeline import discover
    from compiler.stacks import assemble
    from compiler.validate import load_and_validate

    before = conditions.line()
    specs = discover([ROOT / "specs"])
    environments = [e for spec in specs for e in load_and_validate(spec)]
    stacks = [s for e in environments for s in assemble(e)]
    jobs = [(s.body, s.region, s.key) for s in stacks]
    ivc = str(Path(sys.executable).parent / "ivc")
    cold = {**os.environ, "IVC_CACHE_DIR": "off"}
    with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as cache:
        warm = {**os.environ, "IVC_CACHE_DIR": cache}
        subprocess.run([ivc, "compile", "--out", out], cwd=ROOT, capture_output=True, check=True, env=warm)
        os.environ["IVC_CACHE_DIR"] = "off"
        rows = [
            (
                "ivc --help (process start to exit)",
                timed(lambda: subprocess.run([ivc, "--help"], capture_output=True, check=True), args.repeat),
            ),
            (
                "ivc validate specs (whole process)",
                timed(lambda: subprocess.run([ivc, "validate"], cwd=ROOT, capture_output=True, check=True), args.repeat),
            ),
            ("load + validate, in process", timed(lambda: [load_and_validate(spec) for spec in specs], args.repeat)),
            ("build + assemble, in process", timed(lambda: [assemble(e) for e in environments], args.repeat)),
            (f"cfn-lint {len(jobs)} templates, in process, no cache", timed(lambda: lint_all(jobs), args.repeat)),
            (
                "ivc compile specs (whole process, no lint cache)",
                timed(
                    lambda: subprocess.run([ivc, "compile", "--out", out], cwd=ROOT, capture_output=True, check=True, env=cold),
                    args.repeat,
                ),
            ),
            (
                "ivc compile, no stamp (whole process, warm lint cache)",
                timed(lambda: unstamped([ivc, "compile", "--out", out, "--check"], Path(cache), warm), args.repeat),
            ),
            (
                "ivc compile, nothing changed (whole process, stamp)",
                timed(
                    lambda: subprocess.run([ivc, "compile", "--out", out], cwd=ROOT, capture_output=True, check=True, env=warm), args.repeat
                ),
            ),
        ]
    print(before)
    print(
        f"{len(specs)} specs, {len(environments)} environments, {len(stacks)} templates, "
        f"{sum(s.resource_count for s in stacks)} resources; median of {args.repeat} runs.\n"
    )
    print("| stage | time |\n| --- | --- |")
    timings = dict(rows)
    cold_compile = timings["ivc compile specs (whole process, no lint cache)"]
    for name, seconds in rows:
        shown = f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"
        share = f" ({seconds / cold_compile:.1%} of a cold compile)" if name.startswith("ivc compile, ") else ""
        print(f"| {name} | {shown}{share} |")


def unstamped(command: list[str], cache: Path, env: dict[str, str]) -> None:
    """A compile whose templates are all in the lint cache but which has no stamp: it loads, validates and builds."""
    shutil.rmtree(cache / "fresh", ignore_errors=True)
    subprocess.run(command, cwd=ROOT, capture_output=True, check=True, env=env)


if __name__ == "__main__":
    main()
