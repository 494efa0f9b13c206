"""The DR site: what runs in `regions.secondary` while the primary serves, at its standby sizes.

`recovery.standby` names the fleets that stand by in the DR region and their sizes there (a warm standby: small,
scaled up on failover). From it ivc derives the *site spec*: the environment's spec cut down to those fleets and to
what they use, which the same builders as the primary's compile in the DR region (the sections marked `site=True`:
security groups, fleets, load balancers, caches, file systems, buckets, parameters, patching, alarms). Nothing is
written twice, and the DR site is what the primary is, smaller.

What a standby uses there:
- a database: its DR replica (`databases.<n>.dr_replica`), read-only until promoted; the credentials secret is
  replicated to the DR region under the same name;
- a bucket: its replica when it is replicated, else a bucket of its own in the DR region, empty: allowed only for a
  bucket the recovery promise lists as expendable;
- a file system: one of its own there, empty: expendable ones only, like buckets;
- a cache or a parameter group: built there too; a cache holds nothing of record (it warms up again).
Anything else (queues, topics, functions, services...) is not in the DR site yet and is refused at validate time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import relations
from .base import Problem, Spec

# What a standby may use, and how the DR region has it.
AVAILABLE = ("databases", "buckets", "filesystems", "caches", "parameters")

_SITES: dict[int, tuple[Spec, Spec | None]] = {}


def standby(spec: Spec) -> dict[str, dict[str, Any]]:
    """The standby fleets and their DR sizes, when the environment has a DR region."""
    if not spec["regions"].get("secondary"):
        return {}
    return dict(((spec.get("recovery") or {}).get("standby") or {}).get("fleets", {}))


def runs(spec: Spec) -> bool:
    """Whether anything computes in the DR region (so it needs NAT, a load balancer, certificates...)."""
    return bool(standby(spec))


def site_spec(spec: Spec) -> Spec | None:
    """The spec the DR site is built from, or None without one. Computed once per spec (identity-cached)."""
    known = _SITES.get(id(spec))
    if known is not None and known[0] is spec:
        return known[1]
    site = _derive(spec) if runs(spec) else None
    _SITES[id(spec)] = (spec, site)
    return site


def _derive(spec: Spec) -> Spec:
    fleets = {}
    for name, sizes in sorted(standby(spec).items()):
        fleet = {**spec["fleets"][name], "schedules": [], **sizes}  # no scheduled scale-up of the standby
        if "desired" not in sizes:
            fleet.pop("desired", None)
        fleets[name] = fleet
    used: dict[str, set[str]] = {}
    for fleet in fleets.values():
        for use in relations.uses(fleet):
            used.setdefault(use.kind, set()).add(use.name)
    site = {key: value for key, value in spec.items() if key not in _DROPPED}
    site["fleets"] = fleets
    for kind in AVAILABLE:
        site[kind] = {name: item for name, item in spec.get(kind, {}).items() if name in used.get(kind, ())}
    if "parameters" in spec:
        values = {group: entries for group, entries in spec["parameters"]["values"].items() if group in used.get("parameters", ())}
        site["parameters"] = {**spec["parameters"], "values": values}
    if spec.get("alarms"):
        site["alarms"] = _site_alarms(spec["alarms"], site)
    return site


def _site_alarms(alarms: dict[str, Any], site: Spec) -> dict[str, Any]:
    """The primary's alarms on what the DR site runs: its fleets, caches and load balancers' targets, to topics of its
    own (the spec's `topics.` are not in the DR site), and the composites all of whose members are there."""
    from . import alarms as alarms_section  # alarms reaches balancers, which reach this module

    trimmed: dict[str, Any] = {**alarms, **{kind: {} for kind in alarms_section.ITEM_KINDS}}
    for kind in ("fleets", "caches"):
        trimmed[kind] = {name: metrics for name, metrics in alarms[kind].items() if name in site[kind]}
    trimmed["notify"] = {
        severity: [endpoint for endpoint in endpoints if not str(endpoint).startswith("topics.")]
        for severity, endpoints in alarms["notify"].items()
    }
    trimmed["cost_dashboard"] = False  # the account's costs: the primary's dashboard shows them
    plan = alarms_section.planned(trimmed, site)
    trimmed["composite"] = {
        name: composite
        for name, composite in alarms["composite"].items()
        if all(isinstance(alarms_section.resolve(reference, plan), alarms_section.Planned) for reference in composite["of"])
    }
    return trimmed


# Sections of the primary that the DR site does not have: what is global (the cdn's distribution and its firewall,
# the zone and its records are in the primary's and CloudFront's regions) or not in the DR site yet.
_DROPPED = (
    "services",
    "functions",
    "queues",
    "topics",
    "buses",
    "schedules",
    "rest_apis",
    "apis",
    "access",
    "backups",
    "registries",
    "secrets",
    "firewall",
)


def unserved(spec: Spec) -> list[str]:
    """The ways in (what a public load balancer, the cdn or a dns record reaches, and APIs) that would not serve from
    the DR region."""
    from . import balancers  # balancers reaches cdn_origin, which imports this module

    standing = {f"fleets.{name}" for name in standby(spec)}
    public = {f"{kind}.{name}" for b in balancers.balancers(spec) if not b.internal for kind, name, _ in b.targets}
    apis = {f"{kind}.{name}" for kind in ("apis", "rest_apis") for name in spec.get(kind, {})}
    entries = balancers.reached_from_outside(spec) | public | apis
    return sorted(entry for entry in entries if entry not in standing)


def unreachable(spec: Spec) -> str | None:
    """Why the DR site's load balancer would not be reached after a failover, or None: traffic reaches it only by a
    name Route 53 fails over (failover.py), and the cdn only when it names its load-balancer origin that way."""
    from ..regions import cdn_apart
    from . import balancers, cdn_origin, dns, failover

    standing = {f"fleets.{name}" for name in standby(spec)}
    public = {f"{kind}.{name}" for b in balancers.balancers(spec) if not b.internal for kind, name, _ in b.targets}
    if not (standing & (balancers.reached_from_outside(spec) | public)):
        return None
    pairs = {dns.fqdn(spec, relative) for relative in failover.failing_over(spec)}
    if not pairs:
        return "no dns record points at a standing-by fleet, so no name fails over to it"
    if cdn_origin.origins(spec):
        https = "certificate" in (spec.get("load_balancer") or {})
        named = dns.balancer_name(spec) if https or cdn_apart(spec) else None
        if named not in pairs:
            return f"the cdn reaches the load balancer by {named or 'its own DNS name (HTTP)'}, which does not fail over"
    return None


def replicated(spec: Spec, kind: str, name: str) -> bool:
    """Whether the DR region holds a copy of ``kind.name`` the site uses in its place."""
    item = spec.get(kind, {}).get(name, {})
    return (kind == "buckets" and "replicate" in item) or (kind == "databases" and "dr_replica" in item)


def check(spec: Spec) -> Iterator[Problem]:
    """What a standby needs that the DR region would not have, at the standby's line."""
    recovery = spec.get("recovery") or {}
    fleets = (recovery.get("standby") or {}).get("fleets", {})
    if not fleets:
        return
    if not spec["regions"].get("secondary"):
        yield ("recovery", "standby"), "a standby runs in regions.secondary, which this environment does not have; add it"
        return
    from . import balancers  # balancers reaches cdn_origin, which imports this module

    expendable = set(recovery.get("expendable", []))
    for name, sizes in sorted(fleets.items()):
        at = ("recovery", "standby", "fleets", name)
        fleet = spec.get("fleets", {}).get(name)
        if fleet is None:
            known = ", ".join(sorted(spec.get("fleets", {}))) or "none are declared"
            yield at, f"fleets.{name} does not exist (fleets: {known})"
            continue
        if fleet.get("ecs"):
            yield at, f"fleets.{name} is ECS capacity; its services do not stand by in the DR region yet"
            continue
        low, high = sizes.get("min", fleet["min"]), sizes.get("max", fleet["max"])
        if low > high:
            yield at, f"the standby of fleets.{name} has min {low} over max {high}"
        elif "desired" in sizes and not low <= sizes["desired"] <= high:
            yield (*at, "desired"), f"desired {sizes['desired']} is outside the standby's min {low} and max {high}"
        balancer = balancers.balancer_of(spec, "fleets", name) if "route" in fleet else None
        if balancer is not None and str(balancer.certificate).startswith("arn:"):
            yield (
                at,
                f"fleets.{name} stands by behind a load balancer whose certificate is an ARN of {spec['regions']['primary']}; "
                f"use certificates.<n>, which ivc requests in {spec['regions']['secondary']} too",
            )
        for index, use in enumerate(relations.uses(fleet)):
            yield from _use_problems(spec, name, index, use, expendable)


def _use_problems(spec: Spec, fleet: str, index: int, use: Any, expendable: set[str]) -> Iterator[Problem]:
    at = ("fleets", fleet, "uses", index)
    reference = f"{use.kind}.{use.name}"
    secondary = spec["regions"]["secondary"]
    if use.kind not in AVAILABLE:
        yield (
            at,
            f"fleets.{fleet} stands by in {secondary}, where {reference} is not: the DR site has databases, buckets, file "
            "systems, caches and parameters only",
        )
    elif use.kind == "databases":
        database = spec["databases"][use.name]
        if "dr_replica" not in database:
            yield (
                at,
                f"fleets.{fleet} stands by in {secondary} and uses {reference}, which has no copy there: "
                f"add databases.{use.name}.dr_replica",
            )
        elif "secret" not in database:
            yield (
                at,
                f"fleets.{fleet} stands by in {secondary} and reads {reference}'s credentials, which RDS manages in "
                f"{spec['regions']['primary']} only: name the secret (databases.{use.name}.secret) so ivc replicates it",
            )
    elif use.kind in ("buckets", "filesystems") and not replicated(spec, use.kind, use.name) and reference not in expendable:
        better = f"replicate it (buckets.{use.name}.replicate)" if use.kind == "buckets" else "or restore it from a backup"
        yield (
            at,
            f"fleets.{fleet} stands by in {secondary} and uses {reference}, which would be empty there: {better}, or list it "
            "in recovery.expendable",
        )


PROPERTY: dict[str, Any] = {
    "description": "The warm standby in regions.secondary: the fleets that run there before any failover, at these "
    "sizes (scaled up on failover), with what they use (database replicas, replica buckets; see docs/recovery.md).",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "fleets": {
            "description": "Fleets standing by in the DR region, by name, with their sizes there; what is not given is the fleet's own.",
            "type": "object",
            "additionalProperties": {
                "description": "A standby fleet's sizes in the DR region.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "min": {"description": "Fewest instances standing by.", "type": "integer", "minimum": 0, "maximum": 1000},
                    "max": {"description": "Most instances after scaling up.", "type": "integer", "minimum": 1, "maximum": 1000},
                    "desired": {"description": "Instances at first.", "type": "integer", "minimum": 0, "maximum": 1000},
                },
            },
            "default": {},
            "examples": [{"web": {"min": 1, "desired": 1}}],
        }
    },
}
