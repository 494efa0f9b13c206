"""Recovery objectives, checked: `recovery: {rpo, rto, from}` is a promise `ivc validate` holds the spec to.

The promise is about one disaster, `from`: the loss of the primary region (which needs `regions.secondary`), or of
a zone or an instance. For each item that holds data (databases, buckets, file systems; caches are rebuilt and never
count) ivc works out how much could be lost and how long getting it back takes, from what the spec configures, and
refuses a promise the spec cannot keep, at the promise's line, naming the item and what would keep it. Data the
promise knowingly leaves out is listed in `expendable`.

The figures are ivc's, from AWS's documented behaviour (docs/recovery.md): a cross-region read replica is seconds
behind and promoted in minutes; S3 Replication Time Control replicates within 15 minutes and plain replication
promises nothing; a copy made by a backup plan is as old as the plan's period; replicated RDS automated backups and
point-in-time restore lose minutes (ivc counts 5 in the region, 60 across regions, where AWS publishes no bound);
a restore takes hours (ivc counts 2); Multi-AZ fails over in minutes and loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from . import site
from .base import Problem, Section, Spec

DURATION = "^[1-9][0-9]*(m|h|d)$"
UNITS = {"m": 1, "h": 60, "d": 1440}
PERIODS = {"hourly": 60, "daily": 1440, "weekly": 10080, "monthly": 44640}
RESTORE_MINUTES = 120  # a restore from a snapshot or a point in time, for a database of some size
PROMOTE_MINUTES = 15  # promoting a cross-region read replica
FAILOVER_MINUTES = 5  # a Multi-AZ failover
NEVER = None  # not recoverable from this disaster


def minutes(duration: str) -> int:
    return int(duration[:-1]) * UNITS[duration[-1]]


def _words(value: int | None) -> str:
    if value is None:
        return "all"
    if value < 1:
        return "nothing"
    if value % 1440 == 0:
        return f"up to {value // 1440} day{'s' if value > 1440 else ''}"
    if value % 60 == 0:
        return f"up to {value // 60} hour{'s' if value > 60 else ''}"
    return f"up to {value} minutes"


def _plan_period(plan: dict[str, Any]) -> int:
    schedule = str(plan["schedule"])
    if schedule in PERIODS:
        return PERIODS[schedule]
    fields = schedule.removeprefix("cron(").removesuffix(")").split()
    return 60 if len(fields) > 1 and fields[1] in ("*", "0/1") else 1440  # an hourly cron, else at least daily


def _copied(spec: Spec, reference: str) -> int | None:
    """The shortest period of a backup plan that selects ``reference`` and copies it to the DR region."""
    periods = [
        _plan_period(plan)
        for plan in (spec.get("backups") or {}).get("plans", {}).values()
        if reference in plan["select"] and plan.get("copy_to") == "secondary"
    ]
    return min(periods, default=None)


def _region_loss(spec: Spec, kind: str, name: str, item: dict[str, Any]) -> tuple[int | None, int | None, str]:
    """(data lost, minutes to recover, what would do better) when the primary region is lost."""
    copied = _copied(spec, f"{kind}.{name}")
    if kind == "databases":
        if "dr_replica" in item:
            return 1, PROMOTE_MINUTES, ""
        if item["backups"].get("replicate_to") == "secondary":
            return 60, RESTORE_MINUTES, f"add databases.{name}.dr_replica"
        if copied is not None:
            return copied, RESTORE_MINUTES, f"add databases.{name}.dr_replica"
        return NEVER, NEVER, f"add databases.{name}.dr_replica (or backups.replicate_to: secondary)"
    if kind == "buckets":
        if "replicate" in item:
            if item["replicate"]["time_control"]:
                return 15, 0, ""
            return NEVER, 0, f"set buckets.{name}.replicate.time_control: plain replication promises no time"
        return NEVER, NEVER, f"add buckets.{name}.replicate"
    if copied is not None:  # file systems
        return copied, RESTORE_MINUTES, f"back filesystems.{name} up more often"
    return NEVER, NEVER, f"select filesystems.{name} in a backup plan with copy_to: secondary"


def _zone_loss(spec: Spec, kind: str, name: str, item: dict[str, Any]) -> tuple[int | None, int | None, str]:
    """(data lost, minutes to recover, what would do better) when a zone or an instance is lost."""
    if kind == "databases":
        if item["multi_az"]:
            return 0, FAILOVER_MINUTES, ""
        return 5, RESTORE_MINUTES, f"set databases.{name}.multi_az: true"
    return 0, 0, ""  # S3 and EFS keep every object and file in several zones


def check(spec: Spec) -> Iterator[Problem]:
    recovery = spec.get("recovery")
    if not recovery:
        return
    yield from site.check(spec)
    expendable = set(recovery["expendable"])
    for index, reference in enumerate(recovery["expendable"]):
        kind, _, name = reference.partition(".")
        if name not in spec.get(kind, {}):
            yield ("recovery", "expendable", index), f"{reference} does not exist"
    secondary = spec["regions"].get("secondary")
    disaster = recovery.get("from", "region" if secondary else "zone")
    if disaster == "region" and not secondary:
        yield (
            ("recovery", "from"),
            "a single-region environment cannot promise recovery from the loss of its region: add regions.secondary, or "
            "promise recovery from the loss of a zone (from: zone)",
        )
        return
    assess = _region_loss if disaster == "region" else _zone_loss
    lost_what = f"the loss of {spec['regions']['primary']}" if disaster == "region" else "the loss of a zone"
    for key in ("rpo", "rto"):
        if key not in recovery:
            continue
        limit = minutes(recovery[key])
        for kind in ("databases", "buckets", "filesystems"):
            for name, item in sorted(spec.get(kind, {}).items()):
                if f"{kind}.{name}" in expendable:
                    continue
                lost, back, better = assess(spec, kind, name, item)
                value = lost if key == "rpo" else back
                if value is not None and value <= limit:
                    continue
                if key == "rpo":
                    said = f"{kind}.{name} could lose {_words(value)} of its data"
                else:
                    said = f"{kind}.{name} takes {'longer than any promise' if value is None else f'about {value} minutes'} to bring back"
                better = better or "nothing in the spec brings it closer"
                yield (
                    ("recovery", key),
                    f"recovery.{key} {recovery[key]} from {lost_what}: {said}; {better}, or list it in recovery.expendable",
                )
    if disaster == "region" and "rto" in recovery:
        missing = site.unserved(spec)
        unreachable = site.unreachable(spec)
        if missing:
            yield (
                ("recovery", "rto"),
                f"recovery.rto {recovery['rto']} from the loss of {spec['regions']['primary']} needs every way in to serve in "
                f"{secondary}, and {', '.join(missing)} would not: stand its fleets by (recovery.standby; services, functions "
                "and APIs cannot stand by yet), or promise only the rpo",
            )
        elif unreachable:
            yield (
                ("recovery", "rto"),
                f"recovery.rto {recovery['rto']} from the loss of {spec['regions']['primary']} needs traffic to reach {secondary} "
                f"after a failover, but {unreachable}: point a dns record at a standing-by fleet (with a cdn, the record "
                "it names its load-balancer origin by, over HTTPS)",
            )


PROPERTIES: dict[str, Any] = {
    "recovery": {
        "description": "Recovery objectives that ivc validate holds the spec to: the most data a disaster may lose (rpo) "
        "and the longest it may take to recover (rto), for one kind of disaster (from).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "rpo": {
                "description": "Recovery point objective: at most this much data lost, as minutes, hours or days (15m, 12h, 1d).",
                "type": "string",
                "pattern": DURATION,
                "examples": ["15m"],
            },
            "rto": {
                "description": "Recovery time objective: back in service within this, as minutes, hours or days (1h).",
                "type": "string",
                "pattern": DURATION,
                "examples": ["1h"],
            },
            "from": {
                "description": "The disaster the promise covers: the loss of the primary region (needs regions.secondary), "
                "or of a zone or an instance. Default: region with a secondary region, else zone.",
                "enum": ["region", "zone"],
            },
            "expendable": {
                "description": "Items holding data the promise knowingly leaves out (temporary uploads, logs, scratch file "
                "systems): databases.<n>, buckets.<n>, filesystems.<n>. Caches never count: they are rebuilt.",
                "type": "array",
                "items": {"type": "string", "pattern": "^(databases|buckets|filesystems)\\.[a-z][a-z0-9-]*$"},
                "uniqueItems": True,
                "default": [],
            },
            "standby": site.PROPERTY,
        },
    }
}
OVERLAY: dict[str, Any] = {
    "recovery": {"description": "Changes to recovery in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("recovery", PROPERTIES, {}, OVERLAY, check=check)
