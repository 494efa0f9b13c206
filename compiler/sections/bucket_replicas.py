"""Replica buckets in the DR region, and the replication that fills them.

A bucket marked `replicate` is copied, object by object, to a bucket of the same purpose in `regions.secondary`:
same encryption (S3-managed, or that region's environment key), versioned (S3 replicates only between versioned
buckets), private, TLS-only, retained, with the source's lifecycle, access-logged to that region's own access-logs
bucket (server access logs stay in their region: access_logs.py builds it). Deletions replicate as delete markers; old versions are kept as
the lifecycle says. With `time_control`, S3 Replication Time Control replicates 99.99% of objects within 15
minutes and publishes replication metrics; without it replication is usually seconds to minutes, with no promise.

A replica the cdn fails over to (see cdn.failover_buckets) admits CloudFront through Origin Access Control, for the
distributions of this account (cdn_buckets.account_distributions): the distribution is built in another region.

Nothing is imported across regions: the replica's name is computed (see ``replica_arn``), and the source's data
stack deploys after the DR region's, so the replica exists before the replication that names it (S3 checks).
"""

from __future__ import annotations

from typing import Any

from awacs import kms as kms_actions
from awacs import s3 as s3_actions
from awacs.aws import Action, Allow, Condition, PolicyDocument, Principal, Statement, StringEquals, StringLike
from troposphere import GetAtt, Join, Ref, Sub, iam, s3

from ..context import Context, Fragment, camel
from ..regions import cdn_region
from . import access_logs
from .base import SITES, Section, Spec
from .keys import key_alias

STACK = "data"
ROLE = "BucketReplicationRole"


def replicated(spec: Spec) -> list[str]:
    """The buckets marked `replicate`, when the environment has a DR region to replicate to."""
    if not spec["regions"].get("secondary"):
        return []
    return sorted(name for name, bucket in spec.get("buckets", {}).items() if "replicate" in bucket)


def needed(spec: Spec) -> bool:
    return bool(replicated(spec))


def replica_name(ctx: Context, name: str) -> Sub:
    """The replica's name, as both regions compute it: the bucket's own pattern, in the DR region."""
    return Sub(f"{ctx.name(name)}-${{AWS::AccountId}}-{ctx.spec['regions']['secondary']}")


