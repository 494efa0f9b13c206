"""Databases: RDS PostgreSQL instances, private, encrypted, monitored, with read replicas and a credentials secret.

The master password is RDS-managed (ManageMasterUserPassword: a secret RDS names, rotates every 7 days and no template
holds) unless the spec names the secret (`secret.name`, such as /{environment}/database/credentials). A named secret
is a Secrets Manager secret whose password Secrets Manager generates; the instance takes it by dynamic reference
(resolved by CloudFormation at deploy time, never written in a template), a target attachment adds the host and port,
and `rotation_days` rotates it with a function of the spec (`rotation_function`), never the AWS::SecretsManager
transform, which StackSets with service-managed permissions refuse (see docs/databases.md).
"""

from __future__ import annotations

import datetime
import difflib
import json
from collections.abc import Iterator
from typing import Any

from awacs import kms as kms_actions
from awacs import secretsmanager as secrets_actions
from awacs.aws import Allow, Condition, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, iam, rds, secretsmanager

from .. import offerings
from ..context import Context, Fragment, camel
from . import network, security
from .base import DAILY_WINDOW, WEEKLY_WINDOW, Connection, Problem, Section, Spec, Use, UseTarget, env_name
from .keys import key_alias, secret_replicas
from .logs import log_group
from .secrets import key_arn

STACK = "data"
PORTS = {"postgres": 5432}
# A PostgreSQL parameter's name as RDS lists it: lowercase words joined by _, with an extension's or RDS's prefix
# (pg_stat_statements.track, rds.force_ssl).
PARAMETER_NAME = "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$"
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


def replica_identifier(ctx: Context, name: str, number: int) -> str:
    return ctx.name(name, f"replica-{number}")


def secret_name(spec: Spec, environment: str, name: str) -> str | None:
    """The name the spec gives the database's credentials secret, its placeholders filled in; None: RDS-managed."""
    secret = spec["databases"][name].get("secret")
    if secret is None:
        return None
    return str(secret["name"]).format(system=spec["system"], environment=environment)


# Characters RDS refuses in a master password (/ @ " and space), and ones that break connection strings and shells.
EXCLUDED_PASSWORD_CHARACTERS = "\"@/\\' `"


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
        if "replica_instance" in database:
            for field, message in offerings.database_problems(
                region, database["engine"], database["version"], database["replica_instance"]
            ):
                if field == "instance":
                    yield ("databases", name, "replica_instance"), message
            if not database["replicas"]:
                yield (
                    ("databases", name, "replica_instance"),
                    f"replica_instance sizes read replicas; databases.{name} has none (replicas: 0)",
                )
        yield from _standby_problems(spec, name, database)
        yield from _secret_problems(spec, name, database)
        backups = database["backups"]
        if backups.get("replicate_to") == "secondary" and "secondary" not in spec["regions"]:
            yield (
                ("databases", name, "backups", "replicate_to"),
                "replicate_to: secondary needs regions.secondary (the disaster-recovery region)",
            )
        if "replicate_retention" in backups and "replicate_to" not in backups:
            yield ("databases", name, "backups", "replicate_retention"), "replicate_retention needs replicate_to; nothing is replicated"


def _standby_problems(spec: Spec, name: str, database: dict[str, Any]) -> Iterator[Problem]:
    if "dr_replica" not in database:
        return
    secondary = spec["regions"].get("secondary")
    if not secondary:
        yield (
            ("databases", name, "dr_replica"),
            f"databases.{name}.dr_replica is a replica in the DR region, but this environment has no regions.secondary",
        )
        return
    instance = database["dr_replica"].get("instance", database["instance"])
    for field, message in offerings.database_problems(secondary, database["engine"], database["version"], instance):
        yield (
            ("databases", name, "dr_replica", *(("instance",) if field == "instance" and "instance" in database["dr_replica"] else ())),
            message,
        )


