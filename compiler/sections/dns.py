"""DNS: a Route 53 hosted zone (created and retained, or an existing one by ID or name), alias records named from spec
objects, and HTTPS health checks.

Where things live, and why there is no cycle. Certificates must exist before the load balancer, the CDN and
the APIs use them, and they are validated by DNS in the zone; the records point at the load balancer, the
distribution and the APIs, so they can only be made after them. So the zone and the certificates form the
`dns` stack (built by the certificates section, deployed before `app`), and the records and health checks
go in the `edge` stack, which already comes after `app` and holds the distribution itself:

    dns (zone, certificates) -> app (load balancer, APIs) -> edge (CloudFront, records, health checks)

A record never holds a raw DNS name: `"@": cdn`, `api: apis.public` or `www: services.web` (the load balancer
in front of that service). The load balancer's alias is its DNS name and canonical zone (imported from
`app`); CloudFront's is the distribution's domain in CloudFront's zone (A and AAAA: the distribution serves
IPv6); an HTTP API gets a regional custom domain name with a certificate of `certificates:` covering the
record, mapped to its `$default` stage, and the record aliases that domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Join, Ref, apigatewayv2, route53

from ..context import Context, Fragment, camel
from ..regions import CLOUDFRONT_REGION, cdn_apart
from .base import Problem, Section, Spec

STACK = "edge"  # records and health checks; the zone and certificates are in ZONE_STACK
ZONE_STACK = "dns"
CLOUDFRONT_ZONE = "Z2FDTNDATAQYW2"  # the hosted zone of every CloudFront distribution's domain (AWS's constant)
INTERVAL, FAILURES = 30, 3

ZONE_PATTERN = "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$"
ZONE_ID_PATTERN = "^Z[A-Z0-9]{1,31}$"
RECORD_PATTERN = "^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$"
TARGET_PATTERN = "^(cdn|(services|fleets|apis|rest_apis)\\.[a-z][a-z0-9-]*)$"
BALANCED = ("services.", "fleets.")  # records to these alias the load balancer in front of them


def fqdn(spec: Spec, relative: str) -> str:
    """A name relative to dns.zone as a full name: ``@`` is the apex, ``*`` the zone's wildcard."""
    zone = str(spec["dns"]["zone"])
    return zone if relative == "@" else f"{relative}.{zone}"


def covers(names: list[str], name: str) -> bool:
    """Whether a certificate for ``names`` (full names, ``*.`` wildcards of one label) is valid for ``name``."""
    return name in names or any(n.startswith("*.") and name.split(".", 1)[-1] == n[2:] and "." in name for n in names)


def certificate_names(spec: Spec, certificate: str) -> list[str] | None:
    """The full names a `certificates.<n>` reference covers, or None for an ARN (whose names ivc cannot know)."""
    if not certificate.startswith("certificates."):
        return None
    found = spec.get("certificates", {}).get(certificate.split(".", 1)[1])
    if found is None or "dns" not in spec:
        return None
    return [fqdn(spec, d) for d in found["domains"]]


def certificate_arn(ctx: Context, certificate: str) -> Any:
    """An ARN as written, or the ARN the dns stack exports for `certificates.<n>`."""
    if certificate.startswith("certificates."):
        return ctx.imported(ZONE_STACK, f"Certificate{camel(certificate.split('.', 1)[1])}Arn")
    return certificate


def zone_id(ctx: Context, stack: str = STACK) -> Any:
    """The hosted zone's ID as ``stack`` sees it: the existing zone's, or the one the dns stack creates.

    Not for a zone found by name (``existing: true``): check() refuses what would need its ID.
    """
    existing = ctx.spec["dns"].get("existing")
    if isinstance(existing, str):
        return existing
    return Ref("HostedZone") if stack == ZONE_STACK else ctx.imported(ZONE_STACK, "HostedZoneId")


def zone_reference(ctx: Context) -> dict[str, Any]:
    """How a record names its zone: by ID, or by name where the ID cannot be had.

    By name for an existing zone found by name (its ID differs per account), and in CloudFront's region when that is
    not the primary one (the created zone's ID is exported in the primary region only, and exports do not cross).
    """
    existing = ctx.spec["dns"].get("existing")
    if existing is True or (not existing and ctx.region != ctx.primary_region):
        return {"HostedZoneName": f"{ctx.spec['dns']['zone']}."}
    return {"HostedZoneId": zone_id(ctx)}


