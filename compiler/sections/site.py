"""The DR site: what runs in `regions.secondary` while the primary serves, at its standby sizes.

`recovery.standby` names the fleets, services, functions and REST APIs that stand by in the DR region and their
sizes there (a warm standby: small, scaled up on failover). From it ivc derives the *site spec*: the environment's
spec cut down to them and to what they use, which the same builders as the primary's compile in the DR region (the
sections marked `site=True`: security groups, fleets, services, functions, REST APIs and their regional web ACLs,
load balancers, caches, file systems, buckets, queues, topics, buses, registries, parameters, patching, alarms).
Nothing is written twice, and the DR site is what the primary is, smaller.

What a standby uses there:
- a database: its DR replica (`databases.<n>.dr_replica`), read-only until promoted; the credentials secret is
  replicated to the DR region under the same name;
- a bucket: its replica when it is replicated, else a bucket of its own in the DR region, empty: allowed only for a
  bucket the recovery promise lists as expendable;
- a file system: one of its own there, empty: expendable ones only, like buckets;
- a cache or a parameter group: built there too; a cache holds nothing of record (it warms up again);
- a queue, a topic or a bus: built there too, empty, with the queues their subscriptions and rules deliver to: work
  waiting in the primary's queues when the region is lost is lost with it (what it came from is data the promise
  covers: uploads are replicated or expendable);
- another service or a function: its standby (a service is found through the DR site's own service discovery);
- an image in the spec's registries: its repository there, to which ECR replicates every push (registries.py).
A function's code from S3 comes from a bucket of the DR region (Lambda reads code in its own region). A REST API
stands by behind a failover pair of custom domains, with its keys' values shared (rest_apis.py, failover.py).
Anything else (HTTP APIs, schedules, secrets of `secrets:`) is not in the DR site yet and is refused at validate
time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import relations
from .base import Path, Problem, Spec

# What a standby may use, and how the DR region has it.
AVAILABLE = ("databases", "buckets", "filesystems", "caches", "parameters", "queues", "topics", "buses", "services", "functions")
# Built in the DR site, empty, whenever something there uses them.
MESSAGING = ("queues", "topics", "buses")

_SITES: dict[int, tuple[Spec, Spec | None]] = {}


def standby(spec: Spec, kind: str = "fleets") -> dict[str, dict[str, Any]]:
    """The standby fleets (services, REST APIs) and their DR sizes, when the environment has a DR region."""
    if not spec["regions"].get("secondary"):
        return {}
    named = ((spec.get("recovery") or {}).get("standby") or {}).get(kind, {})
    return {name: {} for name in named} if isinstance(named, list) else dict(named)


def standing(spec: Spec) -> set[str]:
    """What stands by, as references: `fleets.<n>`, `services.<n>` and `rest_apis.<n>`."""
    return {f"{kind}.{name}" for kind in ("fleets", "services", "functions", "rest_apis") for name in standby(spec, kind)}


def api_targets(api: dict[str, Any]) -> list[str]:
    """What a REST API's routes reach (`fleets.<n>`, `services.<n>`, `functions.<n>`), sorted, once each."""
    return sorted(set(api["routes"].values()))


def api_watched(api: dict[str, Any]) -> str | None:
    """The route target whose healthy hosts a standing-by API's failover health check watches: the first behind a
    load balancer (a function has no hosts to count), or None."""
    return next((target for target in api_targets(api) if not target.startswith("functions.")), None)


