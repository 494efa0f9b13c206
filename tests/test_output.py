"""The committed output/ is current, and every template anywhere passes cfn-lint's own command line."""

from __future__ import annotations

import subprocess
import sys
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
    for region, files in sorted(by_region.items()):
        result = subprocess.run([str(cfn_lint), "--regions", region, "--", *files], capture_output=True, text=True, check=False)
        assert (result.returncode, result.stdout) == (0, ""), f"{region}: {result.stdout}{result.stderr}"


def test_every_seed_system_has_a_spec_and_outputs() -> None:
    for system, envs in {
        "socialflow": ["dev", "staging", "prod"],
        "indivillage": ["development", "staging", "production"],
        "indii-music": ["staging", "production"],
        "rayman-portfolio": ["dev", "staging", "prod"],
    }.items():
        assert sorted(p.name for p in (ROOT / "output" / system).iterdir()) == sorted(envs)