def records_here(spec: Spec, ctx: Context) -> dict[str, str]:
    """The records built in ``ctx``'s region: those to the cdn are with the distribution, in CloudFront's region."""
    records = spec["dns"]["records"]
    if not cdn_apart(spec):
        return dict(records)
    cdn_here = ctx.region == CLOUDFRONT_REGION
    return {relative: target for relative, target in records.items() if (target == "cdn") == cdn_here}


def balancer_name(spec: Spec) -> str | None:
    """The first record (as written) that names the load balancer, as a full name; None when no record does."""
    for relative, target in spec.get("dns", {}).get("records", {}).items():
        if target.startswith(BALANCED):
            return fqdn(spec, relative)
    return None


def target_name(spec: Spec, target: str) -> str | None:
    """The first record (as written) that points at ``target`` (`apis.<n>`...), as a full name; None when none does."""
    for relative, pointed in spec.get("dns", {}).get("records", {}).items():
        if pointed == target:
            return fqdn(spec, relative)
    return None


def cdn_names(spec: Spec) -> list[str]:
    """The full names of the records that point at the CDN (the distribution must list them as aliases)."""
    return [fqdn(spec, r) for r, target in spec.get("dns", {}).get("records", {}).items() if target == "cdn"]


def check(spec: Spec) -> Iterator[Problem]:
    dns = spec.get("dns")
    if not dns:
        return
    records = dns["records"]
    balancer_certificate = spec.get("load_balancer", {}).get("certificate", "")
    for relative, target in records.items():
        at = ("dns", "records", relative)
        name = fqdn(spec, relative)
        kind, _, item = target.partition(".")
        if kind == "cdn":
            certificate = spec.get("cdn", {}).get("certificate")
            if "cdn" not in spec:
                yield at, f"dns record {relative} points at the cdn, but there is no cdn"
            elif certificate is None:
                yield at, f"dns record {relative} points at the cdn, which needs cdn.certificate covering {name} to serve it"
            elif (names := certificate_names(spec, certificate)) is not None and not covers(names, name):
                yield at, f"dns record {relative} points at the cdn, but cdn.certificate ({certificate}) does not cover {name}"
        elif item not in spec.get(kind, {}):
            yield at, f"dns record {relative} points at {target}, which does not exist"
        elif kind in ("services", "fleets"):
            if "route" not in spec[kind][item]:
                yield at, f"dns record {relative} points at {target}, which has no route on the load balancer"
            elif (names := certificate_names(spec, balancer_certificate)) is not None and not covers(names, name):
                yield (
                    at,
                    f"dns record {relative} names the load balancer, but its certificate ({balancer_certificate}) does not cover {name}",
                )
        elif kind in ("apis", "rest_apis") and not api_certificate(spec, name):
            yield (
                at,
                f"dns record {relative} points at {target}, whose custom domain needs a certificate covering {name}: "
                f"list '{relative}' in the domains of one of certificates:",
            )
    for relative in dns["health_checks"]:
        at = ("dns", "health_checks", relative)
        if relative not in records:
            yield at, f"health check for {relative}, which is not one of dns.records"
        elif records[relative].startswith(BALANCED) and not balancer_certificate:
            yield (
                at,
                f"the health check of {relative} is HTTPS, but the load balancer has no certificate: set load_balancer.certificate",
            )


