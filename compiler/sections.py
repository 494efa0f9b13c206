"""The spec's sections: each one's cross-field checks, and the layer (stack) its builder feeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import buckets, caches, cdn, databases, monitoring, network, relations, secrets, security, services
from .context import RESERVED_TAGS, Context, Fragment

Problem = tuple[tuple[Any, ...], str]


@dataclass(frozen=True)
class Builder:
    """One builder: the stack it feeds, the section it reads, and where it runs.

    With ``section`` it is called with that section (when present and not empty); without, it derives its
    resources from the whole spec and runs when ``needed`` says so.
    """

    stack: str
    build: Callable[[Any, Context], Fragment]
    section: str | None = None
    needed: Callable[[dict[str, Any]], bool] | None = None
    every_region: bool = False  # the secondary region gets this layer too


def _key(spec: dict[str, Any], ctx: Context) -> Fragment:
    return secrets.build_key(ctx)


# In deploy order within a stack; stacks themselves are ordered by what they import.
BUILDERS: dict[str, Builder] = {
    "network": Builder(network.STACK, network.build, section="network", every_region=True),
    "security": Builder(security.STACK, security.build, needed=security.needed),
    "key": Builder(secrets.STACK, _key, needed=relations.needs_key),
    "secrets": Builder(secrets.STACK, secrets.build, section="secrets"),
    "databases": Builder(databases.STACK, databases.build, section="databases"),
    "caches": Builder(caches.STACK, caches.build, section="caches"),
    "buckets": Builder(buckets.STACK, buckets.build, section="buckets"),
    "services": Builder(services.STACK, services.build, section="services"),
    "cdn": Builder(cdn.STACK, cdn.build, section="cdn"),
    "alarms": Builder(monitoring.STACK, monitoring.build, section="alarms"),
}


def applies(builder: Builder, spec: dict[str, Any], role: str) -> bool:
    if role != "primary" and not builder.every_region:
        return False
    if builder.section is not None:
        return bool(spec.get(builder.section))
    return builder.needed is not None and builder.needed(spec)


def check(spec: dict[str, Any]) -> Iterator[Problem]:
    """Every cross-field problem in one environment's effective spec, as (path, message)."""
    yield from _check_top(spec)
    yield from network.check(spec)
    yield from relations.check(spec)


def _check_top(spec: dict[str, Any]) -> Iterator[Problem]:
    for key in spec.get("tags", {}):
        if key in RESERVED_TAGS or key == "Name":
            yield ("tags", key), f"tag '{key}' is set by ivc on every resource; remove it from tags"
    regions = spec["regions"]
    if regions.get("secondary") == regions["primary"]:
        yield ("regions", "secondary"), f"regions.secondary is the same region as regions.primary ({regions['primary']})"
    deploy = spec.get("deploy", {})
    if deploy.get("permission_model") == "service-managed" and not deploy.get("organizational_units"):
        yield ("deploy", "permission_model"), "service-managed stack sets deploy to organizational_units; list at least one"
    if deploy.get("permission_model", "self-managed") == "self-managed" and deploy.get("organizational_units"):
        yield ("deploy", "organizational_units"), "organizational_units need permission_model: service-managed"
    if (spec.get("databases") or spec.get("caches") or spec.get("services")) and "network" not in spec:
        yield ("network",), "databases, caches and services need a network section to live in"