def _secret_problems(spec: Spec, name: str, database: dict[str, Any]) -> Iterator[Problem]:
    secret = database.get("secret")
    if secret is None:
        return
    where = ("databases", name, "secret")
    try:
        str(secret["name"]).format(system="s", environment="e")
    except (KeyError, IndexError, ValueError):
        yield (*where, "name"), "a secret name may use {system} and {environment}, and no other {...}"
    others = [other for other, db in spec["databases"].items() if other != name and (db.get("secret") or {}).get("name") == secret["name"]]
    if others:
        yield (*where, "name"), f"databases.{others[0]} names its secret {secret['name']} too; each database needs a secret of its own"
    rotator = secret.get("rotation_function")
    if "rotation_days" in secret and rotator is None:
        yield (
            (*where, "rotation_days"),
            "rotation needs a rotation function: set rotation_function to functions.<n>, a function of this spec running AWS's "
            "PostgreSQL single-user rotation code (ivc does not use the AWS::SecretsManager transform, which StackSets with "
            "service-managed permissions refuse)",
        )
    if rotator is None:
        return
    if "rotation_days" not in secret:
        yield (*where, "rotation_function"), "rotation_function rotates every rotation_days days: set rotation_days too"
    function_name = rotator.partition(".")[2]
    function = spec.get("functions", {}).get(function_name)
    if function is None:
        declared = sorted(spec.get("functions", {}))
        close = difflib.get_close_matches(function_name, declared, n=1, cutoff=0.75)
        known = f"did you mean functions.{close[0]}?" if close else f"functions: {', '.join(declared) or 'none are declared'}"
        yield (*where, "rotation_function"), f"{rotator} does not exist ({known})"
        return
    if f"databases.{name}" not in function.get("uses", []):
        yield (
            (*where, "rotation_function"),
            f"{rotator} rotates the password in the database, so it must reach it: add databases.{name} to its uses",
        )
    net = spec.get("network") or {}
    if net:
        tier = network.app_tier(net)
        routed = tier not in net["isolated"] and net["nat"] != "none"
        if not routed and "secretsmanager" not in net["endpoints"]:
            yield (
                (*where, "rotation_function"),
                f"{rotator} runs in the {tier} tier, which reaches neither the internet nor a secretsmanager endpoint: "
                "rotation calls Secrets Manager; add secretsmanager to network.endpoints",
            )


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
    """Host, port and database name as settings (and the read replicas' hosts, comma-separated, as libpq takes several
    hosts); user name and password injected from the credentials secret, RDS-managed or named."""
    prefix = f"Database{camel(use.name)}"
    database = ctx.spec["databases"][use.name]
    named = secret_name(ctx.spec, ctx.environment, use.name)
    if ctx.role == "secondary":
        # The DR site: its standby (see standby.py), and the credentials secret's replica there, by name (a replica
        # keeps the name; its ARN's suffix is the source's, which this region cannot import). site.check makes sure
        # both exist before anything is built.
        from .standby import STACK as STANDBY
        from .standby import address_output

        secret: Any = Sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{named}")
        readable: Any = Sub(f"arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{named}-??????")
        host: Any = ctx.imported(STANDBY, address_output(use.name))
        port_number: Any = str(port(ctx.spec, use.name))
    else:
        secret = readable = ctx.imported(STACK, f"{prefix}SecretArn")
        host, port_number = ctx.imported(STACK, f"{prefix}Address"), ctx.imported(STACK, f"{prefix}Port")
    variables = {
        env_name("database", use.name, "host"): host,
        env_name("database", use.name, "port"): port_number,
        env_name("database", use.name, "name"): database.get("name", default_db_name(ctx)),
    }
    if database["replicas"] and ctx.role != "secondary":
        variables[env_name("database", use.name, "read", "hosts")] = ctx.imported(STACK, f"{prefix}ReadAddresses")
    if named is not None:
        variables[env_name("database", use.name, "credentials")] = named
    return Connection(
        variables=variables,
        injected={
            env_name("database", use.name, "user"): Join("", [secret, ":username::"]),
            env_name("database", use.name, "password"): Join("", [secret, ":password::"]),
        },
        readable=[readable],
    )


