"""Shield Advanced protection of the CDN's distribution (`baseline.shield.protect: [cdn]`), in the edge stack beside it.

See baseline_shield for the load balancer's, and why only a subscribed account gets it.
"""

from __future__ import annotations

from troposphere import Sub, shield

from ..context import Context, Fragment
from .base import CDN, Section, Spec
from .baseline_shield import wanted

STACK = "edge"


def build(spec: Spec, ctx: Context) -> Fragment:
    from .baseline import carried

    out = Fragment()
    if not carried(spec, ctx.environment):
        return out
    out.at = ("baseline", "shield")
    out.add(
        shield.Protection(
            "DistributionShieldProtection",
            Name=ctx.name("cdn"),
            ResourceArn=Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"),
            Tags=ctx.resource_tags(ctx.name("cdn")),
        )
    )
    return out


SECTION = Section("baseline-shield-cdn", build=build, stack=STACK, needed=lambda spec: wanted(spec, "cdn"), whole_spec=True, regions=CDN)
