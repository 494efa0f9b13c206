"""The DR region's standby databases: an encrypted, promotable cross-region read replica of each database that asks,
and, for a database whose automated backups are replicated there instead, the subnet group a restore lands in.

`databases.<n>.dr_replica` makes, in `regions.secondary`, a read replica of the primary region's instance, fed by
RDS's asynchronous replication (seconds behind, what an RPO of minutes needs). It is encrypted with that region's
environment key (a cross-region replica of an encrypted source must name a key of its own region), in the DR
network's data tier, with the source's parameters, logs, Performance Insights and monitoring. Promoting it
(`aws rds promote-read-replica`) makes it a standalone database: that step is the runbook's, not CloudFormation's.

It lives in a `standby` stack of the DR region, deployed after the primary region's data stack (the source must
exist; nothing is imported across regions: the source's ARN is computed from its fixed identifier). It is
retained when its stack goes: once promoted it may hold the only copy of the data.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, ec2, rds

from ..context import Context, Fragment, camel
from . import network, security
from .base import SECONDARY, Section, Spec
from .databases import identifier, monitoring_role, parameter_group
from .logs import log_group
from .site import site_spec

STACK = "standby"
# cfn-lint's E3720 asks for StorageEncrypted beside KmsKeyId (cfn-lint #2965), and E3020 forbids StorageEncrypted beside
# SourceDBInstanceIdentifier: a cross-region replica needs KmsKeyId (RDS CreateDBInstanceReadReplica: "to create an
# encrypted read replica in another Region, you must specify KmsKeyId") and inherits encryption, so it cannot satisfy
# both. This one rule is silenced on this one resource, with the reason beside it in the template.
LINT_EXCEPTION = {
    "cfn-lint": {"config": {"ignore_checks": ["E3720"]}},
    "ivc": {
        "lint_exception": "E3720 (StorageEncrypted with KmsKeyId) does not apply to a cross-region read replica, which "
        "inherits encryption from its source and takes KmsKeyId for its own region; StorageEncrypted is refused beside "
        "SourceDBInstanceIdentifier (E3020)"
    },
}


def standing_by(spec: Spec) -> list[str]:
    """Databases with a replica in the DR region, when the environment has one."""
    if not spec["regions"].get("secondary"):
        return []
    return sorted(name for name, db in spec.get("databases", {}).items() if "dr_replica" in db)


def restorable(spec: Spec) -> list[str]:
    """Databases without a standby whose automated backups are replicated to the DR region: restored there by hand."""
    if not spec["regions"].get("secondary"):
        return []
    return sorted(
        name
        for name, db in spec.get("databases", {}).items()
        if "dr_replica" not in db and db["backups"].get("replicate_to") == "secondary"
    )


def restore_subnet_group(ctx: Context, name: str) -> str:
    """The DR region's subnet group a restore of database ``name`` lands in (the runbook names it)."""
    return f"{identifier(ctx, name)}-restore"


def needed(spec: Spec) -> bool:
    return bool(standing_by(spec) or restorable(spec))


def source_arn(ctx: Context, name: str) -> Sub:
    """The primary region's instance, by its fixed identifier: a cross-region replica names its source by ARN."""
    return Sub(f"arn:${{AWS::Partition}}:rds:{ctx.primary_region}:${{AWS::AccountId}}:db:{identifier(ctx, name)}")


def standby_identifier(ctx: Context, name: str) -> str:
    return f"{identifier(ctx, name)}-dr"


def standby_title(name: str) -> str:
    """Logical ID (and output prefix) of database ``name``'s standby."""
    return f"Standby{camel(name)}"


