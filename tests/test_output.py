"""The committed output/ is current and complete; the lint gate CI runs beside the tests catches what cfn-lint finds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, ivc

pytestmark = pytest.mark.slow


def test_committed_output_is_current() -> None:
    result = ivc("compile", "--check")
    assert result.exit_code == 0, result.stdout + result.stderr


def test_the_lint_gate_fails_on_a_template_cfn_lint_finds_a_problem_in(tmp_path: Path) -> None:
    # CI runs ci/cfn_lint_gate.py over output/ and the goldens beside the tests (README, "Lint gate")
    environment = tmp_path / "shop" / "dev"
    (environment / "us-east-1").mkdir(parents=True)
    (environment / "manifest.json").write_text(json.dumps({"stacks": [{"region": "us-east-1", "file": "us-east-1/data.json"}]}))
    topic = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts", "Colour": "blue"}}
    (environment / "us-east-1" / "data.json").write_text(json.dumps({"Resources": {"Topic": topic}}))
    gate = [sys.executable, str(ROOT / "ci" / "cfn_lint_gate.py"), str(tmp_path)]
    broken = subprocess.run(gate, capture_output=True, text=True, check=False)
    assert broken.returncode == 1 and "E3002" in broken.stdout and "FAILED" in broken.stdout
    del topic["Properties"]["Colour"]
    (environment / "us-east-1" / "data.json").write_text(json.dumps({"Resources": {"Topic": topic}}))
    clean = subprocess.run(gate, capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "over 1 templates in 1 regions: clean" in clean.stdout


def test_every_seed_system_has_a_spec_and_outputs() -> None:
    for system, envs in {
        "socialflow": ["dev", "staging", "prod"],
        "indivillage": ["development", "staging", "production"],
        "indii-music": ["staging", "production"],
        "rayman-portfolio": ["dev", "staging", "prod"],
    }.items():
        assert sorted(p.name for p in (ROOT / "output" / system).iterdir()) == sorted(envs)
