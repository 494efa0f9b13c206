"""Buckets: S3, encrypted, private, TLS-only, access-logged and retained."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import kms as kms_actions
from awacs import s3 as s3_actions
from awacs.aws import Allow, PolicyDocument, Statement
from troposphere import GetAtt, Join, Ref, Sub, s3

from ..context import Context, Fragment, camel
from . import bucket_replicas
from .access_logs import LOGS_BUCKET
from .base import Connection, Problem, Section, Spec, Use, UseTarget, deny_insecure_transport, env_name
from .secrets import key_arn

STACK = "data"
TRANSITIONS = (
    ("infrequent", "STANDARD_IA"),
    ("intelligent", "INTELLIGENT_TIERING"),
    ("glacier", "GLACIER"),
    ("deep_archive", "DEEP_ARCHIVE"),
)


def cdn_buckets(spec: Spec) -> list[str]:
    """Buckets the CDN serves: their bucket policy lives with the distribution."""
    cdn = spec.get("cdn")
    if not cdn:
        return []
    origins = [cdn["default"]["origin"]] + [b["origin"] for b in cdn["paths"].values()]
    return sorted({o.split(".", 1)[1] for o in origins if o.startswith("buckets.")})


def triggering_buckets(spec: Spec) -> set[str]:
    """Buckets whose object events trigger a function (`on: [{bucket: buckets.<name>}]`)."""
    return {
        trigger["bucket"].split(".", 1)[1]
        for function in spec.get("functions", {}).values()
        for trigger in function.get("on", [])
        if isinstance(trigger, dict) and "bucket" in trigger
    }


def connect(ctx: Context, use: Use) -> Connection:
    """The bucket's name as a setting."""
    return Connection(variables={env_name("bucket", use.name): ctx.imported(STACK, f"Bucket{camel(use.name)}Name")})


def statements(ctx: Context, use: Use) -> list[Statement]:
    """Object access in the use's mode, listing when it reads, and the key when the bucket is KMS-encrypted."""
    arn = ctx.imported(STACK, f"Bucket{camel(use.name)}Arn")
    objects = Join("", [arn, "/*"])
    actions = ([s3_actions.GetObject] if use.reads else []) + (
        [s3_actions.PutObject, s3_actions.DeleteObject, s3_actions.AbortMultipartUpload] if use.writes else []
    )
    granted = [Statement(Sid=f"{camel(use.access)}Bucket{camel(use.name)}Objects", Effect=Allow, Action=actions, Resource=[objects])]
    if use.reads:
        granted.append(Statement(Sid=f"ListBucket{camel(use.name)}", Effect=Allow, Action=[s3_actions.ListBucket], Resource=[arn]))
    if ctx.spec["buckets"][use.name]["encryption"] == "kms":
        granted.append(
            Statement(
                Sid=f"KeyForBucket{camel(use.name)}",
                Effect=Allow,
                Resource=[key_arn(ctx, False)],
                Action=[kms_actions.Decrypt] + ([kms_actions.GenerateDataKey] if use.writes else []),
            )
        )
    return granted


def bucket_name(ctx: Context, name: str) -> Sub:
    """Globally unique and predictable: system, environment, name, account, region."""
    return Sub(f"{ctx.name(name)}-${{AWS::AccountId}}-${{AWS::Region}}")


def regional_domain_name(ctx: Context, name: str) -> Sub:
    """A primary-region bucket's regional domain name, computed, as a stack in another region needs it."""
    region = ctx.primary_region
    return Sub(f"{ctx.name(name)}-${{AWS::AccountId}}-{region}.s3.{region}.amazonaws.com")


def tls_only(arn: Any) -> Statement:
    """Refuse any request to the bucket (``arn``) or its objects that does not use TLS."""
    return deny_insecure_transport([s3_actions.Action("*")], [arn, Join("", [arn, "/*"])])


