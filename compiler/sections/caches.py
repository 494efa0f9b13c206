"""Caches: ElastiCache Redis replication groups, encrypted at rest and in transit, with an AUTH token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Ref, Sub, elasticache, secretsmanager

from .. import offerings
from ..context import Context, Fragment, camel
from . import network, security
from .base import DAILY_WINDOW, WEEKLY_WINDOW, Connection, Problem, Section, Spec, Use, UseTarget, env_name
from .logs import log_group
from .secrets import key_arn

STACK = "data"
BASE_PARAMETERS = {"maxmemory-policy": "allkeys-lru", "timeout": "300", "tcp-keepalive": "300"}
LOG_TYPES = ("slow-log", "engine-log")
PORTS = {"redis": 6379}


def check(spec: Spec) -> Iterator[Problem]:
    region = spec["regions"]["primary"]
    for name, cache_settings in spec.get("caches", {}).items():
        for field, message in offerings.cache_problems(region, cache_settings["engine"], cache_settings["version"], cache_settings["node"]):
            yield ("caches", name, field), message


def port(spec: Spec, name: str) -> int:
    return PORTS[spec["caches"][name]["engine"]]


def connect(ctx: Context, use: Use) -> Connection:
    """Host, port and TLS as settings; the AUTH token injected from its secret."""
    prefix = f"Cache{camel(use.name)}"
    secret = ctx.imported(STACK, f"{prefix}AuthTokenArn")
    return Connection(
        variables={
            env_name("cache", use.name, "host"): ctx.imported(STACK, f"{prefix}Address"),
            env_name("cache", use.name, "port"): ctx.imported(STACK, f"{prefix}Port"),
            env_name("cache", use.name, "tls"): "true",
        },
        injected={env_name("cache", use.name, "auth_token"): secret},
        readable=[secret],
    )


def build(caches: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tier = network.data_tier(ctx.spec["network"])
    for name, cache in sorted(caches.items()):
        out.at = ("caches", name)
        title = f"Cache{camel(name)}"
        subnets = out.add(
            elasticache.SubnetGroup(
                f"{title}SubnetGroup",
                Description=f"{ctx.name(name)}: {tier} tier subnets",
                SubnetIds=network.subnet_ids(ctx, tier),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        parameters = {**BASE_PARAMETERS, **{k: str(v) for k, v in cache["parameters"].items()}}
        group = out.add(
            elasticache.ParameterGroup(
                f"{title}ParameterGroup",
                CacheParameterGroupFamily=f"redis{cache['version'].split('.')[0]}",
                Description=f"{ctx.name(name)}: eviction and connection settings",
                Properties=dict(sorted(parameters.items())),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        token = out.add(
            secretsmanager.Secret(
                f"{title}AuthToken",
                Name=f"{ctx.system}/{ctx.environment}/caches/{name}/auth-token",
                Description=f"{ctx.name(name)}: Redis AUTH token",
                KmsKeyId=key_arn(ctx, True),
                GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=64, ExcludePunctuation=True),
                Tags=ctx.resource_tags(ctx.name(name)),
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )
        )
        log_groups = {
            kind: out.add(log_group(f"{title}Log{camel(kind)}", ctx.log_group_name("caches", name, kind), ctx, name, STACK))
            for kind in LOG_TYPES
        }
        replicated = cache["replicas"] > 0
        group_resource = out.add(
            elasticache.ReplicationGroup(
                title,
                ReplicationGroupId=ctx.name(name),
                ReplicationGroupDescription=f"{ctx.name(name)}: Redis {cache['version']}",
                Engine=cache["engine"],
                EngineVersion=cache["version"],
                CacheNodeType=cache["node"],
                NumCacheClusters=cache["replicas"] + 1,
                AutomaticFailoverEnabled=replicated,
                MultiAZEnabled=replicated,
                AtRestEncryptionEnabled=True,
                KmsKeyId=key_arn(ctx, True),
                TransitEncryptionEnabled=True,
                AuthToken=Sub("{{resolve:secretsmanager:${" + token.title + "}}}"),
                CacheParameterGroupName=Ref(group),
                CacheSubnetGroupName=Ref(subnets),
                SecurityGroupIds=[security.imported(ctx, "cache", name)],
                SnapshotRetentionLimit=cache["snapshots"]["retention"],
                SnapshotWindow=cache["snapshots"]["window"],
                PreferredMaintenanceWindow=cache["maintenance_window"],
                AutoMinorVersionUpgrade=True,
                LogDeliveryConfigurations=[
                    elasticache.LogDeliveryConfigurationRequest(
                        DestinationType="cloudwatch-logs",
                        LogFormat="json",
                        LogType=kind,
                        DestinationDetails=elasticache.DestinationDetails(
                            CloudWatchLogsDetails=elasticache.CloudWatchLogsDestinationDetails(LogGroup=Ref(log_groups[kind]))
                        ),
                    )
                    for kind in LOG_TYPES
                ],
                Tags=ctx.resource_tags(ctx.name(name)),
                DeletionPolicy="Snapshot",
                UpdateReplacePolicy="Snapshot",
            )
        )
        out.export(ctx, STACK, f"{title}Address", GetAtt(group_resource, "PrimaryEndPoint.Address"), f"Primary endpoint of cache {name}.")
        out.export(ctx, STACK, f"{title}Port", GetAtt(group_resource, "PrimaryEndPoint.Port"), f"Port of cache {name}.")
        out.export(ctx, STACK, f"{title}Id", Ref(group_resource), f"Replication group ID of cache {name}.")
        out.export(ctx, STACK, f"{title}AuthTokenArn", Ref(token), f"Secret holding cache {name}'s AUTH token.")
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "caches": {
        "description": "In-memory caches (ElastiCache Redis replication groups), encrypted at rest and in transit with an AUTH token.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/cache"},
        "default": {},
        "examples": [{"sessions": {"node": "cache.t3.small", "replicas": 1}}],
    }
}
DEFS: dict[str, Any] = {
    "cache": {
        "description": "An ElastiCache Redis replication group (cluster mode off).",
        "type": "object",
        "additionalProperties": False,
        "required": ["node"],
        "properties": {
            "engine": {"description": "Cache engine.", "enum": ["redis"], "default": "redis"},
            "version": {
                "description": "Engine version, quoted.",
                "type": "string",
                "pattern": "^[0-9]+\\.[0-9]+$",
                "default": "7.1",
                "examples": ["7.0"],
            },
            "node": {
                "description": "Node type.",
                "type": "string",
                "pattern": "^cache\\.[a-z0-9]+\\.[a-z0-9]+$",
                "examples": ["cache.t3.micro", "cache.r6g.large"],
            },
            "replicas": {
                "description": "Read replicas besides the primary; with one or more, automatic failover and Multi-AZ are on.",
                "type": "integer",
                "minimum": 0,
                "maximum": 5,
                "default": 0,
            },
            "parameters": {
                "description": "Redis parameters added to ivc's (maxmemory-policy allkeys-lru, timeout 300, tcp-keepalive 300).",
                "type": "object",
                "additionalProperties": {"type": ["string", "integer"]},
                "default": {},
                "examples": [{"maxmemory-policy": "volatile-lru"}],
            },
            "snapshots": {
                "description": "Daily snapshots.",
                "type": "object",
                "additionalProperties": False,
                "default": {"retention": 5, "window": "05:00-06:00"},
                "properties": {
                    "retention": {
                        "description": "Days to keep snapshots; 0 turns them off.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 35,
                        "default": 5,
                    },
                    "window": {
                        "type": "string",
                        "pattern": DAILY_WINDOW,
                        "description": "Daily snapshot window, UTC.",
                        "default": "05:00-06:00",
                    },
                },
            },
            "maintenance_window": {
                "description": "Weekly maintenance window, UTC.",
                "type": "string",
                "pattern": WEEKLY_WINDOW,
                "default": "sun:06:30-sun:07:30",
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "caches": {"description": "Changes to caches in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "caches",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    site=True,
    use=UseTarget(default="connect", port=port, connect=connect),
)
