"""Shield Advanced protection of the public load balancer (`baseline.shield.protect: [load_balancer]`).

It lives in the app stack beside the load balancer, so it names it by reference; the CDN's protection is in the edge
stack (baseline_shield_cdn). Only an environment that deploys the baseline (`baseline.environments`) with
`shield.subscribed: true` gets it: the subscription itself is not CloudFormation, and `ivc validate` says so.
"""

from __future__ import annotations

from troposphere import Ref, shield

from ..context import Context, Fragment
from . import balancers
from .base import PRIMARY, Section, Spec

STACK = "app"


def wanted(spec: Spec, target: str) -> bool:
    """Whether the spec asks Shield Advanced to protect ``target`` (cdn or load_balancer) and may."""
    protection = (spec.get("baseline") or {}).get("shield")
    return bool(protection and protection["subscribed"] and target in protection["protect"])


def build(spec: Spec, ctx: Context) -> Fragment:
    from .baseline import carried

    out = Fragment()
    if not carried(spec, ctx.environment):
        return out
    out.at = ("baseline", "shield")
    for balancer in balancers.balancers(spec):
        if not balancer.internal:
            out.add(
                shield.Protection(
                    f"{balancer.title}ShieldProtection",
                    Name=ctx.name("load-balancer"),
                    ResourceArn=Ref(balancer.title),
                    Tags=ctx.resource_tags(ctx.name("load-balancer")),
                )
            )
    return out


SECTION = Section(
    "baseline-shield", build=build, stack=STACK, needed=lambda spec: wanted(spec, "load_balancer"), whole_spec=True, regions=PRIMARY
)
