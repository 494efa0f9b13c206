"""The load balancers: Application Load Balancers in front of everything with a `route:`, services and fleets.

A routed service gets a target group of task IPs, a routed fleet one of its instances; the route's path is a
listener rule to it, and the route at `/` is the default. With a certificate a load balancer serves HTTPS on 443
(TLS 1.2 and 1.3) and the public one redirects HTTP. Which load balancers there are is decided in `balancers`: one,
internet-facing in the public tier, or internal in the app tier when APIs are the only way in; or two, when routes
marked `internal: true` sit next to routes the internet reaches (the second, internal one, reached only through the
APIs' VPC link). Behind a CDN the public one forwards only requests carrying CloudFront's secret header (see
cdn_origin). Access logs go to the environment's log bucket (see access_logs). Services and fleets find their target
groups here by logical ID (``target_group_title``): one stack, `app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Ref
from troposphere import elasticloadbalancingv2 as elb

from .. import relations
from ..context import Context, Fragment, camel
from . import access_logs, balancers, cdn_origin, dns, network, security
from .base import Problem, Section, Spec

STACK = "app"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CERTIFICATE_PREFIX = "certificates."
KINDS = {"services": "service", "fleets": "fleet"}


def target_group_title(kind: str, name: str) -> str:
    """The logical ID of a routed service's or fleet's target group."""
    return f"{camel(KINDS[kind])}{camel(name)}TargetGroup"


def listener_titles(spec: Spec, kind: str, name: str) -> list[str]:
    """The listener ``kind.name``'s route hangs on: what its users must wait for."""
    balancer = balancers.balancer_of(spec, kind, name)
    return [balancer.listener] if balancer else []


def balancer_title(spec: Spec, kind: str, name: str) -> str:
    """The logical ID of the load balancer ``kind.name`` sits behind."""
    balancer = balancers.balancer_of(spec, kind, name)
    assert balancer is not None, (kind, name)
    return balancer.title


def check(spec: Spec) -> Iterator[Problem]:
    yield from _check_certificate(spec, ("load_balancer", "certificate"), spec.get("load_balancer", {}).get("certificate", ""))
    internal = spec.get("load_balancer", {}).get("internal")
    if internal is not None:
        yield from _check_certificate(spec, ("load_balancer", "internal", "certificate"), internal.get("certificate", ""))
    yield from _check_internal_routes(spec)


def _check_internal_routes(spec: Spec) -> Iterator[Problem]:
    """Routes marked internal: reached by an API, by nothing from outside; load_balancer.internal only when it is made."""
    marked = balancers.marked_internal(spec)
    outside = balancers.reached_from_outside(spec)
    reached = balancers.api_routed(spec)
    for target in sorted(marked):
        kind, _, name = target.partition(".")
        where = (kind, name, "route", "internal")
        senders = [f"dns.records.{r}" for r, t in sorted((spec.get("dns") or {}).get("records", {}).items()) if t == target]
        senders += ["the cdn"] if target in cdn_origin.origins(spec) else []
        if target in outside:
            yield (
                where,
                f"{target} is internal (reached only through the APIs' VPC link), but {' and '.join(senders)} would send the "
                "internet to it; drop `internal: true` or what points at it",
            )
        elif target not in reached:
            yield (
                where,
                f"{target} is internal (reached only through the APIs' VPC link), and no route of apis or rest_apis sends "
                "requests to it, so nothing could reach it; route an API to it or drop `internal: true`",
            )
    found = balancers.balancers(spec)
    settings = spec.get("load_balancer") or {}
    if "internal" in settings and not any(b.title == balancers.INTERNAL for b in found):
        yield (
            ("load_balancer", "internal"),
            "load_balancer.internal configures a second, internal load balancer, made only when some routes are "
            "`internal: true` and others are reached from the internet; there is none here, so remove it",
        )
    second = next((b for b in found if b.title == balancers.INTERNAL), None)
    if second and second.certificate and server_name(spec, second) is None:
        yield (
            ("load_balancer", "internal", "certificate"),
            "the APIs reach the internal load balancer over HTTPS and verify a name its certificate covers; name it in "
            "load_balancer.internal.server_name, or use certificates.<name> of this spec",
        )


