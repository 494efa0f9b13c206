"""Failover at the front door: a dns record to a fleet that stands by in the DR region becomes a Route 53 failover pair.

The PRIMARY record, in the primary region's `edge` stack, aliases the primary's load balancer and answers while its
health check is healthy. Route 53's own checkers cannot reach a load balancer that admits only CloudFront, so the
health check watches a CloudWatch alarm instead: the target's healthy hosts behind that load balancer, under one
for three minutes. The SECONDARY record, in the DR region's `edge` stack, aliases the DR site's load balancer (the
zone by name there: its ID is exported in the primary region only). Route 53 answers with it while the primary is
unhealthy, and CloudFront, which reaches its origin by that name, follows.

A record to a REST API standing by (`rest_apis.<n>`) is a pair of its custom domains, one in each region. Its health
check watches the healthy hosts of the first target its routes reach (all stand by: site.py checks), behind the
internal load balancer: a Route 53 health check takes one alarm, and not one of metric math.
"""

from __future__ import annotations

from troposphere import Ref, cloudwatch, route53

from ..context import Context, Fragment
from . import load_balancer, site
from .base import SITES, Section, Spec
from .dns import STACK, ZONE_STACK, api_domain, fqdn, record_title, zone_reference

PERIOD, PERIODS = 60, 3  # healthy hosts under one for three minutes: unhealthy


def failing_over(spec: Spec) -> dict[str, str]:
    """dns records (relative name -> target) whose target stands by in the DR region."""
    standing = site.standing(spec)
    records = (spec.get("dns") or {}).get("records", {})
    return {relative: str(target) for relative, target in sorted(records.items()) if str(target) in standing}


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    primary = ctx.role == "primary"
    if not primary:
        out.after.add((ctx.primary_region, ZONE_STACK))  # the zone is created there
    for relative, target in failing_over(spec).items():
        out.at = ("dns", "records", relative)
        kind, _, name = target.partition(".")
        title = f"Record{record_title(relative)}"
        extra = {}
        watched = target
        if kind == "rest_apis":
            watched = site.api_watched(spec["rest_apis"][name]) or target
            kind, _, name = watched.partition(".")
        if primary:
            alarm = out.add(
                cloudwatch.Alarm(
                    f"{title}FailoverAlarm",
                    AlarmName=ctx.name("failover", record_title(relative).lower()),
                    AlarmDescription=f"{fqdn(spec, relative)} fails over to {spec['regions']['secondary']}: no healthy {watched} "
                    f"behind the load balancer for {PERIODS} minutes",
                    Namespace="AWS/ApplicationELB",
                    MetricName="HealthyHostCount",
                    Dimensions=[
                        cloudwatch.MetricDimension(
                            Name="LoadBalancer",
                            Value=ctx.imported("app", f"{load_balancer.balancer_title(spec, kind, name)}FullName"),
                        ),
                        cloudwatch.MetricDimension(
                            Name="TargetGroup", Value=ctx.imported("app", f"{load_balancer.target_group_title(kind, name)}FullName")
                        ),
                    ],
                    Statistic="Minimum",
                    Period=PERIOD,
                    EvaluationPeriods=PERIODS,
                    Threshold=1,
                    ComparisonOperator="LessThanThreshold",
                    TreatMissingData="breaching",  # no data from the load balancer is no healthy host
                )
            )
            check = out.add(
                route53.HealthCheck(
                    f"{title}HealthCheck",
                    HealthCheckConfig=route53.HealthCheckConfig(
                        Type="CLOUDWATCH_METRIC",
                        AlarmIdentifier=route53.AlarmIdentifier(Name=Ref(alarm), Region=ctx.region),
                        InsufficientDataHealthStatus="LastKnownStatus",
                    ),
                    HealthCheckTags=ctx.resource_tags(ctx.name("failover", record_title(relative).lower())),
                )
            )
            extra["HealthCheckId"] = Ref(check)
        if target.startswith("rest_apis."):
            alias = api_domain(spec, ctx, out, title, fqdn(spec, relative), target)
        else:
            alias = route53.AliasTarget(
                DNSName=ctx.imported("app", "LoadBalancerDnsName"),
                HostedZoneId=ctx.imported("app", "LoadBalancerCanonicalHostedZoneId"),
                EvaluateTargetHealth=True,
            )
        out.add(
            route53.RecordSetType(
                f"{title}A",
                Name=fqdn(spec, relative),
                Type="A",
                AliasTarget=alias,
                Failover="PRIMARY" if primary else "SECONDARY",
                SetIdentifier=f"{ctx.role}-{ctx.region}",
                **extra,
                **zone_reference(ctx),
            )
        )
    return out


# Derived from dns.records and recovery.standby: no key of its own in the spec.
SECTION = Section("failover", build=build, stack=STACK, needed=lambda spec: bool(failing_over(spec)), whole_spec=True, regions=SITES)
