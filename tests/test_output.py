"""The committed output/ is current, and every template anywhere passes cfn-lint's own command line."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import GOLDEN, ROOT, ivc, read_json

pytestmark = pytest.mark.slow


def test_committed_output_is_current() -> None:
    result = ivc("compile", "--check")
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("root", [ROOT / "output", GOLDEN], ids=["output", "golden"])
def test_cfn_lint_command_line_is_clean_for_each_templates_region(root: Path) -> None:
    by_region: dict[str, list[str]] = {}
    for manifest in sorted(root.rglob("manifest.json")):
        for stack in read_json(manifest)["stacks"]:
            by_region.setdefault(stack["region"], []).append(str(manifest.parent / stack["file"]))
    assert by_region
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    # command lines for each region's files in halves, as many at once as there are cores (each uses one)
    jobs = [(region, files[half::2]) for region, files in sorted(by_region.items()) for half in range(2) if files[half::2]]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        results = pool.map(
            lambda job: subprocess.run([str(cfn_lint), "--regions", job[0], "--", *job[1]], capture_output=True, text=True, check=False),
            jobs,
        )
        for (region, _), result in zip(jobs, results, strict=True):
            assert (result.returncode, result.stdout) == (0, ""), f"{region}: {result.stdout}{result.stderr}"


def test_every_seed_system_has_a_spec_and_outputs() -> None:
    for system, envs in {
        "socialflow": ["dev", "staging", "prod"],
        "indivillage": ["development", "staging", "production"],
        "indii-music": ["staging", "production"],
        "rayman-portfolio": ["dev", "staging", "prod"],
    }.items():
        assert sorted(p.name for p in (ROOT / "output" / system).iterdir()) == sorted(envs)
