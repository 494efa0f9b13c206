"""What an environment wants deployed, and what deploying it would change.

Settings come from the spec's deploy section; targets (one per stack and region) from the compiled
output, refused when it is not what the spec compiles to now; steps say what a deploy does to each
target, and risks which of those changes would replace or delete a stateful resource.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..stacks import Stack, minified
from ..validate import Environment
from .aws import DeployError

STATEFUL_TYPES = {
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
}
# Properties whose change makes CloudFormation replace (delete and recreate) a stateful resource.
REPLACING = {
    "AWS::RDS::DBInstance": {
        "DBInstanceIdentifier",
        "DBName",
        "KmsKeyId",
        "StorageEncrypted",
        "MasterUsername",
        "DBSubnetGroupName",
        "AvailabilityZone",
        "CharacterSetName",
        "Timezone",
        "DBClusterIdentifier",
    },
    "AWS::RDS::DBCluster": {"DBClusterIdentifier", "DatabaseName", "KmsKeyId", "StorageEncrypted", "MasterUsername", "Engine"},
    "AWS::ElastiCache::ReplicationGroup": {
        "ReplicationGroupId",
        "AtRestEncryptionEnabled",
        "KmsKeyId",
        "CacheSubnetGroupName",
        "Port",
        "SnapshotArns",
        "SnapshotName",
        "NumNodeGroups",
        "PreferredCacheClusterAZs",
    },
    "AWS::S3::Bucket": {"BucketName", "ObjectLockEnabled"},
    "AWS::EFS::FileSystem": {"Encrypted", "KmsKeyId", "PerformanceMode", "AvailabilityZoneName"},
    "AWS::KMS::Key": {"KeySpec", "KeyUsage"},
    "AWS::DynamoDB::Table": {"TableName", "KeySchema"},
    "AWS::SecretsManager::Secret": {"Name"},
}


@dataclass
class Target:
    """One stack of the environment in one region: one StackSet."""

    stackset: str
    stack: str
    region: str
    wave: int
    template: dict[str, Any]
    accounts: list[str]
    preferences: dict[str, Any]

    @property
    def body(self) -> str:
        return minified(self.template)

    @property
    def stateful(self) -> bool:
        return any(r.get("Type") in STATEFUL_TYPES for r in self.template.get("Resources", {}).values())


@dataclass
class Step:
    """What deploying one target changes."""

    target: Target
    exists: bool = False
    template_changed: bool = False
    add: list[str] = field(default_factory=list)  # accounts (or OUs) to create instances for
    remove: list[str] = field(default_factory=list)
    deployed: dict[str, Any] | None = None
    risks: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        if not self.exists:
            return "create"
        return "update" if self.template_changed or self.add or self.remove else "unchanged"


@dataclass
class Settings:
    """The spec's deploy section, resolved for one environment."""

    system: str
    environment: str
    admin_region: str
    permission_model: str
    accounts: list[str]
    organizational_units: list[str]
    administration_role_arn: str | None
    execution_role_name: str
    auto_deployment: dict[str, Any]
    bucket: str | None
    protected: bool
    tags: dict[str, str]

    @property
    def service_managed(self) -> bool:
        return self.permission_model == "service-managed"


def settings(environment: Environment, caller_account: Callable[[], str]) -> Settings:
    deploy = environment.spec.get("deploy", {})
    spec = environment.spec
    accounts = list(deploy.get("accounts", []))
    model = deploy.get("permission_model", "self-managed")
    if not accounts and model == "self-managed":
        accounts = [caller_account()]
    tags = {**spec["tags"], "System": environment.system, "Environment": environment.name, "ManagedBy": "ivc"}
    return Settings(
        system=environment.system,
        environment=environment.name,
        admin_region=spec["regions"]["primary"],
        permission_model=model,
        accounts=accounts,
        organizational_units=list(deploy.get("organizational_units", [])),
        administration_role_arn=deploy.get("administration_role_arn"),
        execution_role_name=deploy.get("execution_role_name", "AWSCloudFormationStackSetExecutionRole"),
        auto_deployment=deploy.get("auto_deployment", {"enabled": True, "retain_stacks": True}),
        bucket=deploy.get("bucket"),
        protected=bool(deploy.get("protected")) or environment.name in ("prod", "production"),
        tags=dict(sorted(tags.items())),
    )


def preferences(spec: dict[str, Any], stack: str) -> dict[str, Any]:
    deploy = spec.get("deploy", {})
    chosen = {
        "max_concurrent": 1,
        "failure_tolerance": 0,
        **deploy.get("preferences", {}),
        **deploy.get("stacks", {}).get(stack, {}).get("preferences", {}),
    }
    result: dict[str, Any] = {"RegionConcurrencyType": "SEQUENTIAL"}
    for key, count, percent in (
        ("max_concurrent", "MaxConcurrentCount", "MaxConcurrentPercentage"),
        ("failure_tolerance", "FailureToleranceCount", "FailureTolerancePercentage"),
    ):
        value = chosen[key]
        if isinstance(value, str):
            result[percent] = int(value.rstrip("%"))
        else:
            result[count] = value
    return result


def targets(
    environment: Environment, stacks: list[Stack], accounts: list[str], stack: str | None = None, region: str | None = None
) -> list[Target]:
    """The StackSets for the environment's compiled ``stacks`` (see output.compiled), narrowed to ``stack`` and ``region``."""
    result = []
    for compiled in stacks:
        if (stack and compiled.name != stack) or (region and compiled.region != region):
            continue
        result.append(_target(environment, compiled, accounts))
    if not result:
        raise DeployError(f"no stack matches --stack {stack or '*'} --region {region or '*'} in {environment.name}")
    return result


def _target(environment: Environment, stack: Stack, accounts: list[str]) -> Target:
    return Target(
        stackset=f"{environment.system}-{environment.name}-{stack.name}-{stack.region}",
        stack=stack.name,
        region=stack.region,
        wave=stack.wave,
        template=stack.template,
        accounts=accounts,
        preferences=preferences(environment.spec, stack.name),
    )


def risks(deployed: dict[str, Any], local: dict[str, Any]) -> list[str]:
    """Changes that would replace or delete a stateful resource (database, cache, bucket, file system, key, secret)."""
    found = []
    before, after = deployed.get("Resources", {}), local.get("Resources", {})
    for logical_id, resource in sorted(before.items()):
        kind = resource.get("Type")
        if kind not in STATEFUL_TYPES:
            continue
        if logical_id not in after:
            found.append(f"DELETE {kind} {logical_id}: it is no longer in the template")
            continue
        if after[logical_id].get("Type") != kind:
            found.append(f"REPLACE {kind} {logical_id}: its type changes to {after[logical_id].get('Type')}")
            continue
        old, new = resource.get("Properties", {}), after[logical_id].get("Properties", {})
        changed = sorted(p for p in REPLACING.get(kind, set()) if old.get(p) != new.get(p))
        if changed:
            found.append(f"REPLACE {kind} {logical_id}: {', '.join(changed)} change{'s' if len(changed) == 1 else ''}")
    return found


def template_diff(deployed: dict[str, Any] | None, local: dict[str, Any], name: str) -> str:
    before = json.dumps(deployed, indent=2, sort_keys=True).splitlines() if deployed is not None else []
    after = json.dumps(local, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(before, after, f"deployed/{name}", f"output/{name}", lineterm=""))
