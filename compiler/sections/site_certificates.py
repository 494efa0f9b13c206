"""The DR site's certificates: its load balancers' and standing-by APIs' `certificates.<n>`, requested again in the DR region.

ACM certificates are regional, so the DR site's load balancers need their own, under the same names. They are
requested without a zone ID (the zone's ID is exported in the primary region only): ACM validates a domain of one
account by the same CNAME record in every region, and the primary's certificate of the same names has written it
(see certificates.py). So this `dns` stack of the DR region follows the primary's.
"""

from __future__ import annotations

from ..context import Context, Fragment, camel
from . import balancers, dns
from .base import SECONDARY, Section, Spec
from .certificates import twin_certificate
from .dns import ZONE_STACK
from .load_balancer import CERTIFICATE_PREFIX
from .site import site_spec

STACK = ZONE_STACK


def wanted(spec: Spec) -> list[str]:
    """The `certificates.<n>` names the DR site's load balancers serve."""
    site = site_spec(spec)
    if site is None:
        return []
    found = {str(b.certificate) for b in balancers.balancers(site) if str(b.certificate).startswith(CERTIFICATE_PREFIX)}
    names = {reference[len(CERTIFICATE_PREFIX) :] for reference in found}
    # The custom domains of the REST APIs standing by, behind their failover records.
    for relative, target in (spec.get("dns") or {}).get("records", {}).items():
        if str(target).startswith("rest_apis.") and str(target).split(".", 1)[1] in site["rest_apis"]:
            certificate = dns.api_certificate(spec, dns.fqdn(spec, relative))
            if certificate:
                names.add(certificate)
    return sorted(names)


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    out.after.add((ctx.primary_region, ZONE_STACK))  # the validation records are written there
    for name in wanted(spec):
        out.at = ("certificates", name)
        certificate = out.add(twin_certificate(ctx, name))
        out.export(ctx, STACK, f"Certificate{camel(name)}Arn", certificate.ref(), f"ARN of certificate {name} in this DR region.")
    return out


# Derived from recovery.standby and the load balancer: no key of its own in the spec.
SECTION = Section("site-certificates", build=build, stack=STACK, needed=lambda spec: bool(wanted(spec)), whole_spec=True, regions=SECONDARY)