def server_name(spec: Spec, balancer: balancers.Balancer) -> str | None:
    """The name APIs verify on an internal load balancer's certificate: its `server_name`, else the first name (not a
    wildcard) of its `certificates.<n>`; None when neither says it."""
    if balancer.server_name:
        return balancer.server_name
    names = dns.certificate_names(spec, balancer.certificate or "") or []
    return next((n for n in names if not n.startswith("*.")), None)


def _check_certificate(spec: Spec, where: tuple[str, ...], certificate: str) -> Iterator[Problem]:
    primary = spec["regions"]["primary"]
    if certificate.startswith("arn:") and certificate.split(":")[3:4] != [primary]:
        yield (
            where,
            f"the load balancer's certificate must be in its region, {primary}; this one is in {certificate.split(':')[3] or 'no region'}",
        )
    if certificate.startswith(CERTIFICATE_PREFIX):
        wanted = certificate[len(CERTIFICATE_PREFIX) :]
        known = spec.get("certificates") or {}
        if wanted not in known:
            yield (
                where,
                f"the load balancer's certificate is {certificate}, which does not exist (certificates: "
                f"{', '.join(sorted(known)) or 'none are declared'})",
            )


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    for balancer in balancers.balancers(spec):
        _balancer(balancer, spec, ctx, out)
    return out


