"""Databases: RDS PostgreSQL instances, private, encrypted, monitored, with RDS-managed master passwords."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Join, Ref, iam, rds

from .. import offerings
from ..context import Context, Fragment, camel
from . import network, security
from .base import DAILY_WINDOW, WEEKLY_WINDOW, Connection, Problem, Section, Spec, Use, UseTarget, env_name
from .logs import log_group
from .secrets import key_arn

STACK = "data"
PORTS = {"postgres": 5432}
# Always on: query statistics and slow-query logging; the spec's parameters are added on top.
BASE_PARAMETERS = {"shared_preload_libraries": "pg_stat_statements", "log_min_duration_statement": "1000", "rds.force_ssl": "1"}
# When RDS ends standard support of a major version; after it, RDS runs the version only on paid Extended Support.
# From AWS's "Amazon RDS for PostgreSQL release calendar" (no library we use ships it; cfn-lint knows only which
# minor versions can still be created).
STANDARD_SUPPORT_ENDS = {
    ("postgres", "11"): datetime.date(2024, 2, 29),
    ("postgres", "12"): datetime.date(2025, 2, 28),
    ("postgres", "13"): datetime.date(2026, 2, 28),
    ("postgres", "14"): datetime.date(2027, 2, 28),
}
EXTENDED_SUPPORT = {True: "open-source-rds-extended-support", False: "open-source-rds-extended-support-disabled"}


def identifier(ctx: Context, name: str) -> str:
    return ctx.name(name)


def default_db_name(ctx: Context) -> str:
    return ctx.system.replace("-", "")


def check(spec: Spec) -> Iterator[Problem]:
    region = spec["regions"]["primary"]
    for name, database in spec.get("databases", {}).items():
        for field, message in offerings.database_problems(region, database["engine"], database["version"], database["instance"]):
            yield ("databases", name, field), message
        yield from _support_problems(name, database, datetime.datetime.now(datetime.UTC).date())
        if database["storage"]["max"] < database["storage"]["size"]:
            yield ("databases", name, "storage", "max"), f"databases.{name}.storage.max is below storage.size; autoscaling could never grow"


def _support_problems(name: str, database: dict[str, Any], today: datetime.date) -> Iterator[Problem]:
    """A major version past RDS standard support runs only on paid Extended Support, which the spec must say it wants."""
    major = database["version"].split(".")[0]
    ends = STANDARD_SUPPORT_ENDS.get((database["engine"], major))
    if ends is None or today <= ends or database.get("extended_support") is True:
        return
    where = ("databases", name, "extended_support") if "extended_support" in database else ("databases", name, "version")
    yield (
        where,
        f"{database['engine']} {major} left RDS standard support on {ends.isoformat()}: RDS runs it only on paid Extended "
        f"Support, charged per vCPU-hour; set databases.{name}.extended_support: true to accept that (and plan the upgrade), "
        "or use a newer major version",
    )


def port(spec: Spec, name: str) -> int:
    return PORTS[spec["databases"][name]["engine"]]


def connect(ctx: Context, use: Use) -> Connection:
    """Host, port and database name as settings; user name and password injected from the RDS-managed secret."""
    prefix = f"Database{camel(use.name)}"
    secret = ctx.imported(STACK, f"{prefix}SecretArn")
    return Connection(
        variables={
            env_name("database", use.name, "host"): ctx.imported(STACK, f"{prefix}Address"),
            env_name("database", use.name, "port"): ctx.imported(STACK, f"{prefix}Port"),
            env_name("database", use.name, "name"): ctx.spec["databases"][use.name].get("name", default_db_name(ctx)),
        },
        injected={
            env_name("database", use.name, "user"): Join("", [secret, ":username::"]),
            env_name("database", use.name, "password"): Join("", [secret, ":password::"]),
        },
        readable=[secret],
    )


def build(databases: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tier = network.data_tier(ctx.spec["network"])
    for name, db in sorted(databases.items()):
        out.at = ("databases", name)
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
            "DeletionProtection": db.get("deletion_protection", ctx.protected),
            "EnableIAMDatabaseAuthentication": db["iam_auth"],
            "PubliclyAccessible": False,
            "DBSubnetGroupName": Ref(subnets),
            "DBParameterGroupName": Ref(group),
            "VPCSecurityGroups": [security.imported(ctx, "database", name)],
            "EnableCloudwatchLogsExports": db["logs"],
            "EnablePerformanceInsights": db["performance_insights"],
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if "extended_support" in db:
            properties["EngineLifecycleSupport"] = EXTENDED_SUPPORT[db["extended_support"]]
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


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "databases": {
        "description": "Relational databases (RDS), each private in the data tier, encrypted, with its master password managed by "
        "Secrets Manager.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/database"},
        "default": {},
        "examples": [{"main": {"engine": "postgres", "version": "15.4", "instance": "db.t3.medium"}}],
    }
}
DEFS: dict[str, Any] = {
    "database": {
        "description": "An RDS database instance.",
        "type": "object",
        "additionalProperties": False,
        "required": ["instance"],
        "properties": {
            "engine": {"description": "Database engine.", "enum": ["postgres"], "default": "postgres"},
            "version": {
                "description": 'Engine version, quoted ("15.4"). Use a version cfn-lint does not call deprecated.',
                "type": "string",
                "pattern": "^[0-9]+(\\.[0-9]+)?$",
                "default": "17.11",
                "examples": ["15.4"],
            },
            "instance": {
                "description": "Instance class.",
                "type": "string",
                "pattern": "^db\\.[a-z0-9]+\\.[a-z0-9]+$",
                "examples": ["db.t3.small", "db.r6g.xlarge"],
            },
            "name": {
                "description": "Name of the database created inside the instance. Default: the system name without hyphens.",
                "type": "string",
                "pattern": "^[a-zA-Z][a-zA-Z0-9_]{0,62}$",
            },
            "username": {
                "description": "Master user name; its password is generated and rotated by RDS in Secrets Manager.",
                "type": "string",
                "pattern": "^[a-zA-Z][a-zA-Z0-9_]{0,15}$",
                "default": "dbadmin",
            },
            "storage": {
                "description": "gp3 storage: initial size and the ceiling storage autoscaling may grow to, in GiB.",
                "type": "object",
                "additionalProperties": False,
                "default": {"size": 20, "max": 100},
                "properties": {
                    "size": {"description": "Allocated storage in GiB.", "type": "integer", "minimum": 20, "maximum": 65536, "default": 20},
                    "max": {
                        "description": "Storage autoscaling ceiling in GiB (at least size).",
                        "type": "integer",
                        "minimum": 20,
                        "maximum": 65536,
                        "default": 100,
                    },
                },
            },
            "multi_az": {"description": "A standby in another zone with automatic failover.", "type": "boolean", "default": False},
            "backups": {
                "description": "Automated backups.",
                "type": "object",
                "additionalProperties": False,
                "default": {"retention": 7, "window": "03:00-04:00"},
                "properties": {
                    "retention": {
                        "description": "Days to keep automated backups (1-35).",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 35,
                        "default": 7,
                    },
                    "window": {
                        "type": "string",
                        "pattern": DAILY_WINDOW,
                        "description": "Daily backup window, UTC, hh:mm-hh:mm.",
                        "default": "03:00-04:00",
                    },
                },
            },
            "maintenance_window": {
                "description": "Weekly maintenance window, UTC, ddd:hh:mm-ddd:hh:mm.",
                "type": "string",
                "pattern": WEEKLY_WINDOW,
                "default": "sun:04:30-sun:05:30",
            },
            "performance_insights": {
                "description": "Performance Insights, kept 7 days (free tier), encrypted with the environment key.",
                "type": "boolean",
                "default": True,
            },
            "monitoring_interval": {
                "description": "Enhanced Monitoring interval in seconds; 0 turns it off.",
                "enum": [0, 1, 5, 10, 15, 30, 60],
                "default": 60,
            },
            "parameters": {
                "description": "Database parameters added to ivc's (pg_stat_statements preloaded, statements slower than 1 s logged).",
                "type": "object",
                "additionalProperties": {"type": ["string", "integer", "number"]},
                "default": {},
                "examples": [{"log_min_duration_statement": 1000}],
            },
            "logs": {
                "description": "Logs exported to CloudWatch Logs.",
                "type": "array",
                "items": {"enum": ["postgresql", "upgrade"]},
                "uniqueItems": True,
                "default": ["postgresql", "upgrade"],
            },
            "deletion_protection": {
                "description": "Refuse to delete the instance until this is turned off. Default: on in protected environments "
                "(prod, production, or deploy.protected), off elsewhere.",
                "type": "boolean",
            },
            "extended_support": {
                "description": "Whether RDS may run this major version on paid Extended Support once its standard support "
                "ends (RDS's own default is yes, silently). A version already past standard support needs true, written; "
                "false makes RDS refuse to run it past that date.",
                "type": "boolean",
            },
            "iam_auth": {
                "description": "Let IAM principals sign in as database users granted rds_iam (short-lived tokens instead of "
                "passwords). ivc grants no rds-db:connect itself: the spec names no database user but the master, whose "
                "password RDS manages.",
                "type": "boolean",
                "default": True,
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "databases": {"description": "Changes to databases in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "databases",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    use=UseTarget(default="connect", port=port, connect=connect),
)
