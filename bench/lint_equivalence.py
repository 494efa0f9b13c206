"""ivc's lint against unchanged cfn-lint, on every template in output/ (or the folders given): the same findings?

    python bench/lint_equivalence.py [FOLDER ...]

The reference is `cfnlint.api.lint` per template (a new Runner each time, as ivc called it before it shared
rules and removed cfn-lint's waste), in separate Python processes that never import ivc. ivc's side is
`compiler.lint.cfn_lint_matches` with the speedups of compiler/lint_speedups.py. It prints each template whose
findings differ, then the totals and both times; it exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEMPLATE = re.compile(r"/[a-z]{2}(-[a-z]+)+-[0-9]/[^/]+\.json$")
REFERENCE = """
import json, sys
from cfnlint.api import ManualArgs, lint
found = {}
for path, region in json.load(sys.stdin):
    body = open(path, encoding="utf-8").read()
    found[path] = [
        [m.rule.id, "/".join(str(s) for s in (getattr(m, "path", None) or [])), str(m.message), m.linenumber, m.columnnumber]
        for m in lint(body, config=ManualArgs(regions=[region]))
    ]
assert "compiler" not in sys.modules
json.dump(found, sys.stdout)
"""


def reference(jobs: list[tuple[str, str]], processes: int) -> dict[str, list[list[object]]]:
    chunks = [jobs[index::processes] for index in range(processes)]

    def run(chunk: list[tuple[str, str]]) -> dict[str, list[list[object]]]:
        done = subprocess.run(
            [sys.executable, "-c", REFERENCE], input=json.dumps(chunk), capture_output=True, text=True, check=True, cwd="/"
        )
        found: dict[str, list[list[object]]] = json.loads(done.stdout)
        return found

    merged: dict[str, list[list[object]]] = {}
    with ThreadPoolExecutor(processes) as pool:
        for part in pool.map(run, chunks):
            merged.update(part)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=[ROOT / "output"])
    args = parser.parse_args()
    paths = sorted(str(p.resolve()) for folder in args.folders for p in folder.rglob("*.json") if TEMPLATE.search(p.as_posix()))
    jobs = [(path, Path(path).parent.name) for path in paths]
    started = time.perf_counter()
    expected = reference(jobs, os.cpu_count() or 1)
    reference_seconds = time.perf_counter() - started

    from compiler import lint

    started = time.perf_counter()
    differing = 0
    findings = 0
    for path, region in jobs:
        body = Path(path).read_text(encoding="utf-8")
        got = [
            [m.rule.id, "/".join(str(s) for s in (getattr(m, "path", None) or [])), str(m.message), m.linenumber, m.columnnumber]
            for m in lint.cfn_lint_matches(body, region)
        ]
        findings += len(got)
        if got != expected[path]:
            differing += 1
            print(f"differs: {path}\n  ivc:       {got}\n  cfn-lint:  {expected[path]}")
    ivc_seconds = time.perf_counter() - started
    print(f"{len(jobs)} templates, {findings} findings, {differing} differing")
    print(f"cfn-lint as is, {os.cpu_count()} processes: {reference_seconds:.1f} s; ivc, 1 process: {ivc_seconds:.1f} s")
    sys.exit(1 if differing else 0)


if __name__ == "__main__":
    main()