def runs(spec: Spec) -> bool:
    """Whether anything computes in the DR region (so it needs NAT, a load balancer, certificates...)."""
    return bool(standby(spec) or standby(spec, "services") or standby(spec, "functions"))


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
    # Names that do not exist are check()'s to report; the site leaves them out.
    for name, sizes in sorted((n, z) for n, z in standby(spec).items() if n in spec.get("fleets", {})):
        fleet = {**spec["fleets"][name], "schedules": [], **sizes}  # no scheduled scale-up of the standby
        if "desired" not in sizes:
            fleet.pop("desired", None)
        fleets[name] = fleet
    services = {n: _resized(spec["services"][n], z) for n, z in sorted(standby(spec, "services").items()) if n in spec.get("services", {})}
    functions = {
        n: _moved(spec["functions"][n], z) for n, z in sorted(standby(spec, "functions").items()) if n in spec.get("functions", {})
    }
    used: dict[str, set[str]] = {}
    for item in [*fleets.values(), *services.values(), *functions.values()]:
        for use in relations.uses(item):
            used.setdefault(use.kind, set()).add(use.name)
        queue = (item.get("scale") or {}).get("queue")
        references = [queue] if queue else []
        references += [item["dead_letter"]] if item.get("dead_letter") else []
        references += [str(trigger[key]) for trigger in item.get("on", []) for key in ("queue", "topic", "bucket") if key in trigger]
        for reference in references:
            kind, _, name = reference.partition(".")
            used.setdefault(kind, set()).add(name)
    for kind, name in delivered(spec, used):
        used.setdefault(kind, set()).add(name)
    site = {key: value for key, value in spec.items() if key not in _DROPPED}
    site["fleets"] = fleets
    for kind in AVAILABLE:
        site[kind] = {name: item for name, item in spec.get(kind, {}).items() if name in used.get(kind, ())}
    site["services"] = services
    site["functions"] = functions
    images = {registry for item in [*services.values(), *functions.values()] if (registry := registries_of(spec, item))}
    site["registries"] = {name: item for name, item in spec.get("registries", {}).items() if name in images}
    if "parameters" in spec:
        values = {group: entries for group, entries in spec["parameters"]["values"].items() if group in used.get("parameters", ())}
        site["parameters"] = {**spec["parameters"], "values": values}
    site["rest_apis"] = {name: spec["rest_apis"][name] for name in sorted(standby(spec, "rest_apis")) if name in spec.get("rest_apis", {})}
    site["firewall"] = _site_firewall(spec, site)
    if spec.get("alarms"):
        site["alarms"] = _site_alarms(spec["alarms"], site)
    return site


def _site_firewall(spec: Spec, site: Spec) -> dict[str, Any]:
    """The regional web ACLs of what the DR site has: its public load balancer and the REST APIs standing by (the
    cdn's ACL stays with the distribution)."""
    from . import balancers  # balancers reach cdn_origin, which imports this module

    here = {f"rest_apis.{name}" for name in site["rest_apis"]}
    if any(not balancer.internal for balancer in balancers.balancers(site)):
        here.add("load_balancer")
    acls = {}
    for name, firewall in (spec.get("firewall") or {}).items():
        attach = [target for target in firewall["attach"] if target in here]
        if attach:
            acls[name] = {**firewall, "attach": attach}
    return acls


def _resized(service: dict[str, Any], sizes: dict[str, Any]) -> dict[str, Any]:
    """A service at its standby size: `count` tasks, scaling between them and `max` (else its own maximum)."""
    count = sizes.get("count", service["count"])
    resized = {**service, "count": count}
    if service.get("scale"):
        resized["scale"] = {**service["scale"], "min": count, "max": sizes.get("max", service["scale"]["max"])}
    return resized


def _moved(function: dict[str, Any], there: dict[str, Any]) -> dict[str, Any]:
    """A function as it stands by: its code from the DR region's artifacts bucket (Lambda reads code in its own region)."""
    code = str(function["code"])
    if code.startswith("s3:") and "bucket" in there:
        code = f"s3:{there['bucket']}/{code.split('/', 1)[1]}"
    return {**function, "code": code}


def registries_of(spec: Spec, item: dict[str, Any]) -> str | None:
    """The spec's registry an image of a service (`image:`) or a function (`code: ecr:...`) is in, or None."""
    from . import registries  # registries reaches secrets, which reach services

    return registries.of_image(spec, str(item.get("image") or item.get("code")))