def address_output(name: str) -> str:
    """The output (and export) holding the standby's host name: the DR site's code reads the database there."""
    return f"{standby_title(name)}Address"


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    out.after.add((ctx.primary_region, "data"))  # the sources exist first
    tier = network.data_tier(spec["network"])
    key = ctx.imported("keys", "EnvironmentKeyArn")
    for name in restorable(spec):
        # Where a restore from the replicated backups lands: the DR network's data tier, ready before it is needed.
        out.at = ("databases", name, "backups", "replicate_to")
        out.add(
            rds.DBSubnetGroup(
                f"Restore{camel(name)}SubnetGroup",
                DBSubnetGroupName=restore_subnet_group(ctx, name),
                DBSubnetGroupDescription=f"{identifier(ctx, name)}: where a restore from its replicated backups lands",
                SubnetIds=network.subnet_ids(ctx, tier),
                Tags=ctx.resource_tags(restore_subnet_group(ctx, name)),
            )
        )
    for name in standing_by(spec):
        db = spec["databases"][name]
        standby = db["dr_replica"]
        out.at = ("databases", name, "dr_replica")
        title = standby_title(name)
        replica_id = standby_identifier(ctx, name)
        subnets = out.add(
            rds.DBSubnetGroup(
                f"{title}SubnetGroup",
                DBSubnetGroupDescription=f"{replica_id}: {tier} tier subnets of the DR region",
                SubnetIds=network.subnet_ids(ctx, tier),
                Tags=ctx.resource_tags(replica_id),
            )
        )
        group = out.add(parameter_group(f"{title}ParameterGroup", db, f"{replica_id}: the source's parameters", replica_id, ctx))
        site = site_spec(spec)
        if site is not None and name in site["databases"]:
            # The DR site's fleets use it: the site's security stack admits exactly them, as the primary's does.
            group_id: Any = security.imported(ctx, "database", name)
        else:
            # Nobody connects to the standby until it is promoted and something there uses it: no inbound rule.
            group_id = GetAtt(
                out.add(
                    ec2.SecurityGroup(
                        f"{title}SecurityGroup",
                        GroupDescription=f"{replica_id}: standby of database {name} in the DR region",
                        VpcId=ctx.imported(network.STACK, "VpcId"),
                        SecurityGroupEgress=[
                            ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="0.0.0.0/0", Description="All outbound traffic")
                        ],
                        Tags=ctx.resource_tags(replica_id),
                    )
                ),
                "GroupId",
            )
        log_groups = [
            out.add(log_group(f"{title}Log{camel(kind)}", f"/aws/rds/instance/{replica_id}/{kind}", ctx, name, STACK))
            for kind in db["logs"]
        ]
        properties: dict[str, Any] = {
            "DBInstanceIdentifier": replica_id,
            "SourceDBInstanceIdentifier": source_arn(ctx, name),
            "SourceRegion": ctx.primary_region,
            "Engine": db["engine"],
            "DBInstanceClass": standby.get("instance", db["instance"]),
            "MultiAZ": standby["multi_az"],
            "KmsKeyId": key,  # a cross-region replica of an encrypted source must name a key of its own region
            "StorageType": "gp3",
            "MaxAllocatedStorage": db["storage"]["max"],
            "DBSubnetGroupName": Ref(subnets),
            "DBParameterGroupName": Ref(group),
            "VPCSecurityGroups": [group_id],
            "PubliclyAccessible": False,
            "AutoMinorVersionUpgrade": True,
            "CopyTagsToSnapshot": True,
            "DeletionProtection": db.get("deletion_protection", ctx.protected),
            "EnableIAMDatabaseAuthentication": db["iam_auth"],
            "EnableCloudwatchLogsExports": db["logs"],
            "EnablePerformanceInsights": db["performance_insights"],
            "Tags": ctx.resource_tags(replica_id),
        }
        if db["performance_insights"]:
            properties["PerformanceInsightsRetentionPeriod"] = 7
            properties["PerformanceInsightsKMSKeyId"] = key
        if db["monitoring_interval"]:
            role = out.add(monitoring_role(f"{title}MonitoringRole", replica_id, ctx))
            properties["MonitoringInterval"] = db["monitoring_interval"]
            properties["MonitoringRoleArn"] = GetAtt(role, "Arn")
        replica = out.add(
            rds.DBInstance(
                title,
                DependsOn=[g.title for g in log_groups],
                # Promoted, it is the database: never deleted with its stack.
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
                Metadata=LINT_EXCEPTION,
                **properties,
            ).no_validation()  # troposphere refuses MultiAZ beside a source; RDS takes it, cfn-lint checks the resource
        )
        out.export(ctx, STACK, address_output(name), GetAtt(replica, "Endpoint.Address"), f"Host name of database {name}'s DR standby.")
        out.export(ctx, STACK, f"{title}Id", Ref(replica), f"Instance identifier of database {name}'s DR standby.")
    return out


# Derived from `databases.<n>.dr_replica`: no key of its own in the spec.
SECTION = Section("standby", build=build, stack=STACK, needed=needed, whole_spec=True, regions=SECONDARY)
