"""Certificates: ACM certificates validated by DNS in the spec's zone, and the `dns` stack they live in.

The `dns` stack comes first among the stacks that serve traffic: the load balancer (`load_balancer.certificate:
certificates.<n>`), the CDN (`cdn.certificate: certificates.<n>`) and the APIs' custom domains import
`Certificate<Name>Arn` from it. It holds the hosted zone too (see `dns.py` for why the records are in `edge`),
because certificates are validated by records CloudFormation writes into that zone (DomainValidationOptions
with the zone's ID), so a stack deploy waits until each certificate is issued.

Names are relative to `dns.zone` (`@` the apex, `*` the zone's wildcard). The stack is in the primary region,
where the load balancer and APIs are. CloudFront takes certificates from us-east-1 only: when the primary region
is another one, the CDN's certificate is requested a second time in the edge stack there
(``twin_certificate``), without a zone ID, which CloudFormation cannot import across regions. It needs none:
ACM validates a domain of one account by the same CNAME record in every region, and the primary region's
certificate of the same names has written those records into the zone. So the edge stack follows the dns stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import Ref, certificatemanager

from ..context import Context, Fragment, camel
from .base import Problem, Section, Spec
from .dns import ZONE_STACK, build_zone, fqdn, zone_id

STACK = ZONE_STACK
DOMAIN_PATTERN = "^(@|\\*|(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$"
REFERENCE_PATTERN = "^certificates\\.[a-z][a-z0-9-]*$"


def check(spec: Spec) -> Iterator[Problem]:
    certificates = spec.get("certificates", {})
    if certificates and "dns" not in spec:
        yield ("certificates",), "certificates are validated in the spec's hosted zone: add dns: {zone: <domain>}"
        return
    if certificates and spec["dns"].get("existing") is True:
        yield (
            ("dns", "existing"),
            "certificates: are validated by records CloudFormation writes into the zone, which it finds by ID only: give "
            "dns.existing the zone's ID (Z...) rather than true, or use certificate ARNs",
        )
    seen: dict[frozenset[str], str] = {}
    for name, settings in certificates.items():
        names = frozenset(settings["domains"])
        if names in seen:
            yield (
                ("certificates", name, "domains"),
                f"certificates.{name} covers the same names as certificates.{seen[names]}; use that one",
            )
        else:
            seen[names] = name


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    if "dns" in spec:
        build_zone(spec, ctx, out)
    for name, settings in spec.get("certificates", {}).items():
        out.at = ("certificates", name)
        names = [fqdn(spec, d) for d in settings["domains"]]
        zone = zone_id(ctx, STACK)
        properties: dict[str, Any] = {}
        if names[1:]:
            properties["SubjectAlternativeNames"] = names[1:]
        certificate = out.add(
            certificatemanager.Certificate(
                f"Certificate{camel(name)}",
                DomainName=names[0],
                ValidationMethod="DNS",
                DomainValidationOptions=[certificatemanager.DomainValidationOption(DomainName=n, HostedZoneId=zone) for n in names],
                Tags=ctx.resource_tags(ctx.name(name)),
                **properties,
            )
        )
        out.export(ctx, STACK, f"Certificate{camel(name)}Arn", Ref(certificate), f"ARN of certificate {name} ({', '.join(names)}).")
    return out


def twin_certificate(ctx: Context, name: str) -> certificatemanager.Certificate:
    """certificates.<name> again, in another region (CloudFront's, a DR site's): validated by the records the primary's twin wrote."""
    names = [fqdn(ctx.spec, d) for d in ctx.spec["certificates"][name]["domains"]]
    properties: dict[str, Any] = {"SubjectAlternativeNames": names[1:]} if names[1:] else {}
    return certificatemanager.Certificate(
        f"Certificate{camel(name)}",
        DomainName=names[0],
        ValidationMethod="DNS",
        Tags=ctx.resource_tags(ctx.name(name)),
        **properties,
    )


def needed(spec: Spec) -> bool:
    return bool(spec.get("certificates")) or ("dns" in spec and not spec["dns"].get("existing"))


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "certificates": {
        "description": "ACM certificates for names of dns.zone, validated by DNS in the zone. Use them as "
        "`certificates.<name>` in load_balancer.certificate, cdn.certificate, and for API records.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/certificate"},
        "default": {},
        "examples": [{"site": {"domains": ["@", "www", "api"]}}],
    }
}
DEFS: dict[str, Any] = {
    "certificate": {
        "description": "One ACM certificate.",
        "type": "object",
        "additionalProperties": False,
        "required": ["domains"],
        "properties": {
            "domains": {
                "description": "Names relative to dns.zone: `@` the apex, `www`, `*` (any one label). The first is the "
                "certificate's domain name, the others its alternative names.",
                "type": "array",
                "items": {"type": "string", "pattern": DOMAIN_PATTERN},
                "minItems": 1,
                "maxItems": 10,
                "uniqueItems": True,
                "examples": [["@", "www", "api"]],
            }
        },
    }
}
OVERLAY: dict[str, Any] = {
    "certificates": {"description": "Changes to certificates in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("certificates", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, needed=needed, whole_spec=True)
