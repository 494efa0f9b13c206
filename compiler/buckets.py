"""Buckets: S3, encrypted, private, TLS-only, access-logged and retained."""

from __future__ import annotations

from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, s3

from . import relations
from .context import Context, Fragment, camel
from .secrets import key_arn

STACK = "data"
LOGS_BUCKET = "AccessLogsBucket"
ACCESS_LOG_DAYS = 365
TRANSITIONS = (
    ("infrequent", "STANDARD_IA"),
    ("intelligent", "INTELLIGENT_TIERING"),
    ("glacier", "GLACIER"),
    ("deep_archive", "DEEP_ARCHIVE"),
)


def bucket_name(ctx: Context, name: str) -> Sub:
    """Globally unique and predictable: system, environment, name, account, region."""
    return Sub(f"{ctx.name(name)}-${{AWS::AccountId}}-${{AWS::Region}}")


def tls_only(arn: Any) -> Statement:
    """Refuse any request to the bucket (``arn``) or its objects that does not use TLS."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=[s3_actions.Action("*")],
        Resource=[arn, Join("", [arn, "/*"])],
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def _private() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
    )


def _owner_enforced() -> s3.OwnershipControls:
    return s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership="BucketOwnerEnforced")])


def build(buckets: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    logs_bucket = out.add(
        s3.Bucket(
            LOGS_BUCKET,
            BucketName=bucket_name(ctx, "access-logs"),
            # Server access logs can only be delivered to a bucket encrypted with S3-managed keys.
            BucketEncryption=s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256"))
                ]
            ),
            PublicAccessBlockConfiguration=_private(),
            OwnershipControls=_owner_enforced(),
            LifecycleConfiguration=s3.LifecycleConfiguration(
                Rules=[
                    s3.LifecycleRule(
                        Id="expire-access-logs",
                        Status="Enabled",
                        ExpirationInDays=ACCESS_LOG_DAYS,
                        AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
                    )
                ]
            ),
            Tags=ctx.resource_tags(ctx.name("access-logs")),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    out.add(
        s3.BucketPolicy(
            f"{LOGS_BUCKET}Policy",
            Bucket=Ref(logs_bucket),
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="S3ServerAccessLogsDelivery",
                        Effect=Allow,
                        Principal=Principal("Service", "logging.s3.amazonaws.com"),
                        Action=[s3_actions.PutObject],
                        Resource=[Join("", [GetAtt(logs_bucket, "Arn"), "/*"])],
                        Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
                    ),
                    tls_only(GetAtt(logs_bucket, "Arn")),
                ],
            ),
        )
    )
    served_by_cdn = relations.cdn_buckets(ctx.spec)
    for name, settings in sorted(buckets.items()):
        title = f"Bucket{camel(name)}"
        if settings["encryption"] == "kms":
            default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=key_arn(ctx, True))
        else:
            default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
        properties: dict[str, Any] = {
            "BucketName": bucket_name(ctx, name),
            "BucketEncryption": s3.BucketEncryption(
                ServerSideEncryptionConfiguration=[
                    s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default, BucketKeyEnabled=settings["encryption"] == "kms")
                ]
            ),
            "PublicAccessBlockConfiguration": _private(),
            "OwnershipControls": _owner_enforced(),
            "LoggingConfiguration": s3.LoggingConfiguration(DestinationBucketName=Ref(logs_bucket), LogFilePrefix=f"{name}/"),
            "LifecycleConfiguration": s3.LifecycleConfiguration(Rules=lifecycle_rules(settings["lifecycle"])),
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if settings["versioning"]:
            properties["VersioningConfiguration"] = s3.VersioningConfiguration(Status="Enabled")
        if "cors" in settings:
            cors = settings["cors"]
            properties["CorsConfiguration"] = s3.CorsConfiguration(
                CorsRules=[
                    s3.CorsRules(
                        AllowedOrigins=cors["origins"],
                        AllowedMethods=cors["methods"],
                        AllowedHeaders=cors["headers"],
                        MaxAge=cors["max_age"],
                    )
                ]
            )
        bucket = out.add(s3.Bucket(title, DeletionPolicy="Retain", UpdateReplacePolicy="Retain", **properties))
        if name not in served_by_cdn:  # the CDN's stack writes those buckets' policy, with its own read grant
            out.add(
                s3.BucketPolicy(
                    f"{title}Policy",
                    Bucket=Ref(bucket),
                    PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only(GetAtt(bucket, "Arn"))]),
                )
            )
        out.export(ctx, STACK, f"{title}Name", Ref(bucket), f"Name of bucket {name}.")
        out.export(ctx, STACK, f"{title}Arn", GetAtt(bucket, "Arn"), f"ARN of bucket {name}.")
        out.export(ctx, STACK, f"{title}DomainName", GetAtt(bucket, "RegionalDomainName"), f"Regional domain name of bucket {name}.")
    return out


def lifecycle_rules(lifecycle: dict[str, Any]) -> list[s3.LifecycleRule]:
    """One rule for current objects, one for noncurrent versions, one for abandoned multipart uploads."""
    rules = [
        s3.LifecycleRule(
            Id="abort-incomplete-uploads",
            Status="Enabled",
            AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=lifecycle["abort_incomplete_uploads"]),
        )
    ]
    transitions = [
        s3.LifecycleRuleTransition(StorageClass=cls, TransitionInDays=lifecycle[key]) for key, cls in TRANSITIONS if key in lifecycle
    ]
    if transitions or "expire" in lifecycle:
        current: dict[str, Any] = {"Id": "current-objects", "Status": "Enabled"}
        if transitions:
            current["Transitions"] = transitions
        if "expire" in lifecycle:
            current["ExpirationInDays"] = lifecycle["expire"]
        rules.append(s3.LifecycleRule(**current))
    if "noncurrent_glacier" in lifecycle or "noncurrent_expire" in lifecycle:
        noncurrent: dict[str, Any] = {"Id": "noncurrent-versions", "Status": "Enabled"}
        if "noncurrent_glacier" in lifecycle:
            noncurrent["NoncurrentVersionTransitions"] = [
                s3.NoncurrentVersionTransition(StorageClass="GLACIER", TransitionInDays=lifecycle["noncurrent_glacier"])
            ]
        if "noncurrent_expire" in lifecycle:
            noncurrent["NoncurrentVersionExpiration"] = s3.NoncurrentVersionExpiration(NoncurrentDays=lifecycle["noncurrent_expire"])
        rules.append(s3.LifecycleRule(**noncurrent))
    return rules
