"""Secrets and keys: the environment's KMS key and the Secrets Manager secrets the spec declares.

Generated values are made by Secrets Manager at creation; no value ever appears
in a template or in output/.
"""

from __future__ import annotations

from typing import Any

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, BoolIfExists, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, kms, secretsmanager

from ..context import Context, Fragment, camel
from .base import Connection, Section, Spec, Use, UseTarget, env_name

STACK = "data"
KEY = "EnvironmentKey"


def key_arn(ctx: Context, same_stack: bool) -> Any:
    return GetAtt(KEY, "Arn") if same_stack else ctx.imported(STACK, "EnvironmentKeyArn")


def build_key(ctx: Context) -> Fragment:
    """One customer-managed key per environment and region, rotated yearly, used by everything that encrypts."""
    out = Fragment()
    account = Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
    log_groups = [
        Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{ctx.log_group_name()}/*"),
        Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/rds/instance/{ctx.name()}-*"),
    ]
    from . import SECTIONS  # the registry imports this module

    named = sorted({name for section in SECTIONS if section.log_groups for name in section.log_groups(ctx.spec, ctx)})
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
            *_topic_delivery(ctx),
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
    out.add(kms.Alias("EnvironmentKeyAlias", AliasName=f"alias/{ctx.name()}", TargetKeyId=Ref(key)))
    out.export(ctx, STACK, "EnvironmentKeyArn", GetAtt(key, "Arn"), "ARN of the environment's KMS key.")
    return out


def _topic_delivery(ctx: Context) -> list[Statement]:
    """SNS encrypts what it delivers to an encrypted queue with the queue's key: allow it for this account's topics."""
    delivers = any(s.get("queue") for topic in ctx.spec.get("topics", {}).values() for s in topic["subscriptions"])
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


def secret_logical_id(name: str) -> str:
    return f"Secret{camel(name)}"


def needs_key(spec: Spec) -> bool:
    """Whether the environment needs its KMS key: anything that stores data, runs code or sends alarms does."""
    buckets_with_kms = any(b["encryption"] == "kms" for b in spec.get("buckets", {}).values())
    users = ("databases", "caches", "secrets", "services", "alarms", "queues", "topics", "functions", "apis", "firewall", "registries")
    return buckets_with_kms or any(spec.get(section) for section in users)


def build(spec: Spec, ctx: Context) -> Fragment:
    """The environment's key, then the secrets the spec declares."""
    out = build_key(ctx)
    for name, settings in sorted(spec.get("secrets", {}).items()):
        out.at = ("secrets", name)
        properties: dict[str, Any] = {
            "Name": f"{ctx.system}/{ctx.environment}/{name}",
            "Description": settings.get("description", f"{ctx.name()} secret {name}"),
            "KmsKeyId": key_arn(ctx, same_stack=True),
            "Tags": ctx.resource_tags(ctx.name(name)),
        }
        if "generate" in settings:
            generate = settings["generate"]
            properties["GenerateSecretString"] = secretsmanager.GenerateSecretString(
                PasswordLength=generate["length"], ExcludePunctuation=not generate["punctuation"]
            )
        secret = out.add(
            secretsmanager.Secret(secret_logical_id(name), DeletionPolicy="Retain", UpdateReplacePolicy="Retain", **properties)
        )
        out.export(ctx, STACK, f"{secret_logical_id(name)}Arn", Ref(secret), f"ARN of secret {name}.")
    return out


def secret_arn(ctx: Context, name: str) -> Any:
    """A secret's ARN, as the app layer imports it."""
    return ctx.imported(STACK, f"{secret_logical_id(name)}Arn")


def connect(ctx: Context, use: Use) -> Connection:
    """`uses: [secrets.x]` injects the secret as X and lets the execution role read it."""
    secret = secret_arn(ctx, use.name)
    return Connection(injected={env_name(use.name): secret}, readable=[secret])


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "secrets": {
        "description": "Secrets Manager secrets, encrypted with the environment's KMS key. Services read them through `uses:` or "
        "`secrets:`.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/secret"},
        "default": {},
        "examples": [{"jwt-secret": {"generate": {"length": 64}}}],
    }
}
DEFS: dict[str, Any] = {
    "secret": {
        "description": "One secret value.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {"description": "What the secret is for; shown in the console.", "type": "string", "maxLength": 200},
            "generate": {
                "description": "Have Secrets Manager generate the value when the secret is created (never in a "
                "template). Without it, the secret is created empty and its value is set out of "
                "band.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "length": {
                        "description": "Length of the generated value.",
                        "type": "integer",
                        "minimum": 16,
                        "maximum": 4096,
                        "default": 64,
                    },
                    "punctuation": {"description": "Include punctuation characters.", "type": "boolean", "default": False},
                },
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "secrets": {"description": "Changes to secrets in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "secrets",
    PROPERTIES,
    DEFS,
    OVERLAY,
    build=build,
    stack=STACK,
    needed=needs_key,
    whole_spec=True,
    use=UseTarget(default="read", connect=connect),
)
