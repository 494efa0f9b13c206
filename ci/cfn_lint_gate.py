"""Lint gate: cfn-lint's own command line, unchanged, over every template that a manifest lists.

ivc lints in-process with cfn-lint's rules and without its bookkeeping waste (compiler/lint_speedups.py). This
gate is the independent check beside it: the `cfn-lint` command a reviewer would run, for each template's own
region, over output/ and tests/golden/. It fails (exit 1) on any finding. CI runs it beside the tests, so the
test run itself lints no template twice.

    .venv/bin/python ci/cfn_lint_gate.py [FOLDER ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "output", ROOT / "tests" / "golden"]


def templates(folders: list[Path]) -> dict[str, list[str]]:
    """Every template a manifest under ``folders`` lists, by region."""
    by_region: dict[str, list[str]] = {}
    for folder in folders:
        for manifest in sorted(folder.rglob("manifest.json")):
            for stack in json.loads(manifest.read_text(encoding="utf-8"))["stacks"]:
                by_region.setdefault(stack["region"], []).append(str(manifest.parent / stack["file"]))
    return by_region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path, default=FOLDERS)
    args = parser.parse_args()
    by_region = templates(args.folders)
    if not by_region:
        sys.exit(f"lint gate: no manifest under {', '.join(map(str, args.folders))}")
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    # each region's files in halves, as many command lines at once as there are cores (each uses one)
    jobs = [(region, files[half::2]) for region, files in sorted(by_region.items()) for half in range(2) if files[half::2]]

    def run(job: tuple[str, list[str]]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(cfn_lint), "--regions", job[0], "--", *job[1]], capture_output=True, text=True, check=False)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        done = list(pool.map(run, jobs))
    failed = [(region, result) for (region, _), result in zip(jobs, done, strict=True) if (result.returncode, result.stdout) != (0, "")]
    for region, result in failed:
        print(f"{region}:\n{result.stdout}{result.stderr}", end="")
    count = sum(len(files) for files in by_region.values())
    print(f"lint gate: cfn-lint's command line over {count} templates in {len(by_region)} regions: {'FAILED' if failed else 'clean'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
