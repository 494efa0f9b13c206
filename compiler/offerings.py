"""What AWS offers in each region, read from the data cfn-lint ships (no hand-kept tables).

Used by the sections' checks, so `ivc validate` refuses an instance class, node type or engine version
that the region does not offer, or that AWS has deprecated, at the spec line, before cfn-lint would.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any


@cache
def _extensions_folder() -> Path:
    # Found, not imported: importing cfnlint costs most of a second that validate does not need.
    from importlib.util import find_spec

    spec = find_spec("cfnlint")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas" / "extensions"


@cache
def _extension(name: str) -> Any:
    return json.loads((_extensions_folder() / name).read_text(encoding="utf-8"))


def _first_error(schema: Any, instance: dict[str, Any]) -> Any:
    from jsonschema import Draft7Validator

    return next(iter(Draft7Validator(schema).iter_errors(instance)), None)


def _offered(error: Any) -> list[str]:
    """The values an enum error allows, when it says."""
    return [str(v) for v in error.validator_value] if error is not None and error.validator == "enum" else []


def _hint(value: str, offered: list[str]) -> str:
    close = difflib.get_close_matches(value, offered, n=1, cutoff=0.75)
    return f"; did you mean {close[0]}?" if close else ""


def database_problems(region: str, engine: str, version: str, instance_class: str) -> list[tuple[str, str]]:
    """(field, message) for an RDS engine version or instance class that ``region`` does not offer."""
    found: list[tuple[str, str]] = []
    instance = {"Engine": engine, "EngineVersion": version, "DBInstanceClass": instance_class}
    error = _first_error(_extension("aws_rds_dbinstance/engine_version.json"), instance)
    if error is not None:
        offered = [v for v in _offered(error) if v.split(".")[0] == version.split(".")[0]] or _offered(error)
        found.append(("version", f"RDS does not offer {engine} {version}{_hint(version, offered)}"))
    elif _first_error(_extension("aws_rds_dbinstance/engine_version_deprecated.json"), instance) is not None:
        found.append(("version", f"{engine} {version} is deprecated by RDS and cannot be created; use a current minor version"))
    classes = _extension("aws_rds_dbinstance/dbinstanceclass_enum.json").get(region)
    error = _first_error(classes, instance) if classes is not None else None
    if error is not None:
        found.append(
            ("instance", f"{instance_class} is not an RDS instance class for {engine} in {region}{_hint(instance_class, _offered(error))}")
        )
    return found


def cache_problems(region: str, engine: str, version: str, node_type: str) -> list[tuple[str, str]]:
    """(field, message) for an ElastiCache engine version or node type that ``region`` does not offer."""
    found: list[tuple[str, str]] = []
    error = _first_error(_extension("aws_elasticache_cachecluster/engine_version.json"), {"Engine": engine, "EngineVersion": version})
    if error is not None:
        found.append(("version", f"ElastiCache does not offer {engine} {version}{_hint(version, _offered(error))}"))
    nodes = _extension("aws_elasticache_cachecluster/cachenodetype_enum.json").get(region, {}).get("enum")
    if nodes and node_type not in nodes:
        found.append(("node", f"{node_type} is not an ElastiCache node type in {region}{_hint(node_type, nodes)}"))
    return found


def instance_problems(region: str, instance_types: list[str]) -> list[tuple[tuple[object, ...], str]]:
    """(path under the fleet, message) for each EC2 instance type ``region`` does not offer: the first is the
    fleet's `instance`, the others its `spot.types`."""
    offered = _extension("aws_ec2_instance/instancetype_enum.json").get(region, {}).get("enum")
    if not offered:
        return []
    found: list[tuple[tuple[object, ...], str]] = []
    for index, instance_type in enumerate(instance_types):
        if instance_type not in offered:
            where: tuple[object, ...] = ("instance",) if index == 0 else ("spot", "types", index - 1)
            found.append((where, f"{instance_type} is not an EC2 instance type in {region}{_hint(instance_type, offered)}"))
    return found
