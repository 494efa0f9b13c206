"""Golden templates: the compiled good fixtures, byte for byte. Regenerate with `pytest --update-golden`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, GOLDEN, tree

# fixture stem -> its system
SYSTEMS = {
    "minimal": "minimal",
    "full": "full",
    "app": "app",
    "apis": "apis",
    "functions": "functions",
    "filesystems": "filesystems",
    "fleets": "estate",
    "rest_apis": "restapis",
    "ecs_on_ec2": "ships",
}


@pytest.mark.parametrize("system", sorted(SYSTEMS.values()))
def test_compiled_fixture_matches_golden(compiled: Path, update_golden: bool, system: str) -> None:
    produced = compiled / system
    golden = GOLDEN / system
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(produced, golden)
    assert tree(produced) == tree(golden), f"{system}: output differs from tests/golden; review, then run pytest --update-golden"


def test_every_good_fixture_has_a_golden() -> None:
    assert sorted(p.stem for p in (FIXTURES / "good").glob("*.yaml")) == sorted(SYSTEMS)
