"""What a deploy changes per resource, and which changes make CloudFormation replace a resource.

A resource is replaced (deleted and created again, with a new physical ID) when its type changes or
when any of its type's ``createOnlyProperties`` changes. Those come from the CloudFormation resource
schemas cfn-lint ships, for the stack's region, so every resource type is covered, not a list kept
by hand. Replacing or removing a stateful resource (one that holds data) is a risk: ``ivc deploy``
refuses it without ``--allow-replace``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

# Resource types that hold data: replacing or removing one loses it (or leaves it behind, retained).
STATEFUL_TYPES = frozenset(
    {
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::S3::Bucket",
        "AWS::EFS::FileSystem",
        "AWS::KMS::Key",
        "AWS::DynamoDB::Table",
        "AWS::SecretsManager::Secret",
        "AWS::ECR::Repository",  # images that may exist nowhere else
        "AWS::Route53::HostedZone",  # a new zone gets new name servers: every delegation breaks
        "AWS::Backup::BackupVault",  # recovery points: a vault is replaced only empty, and its points are the backups
    }
)
KINDS = ("added", "modified", "replaced", "removed")
SCHEMA_FALLBACK_REGION = "us-east-1"  # for a region cfn-lint has no schemas for


@dataclass(frozen=True)
class Change:
    """One resource's change: ``kind`` is added, modified, replaced or removed; ``type`` the deployed type if any."""

    kind: str
    logical_id: str
    type: str
    detail: str = ""

    @property
    def risky(self) -> bool:
        return self.kind in ("replaced", "removed") and self.type in STATEFUL_TYPES

    def line(self) -> str:
        return f"{self.kind:<9} {self.type} {self.logical_id}" + (f": {self.detail}" if self.detail else "")

    def risk(self) -> str:
        """The warning ``ivc diff`` and ``ivc deploy`` give for a risky change."""
        verb = "DELETE" if self.kind == "removed" else "REPLACE"
        return f"{verb} {self.type} {self.logical_id}: {self.detail}"


@cache
def create_only(region: str, kind: str) -> tuple[tuple[str, ...], ...]:
    """The createOnlyProperties of resource type ``kind`` in ``region``, each as a path below Properties ("*": every item)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        try:
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema
        except KeyError:  # a region cfn-lint does not know
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(SCHEMA_FALLBACK_REGION, kind).schema
    except ResourceNotFoundError:
        return ()
    paths = []
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")
        if len(parts) > 2 and parts[:2] == ["", "properties"]:
            paths.append(tuple(p.replace("~1", "/").replace("~0", "~") for p in parts[2:]))
    return tuple(paths)


def _values(node: Any, path: tuple[str, ...]) -> Any:
    """What ``path`` selects in ``node``, comparable between two templates (None where it is absent)."""
    if not path:
        return json.dumps(node, sort_keys=True)
    head, rest = path[0], path[1:]
    if head == "*":
        return [_values(item, rest) for item in node] if isinstance(node, list) else None
    return _values(node[head], rest) if isinstance(node, dict) and head in node else None


def changes(deployed: dict[str, Any] | None, local: dict[str, Any], region: str) -> list[Change]:
    """Every resource that differs between the ``deployed`` template (None: nothing deployed) and ``local``, by logical ID."""
    before = (deployed or {}).get("Resources", {})
    after = local.get("Resources", {})
    found = []
    for logical_id in sorted(set(before) | set(after)):
        old, new = before.get(logical_id), after.get(logical_id)
        if old is None:
            found.append(Change("added", logical_id, str(new.get("Type"))))
        elif new is None:
            found.append(Change("removed", logical_id, str(old.get("Type")), "it is no longer in the template"))
        elif old != new:
            found.append(_changed(logical_id, old, new, region))
    return found


def _changed(logical_id: str, old: dict[str, Any], new: dict[str, Any], region: str) -> Change:
    kind = str(old.get("Type"))
    if new.get("Type") != kind:
        return Change("replaced", logical_id, kind, f"its type changes to {new.get('Type')}")
    before, after = old.get("Properties", {}), new.get("Properties", {})
    replacing = [".".join(path) for path in create_only(region, kind) if _values(before, path) != _values(after, path)]
    if replacing:
        return Change("replaced", logical_id, kind, f"{', '.join(replacing)} change{'s' if len(replacing) == 1 else ''}")
    properties = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    attributes = sorted(a for a in set(old) | set(new) if a not in ("Type", "Properties") and old.get(a) != new.get(a))
    return Change("modified", logical_id, kind, ", ".join(properties + attributes))


def risks(deployed: dict[str, Any] | None, local: dict[str, Any], region: str) -> list[str]:
    """Changes that would replace or delete a stateful resource (database, cache, bucket, file system, key, secret)."""
    return [change.risk() for change in changes(deployed, local, region) if change.risky]