def delivered(spec: Spec, used: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The queues and topics that the used topics' subscriptions and the used buses' rules deliver to, transitively:
    the DR site's messaging delivers where the primary's does."""
    found: set[tuple[str, str]] = set()
    todo = [(kind, name) for kind in ("topics", "buses") for name in used.get(kind, ())]
    while todo:
        kind, name = todo.pop()
        item = spec.get(kind, {}).get(name)
        if item is None:
            continue
        if kind == "topics":
            targets = [subscription["queue"] for subscription in item.get("subscriptions", []) if "queue" in subscription]
        else:
            targets = [target for rule in item.get("rules", {}).values() for target in rule["to"]]
        for target in targets:
            key = tuple(target.split(".", 1))
            if key[0] in MESSAGING and key not in found:
                found.add((key[0], key[1]))
                todo.append((key[0], key[1]))
    return sorted(found)


def _site_alarms(alarms: dict[str, Any], site: Spec) -> dict[str, Any]:
    """The primary's alarms on what the DR site runs: its fleets, services, functions, queues, caches, REST APIs and
    load balancers' targets, and its database replicas' lag, to alarm topics of its own (the spec's `topics.` are the
    primary's: alarms notify topics of their own region only), and the composites all of whose members are there."""
    from . import alarms as alarms_section  # alarms reaches balancers, which reach this module

    trimmed: dict[str, Any] = {**alarms, **{kind: {} for kind in alarms_section.ITEM_KINDS}}
    for kind in ("fleets", "caches", "services", "queues", "functions", "rest_apis"):
        trimmed[kind] = {name: metrics for name, metrics in alarms[kind].items() if name in site[kind]}
    # Of the databases', the DR replicas' lag: their other alarms stay with the primary.
    trimmed["databases"] = {
        name: {key: metrics[key] for key in alarms_section.DR_ONLY if key in metrics}
        for name, metrics in alarms["databases"].items()
        if name in site["databases"] and any(key in metrics for key in alarms_section.DR_ONLY)
    }
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
    "schedules",
    "apis",
    "access",
    "backups",
    "secrets",
)


def unserved(spec: Spec) -> list[str]:
    """The ways in (what a public load balancer, the cdn or a dns record reaches, and APIs) that would not serve from
    the DR region."""
    from . import balancers  # balancers reaches cdn_origin, which imports this module

    public = {f"{kind}.{name}" for b in balancers.balancers(spec) if not b.internal for kind, name, _ in b.targets}
    apis = {f"{kind}.{name}" for kind in ("apis", "rest_apis") for name in spec.get(kind, {})}
    entries = balancers.reached_from_outside(spec) | public | apis
    return sorted(entry for entry in entries if entry not in standing(spec))


def unreachable(spec: Spec) -> str | None:
    """Why the DR site's load balancer would not be reached after a failover, or None: traffic reaches it only by a
    name Route 53 fails over (failover.py), and the cdn only when it names its load-balancer origin that way."""
    from ..regions import cdn_apart
    from . import balancers, cdn_origin, dns, failover

    public = {f"{kind}.{name}" for b in balancers.balancers(spec) if not b.internal for kind, name, _ in b.targets}
    if not (standing(spec) & (balancers.reached_from_outside(spec) | public)):
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
    declared = recovery.get("standby") or {}
    fleets, services, apis = declared.get("fleets", {}), declared.get("services", {}), declared.get("rest_apis", [])
    functions = declared.get("functions", {})
    if not fleets and not services and not apis and not functions:
        return
    if not spec["regions"].get("secondary"):
        yield ("recovery", "standby"), "a standby runs in regions.secondary, which this environment does not have; add it"
        return
    expendable = set(recovery.get("expendable", []))
    for name, sizes in sorted(fleets.items()):
        yield from _check_fleet(spec, name, sizes, services, expendable)
    for name, sizes in sorted(services.items()):
        yield from _check_service(spec, name, sizes, fleets, expendable)
    for index, name in enumerate(apis):
        yield from _check_api(spec, name, ("recovery", "standby", "rest_apis", index))
    for name, there in sorted(functions.items()):
        yield from _check_function(spec, name, there, expendable)
    yield from _check_deliveries(spec)


def _missing(spec: Spec, kind: str, name: str) -> str:
    known = ", ".join(sorted(spec.get(kind, {}))) or "none are declared"
    return f"{kind}.{name} does not exist ({kind}: {known})"


def _check_function(spec: Spec, name: str, there: dict[str, Any], expendable: set[str]) -> Iterator[Problem]:
    at = ("recovery", "standby", "functions", name)
    function = spec.get("functions", {}).get(name)
    if function is None:
        yield at, _missing(spec, "functions", name)
        return
    from_s3 = str(function["code"]).startswith("s3:")
    if from_s3 and "bucket" not in there:
        yield (
            at,
            f"functions.{name}'s code is in an S3 bucket of {spec['regions']['primary']}, and Lambda reads code from its own "
            f"region: name the bucket of {spec['regions']['secondary']} that holds the same keys (bucket: <name>)",
        )
    elif not from_s3 and "bucket" in there:
        yield (*at, "bucket"), f"functions.{name}'s code is an image, which the registry replicates: remove bucket"
    for index, trigger in enumerate(function.get("on", [])):
        where = ("functions", name, "on", index)
        bucket = str(trigger.get("bucket", ""))
        if "schedule" in trigger:
            yield where, f"functions.{name} stands by, and a schedule would run it in both regions at once; it cannot stand by yet"
        elif "bucket" in trigger and replicated(spec, "buckets", str(trigger["bucket"]).split(".", 1)[1]):
            yield (
                where,
                f"functions.{name} stands by, and {trigger['bucket']} is its replica there, which sends no events yet; the "
                "replica's objects arrive by replication, not by uploads",
            )
        elif bucket and bucket not in expendable:
            yield (
                where,
                f"functions.{name} stands by, and {bucket} would be a new, empty bucket there: list it in recovery.expendable "
                "(what its events start is then lost with the primary region)",
            )
    yield from _image_problems(spec, ("functions", name, "code"), str(function["code"]))
    for index, use in enumerate(relations.uses(function)):
        yield from _use_problems(spec, ("functions", name), index, use, expendable)


def _check_deliveries(spec: Spec) -> Iterator[Problem]:
    """The DR site's buses deliver where the primary's do: a function they deliver to must stand by (topics deliver
    to queues, e-mail and HTTPS only)."""
    site = site_spec(spec)
    if site is None:
        return
    standing_functions = set(site["functions"])
    for bus, settings in site["buses"].items():
        for rule, routed in settings.get("rules", {}).items():
            for index, target in enumerate(routed["to"]):
                if target.startswith("functions.") and target.split(".", 1)[1] not in standing_functions:
                    yield (
                        ("buses", bus, "rules", rule, "to", index),
                        f"buses.{bus} stands by in {spec['regions']['secondary']} and delivers to {target}, which does not: "
                        "stand it by too (recovery.standby.functions)",
                    )


def _check_api(spec: Spec, name: str, at: Path) -> Iterator[Problem]:
    """A REST API stands by when what its routes reach does, and a name of its own fails over to it."""
    api = spec.get("rest_apis", {}).get(name)
    if api is None:
        yield at, _missing(spec, "rest_apis", name)
        return
    here = standing(spec)
    for target in api_targets(api):
        if target not in here:
            yield (
                at,
                f"rest_apis.{name} stands by in {spec['regions']['secondary']}, and routes to {target}, which does not: stand it "
                "by too (recovery.standby)",
            )
    if api_watched(api) is None:
        yield (
            at,
            f"rest_apis.{name} routes to functions only, and its failover health check watches the healthy hosts of a "
            "route target behind the load balancer; route one path to a fleet or a service",
        )
    records = (spec.get("dns") or {}).get("records", {})
    if f"rest_apis.{name}" not in records.values():
        yield (
            at,
            f"rest_apis.{name}'s callers use API Gateway's URL of {spec['regions']['primary']}, which cannot fail over: give it a "
            f"name that can (dns.records.<name>: rest_apis.{name}, with a certificate covering it)",
        )


def _check_fleet(spec: Spec, name: str, sizes: dict[str, Any], services: dict[str, Any], expendable: set[str]) -> Iterator[Problem]:
    from . import services as services_section  # services reach balancers, which reach cdn_origin, which imports this

    at = ("recovery", "standby", "fleets", name)
    fleet = spec.get("fleets", {}).get(name)
    if fleet is None:
        yield at, _missing(spec, "fleets", name)
        return
    if fleet.get("ecs"):
        on_it = [s for s in services if services_section.on_fleet(spec.get("services", {}).get(s, {})) == name]
        if not on_it:
            yield (
                at,
                f"fleets.{name} is ECS capacity, and no service on it stands by: stand one by (recovery.standby.services) or remove it",
            )
    low, high = sizes.get("min", fleet["min"]), sizes.get("max", fleet["max"])
    if low > high:
        yield at, f"the standby of fleets.{name} has min {low} over max {high}"
    elif "desired" in sizes and not low <= sizes["desired"] <= high:
        yield (*at, "desired"), f"desired {sizes['desired']} is outside the standby's min {low} and max {high}"
    yield from _certificate_problems(spec, at, "fleets", name, fleet)
    for index, use in enumerate(relations.uses(fleet)):
        yield from _use_problems(spec, ("fleets", name), index, use, expendable)


def _check_service(spec: Spec, name: str, sizes: dict[str, Any], fleets: dict[str, Any], expendable: set[str]) -> Iterator[Problem]:
    from . import services as services_section

    at = ("recovery", "standby", "services", name)
    service = spec.get("services", {}).get(name)
    if service is None:
        yield at, _missing(spec, "services", name)
        return
    fleet = services_section.on_fleet(service)
    if fleet is not None and fleet not in fleets:
        yield at, f"services.{name} runs on fleets.{fleet}, which does not stand by: add it to recovery.standby.fleets with its sizes"
    count = sizes.get("count", service["count"])
    high = sizes.get("max", (service.get("scale") or {}).get("max", count))
    if count > high:
        yield at, f"the standby of services.{name} has count {count} over max {high}"
    if "max" in sizes and not service.get("scale"):
        yield (*at, "max"), f"services.{name} does not scale (no scale:); its standby runs count tasks, so remove max"
    yield from _certificate_problems(spec, at, "services", name, service)
    yield from _image_problems(spec, ("services", name, "image"), str(service["image"]))
    for variable in sorted(service.get("secrets", {})):
        yield (
            ("services", name, "secrets", variable),
            f"services.{name} stands by in {spec['regions']['secondary']}, where {service['secrets'][variable]} is not: "
            "the spec's secrets do not stand by yet (a database's named secret does)",
        )
    for index, use in enumerate(relations.uses(service)):
        yield from _use_problems(spec, ("services", name), index, use, expendable)


def _image_problems(spec: Spec, at: Path, image: str) -> Iterator[Problem]:
    """An image of this account's ECR must be in the spec's registries: those are replicated to the DR region."""
    if image.startswith("ecr:") and registries_of(spec, {"image": image}) is None:
        repository = image[len("ecr:") :].split("@")[0].split(":")[0]
        yield (
            at,
            f"{at[0]}.{at[1]} stands by in {spec['regions']['secondary']}, and nothing copies {repository}'s images there: "
            f"declare it in registries (ivc replicates those)",
        )


def _certificate_problems(spec: Spec, at: Path, kind: str, name: str, item: dict[str, Any]) -> Iterator[Problem]:
    from . import balancers  # balancers reaches cdn_origin, which imports this module

    balancer = balancers.balancer_of(spec, kind, name) if "route" in item else None
    if balancer is not None and str(balancer.certificate).startswith("arn:"):
        yield (
            at,
            f"{kind}.{name} stands by behind a load balancer whose certificate is an ARN of {spec['regions']['primary']}; "
            f"use certificates.<n>, which ivc requests in {spec['regions']['secondary']} too",
        )


def _use_problems(spec: Spec, owner: tuple[str, str], index: int, use: Any, expendable: set[str]) -> Iterator[Problem]:
    at = (*owner, "uses", index)
    who = ".".join(owner)
    reference = f"{use.kind}.{use.name}"
    secondary = spec["regions"]["secondary"]
    if use.kind not in AVAILABLE:
        yield (
            at,
            f"{who} stands by in {secondary}, where {reference} is not: the DR site has databases, buckets, file systems, "
            "caches, parameters, queues, topics, buses and standing-by services and functions only",
        )
    elif use.kind in ("services", "functions") and use.name not in standby(spec, use.kind):
        yield (
            at,
            f"{who} stands by in {secondary} and calls {reference}, which does not: stand it by too (recovery.standby.{use.kind})",
        )
    elif use.kind == "databases":
        database = spec["databases"][use.name]
        if "dr_replica" not in database:
            yield (
                at,
                f"{who} stands by in {secondary} and uses {reference}, which has no copy there: add databases.{use.name}.dr_replica",
            )
        elif "secret" not in database:
            yield (
                at,
                f"{who} stands by in {secondary} and reads {reference}'s credentials, which RDS manages in "
                f"{spec['regions']['primary']} only: name the secret (databases.{use.name}.secret) so ivc replicates it",
            )
    elif use.kind in ("buckets", "filesystems") and not replicated(spec, use.kind, use.name) and reference not in expendable:
        better = f"replicate it (buckets.{use.name}.replicate)" if use.kind == "buckets" else "or restore it from a backup"
        yield (
            at,
            f"{who} stands by in {secondary} and uses {reference}, which would be empty there: {better}, or list it in recovery.expendable",
        )


PROPERTY: dict[str, Any] = {
    "description": "The warm standby in regions.secondary: the fleets and services that run there before any failover, at "
    "these sizes (scaled up on failover), with what they use (database replicas, replica buckets, queues; see "
    "docs/recovery.md).",
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
        },
        "services": {
            "description": "Services standing by in the DR region, by name, with their task counts there; an ECS service on a "
            "fleet needs that fleet to stand by too.",
            "type": "object",
            "additionalProperties": {
                "description": "A standby service's task counts in the DR region.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "count": {
                        "description": "Tasks standing by (and the fewest autoscaling keeps).",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1000,
                    },
                    "max": {
                        "description": "Most tasks after scaling up (a service with scale: only).",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000,
                    },
                },
            },
            "default": {},
            "examples": [{"api": {"count": 1}}],
        },
        "functions": {
            "description": "Functions standing by in the DR region, by name: built there too, fed by that region's queues, "
            "topics, buses and buckets. Code from S3 is read from `bucket`, a bucket of the DR region holding the same keys.",
            "type": "object",
            "additionalProperties": {
                "description": "Where a standby function's code is in the DR region.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "bucket": {
                        "description": "The DR region's artifacts bucket, with the same keys as the code's bucket (a release "
                        "ships to both).",
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
                        "examples": ["acme-artifacts-us-west-2"],
                    }
                },
            },
            "default": {},
            "examples": [{"thumbnails": {"bucket": "acme-artifacts-us-west-2"}}],
        },
        "rest_apis": {
            "description": "REST APIs standing by in the DR region: each is built there too, behind its custom domain's failover "
            "record (dns.records.<name>: rest_apis.<n>), with its keys' values shared by both regions.",
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
            "default": [],
            "examples": [["partners"]],
        },
    },
}
