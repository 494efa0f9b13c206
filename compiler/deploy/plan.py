"""What an environment wants deployed, and what deploying it would change.

Settings come from the spec's deploy section; targets (one per stack and region) from the compiled
output (checked by ``output``); steps say what a deploy does to each target, resource by resource
(``changes``), and which of those changes would replace or delete a stateful resource.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..context import is_protected
from ..errors import DeployError
from .changes import STATEFUL_TYPES, Change
from .releases import Release
from .supplied import Supplied

if TYPE_CHECKING:  # the compiler proper loads when a command needs it, not when the deploy package is imported
    from ..stacks import Stack
    from ..validate import Environment


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
    origins: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # logical ID -> spec path it came from

    @property
    def body(self) -> str:
        from ..stacks import minified

        return minified(self.template)

    @property
    def deletion_protected(self) -> bool:
        """Whether a load balancer of the template refuses to be deleted (load_balancer.deletion_protection)."""
        return any(
            {"Key": "deletion_protection.enabled", "Value": "true"} in r.get("Properties", {}).get("LoadBalancerAttributes", [])
            for r in self.template.get("Resources", {}).values()
            if r.get("Type") == "AWS::ElasticLoadBalancingV2::LoadBalancer"
        )

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
    deployed: dict[str, Any] | None = None  # the stack set's template, when it exists
    instances: list[str] = field(default_factory=list)  # accounts with an instance in the target's region
    changes: list[Change] = field(default_factory=list)  # per resource, against what the instances run
    releases: list[Release] = field(default_factory=list)  # each release parameter's value (see releases)
    supplied: list[Supplied] = field(default_factory=list)  # parameters looked up in the region (see supplied)

    @property
    def releases_changed(self) -> bool:
        """An existing stack set whose release values change (a new one takes them as it is created)."""
        return self.exists and any(release.changed for release in self.releases)

    @property
    def supplied_changed(self) -> bool:
        """An existing stack set whose looked-up parameters differ from what it has (a new one takes them as it is created)."""
        return self.exists and any(value.changed for value in self.supplied)

    @property
    def deployed_anywhere(self) -> bool:
        return bool(self.exists and self.instances)

    @property
    def risks(self) -> list[str]:
        """Changes that would replace or delete a stateful resource (database, cache, bucket, file system, key, secret)."""
        return [change.risk() for change in self.changes if change.risky]

    @property
    def action(self) -> str:
        if not self.exists:
            return "create"
        changed = self.template_changed or self.releases_changed or self.supplied_changed
        return "update" if changed or self.add or self.remove else "unchanged"


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
        protected=is_protected(environment.name, environment.spec),
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
    """The StackSets for the environment's compiled ``stacks`` (see output.compiled), narrowed to ``stack`` and ``region``.

    ``stack`` names one stack (``data-2``) or a layer, which takes all its parts (``data``: data, data-2, ...).
    """
    result = []
    for compiled in stacks:
        if (stack and stack not in (compiled.name, compiled.layer)) or (region and compiled.region != region):
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
        preferences=preferences(environment.spec, stack.layer),  # a layer's parts share its preferences
        origins=stack.origins,
    )


def template_diff(deployed: dict[str, Any] | None, local: dict[str, Any], name: str) -> str:
    before = json.dumps(deployed, indent=2, sort_keys=True).splitlines() if deployed is not None else []
    after = json.dumps(local, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(before, after, f"deployed/{name}", f"output/{name}", lineterm=""))


def located_failures(environment: Environment, all_targets: list[Target], rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    """Failed instances whose reason names a resource, told at the spec line that made the resource.

    StackSets report a failed resource as ``ResourceLogicalId:<id>, ResourceType:<type>, ResourceStatusReason:<why>``.
    """
    import re

    from ..loader import find

    by_name = {target.stackset: target for target in all_targets}
    lines = []
    for stackset, account, region, status, reason in rows:
        match = re.search(r"ResourceLogicalId:\s*([A-Za-z0-9]+)", reason or "")
        target = by_name.get(stackset)
        if status == "CURRENT" or match is None or target is None or match.group(1) not in target.origins:
            continue
        node = find(environment.tree, target.origins[match.group(1)])
        why = re.search(r"ResourceStatusReason:\s*(.*)", reason)
        text = " ".join((why.group(1) if why else reason).split())[:200]
        lines.append(f"{node.key_mark or node.mark}: error: {text} (stack set {stackset}, account {account}, {region}, {match.group(1)})")
    return lines