def private() -> s3.PublicAccessBlockConfiguration:
    return s3.PublicAccessBlockConfiguration(
        BlockPublicAcls=True, BlockPublicPolicy=True, IgnorePublicAcls=True, RestrictPublicBuckets=True
    )


def owner_enforced(ownership: str = "BucketOwnerEnforced") -> s3.OwnershipControls:
    return s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership=ownership)])


def encryption(kind: str, key: Any = None, says_bucket_key: bool = True) -> s3.BucketEncryption:
    """S3-managed AES-256 (``aes256``), or ``key`` with a bucket key (``kms``); log buckets leave the bucket key unsaid."""
    if kind == "kms":
        default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="aws:kms", KMSMasterKeyID=key)
    else:
        default = s3.ServerSideEncryptionByDefault(SSEAlgorithm="AES256")
    rule: dict[str, Any] = {"BucketKeyEnabled": kind == "kms"} if says_bucket_key else {}
    return s3.BucketEncryption(
        ServerSideEncryptionConfiguration=[s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=default, **rule)]
    )


def log_bucket(
    title: str, name: str, ctx: Context, days: int, rule: str, ownership: str = "BucketOwnerEnforced", **properties: Any
) -> s3.Bucket:
    """A bucket of logs: S3-encrypted, private, versioned, every version gone after ``days``, retained."""
    return s3.Bucket(
        title,
        BucketName=bucket_name(ctx, name),
        BucketEncryption=encryption("aes256", says_bucket_key=False),
        PublicAccessBlockConfiguration=private(),
        OwnershipControls=owner_enforced(ownership),
        # Versioned so a deleted or overwritten log survives; old versions go when the logs themselves would.
        VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
        LifecycleConfiguration=s3.LifecycleConfiguration(
            Rules=[
                s3.LifecycleRule(
                    Id=rule,
                    Status="Enabled",
                    ExpirationInDays=days,
                    NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays=days),
                    AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation=7),
                )
            ]
        ),
        Tags=ctx.resource_tags(ctx.name(name)),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        **properties,
    )


