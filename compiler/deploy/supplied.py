"""Parameters ivc deploy supplies: values that depend on the region and that CloudFormation cannot look up itself.

A template parameter without a default is supplied at deploy. The resources that use it say how to find its
value in their Metadata, ``{"ivc": {"supplied_at_deploy": {<parameter>: <lookup>}}}``; today the only lookup is
``{"managed_prefix_list": <name>}``, the ID of an AWS-managed prefix list, which differs per region but is the
same for every account of a region (so one StackSet per region, as ivc makes them, takes it as the StackSet's
own parameter and carries it to every instance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import DeployError

KEY = "supplied_at_deploy"


@dataclass(frozen=True)
class Supplied:
    """One parameter of one stack set, and the value this deploy gives it."""

    parameter: str
    lookup: str  # what was looked up, for the plan: the prefix list's name
    value: str
    current: str | None  # the stack set's value now (None: no stack set, or no value yet)

    @property
    def changed(self) -> bool:
        return self.current != self.value

    def entry(self) -> dict[str, Any]:
        return {"ParameterKey": self.parameter, "ParameterValue": self.value}

    def line(self, stackset: str, region: str) -> str | None:
        if not self.changed:
            return None
        before = f"{self.current} -> " if self.current is not None else ""
        return f"parameter {self.parameter}: {before}{self.value} in {stackset} (the prefix list {self.lookup} in {region})"


def wanted(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Parameter -> lookup, from the Metadata of the template's resources."""
    found: dict[str, dict[str, Any]] = {}
    for resource in template.get("Resources", {}).values():
        found.update(((resource.get("Metadata") or {}).get("ivc") or {}).get(KEY) or {})
    return {name: lookup for name, lookup in sorted(found.items()) if name in template.get("Parameters", {})}


def resolve(
    template: dict[str, Any], region: str, prefix_list: Callable[[str, str], str], current: dict[str, str] | None
) -> list[Supplied]:
    """The value of each supplied parameter of ``template`` in ``region``; ``prefix_list(region, name)`` finds an ID."""
    values = []
    for parameter, lookup in wanted(template).items():
        name = lookup.get("managed_prefix_list")
        if not isinstance(name, str):
            raise DeployError(f"parameter {parameter}: ivc does not know how to supply {lookup}; recompile with this ivc")
        values.append(Supplied(parameter, name, prefix_list(region, name), (current or {}).get(parameter)))
    return values


def managed_prefix_list(ec2: Any, name: str, region: str) -> str:
    """The ID of the AWS-managed prefix list ``name`` as ``ec2`` (a client in ``region``) sees it."""
    from .aws import call

    answer = call(ec2.describe_managed_prefix_lists, Filters=[{"Name": "prefix-list-name", "Values": [name]}])
    ids = sorted({str(p["PrefixListId"]) for p in answer.get("PrefixLists", []) if p.get("PrefixListName") == name})
    if len(ids) != 1:
        raise DeployError(
            f"the managed prefix list {name} is not in {region}"
            if not ids
            else f"{region} has {len(ids)} prefix lists named {name} ({', '.join(ids)}); expected AWS's one"
        )
    return ids[0]
