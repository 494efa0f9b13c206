"""Which Application Load Balancers an environment has, and what sits behind each: derived, never written.

Everything with a `route:` (services and fleets) sits behind a load balancer. There is one, `LoadBalancer`:
internet-facing in the public tier, or internal in the app tier when APIs (HTTP or REST) are the only way into
everything routed. A route marked `internal: true` next to routes that the internet reaches puts its target
behind a second one, `InternalLoadBalancer`, in the app tier: reached only through the APIs' VPC link, never
from the cdn or a dns record. This module is the one place that decides; the load balancer, security groups,
APIs, services and fleets all ask it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import relations
from . import cdn_origin  # cdn_origin imports this module too: used at call time only
from .base import Spec

PUBLIC = "LoadBalancer"
INTERNAL = "InternalLoadBalancer"
TARGETS = ("services.", "fleets.")  # what a route of an API may send requests to through a load balancer


@dataclass(frozen=True)
class Balancer:
    """One Application Load Balancer: its logical ID, scheme, listener, and the targets behind it."""

    title: str
    internal: bool
    certificate: str | None
    server_name: str | None  # the name APIs verify on its certificate (None: the certificate's first name, or none)
    guarded: bool  # the cdn's origin: it forwards only requests that carry CloudFront's secret header
    targets: tuple[tuple[str, str, Any], ...]  # (kind, name, item) by name, as relations.balanced orders them

    @property
    def port(self) -> int:
        """The one port it serves its routes on: HTTPS with a certificate, else HTTP."""
        return 443 if self.certificate else 80

    @property
    def listener(self) -> str:
        """The logical ID of the listener the routes hang on."""
        return f"{self.title}{'Https' if self.certificate else 'Http'}Listener"

    @property
    def group(self) -> str:
        """Its security group's kind (security.group_id): `load-balancer` or `internal-load-balancer`."""
        return "load-balancer" if self.title == PUBLIC else "internal-load-balancer"

    @property
    def words(self) -> str:
        return "the internal load balancer" if self.title == INTERNAL else "the load balancer"

    def holds(self, kind: str, name: str) -> bool:
        return any((k, n) == (kind, name) for k, n, _ in self.targets)


def api_routed(spec: Spec) -> set[str]:
    """What some API route (of an HTTP API in apis, or a REST API in rest_apis) sends requests to through a load
    balancer: `services.<n>` and `fleets.<n>` as written."""
    return {
        str(target)
        for section in ("apis", "rest_apis")
        for api in spec.get(section, {}).values()
        for target in api["routes"].values()
        if str(target).startswith(TARGETS)
    }


def reached_from_outside(spec: Spec) -> set[str]:
    """What the internet reaches through a load balancer: the cdn's origins and dns records' targets."""
    records = {str(t) for t in (spec.get("dns") or {}).get("records", {}).values() if str(t).startswith(TARGETS)}
    return set(cdn_origin.origins(spec)) | records


def marked_internal(spec: Spec) -> set[str]:
    """Targets whose route says `internal: true`."""
    return {f"{kind}.{name}" for kind, name, item in relations.balanced(spec) if item["route"].get("internal")}


def only_apis(spec: Spec) -> bool:
    """Whether APIs are the only way into everything routed: every target is an API route's target, and nothing the
    internet reaches (a cdn origin, a dns record) points at one. The one load balancer is then internal."""
    routed = {f"{kind}.{name}" for kind, name, _ in relations.balanced(spec)}
    if not routed or not routed <= api_routed(spec):
        return False
    return not routed & reached_from_outside(spec)


# The last spec asked about and its answer: callers ask once per item, and a spec is not changed once validated, so
# one answer per spec object keeps that linear (it holds the spec, so its id cannot be reused meanwhile).
_last: tuple[Spec, list[Balancer], dict[tuple[str, str], Balancer]] | None = None


def balancers(spec: Spec) -> list[Balancer]:
    """The environment's load balancers, the public (or only) one first; none without a route."""
    return _answer(spec)[0]


def _answer(spec: Spec) -> tuple[list[Balancer], dict[tuple[str, str], Balancer]]:
    global _last
    if _last is None or _last[0] is not spec:
        found = _balancers(spec)
        _last = (spec, found, {(kind, name): b for b in found for kind, name, _ in b.targets})
    return _last[1], _last[2]


def _balancers(spec: Spec) -> list[Balancer]:
    routed = relations.balanced(spec)
    if not routed:
        return []
    settings = spec.get("load_balancer") or {}
    marked = marked_internal(spec)
    guarded = bool(cdn_origin.origins(spec))
    public = tuple(entry for entry in routed if f"{entry[0]}.{entry[1]}" not in marked)
    inside = tuple(entry for entry in routed if f"{entry[0]}.{entry[1]}" in marked)
    if not public or not inside:  # one load balancer for everything
        internal = only_apis(spec) or not public
        return [
            Balancer(PUBLIC, internal, settings.get("certificate"), settings.get("server_name"), guarded and not internal, tuple(routed))
        ]
    own = settings.get("internal") or {}
    return [
        Balancer(PUBLIC, False, settings.get("certificate"), None, guarded, public),
        Balancer(INTERNAL, True, own.get("certificate"), own.get("server_name"), False, inside),
    ]


def balancer_of(spec: Spec, kind: str, name: str) -> Balancer | None:
    """The load balancer `kind.name` sits behind, if it has a route."""
    return _answer(spec)[1].get((kind, name))


def public(spec: Spec) -> Balancer | None:
    """The load balancer the internet, the cdn and dns records reach (none when the only one is internal)."""
    found = balancers(spec)
    return found[0] if found and not found[0].internal else None


def linked(spec: Spec) -> list[Balancer]:
    """Internal load balancers some API reaches through a VPC link."""
    reached = api_routed(spec)
    return [b for b in balancers(spec) if b.internal and any(f"{k}.{n}" in reached for k, n, _ in b.targets)]