def replica_arn(ctx: Context, name: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:s3:::{ctx.name(name)}-${{AWS::AccountId}}-{ctx.spec['regions']['secondary']}")


def replica_domain_name(ctx: Context, name: str) -> Sub:
    """The replica's regional domain name, computed, as the distribution (in another region) names its DR origin."""
    secondary = ctx.spec["regions"]["secondary"]
    return Sub(f"{ctx.name(name)}-${{AWS::AccountId}}-{secondary}.s3.{secondary}.amazonaws.com")


def replica_key_arn(ctx: Context) -> Sub:
    """The DR region's environment key, by its alias: a replica of a KMS-encrypted bucket is encrypted with it."""
    secondary = ctx.spec["regions"]["secondary"]
    return Sub(f"arn:${{AWS::Partition}}:kms:{secondary}:${{AWS::AccountId}}:{key_alias(ctx)}")


def configuration(ctx: Context, name: str, settings: dict[str, Any]) -> s3.ReplicationConfiguration:
    """The source bucket's replication to its replica, through the one replication role of this stack."""
    replicate = settings["replicate"]
    destination: dict[str, Any] = {"Bucket": replica_arn(ctx, name)}
    if replicate["time_control"]:
        destination["ReplicationTime"] = s3.ReplicationTime(Status="Enabled", Time=s3.ReplicationTimeValue(Minutes=15))
        destination["Metrics"] = s3.Metrics(Status="Enabled", EventThreshold=s3.ReplicationTimeValue(Minutes=15))
    rule: dict[str, Any] = {
        "Id": "to-dr-region",
        "Status": "Enabled",
        "Priority": 1,
        "Filter": s3.ReplicationRuleFilter(Prefix=""),
        "DeleteMarkerReplication": s3.DeleteMarkerReplication(Status="Enabled"),
    }
    if settings["encryption"] == "kms":
        destination["EncryptionConfiguration"] = s3.EncryptionConfiguration(ReplicaKmsKeyID=replica_key_arn(ctx))
        rule["SourceSelectionCriteria"] = s3.SourceSelectionCriteria(SseKmsEncryptedObjects=s3.SseKmsEncryptedObjects(Status="Enabled"))
    rule["Destination"] = s3.ReplicationConfigurationRulesDestination(**destination)
    return s3.ReplicationConfiguration(Role=GetAtt(ROLE, "Arn"), Rules=[s3.ReplicationConfigurationRules(**rule)])


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    names = replicated(spec)
    if ctx.role == "secondary":
        for name in names:
            out.at = ("buckets", name, "replicate")
            _replica(name, spec["buckets"][name], ctx, out)
    else:
        out.at = ("buckets",)
        out.add(_role(ctx, names))
        # S3 refuses a replication configuration whose destination does not exist yet.
        out.after.add((spec["regions"]["secondary"], STACK))
    return out


def _replica(name: str, settings: dict[str, Any], ctx: Context, out: Fragment) -> None:
    from .buckets import encryption, lifecycle_rules, owner_enforced, private, tls_only
    from .cdn import cloudfront_reads, failover_buckets
    from .cdn_buckets import account_distributions

    title = f"BucketReplica{camel(name)}"
    bucket = out.add(
        s3.Bucket(
            title,
            BucketName=replica_name(ctx, name),
            BucketEncryption=encryption(settings["encryption"], ctx.imported("keys", "EnvironmentKeyArn")),
            VersioningConfiguration=s3.VersioningConfiguration(Status="Enabled"),
            PublicAccessBlockConfiguration=private(),
            OwnershipControls=owner_enforced(),
            LoggingConfiguration=s3.LoggingConfiguration(DestinationBucketName=Ref(access_logs.LOGS_BUCKET), LogFilePrefix=f"{name}/"),
            LifecycleConfiguration=s3.LifecycleConfiguration(Rules=lifecycle_rules(settings["lifecycle"])),
            Tags=ctx.resource_tags(ctx.name(name, "replica")),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    statements = [tls_only(GetAtt(bucket, "Arn"))]
    failover = name in failover_buckets(ctx.spec)
    if failover:
        # The cdn fails over to this replica (see cdn.failover_buckets). The distribution's ID is generated in another
        # region and cannot be named here: CloudFront reads on behalf of a distribution of this account, through Origin
        # Access Control, as cdn_buckets admits it to primary buckets a distribution in another region serves.
        statements.append(cloudfront_reads(GetAtt(bucket, "Arn"), account_distributions()))
    out.add(
        s3.BucketPolicy(
            f"{title}Policy",
            Bucket=Ref(bucket),
            PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements),
        )
    )
    # Under the bucket's own output names: in this region the replica is the bucket, for the DR site's code.
    out.export(ctx, STACK, f"Bucket{camel(name)}Name", Ref(bucket), f"Name of bucket {name}'s replica in this DR region.")
    out.export(ctx, STACK, f"Bucket{camel(name)}Arn", GetAtt(bucket, "Arn"), f"ARN of bucket {name}'s replica in this DR region.")
    if failover and cdn_region(ctx.spec) == ctx.region:
        # The distribution is built in this very region (CloudFront's, the DR region here): it imports the domain name,
        # which orders the stacks (an `after` orders stacks of different regions only).
        out.export(
            ctx,
            STACK,
            f"Bucket{camel(name)}DomainName",
            GetAtt(bucket, "RegionalDomainName"),
            f"Regional domain name of bucket {name}'s replica.",
        )


def _role(ctx: Context, names: list[str]) -> iam.Role:
    """One role S3 replicates every marked bucket of this environment with: read the sources' versions, write the
    replicas, and the keys where buckets are KMS-encrypted (through S3 only)."""
    buckets = ctx.spec["buckets"]
    # Computed, not GetAtt: the buckets name this role in their replication, so the role cannot name them back.
    sources = [Sub(f"arn:${{AWS::Partition}}:s3:::{ctx.name(n)}-${{AWS::AccountId}}-${{AWS::Region}}") for n in names]
    statements = [
        Statement(
            Sid="ReadSourceConfiguration",
            Effect=Allow,
            Action=[s3_actions.GetReplicationConfiguration, s3_actions.ListBucket],
            Resource=sources,
        ),
        Statement(
            Sid="ReadSourceVersions",
            Effect=Allow,
            Action=[s3_actions.GetObjectVersionForReplication, s3_actions.GetObjectVersionAcl, s3_actions.GetObjectVersionTagging],
            Resource=[Join("", [arn, "/*"]) for arn in sources],
        ),
        Statement(
            Sid="WriteReplicas",
            Effect=Allow,
            Action=[s3_actions.ReplicateObject, s3_actions.ReplicateDelete, s3_actions.ReplicateTags],
            Resource=[Join("", [replica_arn(ctx, n), "/*"]) for n in names],
        ),
    ]
    if any(buckets[n]["encryption"] == "kms" for n in names):
        statements += [
            Statement(
                Sid="DecryptSources",
                Effect=Allow,
                Action=[kms_actions.Decrypt],
                Resource=[ctx.imported("keys", "EnvironmentKeyArn")],
                Condition=Condition(StringLike({"kms:ViaService": Sub("s3.${AWS::Region}.amazonaws.com")})),
            ),
            Statement(
                Sid="EncryptReplicas",
                Effect=Allow,
                Action=[kms_actions.Encrypt, kms_actions.GenerateDataKey],
                Resource=[replica_key_arn(ctx)],
                Condition=Condition(StringEquals({"kms:ViaService": f"s3.{ctx.spec['regions']['secondary']}.amazonaws.com"})),
            ),
        ]
    return iam.Role(
        ROLE,
        Description=f"{ctx.name()}: S3 replicates the buckets marked replicate to the DR region with this role",
        AssumeRolePolicyDocument=PolicyDocument(
            Version="2012-10-17",
            Statement=[
                Statement(
                    Effect=Allow,
                    Principal=Principal("Service", "s3.amazonaws.com"),
                    Action=[Action("sts", "AssumeRole")],
                    Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
                )
            ],
        ),
        Policies=[iam.Policy(PolicyName="replicate", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
        Tags=ctx.resource_tags(ctx.name("bucket-replication")),
    )


# Derived from `buckets.<n>.replicate`: no key of its own in the spec. Built in both sites: the role in the primary
# region, the replicas (and that region's access-logs bucket) in the secondary.
SECTION = Section("bucket-replicas", build=build, stack=STACK, needed=needed, whole_spec=True, regions=SITES)
