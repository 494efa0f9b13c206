"""Relationships between sections: what a service uses, and what that grants.

`uses: [databases.main, buckets.media:read]` is the only place a service's
network access and IAM permissions come from; this module parses those
references, checks they resolve, and says what each one means.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

PORTS = {"postgres": 5432, "redis": 6379}
BUCKET_ACCESS = ("read", "write", "readwrite")
# Fargate task sizes: CPU units -> allowed memory (MiB) range and step.
FARGATE_MEMORY = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


@dataclass(frozen=True)
class Use:
    """One entry of a service's `uses:`."""

    kind: str  # databases | caches | buckets | secrets
    name: str
    access: str  # connect | read | write | readwrite

    @property
    def reads(self) -> bool:
        return self.access in ("read", "readwrite")

    @property
    def writes(self) -> bool:
        return self.access in ("write", "readwrite")


def parse_use(text: str) -> Use:
    target, _, access = text.partition(":")
    kind, _, name = target.partition(".")
    default = "readwrite" if kind == "buckets" else "read" if kind == "secrets" else "connect"
    return Use(kind, name, access or default)


def uses(service: dict[str, Any]) -> list[Use]:
    return [parse_use(text) for text in service.get("uses", [])]


def port(spec: dict[str, Any], use: Use) -> int:
    return PORTS[spec[use.kind][use.name]["engine"]]


def routed(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services behind the load balancer."""
    return {name: service for name, service in spec.get("services", {}).items() if "route" in service}


def cdn_buckets(spec: dict[str, Any]) -> list[str]:
    """Buckets the CDN serves: their bucket policy lives with the distribution."""
    cdn = spec.get("cdn")
    if not cdn:
        return []
    origins = [cdn["default"]["origin"]] + [b["origin"] for b in cdn["paths"].values()]
    return sorted({o.split(".", 1)[1] for o in origins if o.startswith("buckets.")})


def needs_key(spec: dict[str, Any]) -> bool:
    """Whether the environment needs its KMS key."""
    buckets_with_kms = any(b["encryption"] == "kms" for b in spec.get("buckets", {}).values())
    return bool(spec.get("databases") or spec.get("caches") or spec.get("secrets") or spec.get("services") or buckets_with_kms)


def check(spec: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """References between sections resolve, and combined settings make sense."""
    for name, service in spec.get("services", {}).items():
        path = ("services", name)
        for index, text in enumerate(service["uses"]):
            use = parse_use(text)
            if use.name not in spec.get(use.kind, {}):
                known = ", ".join(sorted(spec.get(use.kind, {}))) or "none are declared"
                yield (*path, "uses", index), f"services.{name} uses {use.kind}.{use.name}, which does not exist ({use.kind}: {known})"
            elif use.kind in ("databases", "caches", "secrets") and ":" in text:
                yield (*path, "uses", index), f"{use.kind} take no access mode; write {use.kind}.{use.name}"
        for variable, ref in service["secrets"].items():
            secret = ref.split(".", 1)[1]
            if secret not in spec.get("secrets", {}):
                yield (*path, "secrets", variable), f"{variable} reads secrets.{secret}, which does not exist"
        size = service["size"]
        low, high, step = FARGATE_MEMORY[size["cpu"]]
        if not (low <= size["memory"] <= high and (size["memory"] - low) % step == 0):
            yield (
                (*path, "size", "memory"),
                (f"Fargate with {size['cpu']} CPU units takes {low} to {high} MiB of memory in steps of {step}, not {size['memory']}"),
            )
        if "route" in service and "port" not in service:
            yield (*path, "route"), f"services.{name} has a route but no port for the load balancer to reach"
        scale = service.get("scale")
        if scale:
            low_count = scale.get("min", service["count"])
            if low_count > scale["max"]:
                yield (*path, "scale", "max"), f"scale.max {scale['max']} is below the minimum {low_count}"
            if not any(k in scale for k in ("cpu", "memory", "requests_per_target")):
                yield (*path, "scale"), "scale needs a target: cpu, memory or requests_per_target"
            if "requests_per_target" in scale and "route" not in service:
                yield (*path, "scale", "requests_per_target"), "requests_per_target needs the service to have a route"
    for name, database in spec.get("databases", {}).items():
        if database["storage"]["max"] < database["storage"]["size"]:
            yield ("databases", name, "storage", "max"), f"databases.{name}.storage.max is below storage.size; autoscaling could never grow"
    yield from _check_cdn(spec)
    yield from _check_alarms(spec)


def _check_cdn(spec: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    cdn = spec.get("cdn")
    if not cdn:
        return
    behaviors = [(("cdn", "default"), cdn["default"])] + [(("cdn", "paths", p), b) for p, b in cdn["paths"].items()]
    for path, behavior in behaviors:
        kind, name = behavior["origin"].split(".", 1)
        if name not in spec.get(kind, {}):
            yield (*path, "origin"), f"cdn origin {behavior['origin']} does not exist"
        elif kind == "services" and "route" not in spec[kind][name]:
            yield (*path, "origin"), f"cdn origin {behavior['origin']} has no route on the load balancer to reach it through"
        elif kind == "buckets" and (behavior["headers"] or behavior["cookies"]):
            yield (*path, "origin"), "a bucket origin takes no headers or cookies"
        elif kind == "buckets" and spec["buckets"][name]["encryption"] == "kms":
            yield (*path, "origin"), f"buckets.{name} is KMS-encrypted; CloudFront serves aes256 buckets (set encryption: aes256)"
    if cdn["aliases"] and "certificate" not in cdn:
        yield ("cdn", "aliases"), "cdn.aliases need cdn.certificate, an ACM certificate in us-east-1 covering them"


def _check_alarms(spec: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    alarms = spec.get("alarms")
    if not alarms:
        return
    for kind in ("services", "databases", "caches"):
        for name in alarms[kind]:
            if name not in spec.get(kind, {}):
                yield ("alarms", kind, name), f"alarms.{kind}.{name}: there is no {kind}.{name}"
    if alarms["load_balancer"] and not routed(spec):
        yield ("alarms", "load_balancer"), "load balancer alarms need a service with a route"
    severities = {s for s in ("critical", "warning", "info") if alarms["notify"].get(s)}
    for kind in ("services", "databases", "caches"):
        for name, metrics in alarms[kind].items():
            for metric, threshold in metrics.items():
                for severity in threshold if isinstance(threshold, dict) else ["warning"]:
                    if severity not in severities:
                        yield ("alarms", kind, name, metric), f"a {severity} alarm needs someone in alarms.notify.{severity}"
