"""Wiring of every bundled environment, as CloudFormation would deploy it: what moto cannot build is still proven connected.

In the manifest's wave order, every import a stack makes is exported by a stack of an earlier wave in the
same region, every export name is unique, and every template parameter has a default (a release overrides it) or is
supplied by ivc deploy, as a Metadata entry of the resources that use it says.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT, read_json

MANIFESTS = sorted((ROOT / "output").glob("*/*/manifest.json"))


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=lambda p: f"{p.parent.parent.name}/{p.parent.name}")
def test_every_import_is_exported_by_an_earlier_wave_and_every_parameter_has_a_default(manifest_path: Path) -> None:
    manifest = read_json(manifest_path)
    stacks = {f"{s['region']}/{s['name']}": s for s in manifest["stacks"]}
    exported: dict[tuple[str, str], str] = {}  # (region, export name) -> stack that exports it
    for wave in manifest["deploy_order"]:
        for key in wave:
            stack = stacks[key]
            template = read_json(manifest_path.parent / stack["file"])
            for name in stack["imports"]:
                assert (stack["region"], name) in exported, f"{key} imports {name}, which no earlier wave exports"
            supplied = {
                name
                for resource in template["Resources"].values()
                for name in resource.get("Metadata", {}).get("ivc", {}).get("supplied_at_deploy", {})
            }
            for name, parameter in template.get("Parameters", {}).items():
                # Without a default, a resource's Metadata says how ivc deploy looks the value up (compiler/deploy/supplied.py).
                assert "Default" in parameter or name in supplied, f"{key} parameter {name} has no default: a deploy could not supply it"
        for key in wave:  # a wave's exports are there for the next waves, not for its own stacks
            stack = stacks[key]
            for name in stack["exports"]:
                assert (stack["region"], name) not in exported, f"{name} is exported by {exported[(stack['region'], name)]} and {key}"
                exported[(stack["region"], name)] = key


def test_every_bundled_environment_has_a_manifest() -> None:
    environments = {p.parent.parent.name + "/" + p.parent.name for p in MANIFESTS}
    assert {"socialflow/prod", "rayman-portfolio/prod", "indivillage/production", "indii-music/production"} <= environments