def api_certificate(spec: Spec, name: str) -> str | None:
    """The first certificate (by name) of the spec covering ``name``."""
    for certificate, settings in sorted(spec.get("certificates", {}).items()):
        if covers([fqdn(spec, d) for d in settings["domains"]], name):
            return str(certificate)
    return None


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    dns = spec["dns"]
    zone = zone_reference(ctx)
    if ctx.region != ctx.primary_region:
        out.after.add((ctx.primary_region, ZONE_STACK))  # the zone is created there
    from .failover import failing_over  # failover imports this module

    pairs = failing_over(spec)
    for relative, target in records_here(spec, ctx).items():
        if relative in pairs:
            continue  # a failover pair, built by failover.py in both regions
        out.at = ("dns", "records", relative)
        title = f"Record{record_title(relative)}"
        name = fqdn(spec, relative)
        kinds = ["A"]
        if target == "cdn":
            alias = route53.AliasTarget(
                DNSName=GetAtt("Distribution", "DomainName"), HostedZoneId=CLOUDFRONT_ZONE, EvaluateTargetHealth=False
            )
            kinds.append("AAAA")  # the distribution is IPv6-enabled
        elif target.startswith(BALANCED):
            alias = route53.AliasTarget(
                DNSName=ctx.imported("app", "LoadBalancerDnsName"),
                HostedZoneId=ctx.imported("app", "LoadBalancerCanonicalHostedZoneId"),
                EvaluateTargetHealth=True,
            )
        else:
            alias = api_domain(spec, ctx, out, title, name, target)
        for kind in kinds:
            out.add(route53.RecordSetType(f"{title}{kind.capitalize()}", Name=name, Type=kind, AliasTarget=alias, **zone))
    for relative, settings in dns["health_checks"].items() if ctx.role == "primary" else ():
        out.at = ("dns", "health_checks", relative)
        check_ = out.add(
            route53.HealthCheck(
                f"HealthCheck{record_title(relative)}",
                HealthCheckConfig=route53.HealthCheckConfig(
                    Type="HTTPS",
                    FullyQualifiedDomainName=fqdn(spec, relative),
                    Port=443,
                    EnableSNI=True,
                    ResourcePath=settings["path"],
                    RequestInterval=settings["interval"],
                    FailureThreshold=settings["failure_threshold"],
                ),
                HealthCheckTags=ctx.resource_tags(ctx.name("health", relative.replace("@", "apex"))),
            )
        )
        out.export(
            ctx, STACK, f"HealthCheck{record_title(relative)}Id", Ref(check_), f"ID of the Route 53 health check of {fqdn(spec, relative)}."
        )
    return out


def api_domain(spec: Spec, ctx: Context, out: Fragment, title: str, name: str, target: str) -> route53.AliasTarget:
    """A regional custom domain for an HTTP API (`apis.<n>`, its `$default` stage) or a REST API (`rest_apis.<n>`, its
    environment's stage), and the alias to it."""
    kind, _, api = target.partition(".")
    certificate = api_certificate(spec, name)
    assert certificate is not None  # check() made sure
    domain = out.add(
        apigatewayv2.DomainName(
            f"{title}ApiDomain",
            DomainName=name,
            DomainNameConfigurations=[
                apigatewayv2.DomainNameConfiguration(
                    CertificateArn=certificate_arn(ctx, f"certificates.{certificate}"),
                    EndpointType="REGIONAL",
                    SecurityPolicy="TLS_1_2",
                )
            ],
            Tags=_tags(ctx, name),
        )
    )
    # One mapping of the whole name: an HTTP API's `$default` stage, or the REST API's stage named after the environment.
    api_id, stage = (f"RestApi{camel(api)}Id", ctx.environment) if kind == "rest_apis" else (f"Api{camel(api)}Id", "$default")
    out.add(apigatewayv2.ApiMapping(f"{title}ApiMapping", ApiId=ctx.imported("app", api_id), DomainName=Ref(domain), Stage=stage))
    return route53.AliasTarget(
        DNSName=GetAtt(domain, "RegionalDomainName"), HostedZoneId=GetAtt(domain, "RegionalHostedZoneId"), EvaluateTargetHealth=False
    )


def record_title(relative: str) -> str:
    """A record's part of logical IDs: ``@`` -> ``Apex``, ``api`` -> ``Api``, ``www.eu`` -> ``WwwEu``."""
    return "Apex" if relative == "@" else camel(relative)


def _tags(ctx: Context, name: str) -> dict[str, str]:
    """Tags as a plain map, for the resource types (API Gateway v2) that take one."""
    tags: dict[str, str] = dict(ctx.tags)
    tags.update(System=ctx.system, Environment=ctx.environment, ManagedBy="ivc", Name=name)
    return tags


