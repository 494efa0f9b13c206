"""AWS regions ivc targets and how many Availability Zones an account can use in each.

Counts are the zones a new account gets (us-west-1 has three, but new accounts
see two). Templates pick zones with ``Fn::GetAZs`` so they stay region-neutral;
this table only lets ``ivc validate`` refuse a zone count the region cannot give.
Below it: where a CDN is built, which CloudFront decides.
"""

from typing import Any

ZONES_PER_REGION: dict[str, int] = {
    "af-south-1": 3,
    "ap-east-1": 3,
    "ap-east-2": 3,
    "ap-northeast-1": 3,
    "ap-northeast-2": 4,
    "ap-northeast-3": 3,
    "ap-south-1": 3,
    "ap-south-2": 3,
    "ap-southeast-1": 3,
    "ap-southeast-2": 3,
    "ap-southeast-3": 3,
    "ap-southeast-4": 3,
    "ap-southeast-5": 3,
    "ap-southeast-6": 3,
    "ap-southeast-7": 3,
    "ca-central-1": 3,
    "ca-west-1": 3,
    "eu-central-1": 3,
    "eu-central-2": 3,
    "eu-north-1": 3,
    "eu-south-1": 3,
    "eu-south-2": 3,
    "eu-west-1": 3,
    "eu-west-2": 3,
    "eu-west-3": 3,
    "il-central-1": 3,
    "me-central-1": 3,
    "me-south-1": 3,
    "mx-central-1": 3,
    "sa-east-1": 3,
    "us-east-1": 6,
    "us-east-2": 3,
    "us-west-1": 2,
    "us-west-2": 4,
    "us-gov-east-1": 3,
    "us-gov-west-1": 3,
}

# CloudFront takes viewer certificates and CloudFront-scope web ACLs from this region only. A distribution that
# needs one that ivc makes (a certificate of `certificates:`, a web ACL of `firewall:`) is therefore built here, as is
# one with field-level encryption (CloudFormation has its profiles and configurations in us-east-1 only),
# with them and the records that alias it; when the primary region is another one, this region joins the
# environment with the role "edge" (keys and edge stacks only). Any other distribution stays with the primary
# region's stacks: CloudFront is global, and an ACM ARN in us-east-1 can be named from anywhere.
CLOUDFRONT_REGION = "us-east-1"
EDGE_ROLE = "edge"


def cdn_apart(spec: dict[str, Any]) -> bool:
    """Whether the spec's CDN is built in CloudFront's region, apart from the primary region's stacks."""
    cdn = spec.get("cdn")
    if not cdn or spec["regions"]["primary"] == CLOUDFRONT_REGION:
        return False
    own_certificate = str(cdn.get("certificate", "")).startswith("certificates.")
    web_acl = any("cdn" in firewall.get("attach", []) for firewall in (spec.get("firewall") or {}).values())
    # CloudFormation makes field-level encryption profiles and configurations in us-east-1 only.
    return own_certificate or web_acl or bool(cdn.get("field_encryption"))


def cdn_region(spec: dict[str, Any]) -> str:
    """Where the spec's CDN is built (see cdn_apart)."""
    return CLOUDFRONT_REGION if cdn_apart(spec) else str(spec["regions"]["primary"])
