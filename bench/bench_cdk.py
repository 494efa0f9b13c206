"""Social Flow prod, cold, side by side: `ivc compile` against `cdk synth` of the equivalent CDK app.

    python bench/bench_cdk.py [--repeat N] [--app ../shared/bench/cdk-socialflow]

The CDK app is copied to a temporary folder and its packages installed there from the npm registry (the shared copy
is never written). Then the two commands run alternately, N times each, so that a busy moment of the machine falls
on both: `ivc compile specs/socialflow --env prod` with no lint cache (cfn-lint included) into a temporary folder,
and `cdk synth --quiet` (CDK's own validation on) with a fresh `cdk.out`. It prints each one's median wall time and
the ratio, which issue 12 wants at 0.35 or below.
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
APP = ROOT.parent / "shared" / "bench" / "cdk-socialflow"


def wall(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--app", type=Path, default=APP, help="the CDK app (default: %(default)s)")
    args = parser.parse_args()
    ivc = str(Path(sys.executable).parent / "ivc")
    with tempfile.TemporaryDirectory() as scratch:
        app = Path(scratch) / "app"
        shutil.copytree(args.app, app, ignore=shutil.ignore_patterns("node_modules", "cdk.out"))
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=app, check=True, capture_output=True)
        cdk = [str(app / "node_modules" / ".bin" / "cdk"), "synth", "--quiet"]
        cold = {**os.environ, "IVC_CACHE_DIR": "off"}
        out = Path(scratch) / "out"
        times: dict[str, list[float]] = {"ivc": [], "cdk": []}
        import conditions  # beside this script

        before = conditions.line()  # before the timed runs, after the install
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
        for _ in range(args.repeat):
            shutil.rmtree(out, ignore_errors=True)
            times["ivc"].append(wall([ivc, "compile", "specs/socialflow", "--env", "prod", "--out", str(out)], ROOT, cold))
            shutil.rmtree(app / "cdk.out", ignore_errors=True)
            times["cdk"].append(wall(cdk, app, dict(os.environ)))
    ivc_median, cdk_median = statistics.median(times["ivc"]), statistics.median(times["cdk"])
    print(before)
    print(f"Social Flow prod, cold; {args.repeat} alternating runs each, medians; Node {node}.\n")
    print("| command | median | runs |\n| --- | --- | --- |")
    print(f"| `ivc compile specs/socialflow --env prod` (no lint cache, cfn-lint included) | {ivc_median:.2f} s | {_runs(times['ivc'])} |")
    print(f"| `cdk synth` (CDK's validation on) | {cdk_median:.2f} s | {_runs(times['cdk'])} |")
    print(f"| ratio ivc / cdk | {ivc_median / cdk_median:.2f} | |")


def _runs(samples: list[float]) -> str:
    return ", ".join(f"{s:.2f}" for s in samples)


if __name__ == "__main__":
    main()