def _balancer(balancer: balancers.Balancer, spec: Spec, ctx: Context, out: Fragment) -> None:
    settings = spec["load_balancer"]
    title = balancer.title
    second = title == balancers.INTERNAL  # the app tier's, next to a public one
    out.at = ("load_balancer", "internal") if second else ()
    resource = out.add(
        elb.LoadBalancer(
            title,
            Type="application",
            Scheme="internal" if balancer.internal else "internet-facing",
            Subnets=network.subnet_ids(ctx, network.app_tier(spec["network"]) if balancer.internal else network.PUBLIC_TIER),
            SecurityGroups=[security.imported(ctx, balancer.group)],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value=str(settings["idle_timeout"])),
                elb.LoadBalancerAttributes(
                    Key="deletion_protection.enabled", Value=str(settings.get("deletion_protection", ctx.protected)).lower()
                ),
                elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
                *access_logs.load_balancer_attributes(ctx),
            ],
            Tags=ctx.resource_tags(ctx.name("internal-alb" if second else "alb")),
        )
    )
    if second:
        out.export(
            ctx,
            STACK,
            f"{title}FullName",
            GetAtt(resource, "LoadBalancerFullName"),
            "Full name (for metrics) of the internal load balancer.",
        )
    else:
        out.export(ctx, STACK, "LoadBalancerDnsName", GetAtt(resource, "DNSName"), "DNS name of the public load balancer.")
        out.export(
            ctx, STACK, "LoadBalancerFullName", GetAtt(resource, "LoadBalancerFullName"), "Full name (for metrics) of the load balancer."
        )
        out.export(
            ctx,
            STACK,
            "LoadBalancerCanonicalHostedZoneId",
            GetAtt(resource, "CanonicalHostedZoneID"),
            "Route 53 zone of the load balancer's DNS name (for alias records).",
        )
    groups: dict[tuple[str, str], elb.TargetGroup] = {}
    for kind, name, item in balancer.targets:
        out.at = (kind, name, "route")
        route = item["route"]
        attributes = [elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(route["deregistration_delay"]))]
        if route["stickiness"]:
            attributes += [
                elb.TargetGroupAttribute(Key="stickiness.enabled", Value="true"),
                elb.TargetGroupAttribute(Key="stickiness.type", Value="lb_cookie"),
                elb.TargetGroupAttribute(Key="stickiness.lb_cookie.duration_seconds", Value=str(route["stickiness"])),
            ]
        group_title = target_group_title(kind, name)
        # Bridge-mode tasks listen on dynamic host ports: each is checked on the port it was registered with.
        bridge = {"HealthCheckPort": "traffic-port"} if kind == "services" and item["network_mode"] == "bridge" else {}
        groups[(kind, name)] = out.add(
            elb.TargetGroup(
                group_title,
                # tasks in awsvpc mode; the fleet's instances, or (bridge mode) the instance and host port of each task
                TargetType="ip" if kind == "services" and item["network_mode"] == "awsvpc" else "instance",
                Protocol="HTTP",
                Port=item["port"],
                VpcId=ctx.imported(network.STACK, "VpcId"),
                HealthCheckPath=route["health"],
                HealthCheckIntervalSeconds=30,
                HealthyThresholdCount=2,
                UnhealthyThresholdCount=3,
                Matcher=elb.Matcher(HttpCode="200-399"),
                TargetGroupAttributes=attributes,
                Tags=ctx.resource_tags(ctx.name(name)),
                **bridge,
            )
        )
        out.export(
            ctx,
            STACK,
            f"{group_title}FullName",
            GetAtt(groups[(kind, name)], "TargetGroupFullName"),
            f"Full name (for metrics) of {KINDS[kind]} {name}'s target group.",
        )
    out.at = ("load_balancer", "internal") if second else ()
    default = next(((kind, name) for kind, name, item in balancer.targets if item["route"]["path"] == "/"), None)
    guarded = balancer.guarded
    if guarded:  # only requests with CloudFront's secret header reach a service; the rules say which
        default_action = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="403"))
    elif default:
        default_action = elb.Action(Type="forward", TargetGroupArn=Ref(groups[default]))
    else:
        default_action = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="404"))
    if balancer.certificate:
        if not guarded and not balancer.internal:  # behind the cdn or the APIs nobody may reach port 80: they come over HTTPS
            out.add(
                elb.Listener(
                    f"{title}HttpListener",
                    LoadBalancerArn=Ref(resource),
                    Port=80,
                    Protocol="HTTP",
                    DefaultActions=[
                        elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))
                    ],
                )
            )
        main = out.add(
            elb.Listener(
                balancer.listener,
                LoadBalancerArn=Ref(resource),
                Port=443,
                Protocol="HTTPS",
                SslPolicy=TLS_POLICY,
                Certificates=[elb.Certificate(CertificateArn=certificate_arn(ctx, balancer.certificate))],
                DefaultActions=[default_action],
            )
        )
    else:
        main = out.add(
            elb.Listener(balancer.listener, LoadBalancerArn=Ref(resource), Port=80, Protocol="HTTP", DefaultActions=[default_action])
        )
    secret = [
        elb.Condition(
            Field="http-header",
            HttpHeaderConfig=elb.HttpHeaderConfig(HttpHeaderName=cdn_origin.HEADER, Values=[cdn_origin.header_value(ctx)]),
        )
    ]
    for index, (kind, name, item) in enumerate(relations.balanced(spec), start=1):  # priorities count every route
        if not balancer.holds(kind, name):
            continue
        out.at = (kind, name, "route")
        if (kind, name) == default and not guarded:
            continue
        conditions = secret if guarded else []
        if (kind, name) != default:
            conditions = [
                elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[item["route"]["path"]])),
                *conditions,
            ]
        out.add(
            elb.ListenerRule(
                target_group_title(kind, name).removesuffix("TargetGroup") + "ListenerRule",
                ListenerArn=Ref(main),
                Priority=cdn_origin.LAST_PRIORITY if (kind, name) == default else item["route"].get("priority", index * 10),
                Conditions=conditions,
                Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(groups[(kind, name)]))],
            )
        )


def certificate_arn(ctx: Context, certificate: str) -> Any:
    """An ACM ARN as written, or the ARN of `certificates.<name>`, which the dns stack of this region exports."""
    if certificate.startswith(CERTIFICATE_PREFIX):
        return ctx.imported("dns", f"Certificate{camel(certificate[len(CERTIFICATE_PREFIX) :])}Arn")
    return certificate


