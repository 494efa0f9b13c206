"""The load balancer: one Application Load Balancer in front of everything with a `route:`, services and fleets.

A routed service gets a target group of task IPs, a routed fleet one of its instances; the route's path is a
listener rule to it, and the route at `/` is the default. With a certificate the load balancer serves HTTPS on 443
(TLS 1.2 and 1.3) and redirects HTTP; it is internet-facing in the public tier, or internal in the app tier when
HTTP APIs are the only way in (see apis.internal_balancer). Behind a CDN it forwards only requests carrying
CloudFront's secret header (see cdn_origin). Its access logs go to the environment's log bucket (see access_logs).
Services and fleets find their target groups here by logical ID (``target_group_title``): one stack, `app`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Ref
from troposphere import elasticloadbalancingv2 as elb

from .. import relations
from ..context import Context, Fragment, camel
from . import access_logs, apis, cdn_origin, network, security
from .base import Problem, Section, Spec

STACK = "app"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CERTIFICATE_PREFIX = "certificates."
KINDS = {"services": "service", "fleets": "fleet"}


def target_group_title(kind: str, name: str) -> str:
    """The logical ID of a routed service's or fleet's target group."""
    return f"{camel(KINDS[kind])}{camel(name)}TargetGroup"


def listener_titles(spec: Spec) -> list[str]:
    """The listener the routes hang on: what a target's users must wait for."""
    return ["LoadBalancerHttpsListener" if spec["load_balancer"].get("certificate") else "LoadBalancerHttpListener"]


def check(spec: Spec) -> Iterator[Problem]:
    certificate = spec.get("load_balancer", {}).get("certificate", "")
    primary = spec["regions"]["primary"]
    if certificate.startswith("arn:") and certificate.split(":")[3:4] != [primary]:
        yield (
            ("load_balancer", "certificate"),
            f"the load balancer's certificate must be in its region, {primary}; this one is in {certificate.split(':')[3] or 'no region'}",
        )
    if certificate.startswith(CERTIFICATE_PREFIX):
        wanted = certificate[len(CERTIFICATE_PREFIX) :]
        known = spec.get("certificates") or {}
        if wanted not in known:
            yield (
                ("load_balancer", "certificate"),
                f"the load balancer's certificate is {certificate}, which does not exist (certificates: "
                f"{', '.join(sorted(known)) or 'none are declared'})",
            )


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    routed = relations.balanced(spec)
    settings = spec["load_balancer"]
    internal = apis.internal_balancer(spec)  # only HTTP APIs reach it, through their VPC link
    balancer = out.add(
        elb.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internal" if internal else "internet-facing",
            Subnets=network.subnet_ids(ctx, network.app_tier(spec["network"]) if internal else network.PUBLIC_TIER),
            SecurityGroups=[security.imported(ctx, "load-balancer")],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value=str(settings["idle_timeout"])),
                elb.LoadBalancerAttributes(
                    Key="deletion_protection.enabled", Value=str(settings.get("deletion_protection", ctx.protected)).lower()
                ),
                elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
                *access_logs.load_balancer_attributes(ctx),
            ],
            Tags=ctx.resource_tags(ctx.name("alb")),
        )
    )
    out.export(ctx, STACK, "LoadBalancerDnsName", GetAtt(balancer, "DNSName"), "DNS name of the public load balancer.")
    out.export(
        ctx, STACK, "LoadBalancerFullName", GetAtt(balancer, "LoadBalancerFullName"), "Full name (for metrics) of the load balancer."
    )
    out.export(
        ctx,
        STACK,
        "LoadBalancerCanonicalHostedZoneId",
        GetAtt(balancer, "CanonicalHostedZoneID"),
        "Route 53 zone of the load balancer's DNS name (for alias records).",
    )
    groups: dict[tuple[str, str], elb.TargetGroup] = {}
    for kind, name, item in routed:
        out.at = (kind, name, "route")
        route = item["route"]
        attributes = [elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(route["deregistration_delay"]))]
        if route["stickiness"]:
            attributes += [
                elb.TargetGroupAttribute(Key="stickiness.enabled", Value="true"),
                elb.TargetGroupAttribute(Key="stickiness.type", Value="lb_cookie"),
                elb.TargetGroupAttribute(Key="stickiness.lb_cookie.duration_seconds", Value=str(route["stickiness"])),
            ]
        title = target_group_title(kind, name)
        # Bridge-mode tasks listen on dynamic host ports: each is checked on the port it was registered with.
        bridge = {"HealthCheckPort": "traffic-port"} if kind == "services" and item["network_mode"] == "bridge" else {}
        groups[(kind, name)] = out.add(
            elb.TargetGroup(
                title,
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
            f"{title}FullName",
            GetAtt(groups[(kind, name)], "TargetGroupFullName"),
            f"Full name (for metrics) of {KINDS[kind]} {name}'s target group.",
        )
    default = next(((kind, name) for kind, name, item in routed if item["route"]["path"] == "/"), None)
    guarded = cdn_origin.behind_cdn(spec)
    if guarded:  # only requests with CloudFront's secret header reach a service; the rules say which
        default_action = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="403"))
    elif default:
        default_action = elb.Action(Type="forward", TargetGroupArn=Ref(groups[default]))
    else:
        default_action = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="404"))
    certificate = settings.get("certificate")
    if certificate:
        if not guarded and not internal:  # behind the cdn or the APIs nobody may reach port 80: they come over HTTPS
            out.add(
                elb.Listener(
                    "LoadBalancerHttpListener",
                    LoadBalancerArn=Ref(balancer),
                    Port=80,
                    Protocol="HTTP",
                    DefaultActions=[
                        elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))
                    ],
                )
            )
        main = out.add(
            elb.Listener(
                "LoadBalancerHttpsListener",
                LoadBalancerArn=Ref(balancer),
                Port=443,
                Protocol="HTTPS",
                SslPolicy=TLS_POLICY,
                Certificates=[elb.Certificate(CertificateArn=certificate_arn(ctx, certificate))],
                DefaultActions=[default_action],
            )
        )
    else:
        main = out.add(
            elb.Listener(
                "LoadBalancerHttpListener", LoadBalancerArn=Ref(balancer), Port=80, Protocol="HTTP", DefaultActions=[default_action]
            )
        )
    secret = [
        elb.Condition(
            Field="http-header",
            HttpHeaderConfig=elb.HttpHeaderConfig(HttpHeaderName=cdn_origin.HEADER, Values=[cdn_origin.header_value(ctx)]),
        )
    ]
    for index, (kind, name, item) in enumerate(routed, start=1):
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
    assert [main.title] == listener_titles(spec)
    return out


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

SECTION = Section("load_balancer", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, needed=needed, whole_spec=True)