def build(buckets: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    served_by_cdn = cdn_buckets(ctx.spec)
    triggered = triggering_buckets(ctx.spec)
    for name, settings in sorted(buckets.items()):
        if ctx.role == "secondary" and "replicate" in settings:
            continue  # the DR site uses the bucket's replica there (bucket_replicas.py), under the bucket's outputs
        out.at = ("buckets", name)
        title = f"Bucket{camel(name)}"
        properties: dict[str, Any] = {
            "BucketName": bucket_name(ctx, name),
            "BucketEncryption": encryption(settings["encryption"], key_arn(ctx, True)),
            "PublicAccessBlockConfiguration": private(),
            "OwnershipControls": owner_enforced(),
            "LoggingConfiguration": s3.LoggingConfiguration(DestinationBucketName=Ref(LOGS_BUCKET), LogFilePrefix=f"{name}/"),
            "LifecycleConfiguration": s3.LifecycleConfiguration(Rules=lifecycle_rules(settings["lifecycle"])),
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if name in triggered:
            # Functions hear of object events through EventBridge, so this stack never refers to the app stack.
            properties["NotificationConfiguration"] = s3.NotificationConfiguration(
                EventBridgeConfiguration=s3.EventBridgeConfiguration(EventBridgeEnabled=True)
            )
        if settings["versioning"]:
            properties["VersioningConfiguration"] = s3.VersioningConfiguration(Status="Enabled")
        if name in bucket_replicas.replicated(ctx.spec):
            out.at = ("buckets", name, "replicate")
            properties["ReplicationConfiguration"] = bucket_replicas.configuration(ctx, name, settings)
            out.at = ("buckets", name)
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


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "buckets": {
        "description": "S3 buckets: encrypted, versioned where asked, all public access blocked, TLS only, access-logged, retained on "
        "delete.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/bucket"},
        "default": {},
        "examples": [{"media": {"versioning": True, "lifecycle": {"glacier": 90}}}],
    }
}
DEFS: dict[str, Any] = {
    "bucket": {
        "description": "An S3 bucket.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "versioning": {"description": "Keep every version of every object.", "type": "boolean", "default": False},
            "encryption": {
                "description": "Server-side encryption: S3-managed AES-256, or the environment's KMS key.",
                "enum": ["aes256", "kms"],
                "default": "aes256",
            },
            "lifecycle": {
                "description": "When objects move to cheaper storage or expire, in days after creation "
                "(noncurrent_* after becoming noncurrent).",
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "infrequent": {"description": "Days until STANDARD_IA.", "type": "integer", "minimum": 30},
                    "intelligent": {"description": "Days until INTELLIGENT_TIERING.", "type": "integer", "minimum": 0},
                    "glacier": {"description": "Days until GLACIER (Flexible Retrieval).", "type": "integer", "minimum": 1},
                    "deep_archive": {"description": "Days until DEEP_ARCHIVE.", "type": "integer", "minimum": 1},
                    "expire": {"description": "Days until current objects are deleted.", "type": "integer", "minimum": 1},
                    "noncurrent_glacier": {
                        "description": "Days until noncurrent versions move to GLACIER.",
                        "type": "integer",
                        "minimum": 1,
                    },
                    "noncurrent_expire": {"description": "Days until noncurrent versions are deleted.", "type": "integer", "minimum": 1},
                    "abort_incomplete_uploads": {
                        "description": "Days until incomplete multipart uploads are aborted.",
                        "type": "integer",
                        "minimum": 1,
                        "default": 7,
                    },
                },
            },
            "replicate": {
                "description": "A critical bucket: replicated to a bucket of the same purpose in regions.secondary (versioned "
                "here and there, the same encryption, retained), deletions as delete markers. Needs versioning and a "
                "secondary region.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "time_control": {
                        "description": "S3 Replication Time Control: 99.99% of objects replicated within 15 minutes, with "
                        "replication metrics (charged per GB). What an RPO of minutes needs.",
                        "type": "boolean",
                        "default": False,
                    },
                },
                "examples": [{"time_control": True}],
            },
            "cors": {
                "description": "Cross-origin access, for browsers uploading or reading directly.",
                "type": "object",
                "additionalProperties": False,
                "required": ["origins"],
                "properties": {
                    "origins": {
                        "description": "Allowed origins.",
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "examples": [["https://app.example.com"]],
                    },
                    "methods": {
                        "description": "Allowed methods.",
                        "type": "array",
                        "items": {"enum": ["GET", "PUT", "POST", "DELETE", "HEAD"]},
                        "uniqueItems": True,
                        "default": ["GET", "PUT"],
                    },
                    "headers": {"description": "Allowed request headers.", "type": "array", "items": {"type": "string"}, "default": ["*"]},
                    "max_age": {
                        "description": "Seconds browsers may cache the preflight answer.",
                        "type": "integer",
                        "minimum": 0,
                        "default": 3000,
                    },
                },
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "buckets": {"description": "Changes to buckets in this environment, merged over the spec's.", "type": ["object", "null"]}
}


def check(spec: Spec) -> Iterator[Problem]:
    for name, bucket in spec.get("buckets", {}).items():
        if "replicate" not in bucket:
            continue
        if not spec["regions"].get("secondary"):
            yield (
                ("buckets", name, "replicate"),
                f"buckets.{name} replicates to the DR region, but this environment has no regions.secondary",
            )
        elif not bucket["versioning"]:
            yield (
                ("buckets", name, "replicate"),
                f"buckets.{name} replicates, and S3 replicates only versioned buckets: set versioning: true",
            )


SECTION = Section(
    "buckets",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    site=True,
    use=UseTarget(default="readwrite", accesses=("read", "write", "readwrite"), connect=connect, statements=statements),
)
