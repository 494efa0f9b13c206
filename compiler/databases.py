"""Databases: RDS PostgreSQL instances, private, encrypted, monitored, with RDS-managed master passwords."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, iam, rds

from . import network, security
from .context import Context, Fragment, camel
from .logs import log_group
from .secrets import key_arn

STACK = "data"
# Always on: query statistics and slow-query logging; the spec's parameters are added on top.
BASE_PARAMETERS = {"shared_preload_libraries": "pg_stat_statements", "log_min_duration_statement": "1000", "rds.force_ssl": "1"}


def identifier(ctx: Context, name: str) -> str:
    return ctx.name(name)


def default_db_name(ctx: Context) -> str:
    return ctx.system.replace("-", "")


def build(databases: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tier = network.data_tier(ctx.spec["network"])
    for name, db in sorted(databases.items()):
        title = f"Database{camel(name)}"
        major = db["version"].split(".")[0]
        subnets = out.add(
            rds.DBSubnetGroup(
                f"{title}SubnetGroup",
                DBSubnetGroupDescription=f"{ctx.name(name)}: {tier} tier subnets",
                SubnetIds=network.subnet_ids(ctx, tier),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        parameters = {**BASE_PARAMETERS, **{k: str(v) for k, v in db["parameters"].items()}}
        group = out.add(
            rds.DBParameterGroup(
                f"{title}ParameterGroup",
                Family=f"{db['engine']}{major}",
                Description=f"{ctx.name(name)}: pg_stat_statements, slow-query logging, TLS only",
                Parameters=dict(sorted(parameters.items())),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        log_groups = [
            out.add(log_group(f"{title}Log{camel(kind)}", f"/aws/rds/instance/{identifier(ctx, name)}/{kind}", ctx, name, STACK))
            for kind in db["logs"]
        ]
        properties: dict[str, Any] = {
            "DBInstanceIdentifier": identifier(ctx, name),
            "Engine": db["engine"],
            "EngineVersion": db["version"],
            "DBInstanceClass": db["instance"],
            "DBName": db.get("name", default_db_name(ctx)),
            "MasterUsername": db["username"],
            "ManageMasterUserPassword": True,
            "MasterUserSecret": rds.MasterUserSecret(KmsKeyId=key_arn(ctx, True)),
            "StorageType": "gp3",
            "AllocatedStorage": str(db["storage"]["size"]),
            "MaxAllocatedStorage": db["storage"]["max"],
            "StorageEncrypted": True,
            "KmsKeyId": key_arn(ctx, True),
            "MultiAZ": db["multi_az"],
            "BackupRetentionPeriod": db["backups"]["retention"],
            "PreferredBackupWindow": db["backups"]["window"],
            "PreferredMaintenanceWindow": db["maintenance_window"],
            "AutoMinorVersionUpgrade": True,
            "CopyTagsToSnapshot": True,
            "DeletionProtection": db["deletion_protection"],
            "PubliclyAccessible": False,
            "DBSubnetGroupName": Ref(subnets),
            "DBParameterGroupName": Ref(group),
            "VPCSecurityGroups": [security.imported(ctx, "database", name)],
            "EnableCloudwatchLogsExports": db["logs"],
            "EnablePerformanceInsights": db["performance_insights"],
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if db["performance_insights"]:
            properties["PerformanceInsightsRetentionPeriod"] = 7
            properties["PerformanceInsightsKMSKeyId"] = key_arn(ctx, True)
        if db["monitoring_interval"]:
            role = out.add(
                iam.Role(
                    f"{title}MonitoringRole",
                    Description=f"{ctx.name(name)}: RDS Enhanced Monitoring publishes OS metrics",
                    AssumeRolePolicyDocument={
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}
                        ],
                    },
                    ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
                    Tags=ctx.resource_tags(ctx.name(name, "monitoring")),
                )
            )
            properties["MonitoringInterval"] = db["monitoring_interval"]
            properties["MonitoringRoleArn"] = GetAtt(role, "Arn")
        instance = out.add(
            rds.DBInstance(
                title, DependsOn=[g.title for g in log_groups], DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot", **properties
            )
        )
        out.export(ctx, STACK, f"{title}Address", GetAtt(instance, "Endpoint.Address"), f"Host name of database {name}.")
        out.export(ctx, STACK, f"{title}Port", GetAtt(instance, "Endpoint.Port"), f"Port of database {name}.")
        out.export(ctx, STACK, f"{title}Id", Ref(instance), f"Instance identifier of database {name}.")
        out.export(
            ctx,
            STACK,
            f"{title}SecretArn",
            GetAtt(instance, "MasterUserSecret.SecretArn"),
            f"Secret holding database {name}'s master user name and password (managed and rotated by RDS).",
        )
    return out