def parameter_group(title: str, db: dict[str, Any], description: str, name: str, ctx: Context) -> rds.DBParameterGroup:
    """ivc's parameters (pg_stat_statements, slow-query logging, TLS only) under the spec's own."""
    parameters = {**BASE_PARAMETERS, **{k: str(v) for k, v in db["parameters"].items()}}
    return rds.DBParameterGroup(
        title,
        Family=f"{db['engine']}{db['version'].split('.')[0]}",
        Description=description,
        Parameters=dict(sorted(parameters.items())),
        Tags=ctx.resource_tags(name),
    )


def monitoring_role(title: str, name: str, ctx: Context) -> iam.Role:
    """The role RDS Enhanced Monitoring publishes an instance's OS metrics with."""
    return iam.Role(
        title,
        Description=f"{name}: RDS Enhanced Monitoring publishes OS metrics",
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        },
        ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"],
        Tags=ctx.resource_tags(f"{name}-monitoring"),
    )


def build(databases: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tier = network.data_tier(ctx.spec["network"])
    for name, db in sorted(databases.items()):
        out.at = ("databases", name)
        title = f"Database{camel(name)}"
        subnets = out.add(
            rds.DBSubnetGroup(
                f"{title}SubnetGroup",
                DBSubnetGroupDescription=f"{ctx.name(name)}: {tier} tier subnets",
                SubnetIds=network.subnet_ids(ctx, tier),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        group = out.add(
            parameter_group(
                f"{title}ParameterGroup", db, f"{ctx.name(name)}: pg_stat_statements, slow-query logging, TLS only", ctx.name(name), ctx
            )
        )
        log_groups = [
            out.add(log_group(f"{title}Log{camel(kind)}", f"/aws/rds/instance/{identifier(ctx, name)}/{kind}", ctx, name, STACK))
            for kind in db["logs"]
        ]
        named = secret_name(ctx.spec, ctx.environment, name)
        credentials: dict[str, Any]
        if named is None:
            credentials = {"ManageMasterUserPassword": True, "MasterUserSecret": rds.MasterUserSecret(KmsKeyId=key_arn(ctx, True))}
        else:
            out.at = ("databases", name, "secret")
            secret = out.add(
                secretsmanager.Secret(
                    f"{title}Secret",
                    Name=named,
                    Description=f"{ctx.name(name)}: master user name and password (host and port added by ivc)",
                    KmsKeyId=key_arn(ctx),
                    GenerateSecretString=secretsmanager.GenerateSecretString(
                        SecretStringTemplate=json.dumps({"username": db["username"]}),
                        GenerateStringKey="password",
                        PasswordLength=32,
                        ExcludeCharacters=EXCLUDED_PASSWORD_CHARACTERS,
                    ),
                    Tags=ctx.resource_tags(ctx.name(name, "credentials")),
                    **_secret_replicas(db, ctx, out),
                    # The password of the instance and of its snapshots: kept as long as they may be.
                    DeletionPolicy="Retain",
                    UpdateReplacePolicy="Retain",
                )
            )
            out.at = ("databases", name)
            # Resolved by CloudFormation at deploy time: the template holds the reference, never the value.
            credentials = {"MasterUserPassword": Sub("{{resolve:secretsmanager:${" + secret.title + "}:SecretString:password}}")}
        properties: dict[str, Any] = {
            "DBInstanceIdentifier": identifier(ctx, name),
            "Engine": db["engine"],
            "EngineVersion": db["version"],
            "DBInstanceClass": db["instance"],
            "DBName": db.get("name", default_db_name(ctx)),
            "MasterUsername": db["username"],
            **credentials,
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
        properties.update(_backup_replication(db, ctx, out))
        if db["performance_insights"]:
            properties["PerformanceInsightsRetentionPeriod"] = 7
            properties["PerformanceInsightsKMSKeyId"] = key_arn(ctx, True)
        if db["monitoring_interval"]:
            role = out.add(monitoring_role(f"{title}MonitoringRole", ctx.name(name), ctx))
            properties["MonitoringInterval"] = db["monitoring_interval"]
            properties["MonitoringRoleArn"] = GetAtt(role, "Arn")
        instance = out.add(
            rds.DBInstance(
                title, DependsOn=[g.title for g in log_groups], DeletionPolicy="Snapshot", UpdateReplacePolicy="Snapshot", **properties
            )
        )
        replicas = [_replica(name, number, db, instance, properties, ctx, out) for number in range(1, db["replicas"] + 1)]
        out.at = ("databases", name)
        out.export(ctx, STACK, f"{title}Address", GetAtt(instance, "Endpoint.Address"), f"Host name of database {name}.")
        out.export(ctx, STACK, f"{title}Port", GetAtt(instance, "Endpoint.Port"), f"Port of database {name}.")
        out.export(ctx, STACK, f"{title}Id", Ref(instance), f"Instance identifier of database {name}.")
        if replicas:
            addresses = Join(",", [GetAtt(replica, "Endpoint.Address") for replica in replicas])
            out.export(ctx, STACK, f"{title}ReadAddresses", addresses, f"Host names of database {name}'s read replicas, comma-separated.")
        if named is None:
            out.export(
                ctx,
                STACK,
                f"{title}SecretArn",
                GetAtt(instance, "MasterUserSecret.SecretArn"),
                f"Secret holding database {name}'s master user name and password (managed and rotated by RDS).",
            )
            continue
        out.at = ("databases", name, "secret")
        attachment = out.add(
            secretsmanager.SecretTargetAttachment(
                f"{title}SecretAttachment", SecretId=Ref(secret), TargetId=Ref(instance), TargetType="AWS::RDS::DBInstance"
            )
        )
        # Ref of the attachment is the secret's ARN, once the host and port are in it.
        out.export(ctx, STACK, f"{title}SecretArn", Ref(attachment), f"Secret {named}: database {name}'s master user name and password.")
    return out


def _secret_replicas(db: dict[str, Any], ctx: Context, out: Fragment) -> dict[str, Any]:
    """A database with a DR replica keeps its credentials in the DR region too, under the same name: the replica has
    the source's master user, and once promoted it is the database (encrypted there with that region's key)."""
    secondary = ctx.spec["regions"].get("secondary")
    return secret_replicas(ctx, out, [secondary] if "dr_replica" in db and secondary else [])


def _replica(
    name: str, number: int, db: dict[str, Any], source: rds.DBInstance, primary: dict[str, Any], ctx: Context, out: Fragment
) -> rds.DBInstance:
    """A read replica in the source's region: its class (or `replica_instance`), Multi-AZ, subnets, security group,
    parameters, monitoring and Performance Insights; encryption and its key, the engine version and the credentials come from the
    source. RDS takes no final snapshot of a replica (DeleteDBInstance requires SkipFinalSnapshot for one), and it holds
    nothing its source does not, which is snapshotted: so a replica is deleted, and replaced, without one."""
    out.at = ("databases", name, "replicas")
    title = f"Database{camel(name)}Replica{number}"
    replica_id = replica_identifier(ctx, name, number)
    log_groups = [
        out.add(log_group(f"{title}Log{camel(kind)}", f"/aws/rds/instance/{replica_id}/{kind}", ctx, name, STACK)) for kind in db["logs"]
    ]
    inherited = (
        "DBSubnetGroupName",
        "DBParameterGroupName",
        "VPCSecurityGroups",
        "PubliclyAccessible",
        "AutoMinorVersionUpgrade",
        "CopyTagsToSnapshot",
        "DeletionProtection",
        "EnableIAMDatabaseAuthentication",
        "EnableCloudwatchLogsExports",
        "EnablePerformanceInsights",
        "PerformanceInsightsRetentionPeriod",
        "PerformanceInsightsKMSKeyId",
        "MonitoringInterval",
        "MonitoringRoleArn",
        "MaxAllocatedStorage",
        "PreferredMaintenanceWindow",
        "AllocatedStorage",  # as much as the source starts with; autoscaling to the same ceiling. gp3: RDS's default
    )
    replica = rds.DBInstance(
        title,
        DependsOn=[g.title for g in log_groups],
        DeletionPolicy="Delete",
        UpdateReplacePolicy="Delete",
        DBInstanceIdentifier=replica_id,
        SourceDBInstanceIdentifier=Ref(source),
        Engine=db["engine"],  # the source's (troposphere asks for it; RDS takes the source's anyway)
        DBInstanceClass=db.get("replica_instance", db["instance"]),
        # A standby of the replica in another zone when the source has one: the read path as available as the write path.
        MultiAZ=db["multi_az"],
        Tags=ctx.resource_tags(replica_id),
        **{key: primary[key] for key in inherited if key in primary},
    )
    # troposphere still refuses MultiAZ beside SourceDBInstanceIdentifier; RDS takes it (CreateDBInstanceReadReplica's
    # MultiAZ: "You can create a read replica as a Multi-AZ DB instance"). cfn-lint checks the resource instead.
    return out.add(replica.no_validation())


def _backup_replication(db: dict[str, Any], ctx: Context, out: Fragment) -> dict[str, Any]:
    """`backups.replicate_to: secondary`: RDS replicates the automated backups (snapshots and transaction logs, so a
    restore to any point in the retention) to the disaster-recovery region, encrypted with that region's environment
    key, named by its alias (exports do not cross regions), whose keys stack is deployed first."""
    if db["backups"].get("replicate_to") != "secondary":
        return {}
    from .keys import STACK as KEYS

    secondary = str(ctx.spec["regions"]["secondary"])
    out.after.add((secondary, KEYS))
    return {
        "AutomaticBackupReplicationRegion": secondary,
        "AutomaticBackupReplicationKmsKeyId": Sub(f"arn:${{AWS::Partition}}:kms:{secondary}:${{AWS::AccountId}}:{key_alias(ctx)}"),
        "AutomaticBackupReplicationRetentionPeriod": db["backups"].get("replicate_retention", db["backups"]["retention"]),
    }


# --- rotation of a named secret by a function of the spec ---


def rotated_by(spec: Spec, function: str) -> list[str]:
    """The databases whose named secret ``functions.<function>`` rotates."""
    return sorted(
        name
        for name, db in spec.get("databases", {}).items()
        if (db.get("secret") or {}).get("rotation_function") == f"functions.{function}" and "rotation_days" in db["secret"]
    )


def rotation_statements(ctx: Context, function: str) -> list[Statement]:
    """What a rotation function needs for the secrets it rotates (AWS's single-user rotation): read the secret, put the new
    version and move its stages, on exactly those secrets; a random password (an action on no resource); the key."""
    secrets = [ctx.imported(STACK, f"Database{camel(name)}SecretArn") for name in rotated_by(ctx.spec, function)]
    if not secrets:
        return []
    return [
        Statement(
            Sid="RotateDatabaseSecrets",
            Effect=Allow,
            Action=[
                secrets_actions.DescribeSecret,
                secrets_actions.GetSecretValue,
                secrets_actions.PutSecretValue,
                secrets_actions.UpdateSecretVersionStage,
            ],
            Resource=secrets,
        ),
        # GetRandomPassword acts on no resource: "*" is the only resource IAM takes for it.
        Statement(Sid="GenerateRotatedPasswords", Effect=Allow, Action=[secrets_actions.GetRandomPassword], Resource=["*"]),
        Statement(
            Sid="KeyForRotatedSecrets",
            Effect=Allow,
            Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
            Resource=[key_arn(ctx)],
            Condition=Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")})),
        ),
    ]


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
                "description": "Master user name; its password is generated in Secrets Manager and rotated by RDS (or by the "
                "spec's rotation function, with `secret`).",
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
            "replicas": {
                "description": "Read replicas in the same region, for read scaling: same class (or replica_instance), subnets, "
                "security group, parameters, monitoring and Performance Insights; encrypted with the source's key. Users get "
                "their hosts as DATABASE_<N>_READ_HOSTS, comma-separated (libpq takes several hosts).",
                "type": "integer",
                "minimum": 0,
                "maximum": 15,
                "default": 0,
            },
            "replica_instance": {
                "description": "Instance class of the read replicas. Default: the source's.",
                "type": "string",
                "pattern": "^db\\.[a-z0-9]+\\.[a-z0-9]+$",
                "examples": ["db.r6g.large"],
            },
            "dr_replica": {
                "description": "A promotable read replica in regions.secondary, RDS's cross-region asynchronous replication "
                "(seconds behind): encrypted with that region's environment key, in its data tier, with this database's "
                "parameters, logs and monitoring; retained. Promoting it is a runbook step. Needs a secondary region.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "instance": {
                        "description": "Its instance class (default: the source's): smaller while it only replicates.",
                        "type": "string",
                        "pattern": "^db\\.[a-z0-9]+\\.[a-z0-9]+$",
                        "examples": ["db.t3.large"],
                    },
                    "multi_az": {
                        "description": "A standby of the replica in another zone of the DR region.",
                        "type": "boolean",
                        "default": False,
                    },
                },
                "examples": [{"instance": "db.m5.large"}],
            },
            "secret": {
                "description": "Name the master credentials' secret instead of letting RDS manage it: a Secrets Manager secret "
                "whose password Secrets Manager generates (JSON username, password, and host, port, engine added once the "
                "instance exists), encrypted with the environment key, retained, read by users through `uses:`. "
                "Rotation needs a rotation function of the spec (see docs/databases.md).",
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {
                        "description": "The secret's name; {system} and {environment} are filled in.",
                        "type": "string",
                        "pattern": "^[A-Za-z0-9/_+=.@{}-]{1,512}$",
                        "examples": ["/{environment}/database/credentials"],
                    },
                    "rotation_days": {
                        "description": "Rotate the password every this many days (Secrets Manager takes 1 to 1000).",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 1000,
                    },
                    "rotation_function": {
                        "description": "The function of this spec that rotates it: AWS's PostgreSQL single-user rotation code "
                        "(aws-samples/aws-secrets-manager-rotation-lambdas), using this database. ivc lets Secrets Manager "
                        "invoke it for this secret only and gives its role exactly what rotating this secret takes.",
                        "type": "string",
                        "pattern": "^functions\\.[a-z][a-z0-9-]*$",
                    },
                },
            },
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
                    "replicate_to": {
                        "description": "secondary: RDS replicates the automated backups (snapshots and transaction logs) to "
                        "regions.secondary, encrypted with that region's environment key, so the database can be restored "
                        "there to any point in replicate_retention (the alternative to a copy by `backups:`).",
                        "enum": ["secondary"],
                    },
                    "replicate_retention": {
                        "description": "Days the replicated backups are kept (1-35). Default: retention.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 35,
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
                "description": "Database parameters added to ivc's (pg_stat_statements preloaded, statements slower than 1 s logged), "
                "by PostgreSQL name: a number, or text such as an RDS formula ({DBInstanceClassMemory/32768}). RDS applies dynamic "
                "parameters at once and static ones (shared_buffers, max_connections) at the next reboot.",
                "type": "object",
                "propertyNames": {"pattern": PARAMETER_NAME},
                "additionalProperties": {"type": ["string", "integer", "number"], "minLength": 1, "maxLength": 4096},
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
