"""Caches: ElastiCache Redis replication groups, encrypted at rest and in transit, with an AUTH token."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, elasticache, secretsmanager

from . import network, security
from .context import Context, Fragment, camel
from .logs import log_group
from .secrets import key_arn

STACK = "data"
BASE_PARAMETERS = {"maxmemory-policy": "allkeys-lru", "timeout": "300", "tcp-keepalive": "300"}
LOG_TYPES = ("slow-log", "engine-log")


def build(caches: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    tier = network.data_tier(ctx.spec["network"])
    for name, cache in sorted(caches.items()):
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