def build_zone(spec: Spec, ctx: Context, out: Fragment) -> None:
    """The hosted zone, created and retained (deleting it would orphan every delegation), unless it exists."""
    dns = spec["dns"]
    if dns.get("existing"):
        return
    out.at = ("dns", "zone")
    zone = out.add(
        route53.HostedZone(
            "HostedZone",
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
            Name=dns["zone"],
            HostedZoneConfig=route53.HostedZoneConfiguration(Comment=f"{ctx.name()}: {dns['zone']}, managed by ivc"),
            HostedZoneTags=ctx.resource_tags(dns["zone"]),
        )
    )
    out.export(ctx, ZONE_STACK, "HostedZoneId", Ref(zone), f"ID of the hosted zone {dns['zone']}.")
    out.export(
        ctx,
        ZONE_STACK,
        "HostedZoneNameServers",
        Join(",", GetAtt(zone, "NameServers")),
        f"Name servers of {dns['zone']}, to delegate the domain to.",
    )


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "dns": {
        "$ref": "#/$defs/dns",
        "description": "A Route 53 hosted zone, alias records to the CDN, the load balancer and HTTP APIs, and health checks.",
    }
}
DEFS: dict[str, Any] = {
    "dns": {
        "description": "A Route 53 hosted zone and its records, named from spec objects.",
        "type": "object",
        "additionalProperties": False,
        "required": ["zone"],
        "properties": {
            "zone": {
                "description": "The zone's domain name; record and certificate names are relative to it.",
                "type": "string",
                "pattern": ZONE_PATTERN,
                "examples": ["example.com"],
            },
            "existing": {
                "description": "A hosted zone that already exists for `zone` is used, not created: its ID, or `true` to find "
                "it by name in each account it is deployed to (a zone's ID differs per account; certificates: need the ID, "
                "as CloudFormation writes their validation records into a zone by ID only). Without it the zone is created "
                "(and retained on delete) and its name servers exported for delegation.",
                "type": ["string", "boolean"],
                "pattern": ZONE_ID_PATTERN,
                "examples": ["Z0123456789ABCDEFGHIJ", True],
            },
            "records": {
                "description": "Alias records by name relative to the zone (`@` is the apex): `cdn`, `services.<n>` or `fleets.<n>` (the "
                "load balancer in front of that service), `apis.<n>` or `rest_apis.<n>` (a custom domain for that HTTP or REST "
                "API, with a certificate of `certificates:` covering the name).",
                "type": "object",
                "propertyNames": {"pattern": RECORD_PATTERN},
                "additionalProperties": {"type": "string", "pattern": TARGET_PATTERN},
                "default": {},
                "examples": [{"@": "cdn", "api": "apis.public", "origin": "services.web"}],
            },
            "health_checks": {
                "description": "Route 53 HTTPS health checks by record name.",
                "type": "object",
                "propertyNames": {"pattern": RECORD_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/dnsHealthCheck"},
                "default": {},
            },
        },
    },
    "dnsHealthCheck": {
        "description": "An HTTPS health check of one record's name, from Route 53's checkers.",
        "type": "object",
        "additionalProperties": False,
        "required": ["path"],
        "properties": {
            "path": {"description": "The path requested.", "type": "string", "pattern": "^/", "examples": ["/health"]},
            "interval": {"description": "Seconds between checks: 10 or 30.", "enum": [10, 30], "default": INTERVAL},
            "failure_threshold": {
                "description": "Consecutive failures before the name is unhealthy.",
                "type": "integer",
                "minimum": 1,
                "maximum": 10,
                "default": FAILURES,
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "dns": {"description": "Changes to dns in this environment, merged over the spec's.", "type": ["object", "null"]}
}


def needed(spec: Spec) -> bool:
    dns = spec.get("dns") or {}
    return bool(dns.get("health_checks")) or any(target != "cdn" or not cdn_apart(spec) for target in dns.get("records", {}).values())


def needed_with_cdn(spec: Spec) -> bool:
    """Whether records to the cdn are built in CloudFront's region (see records_here), by the dns-cdn section."""
    return cdn_apart(spec) and "cdn" in (spec.get("dns") or {}).get("records", {}).values()


SECTION = Section("dns", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, needed=needed, whole_spec=True)
