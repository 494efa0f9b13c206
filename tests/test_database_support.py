"""A PostgreSQL major version past RDS standard support runs only on paid Extended Support: the spec must accept it."""

from __future__ import annotations

from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate

HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
databases:
"""


def _validate(tmp_path: Path, database: str) -> list[str]:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + f"  main: {database}\nenvironments: {{dev: {{}}}}\n")
    try:
        load_and_validate(spec_file)
    except SpecError as error:
        return [d.render().split(":", 1)[1] for d in error.diagnostics]
    return []


MESSAGE = (
    "error: postgres 13 left RDS standard support on 2026-02-28: RDS runs it only on paid Extended Support, charged per "
    "vCPU-hour; set databases.main.extended_support: true to accept that (and plan the upgrade), or use a newer major version"
)


def test_an_old_major_is_refused_at_its_version_unless_extended_support_is_accepted(tmp_path: Path) -> None:
    assert _validate(tmp_path, '{version: "13.23", instance: db.t3.medium}') == [f"6:19: {MESSAGE}"]
    assert _validate(tmp_path, '{version: "13.23", instance: db.t3.medium, extended_support: false}') == [f"6:70: {MESSAGE}"]
    assert _validate(tmp_path, '{version: "13.23", instance: db.t3.medium, extended_support: true}') == []


@pytest.mark.parametrize("written", ["", ", extended_support: false"])
def test_a_supported_major_needs_nothing(tmp_path: Path, written: str) -> None:
    assert _validate(tmp_path, f'{{version: "16.10", instance: db.t3.medium{written}}}') == []
