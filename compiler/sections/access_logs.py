"""Access logs: the environment's log bucket and who may deliver to it.

S3 server access logs of every bucket, the load balancer's access logs and CloudFront's standard logs
all land in one bucket per environment and region, under a prefix each, kept ``logs.access_logs`` days.
Its encryption is S3-managed: load balancers and S3 server access logging can deliver only to such a
bucket. The load balancer and the CDN find it through this stack's exports, so they deploy after it.
"""

from __future__ import annotations

from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, cloudfront, s3
from troposphere import elasticloadbalancingv2 as elb

from .. import relations
from ..context import Context, Fragment
from .base import SITES, Section, Spec
from .site import site_spec

STACK = "data"
LOGS_BUCKET = "AccessLogsBucket"
LOGS_NAME = "access-logs"  # the bucket's name part (see buckets.bucket_name)
LOAD_BALANCER_PREFIX = "load-balancer"
CDN_PREFIX = "cdn/"

# Elastic Load Balancing delivers access logs from one account per region for regions opened before
# August 2022 (AWS documents these in "Enable access logs for your Application Load Balancer"); regions
# opened since then deliver as the logdelivery.elasticloadbalancing.amazonaws.com service principal.
# No library we use ships this list.
ELB_LOG_ACCOUNTS = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
}


def has_load_balancer(spec: Spec) -> bool:
    return bool(relations.balanced(spec))


def needed(spec: Spec) -> bool:
    """Whenever something logs to it: buckets (server access logs), the load balancer, the CDN; in the DR region,
    replica buckets and the DR site's own buckets and load balancer."""
    return bool(spec.get("buckets")) or has_load_balancer(spec) or bool(spec.get("cdn"))


def _dr_loggers(spec: Spec) -> tuple[bool, bool]:
    """(whether buckets in the DR region log here, whether its load balancer does)."""
    from .bucket_replicas import replicated

    site = site_spec(spec)
    return bool(replicated(spec)) or bool(site and site["buckets"]), bool(site and has_load_balancer(site))


def load_balancer_attributes(ctx: Context) -> list[elb.LoadBalancerAttributes]:
    """The load balancer's access logs, to this environment's log bucket (imported: the data stack deploys first)."""
    return [
        elb.LoadBalancerAttributes(Key="access_logs.s3.enabled", Value="true"),
        elb.LoadBalancerAttributes(Key="access_logs.s3.bucket", Value=ctx.imported(STACK, "AccessLogsBucketName")),
        elb.LoadBalancerAttributes(Key="access_logs.s3.prefix", Value=LOAD_BALANCER_PREFIX),
    ]


def cdn_logging(ctx: Context) -> cloudfront.Logging:
    """CloudFront's standard logs, without cookies (they may carry sessions), to this environment's log bucket.

    The bucket is in the primary region; from CloudFront's region (see regions.cdn_apart) its name is computed.
    """
    if ctx.region == ctx.primary_region:
        bucket: Any = ctx.imported(STACK, "AccessLogsBucketDomainName")
    else:
        bucket = Sub(f"{ctx.name(LOGS_NAME)}-${{AWS::AccountId}}-{ctx.primary_region}.s3.amazonaws.com")
    return cloudfront.Logging(Bucket=bucket, Prefix=CDN_PREFIX, IncludeCookies=False)


def _load_balancer_delivery(ctx: Context, bucket: Any) -> Statement:
    account = ELB_LOG_ACCOUNTS.get(ctx.region)
    principal = (
        Principal("AWS", Sub(f"arn:${{AWS::Partition}}:iam::{account}:root"))
        if account
        else Principal("Service", "logdelivery.elasticloadbalancing.amazonaws.com")
    )
    return Statement(
        Sid="LoadBalancerAccessLogsDelivery",
        Effect=Allow,
        Principal=principal,
        Action=[s3_actions.PutObject],
        Resource=[Join("", [GetAtt(bucket, "Arn"), f"/{LOAD_BALANCER_PREFIX}/AWSLogs/", Ref("AWS::AccountId"), "/*"])],
    )


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    if ctx.role == "secondary":
        buckets, load_balancer = _dr_loggers(spec)
        if buckets or load_balancer:  # server access logs stay in their bucket's region
            out.at = ("buckets",) if buckets else ("recovery", "standby")
            add_log_bucket(ctx, out, spec["logs"]["access_logs"], cdn_logs=False, load_balancer=load_balancer)
        return out
    add_log_bucket(ctx, out, spec["logs"]["access_logs"], cdn_logs=bool(spec.get("cdn")), load_balancer=has_load_balancer(spec))
    return out


def add_log_bucket(ctx: Context, out: Fragment, days: int, cdn_logs: bool, load_balancer: bool) -> None:
    """The access-logs bucket of this region, its policy and its exports, into ``out``: the primary region's, or a DR
    region's when replica buckets there log to it (server access logs stay in their bucket's region)."""
    from .buckets import log_bucket, tls_only  # buckets log here, so buckets imports this module

    # CloudFront's standard logs are written through an ACL grant, which BucketOwnerEnforced refuses;
    # BucketOwnerPreferred still makes the bucket owner own every delivered object.
    ownership = "BucketOwnerPreferred" if cdn_logs else "BucketOwnerEnforced"
    bucket = out.add(log_bucket(LOGS_BUCKET, LOGS_NAME, ctx, days, "expire-access-logs", ownership))
    statements = [
        Statement(
            Sid="S3ServerAccessLogsDelivery",
            Effect=Allow,
            Principal=Principal("Service", "logging.s3.amazonaws.com"),
            Action=[s3_actions.PutObject],
            Resource=[Join("", [GetAtt(bucket, "Arn"), "/*"])],
            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
        ),
    ]
    if load_balancer:
        statements.append(_load_balancer_delivery(ctx, bucket))
    statements.append(tls_only(GetAtt(bucket, "Arn")))
    out.add(
        s3.BucketPolicy(
            f"{LOGS_BUCKET}Policy", Bucket=Ref(bucket), PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements)
        )
    )
    out.export(ctx, STACK, "AccessLogsBucketName", Ref(bucket), "Where the load balancer and the CDN deliver access logs")
    if cdn_logs:
        out.export(
            ctx, STACK, "AccessLogsBucketDomainName", GetAtt(bucket, "DomainName"), "The log bucket as CloudFront's standard logs name it"
        )


SECTION = Section("access-logs", build=build, stack=STACK, needed=needed, whole_spec=True, regions=SITES)
