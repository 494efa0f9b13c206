"""CDN: a CloudFront distribution over buckets (through Origin Access Control) and the load balancer.

Every behavior gets its own cache policy from its TTL and what it forwards. A
TTL of 0 keeps nothing cached (at most one second, and only when the origin
asks) while still forwarding headers such as Authorization, which CloudFront
only forwards through a cache policy. The buckets the CDN serves get their
bucket policy here: TLS only, and reads only by this distribution.
"""

from __future__ import annotations

import re
from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, cloudfront, s3

from .buckets import tls_only
from .context import Context, Fragment, camel

STACK = "edge"
PRICE_CLASSES = {100: "PriceClass_100", 200: "PriceClass_200", "all": "PriceClass_All"}
YEAR = 31536000
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


def _origin_id(origin: str) -> str:
    kind, name = origin.split(".", 1)
    return f"bucket-{name}" if kind == "buckets" else "load-balancer"


def build(cdn: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    behaviors = [("default", cdn["default"])] + list(cdn["paths"].items())
    bucket_names = sorted({b["origin"].split(".", 1)[1] for _, b in behaviors if b["origin"].startswith("buckets.")})
    origins = []
    if bucket_names:
        oac = out.add(
            cloudfront.OriginAccessControl(
                "OriginAccessControl",
                OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                    Name=ctx.name("cdn"),
                    Description=f"{ctx.name()}: CloudFront signs its requests to the buckets it serves",
                    OriginAccessControlOriginType="s3",
                    SigningBehavior="always",
                    SigningProtocol="sigv4",
                ),
            )
        )
        for name in bucket_names:
            origins.append(
                cloudfront.Origin(
                    Id=f"bucket-{name}",
                    DomainName=ctx.imported("data", f"Bucket{camel(name)}DomainName"),
                    S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                    OriginAccessControlId=GetAtt(oac, "Id"),
                )
            )
    if any(b["origin"].startswith("services.") for _, b in behaviors):
        https = "certificate" in spec["load_balancer"]
        origins.append(
            cloudfront.Origin(
                Id="load-balancer",
                DomainName=ctx.imported("app", "LoadBalancerDnsName"),
                CustomOriginConfig=cloudfront.CustomOriginConfig(
                    OriginProtocolPolicy="https-only" if https else "http-only",
                    HTTPPort=80,
                    HTTPSPort=443,
                    OriginSSLProtocols=["TLSv1.2"],
                    OriginReadTimeout=30,
                    OriginKeepaliveTimeout=5,
                ),
            )
        )
    cache_behaviors = []
    default_behavior = None
    for path, behavior in behaviors:
        policy = out.add(_cache_policy(path, behavior, ctx))
        fields: dict[str, Any] = {
            "TargetOriginId": _origin_id(behavior["origin"]),
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "CachePolicyId": Ref(policy),
            "AllowedMethods": READ_METHODS if behavior["origin"].startswith("buckets.") else ALL_METHODS,
            "CachedMethods": ["GET", "HEAD"],
        }
        if path == "default":
            default_behavior = cloudfront.DefaultCacheBehavior(**fields)
        else:
            cache_behaviors.append(cloudfront.CacheBehavior(PathPattern=path, **fields))
    config: dict[str, Any] = {
        "Enabled": True,
        "Comment": ctx.name("cdn"),
        "PriceClass": PRICE_CLASSES[cdn["price_class"]],
        "HttpVersion": "http2and3",
        "IPV6Enabled": True,
        "Origins": origins,
        "DefaultCacheBehavior": default_behavior,
    }
    if cache_behaviors:
        config["CacheBehaviors"] = cache_behaviors
    if "certificate" in cdn:
        config["Aliases"] = cdn["aliases"]
        config["ViewerCertificate"] = cloudfront.ViewerCertificate(
            AcmCertificateArn=cdn["certificate"], SslSupportMethod="sni-only", MinimumProtocolVersion="TLSv1.2_2021"
        )
    else:
        config["ViewerCertificate"] = cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True)
    distribution = out.add(
        cloudfront.Distribution(
            "Distribution", DistributionConfig=cloudfront.DistributionConfig(**config), Tags=ctx.resource_tags(ctx.name("cdn"))
        )
    )
    for name in bucket_names:
        arn = ctx.imported("data", f"Bucket{camel(name)}Arn")
        read = Statement(
            Sid="CloudFrontReadsThroughOriginAccessControl",
            Effect=Allow,
            Principal=Principal("Service", "cloudfront.amazonaws.com"),
            Action=[s3_actions.GetObject],
            Resource=[Join("", [arn, "/*"])],
            Condition=Condition(
                StringEquals({"AWS:SourceArn": Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}")})
            ),
        )
        out.add(
            s3.BucketPolicy(
                f"Bucket{camel(name)}Policy",
                Bucket=ctx.imported("data", f"Bucket{camel(name)}Name"),
                PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only(arn), read]),
            )
        )
    out.export(ctx, STACK, "DistributionId", Ref(distribution), "ID of the CloudFront distribution.")
    out.export(ctx, STACK, "DistributionDomainName", GetAtt(distribution, "DomainName"), "Domain name of the CloudFront distribution.")
    return out


def _cache_policy(path: str, behavior: dict[str, Any], ctx: Context) -> cloudfront.CachePolicy:
    ttl = behavior["ttl"]
    headers = sorted(behavior["headers"])
    key = cloudfront.ParametersInCacheKeyAndForwardedToOrigin(
        EnableAcceptEncodingGzip=True,
        EnableAcceptEncodingBrotli=True,
        HeadersConfig=cloudfront.CacheHeadersConfig(HeaderBehavior="whitelist", Headers=headers)
        if headers
        else cloudfront.CacheHeadersConfig(HeaderBehavior="none"),
        CookiesConfig=cloudfront.CacheCookiesConfig(CookieBehavior="all" if behavior["cookies"] else "none"),
        QueryStringsConfig=cloudfront.CacheQueryStringsConfig(QueryStringBehavior="all" if behavior["query_strings"] else "none"),
    )
    slug = _slug(path)
    return cloudfront.CachePolicy(
        f"CachePolicy{camel(slug)}",
        CachePolicyConfig=cloudfront.CachePolicyConfig(
            Name=ctx.name("cdn", slug),
            Comment=f"{path}: {'no caching' if ttl == 0 else f'cached {ttl} s by default'}",
            MinTTL=0,
            DefaultTTL=ttl,
            MaxTTL=1 if ttl == 0 else max(ttl, YEAR),
            ParametersInCacheKeyAndForwardedToOrigin=key,
        ),
    )
