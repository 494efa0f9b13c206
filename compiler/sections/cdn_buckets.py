"""CDN, bucket side: the policies of the buckets a distribution in another region serves.

A bucket policy must be written in the bucket's region, and a distribution whose primary region is not
us-east-1 is built there (see regions.cdn_apart). Its ID is generated, and exports do not cross regions, so
these policies in the primary region's edge stack cannot name it: they admit CloudFront reading on behalf of a
distribution of this account (``AWS:SourceAccount`` and an ``AWS:SourceArn`` of the account's distributions),
and only through Origin Access Control. Any distribution of the account could read the bucket; making one takes
cloudfront:CreateDistribution in this account. With the primary region in us-east-1 the cdn section writes these
policies itself, for its one distribution.
"""

from __future__ import annotations

from typing import Any

from awacs.aws import ArnLike, StringEquals
from troposphere import Ref, Sub

from ..context import Context, Fragment
from ..regions import cdn_apart
from .base import Section, Spec
from .cdn import STACK, bucket_policies, served_buckets


def account_distributions() -> list[Any]:
    """The condition of a bucket policy written where the distribution's ID cannot be named: CloudFront reading on
    behalf of any distribution of this account. Also the DR replicas' (see bucket_replicas), whose region never has
    the distribution."""
    return [
        StringEquals({"AWS:SourceAccount": Ref("AWS::AccountId")}),
        ArnLike({"AWS:SourceArn": Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*")}),
    ]


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    out.at = ("cdn",)
    for policy in bucket_policies(ctx, account_distributions()):
        out.add(policy)
    return out


def needed(spec: Spec) -> bool:
    return cdn_apart(spec) and bool(served_buckets(spec["cdn"]))


SECTION = Section("cdn-buckets", build=build, stack=STACK, needed=needed, whole_spec=True)