def needed(spec: Spec) -> bool:
    return bool(relations.balanced(spec))


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

CERTIFICATE_PATTERN = "^(certificates\\.[a-z][a-z0-9-]*|arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+)$"
PROPERTIES: dict[str, Any] = {
    "load_balancer": {
        "$ref": "#/$defs/loadBalancer",
        "description": "The Application Load Balancer in front of services with a route: internet-facing, or internal when "
        "HTTP APIs are the only way into those services.",
    },
}
DEFS: dict[str, Any] = {
    "loadBalancer": {
        "description": "The public Application Load Balancer.",
        "type": "object",
        "additionalProperties": False,
        "default": {},
        "properties": {
            "certificate": {
                "description": "`certificates.<name>` of this spec, or an ACM certificate ARN in the primary region. With it, "
                "HTTPS on 443 (TLS 1.2+) and HTTP redirects to HTTPS; without it, HTTP only.",
                "type": "string",
                "pattern": CERTIFICATE_PATTERN,
                "examples": ["certificates.web", "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"],
            },
            "internal": {
                "description": "The app tier's internal load balancer, for routes marked `internal: true` next to routes the "
                "internet reaches: APIs (HTTP or REST) reach it through their VPC link, and nothing else does.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "certificate": {
                        "description": "`certificates.<name>` of this spec, or an ACM certificate ARN in the primary region: "
                        "HTTPS on 443 from the APIs' VPC link; without it, HTTP on 80 inside the VPC.",
                        "type": "string",
                        "pattern": CERTIFICATE_PATTERN,
                        "examples": ["certificates.app"],
                    },
                    "server_name": {
                        "description": "The name the APIs verify on its certificate. Needed with a certificate ARN; with "
                        "`certificates.<name>` its first name is the default.",
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 253,
                        "examples": ["app.example.com"],
                    },
                },
            },
            "server_name": {
                "description": "A name the certificate covers, which HTTP APIs verify when they are the only way into the routed "
                "services and reach the internal load balancer through their VPC link over HTTPS. Needed with a certificate ARN; "
                "with `certificates.<name>` its first name is the default.",
                "type": "string",
                "minLength": 1,
                "maxLength": 253,
                "examples": ["origin.example.com"],
            },
            "idle_timeout": {
                "description": "Seconds an idle connection stays open.",
                "type": "integer",
                "minimum": 1,
                "maximum": 4000,
                "default": 60,
            },
            "deletion_protection": {
                "description": "Refuse to delete the load balancer until this is turned off. Default: on in protected "
                "environments (prod, production, or deploy.protected), off elsewhere; `false` turns it off anywhere.",
                "type": "boolean",
            },
        },
    },
    "route": {
        "description": "A service's or fleet's place behind the load balancer: the path routed to it, and how it is checked.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "path": {
                "description": "Path pattern routed here; `/` makes it the default.",
                "type": "string",
                "pattern": "^/",
                "default": "/",
            },
            "health": {
                "description": "Health-check path the load balancer probes.",
                "type": "string",
                "pattern": "^/",
                "default": "/health",
            },
            "stickiness": {
                "description": "Seconds a client sticks to one task or instance (load-balancer cookie); 0 turns stickiness off.",
                "type": "integer",
                "minimum": 0,
                "maximum": 604800,
                "default": 0,
            },
            "deregistration_delay": {
                "description": "Seconds to drain connections from a task or instance leaving the target group.",
                "type": "integer",
                "minimum": 0,
                "maximum": 3600,
                "default": 300,
            },
            "internal": {
                "description": "Behind the internal load balancer in the app tier (load_balancer.internal), reached only "
                "through the APIs' VPC link, when other routes are reached from the internet.",
                "type": "boolean",
                "default": False,
            },
            "priority": {
                "description": "Listener rule priority for non-default paths.",
                "type": "integer",
                "minimum": 1,
                "maximum": 50000,
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "load_balancer": {"description": "Changes to load_balancer in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "load_balancer", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, needed=needed, whole_spec=True, site=True
)
