"""The environment's KMS key, alone in the `keys` stack, which every stack that encrypts imports it from.

The key comes first (wave 0): the network stack's flow-log group is encrypted with it, and the data stack
imports from the network, so the key cannot live in data. The section has no schema of its own: whether the
key exists follows from what the spec holds (``needed``).
"""

from __future__ import annotations

from typing import Any

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, BoolIfExists, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, kms, secretsmanager

from ..context import Context, Fragment
from .base import EVERY, Section, Spec

STACK = "keys"
KEY = "EnvironmentKey"
ARN_OUTPUT = "EnvironmentKeyArn"


def key_arn(ctx: Context, same_stack: bool = False) -> Any:
    """The key's ARN as any stack that encrypts sees it: imported from the keys stack.

    ``same_stack`` is what callers said while the key shared the data stack. The keys stack now holds the key
    alone, so no caller is in it and every one imports; the argument is accepted and changes nothing.
    """
    return ctx.imported(STACK, ARN_OUTPUT)


def key_alias(ctx: Context) -> str:
    """The key's alias: the same name in every region, so a stack of one region can name another region's key."""
    return f"alias/{ctx.name()}"


def secret_replicas(ctx: Context, out: Fragment, regions: list[str]) -> dict[str, Any]:
    """A secret's `ReplicaRegions` in ``regions``, under the same name, each encrypted with that region's environment
    key (by its alias: ARNs do not cross regions); so the keys stacks there deploy first."""
    if not regions:
        return {}
    out.after.update((region, STACK) for region in regions)
    return {"ReplicaRegions": [secretsmanager.ReplicaRegion(Region=region, KmsKeyId=key_alias(ctx)) for region in regions]}


def needed(spec: Spec) -> bool:
    """Whether the environment has a key: anything that stores data, runs code, sends alarms or records flow logs."""
    buckets_with_kms = any(b["encryption"] == "kms" for b in spec.get("buckets", {}).values())
    users = (
        *("databases", "caches", "secrets", "services", "alarms", "queues", "topics", "functions", "apis", "firewall"),
        *("registries", "patching", "filesystems", "fleets", "buses", "access"),
    )
    flow_logs = bool(spec.get("network") and spec["network"]["flow_logs"]["enabled"])
    return buckets_with_kms or flow_logs or any(spec.get(section) for section in users)


def build(spec: Spec, ctx: Context) -> Fragment:
    """One customer-managed key per environment and region, rotated yearly, used by everything that encrypts."""
    out = Fragment()
    account = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
    log_groups = [
        Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{ctx.log_group_name()}/*"),
        Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/rds/instance/{ctx.name()}-*"),
    ]
    from . import SECTIONS, backups  # the registry imports this module (and backups imports it)

    named = sorted({name for section in SECTIONS if section.log_groups for name in section.log_groups(spec, ctx)})
    log_groups += [Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{name}") for name in named]
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            # The account administers the key; IAM policies then grant each use (AWS's recommended root statement).
            Statement(
                Sid="AccountAdministersKey",
                Effect=Allow,
                Principal=Principal("AWS", account),
                Action=[kms_actions.Action("*")],
                Resource=["*"],
            ),
            # A grant is a way to the key that no policy shows; only AWS services using the key for a principal's
            # resource (such as RDS or ECR) may create one. IfExists: a request without the key is denied too.
            Statement(
                Sid="GrantsOnlyForAwsResources",
                Effect=Deny,
                Principal=Principal("AWS", "*"),
                Action=[kms_actions.CreateGrant],
                Resource=["*"],
                Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false"})),
            ),
            Statement(
                Sid="LogsEncryptThisEnvironmentsLogGroups",
                Effect=Allow,
                Principal=Principal("Service", Sub("logs.${AWS::Region}.amazonaws.com")),
                Action=[
                    kms_actions.Encrypt,
                    kms_actions.Decrypt,
                    kms_actions.ReEncryptFrom,
                    kms_actions.ReEncryptTo,
                    kms_actions.GenerateDataKey,
                    kms_actions.GenerateDataKeyWithoutPlaintext,
                    kms_actions.DescribeKey,
                ],
                Resource=["*"],
                Condition=Condition(ArnLike({"kms:EncryptionContext:aws:logs:arn": log_groups})),
            ),
            *_topic_delivery(spec),
            *_event_buses(spec),
            *backups.key_statements(spec),
            Statement(
                Sid="AlarmsPublishToEncryptedTopics",
                Effect=Allow,
                Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
                Resource=["*"],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            ),
        ],
    )
    key = out.add(
        kms.Key(
            KEY,
            Description=f"{ctx.name()}: encrypts this environment's data, secrets and logs",
            EnableKeyRotation=True,
            PendingWindowInDays=30,
            KeyPolicy=policy,
            Tags=ctx.resource_tags(ctx.name("key")),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    out.add(kms.Alias("EnvironmentKeyAlias", AliasName=key_alias(ctx), TargetKeyId=Ref(key)))
    out.export(ctx, STACK, ARN_OUTPUT, GetAtt(key, "Arn"), "ARN of the environment's KMS key.")
    return out


def _topic_delivery(spec: Spec) -> list[Statement]:
    """SNS encrypts what it delivers to an encrypted queue with the queue's key: allow it for this account's topics."""
    delivers = any(s.get("queue") for topic in spec.get("topics", {}).values() for s in topic["subscriptions"])
    if not delivers:
        return []
    return [
        Statement(
            Sid="TopicsDeliverToEncryptedQueues",
            Effect=Allow,
            Principal=Principal("Service", "sns.amazonaws.com"),
            Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
            Resource=["*"],
            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
        )
    ]


def _event_buses(spec: Spec) -> list[Statement]:
    """EventBridge encrypts a bus's events, rules and archive with the key as itself, and encrypts what its rules deliver
    to encrypted queues and topics (the alarm topics too: alarms.events and AWS Backup's notifications); DescribeKey checks
    the key when a bus is made (EventBridge's documented three)."""
    from . import backups  # the registry imports this module; backups imports it

    if not spec.get("buses") and not backups.notifies(spec) and not (spec.get("alarms") or {}).get("events"):
        return []
    return [
        Statement(
            Sid="EventBridgeUsesKeyForThisAccount",
            Effect=Allow,
            Principal=Principal("Service", "events.amazonaws.com"),
            Action=[kms_actions.DescribeKey, kms_actions.GenerateDataKey, kms_actions.Decrypt],
            Resource=["*"],
            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
        )
    ]


SECTION = Section("keys", build=build, stack=STACK, needed=needed, whole_spec=True, regions=EVERY)
