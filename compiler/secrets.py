"""Secrets and keys: the environment's KMS key and the Secrets Manager secrets the spec declares.

Generated values are made by Secrets Manager at creation; no value ever appears
in a template or in output/.
"""

from __future__ import annotations

from typing import Any

from awacs import kms as kms_actions
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, kms, secretsmanager

from .context import Context, Fragment, camel

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


def secret_logical_id(name: str) -> str:
    return f"Secret{camel(name)}"


def build(secrets: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    for name, settings in sorted(secrets.items()):
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
