"""The account baseline: what every AWS account and region an environment deploys to should have, once.

Usually set in the shared defaults (specs/_defaults/org.yaml), so every system's environments carry it, and
narrowed with `baseline.environments` to the environments that deploy it (each to its own accounts, or its
organizational units when its `deploy` is service-managed). It builds the `baseline` stack, in every region of
the environment:

- every region: a baseline KMS key, a `security` SNS topic (encrypted, TLS-only, subscribed by `baseline.notify`,
  by default the environment's critical alarm subscribers), an AWS Config recorder and delivery channel with a
  conformance pack of AWS managed rules and remediations, a GuardDuty detector, Security Hub with its standards,
  Amazon Inspector scanning of ECR images (the registry's enhanced scanning), and EventBridge rules sending
  GuardDuty and Security Hub findings to the topic;
- the primary region only (global things): the multi-region CloudTrail trail with log file validation, encrypted
  with the baseline key, into a retained, versioned, TLS-only bucket (also Config's) and a CloudWatch Logs group
  whose metric filters raise the CIS security alarms; Config's recording of global resources (IAM); budgets;
  cost anomaly detection; the IAM group whose policy denies everything but MFA self-service without MFA.

Shield Advanced protections (`shield`) live beside what they protect (baseline_shield, baseline_shield_cdn).

The stack imports nothing, so it deploys in the first wave (a secondary region's after the primary's, whose bucket
its Config delivers to). AWS allows one Config recorder and delivery channel, one GuardDuty detector, one Security Hub
and one registry scanning configuration per account and region: the baseline owns them, and where an account has one
already the spec says `existing` (the baseline then routes its findings but does not create it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from awacs import iam as iam_actions
from awacs import kms as kms_actions
from awacs import logs as logs_actions
from awacs import s3 as s3_actions
from awacs import sns as sns_actions
from awacs import sts as sts_actions
from awacs.aws import (
    Action,
    Allow,
    ArnLike,
    BoolIfExists,
    Condition,
    Deny,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from troposphere import (
    GetAtt,
    Join,
    Ref,
    Sub,
    budgets,
    ce,
    cloudtrail,
    cloudwatch,
    config,
    ecr,
    events,
    guardduty,
    iam,
    kms,
    s3,
    securityhub,
    sns,
)
from troposphere import logs as cwlogs

from .. import relations
from ..context import Context, Fragment, camel
from .base import EVERY, Path, Problem, Section, Spec, deny_insecure_transport

STACK = "baseline"
NAMESPACE = "ivc/Baseline"  # the metrics of the security alarms' filters
TOPIC = "SecurityTopic"
KEY = "BaselineKey"
TRAIL = "Trail"
TRAIL_BUCKET = "TrailBucket"
LOGS_BUCKET = "BaselineLogsBucket"  # the trail bucket's server access logs
CONFIG_PREFIX = "config"

# CloudWatch Logs' retention values: the trail's log group keeps its events as long as the bucket keeps its files.
RETENTIONS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]

# CIS AWS Foundations (monitoring section) and Security Hub's CloudWatch.1-14 controls: a metric filter on the trail's
# log group and an alarm on its first event.
SECURITY_ALARMS: dict[str, tuple[str, str]] = {
    "root-usage": (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
        "the root user was used",
    ),
    "unauthorized-api-calls": (
        '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }',
        "API calls were refused as unauthorized",
    ),
    "console-login-without-mfa": (
        '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") '
        '&& ($.responseElements.ConsoleLogin = "Success") }',
        "an IAM user signed in to the console without MFA",
    ),
    "console-login-failures": (
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        "console sign-ins failed",
    ),
    "iam-policy-changes": (
        "{ ($.eventName = DeleteGroupPolicy) || ($.eventName = DeleteRolePolicy) || ($.eventName = DeleteUserPolicy) || "
        "($.eventName = PutGroupPolicy) || ($.eventName = PutRolePolicy) || ($.eventName = PutUserPolicy) || "
        "($.eventName = CreatePolicy) || ($.eventName = DeletePolicy) || ($.eventName = CreatePolicyVersion) || "
        "($.eventName = DeletePolicyVersion) || ($.eventName = AttachRolePolicy) || ($.eventName = DetachRolePolicy) || "
        "($.eventName = AttachUserPolicy) || ($.eventName = DetachUserPolicy) || ($.eventName = AttachGroupPolicy) || "
        "($.eventName = DetachGroupPolicy) }",
        "an IAM policy changed",
    ),
    "cloudtrail-changes": (
        "{ ($.eventName = CreateTrail) || ($.eventName = UpdateTrail) || ($.eventName = DeleteTrail) || "
        "($.eventName = StartLogging) || ($.eventName = StopLogging) }",
        "a CloudTrail trail changed",
    ),
    "kms-key-disabled-or-deleted": (
        "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }",
        "a KMS key was disabled or scheduled for deletion",
    ),
    "s3-bucket-policy-changes": (
        "{ ($.eventSource = s3.amazonaws.com) && (($.eventName = PutBucketAcl) || ($.eventName = PutBucketPolicy) || "
        "($.eventName = PutBucketCors) || ($.eventName = PutBucketLifecycle) || ($.eventName = PutBucketReplication) || "
        "($.eventName = DeleteBucketPolicy) || ($.eventName = DeleteBucketCors) || ($.eventName = DeleteBucketLifecycle) || "
        "($.eventName = DeleteBucketReplication)) }",
        "an S3 bucket policy or ACL changed",
    ),
    "config-changes": (
        "{ ($.eventSource = config.amazonaws.com) && (($.eventName = StopConfigurationRecorder) || "
        "($.eventName = DeleteDeliveryChannel) || ($.eventName = PutDeliveryChannel) || ($.eventName = PutConfigurationRecorder)) }",
        "AWS Config's recorder or delivery channel changed",
    ),
    "security-group-changes": (
        "{ ($.eventName = AuthorizeSecurityGroupIngress) || ($.eventName = AuthorizeSecurityGroupEgress) || "
        "($.eventName = RevokeSecurityGroupIngress) || ($.eventName = RevokeSecurityGroupEgress) || "
        "($.eventName = CreateSecurityGroup) || ($.eventName = DeleteSecurityGroup) }",
        "a security group changed",
    ),
    "nacl-changes": (
        "{ ($.eventName = CreateNetworkAcl) || ($.eventName = CreateNetworkAclEntry) || ($.eventName = DeleteNetworkAcl) || "
        "($.eventName = DeleteNetworkAclEntry) || ($.eventName = ReplaceNetworkAclEntry) || ($.eventName = ReplaceNetworkAclAssociation) }",
        "a network ACL changed",
    ),
    "gateway-changes": (
        "{ ($.eventName = CreateCustomerGateway) || ($.eventName = DeleteCustomerGateway) || ($.eventName = AttachInternetGateway) || "
        "($.eventName = CreateInternetGateway) || ($.eventName = DeleteInternetGateway) || ($.eventName = DetachInternetGateway) }",
        "a network gateway changed",
    ),
    "route-table-changes": (
        "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || ($.eventName = ReplaceRoute) || "
        "($.eventName = ReplaceRouteTableAssociation) || ($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || "
        "($.eventName = DisassociateRouteTable) }",
        "a route table changed",
    ),
    "vpc-changes": (
        "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || ($.eventName = ModifyVpcAttribute) || "
        "($.eventName = AcceptVpcPeeringConnection) || ($.eventName = CreateVpcPeeringConnection) || "
        "($.eventName = DeleteVpcPeeringConnection) || ($.eventName = RejectVpcPeeringConnection) }",
        "a VPC or its peering changed",
    ),
}

# The conformance pack: AWS managed rules for security best practices. Rules about account-wide (IAM, CloudTrail)
# things are evaluated once, in the primary region, where Config records global resources.
REGIONAL_RULES = (
    "S3_BUCKET_PUBLIC_READ_PROHIBITED",
    "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
    "S3_BUCKET_SSL_REQUESTS_ONLY",
    "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
    "ENCRYPTED_VOLUMES",
    "EC2_IMDSV2_CHECK",
    "RDS_STORAGE_ENCRYPTED",
    "RDS_INSTANCE_PUBLIC_ACCESS_CHECK",
    "INCOMING_SSH_DISABLED",
    "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
    "VPC_FLOW_LOGS_ENABLED",
    "CMK_BACKING_KEY_ROTATION_ENABLED",
    "GUARDDUTY_ENABLED_CENTRALIZED",
    "CLOUD_TRAIL_ENABLED",
)
GLOBAL_RULES = (
    "ROOT_ACCOUNT_MFA_ENABLED",
    "IAM_ROOT_ACCESS_KEY_CHECK",
    "MFA_ENABLED_FOR_IAM_CONSOLE_ACCESS",
    "IAM_USER_NO_POLICIES_CHECK",
    "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
    "CLOUD_TRAIL_ENCRYPTION_ENABLED",
)

# Remediations the spec may ask for: the rule, the AWS-owned Systems Manager Automation runbook that fixes a resource,
# the parameter the resource's ID goes to, and what the runbook's role may do (actions, on resources of that kind).
REMEDIATIONS: dict[str, tuple[str, str, str, list[tuple[list[str], str]]]] = {
    "s3-public-access": (
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "AWSConfigRemediation-ConfigureS3BucketPublicAccessBlock",
        "BucketName",
        [(["s3:PutBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock"], "arn:${AWS::Partition}:s3:::*")],
    ),
    "s3-tls-only": (
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "AWSConfigRemediation-RestrictBucketSSLRequestsOnly",
        "BucketName",
        [(["s3:GetBucketPolicy", "s3:PutBucketPolicy"], "arn:${AWS::Partition}:s3:::*")],
    ),
    "default-security-group": (
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
        "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules",
        "GroupId",
        [
            (["ec2:DescribeSecurityGroups"], "*"),  # EC2's Describe calls take no resource
            (
                ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
                "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:security-group/*",
            ),
        ],
    ),
    "key-rotation": (
        "CMK_BACKING_KEY_ROTATION_ENABLED",
        "AWSConfigRemediation-EnableKeyRotation",
        "KeyId",
        [(["kms:EnableKeyRotation", "kms:GetKeyRotationStatus"], "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")],
    ),
}

STANDARDS = {
    "aws-foundational": "standards/aws-foundational-security-best-practices/v/1.0.0",
    "cis-1.4": "standards/cis-aws-foundations-benchmark/v/1.4.0",
    "cis-3.0": "standards/cis-aws-foundations-benchmark/v/3.0.0",
    "nist-800-53": "standards/nist-800-53/v/5.0.0",
    "pci-dss": "standards/pci-dss/v/3.2.1",
}


# --- where it builds, and who hears ------------------------------------------------------------------------------


def carried(spec: Spec, environment: str) -> bool:
    """Whether ``environment`` deploys the baseline (`baseline.environments`, default every environment)."""
    baseline = spec.get("baseline")
    if not baseline:
        return False
    named = baseline.get("environments")
    return named is None or environment in named


def needed(spec: Spec) -> bool:
    return bool(spec.get("baseline"))


def notified(spec: Spec) -> list[str]:
    """Who hears security alarms and findings: `baseline.notify`, else the critical alarm subscribers (not topics)."""
    baseline = spec["baseline"]
    if baseline.get("notify"):
        return list(baseline["notify"])
    critical = ((spec.get("alarms") or {}).get("notify") or {}).get("critical", [])
    found = [endpoint for endpoint in critical if not endpoint.startswith("topics.")]
    # A topic of the spec lives in the data stack, which deploys after the baseline: its e-mail and HTTPS subscribers.
    for ref in (e for e in critical if e.startswith("topics.")):
        for subscription in (spec.get("topics") or {}).get(ref.split(".", 1)[1], {}).get("subscriptions", []):
            found += [subscription[k] for k in ("email", "https") if k in subscription]
    return list(dict.fromkeys(found))


def _emails(endpoints: list[str]) -> list[str]:
    return [e for e in endpoints if "@" in e and not e.startswith("https://")]


def _routes_findings(baseline: dict[str, Any]) -> bool:
    return bool(baseline["security_alarms"] and baseline["trail"]) or bool(baseline["guardduty"]) or bool(baseline["security_hub"])


# --- checks ------------------------------------------------------------------------------------------------------


def check(environment: str, spec: Spec) -> Iterator[Problem]:
    """Checked only where the baseline is deployed: an environment that leaves it to another needs none of it."""
    if not carried(spec, environment):
        return
    baseline = spec["baseline"]
    at: Path = ("baseline",)
    if _routes_findings(baseline) and not notified(spec):
        yield (
            at,
            (
                f"{spec['system']}'s security alarms and findings need someone to hear them: list e-mail addresses, HTTPS "
                "endpoints or phone numbers in baseline.notify, or subscribers in alarms.notify.critical"
            ),
        )
    config_ = baseline["config"]
    if config_ and config_.get("remediation") and not config_.get("conformance_pack"):
        yield (*at, "config", "remediation"), "remediation acts on the conformance pack's rules; set config.conformance_pack: true"
    for key in ("budgets", "anomaly_detection"):
        section = baseline.get(key)
        if section and not _emails(section.get("notify") or notified(spec)):
            yield (
                (*at, key),
                f"{key.replace('_', ' ')} e-mails its alerts: list e-mail addresses in baseline.{key}.notify "
                f"(or in baseline.notify) for {spec['system']}",
            )
    shield = baseline.get("shield")
    if shield:
        if not shield["subscribed"]:
            yield (
                (*at, "shield"),
                (
                    "Shield Advanced protections need the account's Shield Advanced subscription, which CloudFormation cannot "
                    "create (aws shield create-subscription: US$3,000 a month with a one-year commitment, per organization); "
                    "subscribe the account, then say shield.subscribed: true"
                ),
            )
        for index, target in enumerate(shield["protect"]):
            if target == "cdn" and not spec.get("cdn"):
                yield (*at, "shield", "protect", index), "shield protects the cdn, but this environment has no cdn"
            if target == "load_balancer" and not relations.balanced(spec):
                yield (*at, "shield", "protect", index), "shield protects the load balancer, but no service or fleet has a route"


def _targets(spec: Spec) -> set[str]:
    """Where an environment's stacks go: its accounts, its OUs, or the account of the credentials in use."""
    deploy = spec.get("deploy") or {}
    found = {f"account {a}" for a in deploy.get("accounts", [])} | {
        f"organizational unit {o}" for o in deploy.get("organizational_units", [])
    }
    return found or {"the account of the credentials in use"}


def _regions(spec: Spec) -> set[str]:
    regions = spec["regions"]
    return {regions["primary"], *([regions["secondary"]] if "secondary" in regions else [])}


def check_together(environments: list[tuple[str, Spec]]) -> Iterator[tuple[str, Path, str]]:
    """Two environments of one spec that would deploy the baseline into one account and region: the second is refused.

    AWS allows one Config recorder, GuardDuty detector and Security Hub per account and region, so a second baseline
    there fails when deployed; ivc says so now. Environments with no accounts both deploy to the credentials' account.
    """
    seen: dict[tuple[str, str], str] = {}
    for name, spec in environments:
        if not carried(spec, name):
            continue
        for target in sorted(_targets(spec)):
            for region in sorted(_regions(spec)):
                first = seen.setdefault((target, region), name)
                if first != name:
                    yield (
                        name,
                        ("baseline",),
                        (
                            f"environments {first} and {name} would both deploy the account baseline to {target} in {region}, "
                            "where AWS allows one Config recorder, GuardDuty detector and Security Hub; keep it in one "
                            f"(baseline.environments: [{first}]) or give {name} its own deploy.accounts"
                        ),
                    )
                    return


# --- the builder -------------------------------------------------------------------------------------------------


def _account(ctx: Context) -> Sub:
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")


def _same_account() -> Condition:
    return Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}))


def _trail_arn(ctx: Context) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:cloudtrail:{ctx.primary_region}:${{AWS::AccountId}}:trail/{ctx.name('trail')}")


def _trail_log_group(ctx: Context) -> str:
    return ctx.log_group_name("baseline", "cloudtrail")


def _key(ctx: Context, baseline: dict[str, Any], primary: bool) -> kms.Key:
    statements = [
        Statement(
            Sid="AccountAdministersKey",
            Effect=Allow,
            Principal=Principal("AWS", _account(ctx)),
            Action=[kms_actions.Action("*")],
            Resource=["*"],
        ),
        Statement(
            Sid="GrantsOnlyForAwsResources",
            Effect=Deny,
            Principal=Principal("AWS", "*"),
            Action=[kms_actions.CreateGrant],
            Resource=["*"],
            Condition=Condition(BoolIfExists({"kms:GrantIsForAWSResource": "false"})),
        ),
        Statement(
            Sid="AlarmsAndFindingsPublishToEncryptedTopic",
            Effect=Allow,
            Principal=Principal("Service", ["cloudwatch.amazonaws.com", "events.amazonaws.com"]),
            Action=[kms_actions.Decrypt, kms_actions.GenerateDataKey],
            Resource=["*"],
            Condition=_same_account(),
        ),
    ]
    if primary and baseline["trail"]:
        statements += [
            Statement(
                Sid="CloudTrailEncryptsThisTrailsLogs",
                Effect=Allow,
                Principal=Principal("Service", "cloudtrail.amazonaws.com"),
                Action=[Action("kms", "GenerateDataKey*")],
                Resource=["*"],
                Condition=Condition(
                    [
                        StringLike(
                            {
                                "kms:EncryptionContext:aws:cloudtrail:arn": Sub(
                                    "arn:${AWS::Partition}:cloudtrail:*:${AWS::AccountId}:trail/*"
                                )
                            }
                        ),
                        StringEquals({"aws:SourceArn": _trail_arn(ctx)}),
                    ]
                ),
            ),
            Statement(
                Sid="CloudTrailDescribesKey",
                Effect=Allow,
                Principal=Principal("Service", "cloudtrail.amazonaws.com"),
                Action=[kms_actions.DescribeKey],
                Resource=["*"],
                Condition=Condition(StringEquals({"aws:SourceArn": _trail_arn(ctx)})),
            ),
            Statement(
                Sid="LogsEncryptTheTrailsLogGroup",
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
                Condition=Condition(
                    ArnLike(
                        {
                            "kms:EncryptionContext:aws:logs:arn": Sub(
                                f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{_trail_log_group(ctx)}"
                            )
                        }
                    )
                ),
            ),
        ]
    return kms.Key(
        KEY,
        Description=f"{ctx.name()}: encrypts the account baseline's trail, logs and security topic",
        EnableKeyRotation=True,
        PendingWindowInDays=30,
        KeyPolicy=PolicyDocument(Version="2012-10-17", Statement=statements),
        Tags=ctx.resource_tags(ctx.name("baseline-key")),
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
    )


def _protocol(endpoint: str) -> str:
    if endpoint.startswith("https://"):
        return "https"
    return "sms" if endpoint.startswith("+") else "email"


def _topic(out: Fragment, ctx: Context, subscribers: list[str]) -> sns.Topic:
    topic = out.add(
        sns.Topic(
            TOPIC,
            TopicName=ctx.name("security"),
            DisplayName=f"{ctx.name()} security alarms and findings",
            KmsMasterKeyId=Ref(KEY),
            Tags=ctx.resource_tags(ctx.name("security")),
        )
    )
    for index, endpoint in enumerate(subscribers, start=1):
        out.add(
            sns.SubscriptionResource(f"{TOPIC}Subscription{index}", TopicArn=Ref(topic), Protocol=_protocol(endpoint), Endpoint=endpoint)
        )
    out.add(
        sns.TopicPolicy(
            f"{TOPIC}Policy",
            Topics=[Ref(topic)],
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="AccountUsesTopic",
                        Effect=Allow,
                        Principal=Principal("AWS", _account(ctx)),
                        Action=[
                            sns_actions.Publish,
                            sns_actions.Subscribe,
                            sns_actions.GetTopicAttributes,
                            sns_actions.ListSubscriptionsByTopic,
                        ],
                        Resource=[Ref(topic)],
                    ),
                    Statement(
                        Sid="AlarmsAndFindingsPublish",
                        Effect=Allow,
                        Principal=Principal("Service", ["cloudwatch.amazonaws.com", "events.amazonaws.com"]),
                        Action=[sns_actions.Publish],
                        Resource=[Ref(topic)],
                        Condition=_same_account(),
                    ),
                    deny_insecure_transport([sns_actions.Publish], [Ref(topic)]),
                ],
            ),
        )
    )
    return topic


def _bucket(out: Fragment, ctx: Context, days: int, config_delivers: bool) -> s3.Bucket:
    from .buckets import bucket_name, log_bucket, tls_only  # buckets imports access_logs; keep the import local like it

    logs = out.add(log_bucket(LOGS_BUCKET, "baseline-logs", ctx, days, "expire-access-logs"))
    out.add(
        s3.BucketPolicy(
            f"{LOGS_BUCKET}Policy",
            Bucket=Ref(logs),
            PolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Sid="S3ServerAccessLogsOfTheTrailBucket",
                        Effect=Allow,
                        Principal=Principal("Service", "logging.s3.amazonaws.com"),
                        Action=[s3_actions.PutObject],
                        Resource=[Join("", [GetAtt(logs, "Arn"), "/trail/*"])],
                        Condition=Condition(
                            [
                                StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                                ArnLike({"aws:SourceArn": Sub("arn:${AWS::Partition}:s3:::${Name}", Name=bucket_name(ctx, "trail"))}),
                            ]
                        ),
                    ),
                    tls_only(GetAtt(logs, "Arn")),
                ],
            ),
        )
    )
    # CloudTrail encrypts each log file with the baseline key (the trail's KMSKeyId); what Config delivers is encrypted
    # by S3, which Config's delivery from other regions needs.
    bucket = out.add(
        log_bucket(
            TRAIL_BUCKET,
            "trail",
            ctx,
            days,
            "expire-audit-logs",
            # Who reads or changes the audit trail is itself recorded (CIS: access logging on the CloudTrail bucket).
            LoggingConfiguration=s3.LoggingConfiguration(DestinationBucketName=Ref(logs), LogFilePrefix="trail/"),
        )
    )
    arn = GetAtt(bucket, "Arn")
    statements = [
        Statement(
            Sid="CloudTrailChecksAcl",
            Effect=Allow,
            Principal=Principal("Service", "cloudtrail.amazonaws.com"),
            Action=[s3_actions.GetBucketAcl],
            Resource=[arn],
            Condition=Condition(StringEquals({"aws:SourceArn": _trail_arn(ctx)})),
        ),
        Statement(
            Sid="CloudTrailWritesThisTrail",
            Effect=Allow,
            Principal=Principal("Service", "cloudtrail.amazonaws.com"),
            Action=[s3_actions.PutObject],
            Resource=[Join("", [arn, "/AWSLogs/", Ref("AWS::AccountId"), "/*"])],
            Condition=Condition(
                [StringEquals({"s3:x-amz-acl": "bucket-owner-full-control"}), StringEquals({"aws:SourceArn": _trail_arn(ctx)})]
            ),
        ),
    ]
    if config_delivers:
        statements += [
            Statement(
                Sid="ConfigChecksAcl",
                Effect=Allow,
                Principal=Principal("Service", "config.amazonaws.com"),
                Action=[s3_actions.GetBucketAcl, s3_actions.ListBucket],
                Resource=[arn],
                Condition=_same_account(),
            ),
            Statement(
                Sid="ConfigDelivers",
                Effect=Allow,
                Principal=Principal("Service", "config.amazonaws.com"),
                Action=[s3_actions.PutObject],
                Resource=[Join("", [arn, f"/{CONFIG_PREFIX}/AWSLogs/", Ref("AWS::AccountId"), "/Config/*"])],
                Condition=Condition(
                    [
                        StringEquals({"s3:x-amz-acl": "bucket-owner-full-control"}),
                        StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                    ]
                ),
            ),
        ]
    statements.append(tls_only(arn))
    out.add(
        s3.BucketPolicy(
            f"{TRAIL_BUCKET}Policy", Bucket=Ref(bucket), PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements)
        )
    )
    return bucket


def _trail(out: Fragment, ctx: Context, trail: dict[str, Any]) -> cwlogs.LogGroup:
    out.at = ("baseline", "trail")
    group = out.add(
        cwlogs.LogGroup(
            "TrailLogGroup",
            LogGroupName=_trail_log_group(ctx),
            RetentionInDays=trail["retention"],
            KmsKeyId=GetAtt(KEY, "Arn"),
            Tags=ctx.resource_tags(),
            DeletionPolicy="Retain",
            UpdateReplacePolicy="Retain",
        )
    )
    role = out.add(
        iam.Role(
            "TrailLogsRole",
            AssumeRolePolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "cloudtrail.amazonaws.com"),
                        Action=[sts_actions.AssumeRole],
                        Condition=Condition(StringEquals({"aws:SourceArn": _trail_arn(ctx)})),
                    )
                ],
            ),
            Policies=[
                iam.Policy(
                    PolicyName="deliver-to-the-trails-log-group",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Effect=Allow,
                                Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents],
                                Resource=[
                                    Sub(
                                        "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                                        f"{_trail_log_group(ctx)}:log-stream:*"
                                    )
                                ],
                            )
                        ],
                    ),
                )
            ],
            Tags=ctx.resource_tags(ctx.name("trail-logs")),
        )
    )
    out.add(
        cloudtrail.Trail(
            TRAIL,
            DependsOn=[f"{TRAIL_BUCKET}Policy"],
            TrailName=ctx.name("trail"),
            IsLogging=True,
            IsMultiRegionTrail=True,
            IncludeGlobalServiceEvents=True,
            EnableLogFileValidation=True,
            KMSKeyId=GetAtt(KEY, "Arn"),
            S3BucketName=Ref(TRAIL_BUCKET),
            CloudWatchLogsLogGroupArn=GetAtt(group, "Arn"),
            CloudWatchLogsRoleArn=GetAtt(role, "Arn"),
            Tags=ctx.resource_tags(ctx.name("trail")),
        )
    )
    return group


def _security_alarms(out: Fragment, ctx: Context, group: cwlogs.LogGroup) -> None:
    out.at = ("baseline", "security_alarms")
    for name, (pattern, words) in SECURITY_ALARMS.items():
        metric = camel(name)
        out.add(
            cwlogs.MetricFilter(
                f"SecurityFilter{metric}",
                LogGroupName=Ref(group),
                FilterPattern=pattern,
                MetricTransformations=[
                    cwlogs.MetricTransformation(MetricNamespace=NAMESPACE, MetricName=metric, MetricValue="1", DefaultValue=0)
                ],
            )
        )
        out.add(
            cloudwatch.Alarm(
                f"SecurityAlarm{metric}",
                AlarmName=ctx.name("security", name),
                AlarmDescription=f"critical: {words} (CloudTrail, every region of the account)",
                Namespace=NAMESPACE,
                MetricName=metric,
                Statistic="Sum",
                Period=300,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching",
                AlarmActions=[Ref(TOPIC)],
            )
        )


def _pack_body(title: str, rules: list[str], remediations: list[str]) -> tuple[str, dict[str, Any]]:
    """A conformance pack's template: one AWS managed Config rule per identifier, and the remediations asked for.

    Config renames a pack's rules (it adds a suffix), so a remediation lives in the pack beside its rule. The body is
    an Fn::Sub string: the runbooks' roles are this stack's, filled in as ${Remediation<Name>Role}.
    """
    resources: dict[str, Any] = {}
    roles: dict[str, Any] = {}
    for rule in rules:
        name = rule.lower().replace("_", "-")
        resources[camel(name)] = {
            "Type": "AWS::Config::ConfigRule",
            "Properties": {"ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": rule}},
        }
    for remedy in remediations:
        rule, runbook, parameter, _ = REMEDIATIONS[remedy]
        if rule not in rules:
            continue
        role = f"Remediation{camel(remedy)}Role"
        roles[role] = GetAtt(role, "Arn")
        resources[f"Remediation{camel(remedy)}"] = {
            "Type": "AWS::Config::RemediationConfiguration",
            "DependsOn": camel(rule.lower().replace("_", "-")),
            "Properties": {
                "ConfigRuleName": rule.lower().replace("_", "-"),
                "TargetType": "SSM_DOCUMENT",
                "TargetId": runbook,
                "Automatic": True,
                "MaximumAutomaticAttempts": 3,
                "RetryAttemptSeconds": 60,
                "Parameters": {
                    "AutomationAssumeRole": {"StaticValue": {"Values": [f"${{{role}}}"]}},
                    parameter: {"ResourceValue": {"Value": "RESOURCE_ID"}},
                },
            },
        }
    return json.dumps({"Description": title, "Resources": resources}, sort_keys=True, separators=(",", ":")), roles


def _remediation_role(out: Fragment, ctx: Context, remedy: str) -> None:
    _, _, _, actions = REMEDIATIONS[remedy]
    out.add(
        iam.Role(
            f"Remediation{camel(remedy)}Role",
            AssumeRolePolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[
                    Statement(
                        Effect=Allow,
                        Principal=Principal("Service", "ssm.amazonaws.com"),
                        Action=[sts_actions.AssumeRole],
                        Condition=_same_account(),
                    )
                ],
            ),
            Policies=[
                iam.Policy(
                    PolicyName="remediate",
                    PolicyDocument=PolicyDocument(
                        Version="2012-10-17",
                        Statement=[
                            Statement(
                                Effect=Allow, Action=[Action(*a.split(":")) for a in names], Resource=[Sub(arn) if "$" in arn else arn]
                            )
                            for names, arn in actions
                        ],
                    ),
                )
            ],
            Tags=ctx.resource_tags(ctx.name("remediation", remedy)),
        )
    )


def _config(out: Fragment, ctx: Context, settings: dict[str, Any], primary: bool, bucket_name: Any) -> None:
    out.at = ("baseline", "config")
    depends: list[str] = []
    if settings["recorder"] == "create":
        role = out.add(
            iam.Role(
                "ConfigRole",
                AssumeRolePolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        Statement(
                            Effect=Allow,
                            Principal=Principal("Service", "config.amazonaws.com"),
                            Action=[sts_actions.AssumeRole],
                            Condition=_same_account(),
                        )
                    ],
                ),
                ManagedPolicyArns=[Sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AWS_ConfigRole")],
                Policies=[
                    iam.Policy(
                        PolicyName="deliver-to-the-baseline-bucket",
                        PolicyDocument=PolicyDocument(
                            Version="2012-10-17",
                            Statement=[
                                Statement(
                                    Effect=Allow,
                                    Action=[s3_actions.PutObject],
                                    Resource=[
                                        Sub(
                                            f"arn:${{AWS::Partition}}:s3:::${{Bucket}}/{CONFIG_PREFIX}/AWSLogs/${{AWS::AccountId}}/*",
                                            Bucket=bucket_name,
                                        )
                                    ],
                                ),
                                Statement(
                                    Effect=Allow,
                                    Action=[s3_actions.GetBucketAcl],
                                    Resource=[Sub("arn:${AWS::Partition}:s3:::${Bucket}", Bucket=bucket_name)],
                                ),
                            ],
                        ),
                    )
                ],
                Tags=ctx.resource_tags(ctx.name("config")),
            )
        )
        out.add(
            config.ConfigurationRecorder(
                "ConfigRecorder",
                Name=ctx.name("config"),
                RoleARN=GetAtt(role, "Arn"),
                # Global resources (IAM) are recorded once, in the primary region.
                RecordingGroup=config.RecordingGroup(AllSupported=True, IncludeGlobalResourceTypes=primary),
            )
        )
        out.add(
            config.DeliveryChannel(
                "ConfigDeliveryChannel",
                Name=ctx.name("config"),
                S3BucketName=bucket_name,
                S3KeyPrefix=CONFIG_PREFIX,
                ConfigSnapshotDeliveryProperties=config.ConfigSnapshotDeliveryProperties(DeliveryFrequency="TwentyFour_Hours"),
                # A delivery channel needs the recorder first, and (here) the bucket's policy letting Config deliver.
                DependsOn=["ConfigRecorder", *([f"{TRAIL_BUCKET}Policy"] if primary else [])],
            )
        )
        depends = ["ConfigRecorder", "ConfigDeliveryChannel"]
    if not settings["conformance_pack"]:
        return
    rules = list(REGIONAL_RULES) + (list(GLOBAL_RULES) if primary else [])
    body, roles = _pack_body(f"{ctx.name()} security best practices (ivc)", rules, settings["remediation"])
    for index, remedy in enumerate(settings["remediation"]):
        if f"Remediation{camel(remedy)}Role" in roles:
            out.at = ("baseline", "config", "remediation", index)
            _remediation_role(out, ctx, remedy)
    out.at = ("baseline", "config")
    out.add(
        config.ConformancePack(
            "ConformancePack",
            ConformancePackName=ctx.name("security-best-practices"),
            TemplateBody=Sub(body, **roles) if roles else body,
            **({"DependsOn": depends} if depends else {}),
        )
    )


def _findings(out: Fragment, ctx: Context, baseline: dict[str, Any]) -> None:
    if baseline["guardduty"]:
        out.at = ("baseline", "guardduty")
        if baseline["guardduty"] is True:
            out.add(
                guardduty.Detector(
                    "GuardDutyDetector",
                    Enable=True,
                    FindingPublishingFrequency="FIFTEEN_MINUTES",
                    Features=[
                        guardduty.CFNFeatureConfiguration(Name=name, Status="ENABLED")
                        for name in ("S3_DATA_EVENTS", "EBS_MALWARE_PROTECTION", "RDS_LOGIN_EVENTS", "LAMBDA_NETWORK_LOGS")
                    ],
                    Tags=[guardduty.TagItem(Key=t["Key"], Value=t["Value"]) for t in ctx.resource_tags().to_dict()],
                )
            )
        out.add(
            events.Rule(
                "GuardDutyFindingsRule",
                Name=ctx.name("guardduty-findings"),
                Description="GuardDuty findings of medium severity and above, to the security topic",
                EventPattern={
                    "source": ["aws.guardduty"],
                    "detail-type": ["GuardDuty Finding"],
                    "detail": {"severity": [{"numeric": [">=", 4]}]},
                },
                State="ENABLED",
                Targets=[events.Target(Id="security-topic", Arn=Ref(TOPIC))],
            )
        )
    hub = baseline["security_hub"]
    if hub:
        out.at = ("baseline", "security_hub")
        if hub["hub"] == "create":
            out.add(
                securityhub.Hub(
                    "SecurityHub", EnableDefaultStandards=False, ControlFindingGenerator="SECURITY_CONTROL", AutoEnableControls=True
                )
            )
            for index, standard in enumerate(hub["standards"]):
                out.at = ("baseline", "security_hub", "standards", index)
                out.add(
                    securityhub.Standard(
                        f"SecurityHubStandard{camel(standard)}",
                        DependsOn=["SecurityHub"],
                        StandardsArn=Sub(f"arn:${{AWS::Partition}}:securityhub:${{AWS::Region}}::{STANDARDS[standard]}"),
                    )
                )
            out.at = ("baseline", "security_hub")
        out.add(
            events.Rule(
                "SecurityHubFindingsRule",
                Name=ctx.name("security-hub-findings"),
                Description="New, active Security Hub findings of high and critical severity (Inspector's too), to the security topic",
                EventPattern={
                    "source": ["aws.securityhub"],
                    "detail-type": ["Security Hub Findings - Imported"],
                    "detail": {
                        "findings": {
                            "Severity": {"Label": ["HIGH", "CRITICAL"]},
                            "Workflow": {"Status": ["NEW"]},
                            "RecordState": ["ACTIVE"],
                        }
                    },
                },
                State="ENABLED",
                Targets=[events.Target(Id="security-topic", Arn=Ref(TOPIC))],
            )
        )


def _mfa_group(out: Fragment, ctx: Context) -> None:
    """AWS's documented policy: without MFA, a user may only manage their own MFA device and password."""
    out.at = ("baseline", "mfa_group")
    user = "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/${!aws:username}"
    mfa = "arn:${AWS::Partition}:iam::${AWS::AccountId}:mfa/${!aws:username}"
    self_service = [
        iam_actions.CreateVirtualMFADevice,
        iam_actions.EnableMFADevice,
        iam_actions.GetUser,
        iam_actions.ListMFADevices,
        iam_actions.ListVirtualMFADevices,
        iam_actions.ResyncMFADevice,
        iam_actions.ChangePassword,
        iam_actions.GetAccountPasswordPolicy,
        sts_actions.GetSessionToken,
    ]
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="ListUsersAndPasswordPolicy",
                Effect=Allow,
                Action=[iam_actions.ListUsers, iam_actions.ListVirtualMFADevices, iam_actions.GetAccountPasswordPolicy],
                Resource=["*"],
            ),
            Statement(
                Sid="ManageOwnMfaAndPassword",
                Effect=Allow,
                Action=[
                    iam_actions.CreateVirtualMFADevice,
                    iam_actions.DeleteVirtualMFADevice,
                    iam_actions.EnableMFADevice,
                    iam_actions.ListMFADevices,
                    iam_actions.ResyncMFADevice,
                    iam_actions.GetUser,
                    iam_actions.ChangePassword,
                ],
                Resource=[Sub(user), Sub(mfa)],
            ),
            Statement(
                Sid="DenyAllExceptMfaSelfServiceWithoutMfa",
                Effect=Deny,
                NotAction=self_service,
                Resource=["*"],
                Condition=Condition(BoolIfExists({"aws:MultiFactorAuthPresent": "false"})),
            ),
        ],
    )
    out.add(
        iam.Group(
            "MfaRequiredGroup",
            GroupName=ctx.name("mfa-required"),
            Policies=[iam.Policy(PolicyName="require-mfa", PolicyDocument=policy)],
        )
    )


def _budgets(out: Fragment, ctx: Context, settings: dict[str, Any], default: list[str]) -> None:
    out.at = ("baseline", "budgets")
    emails = _emails(settings.get("notify") or default)[:10]  # a budget notification has at most 10 e-mail subscribers
    subscribers = [budgets.Subscriber(SubscriptionType="EMAIL", Address=e) for e in emails]
    notifications = [
        budgets.NotificationWithSubscribers(
            Notification=budgets.Notification(
                NotificationType="ACTUAL", ComparisonOperator="GREATER_THAN", Threshold=float(p), ThresholdType="PERCENTAGE"
            ),
            Subscribers=subscribers,
        )
        for p in sorted(settings["alerts"])
    ]
    if settings["forecast"]:
        notifications.append(
            budgets.NotificationWithSubscribers(
                Notification=budgets.Notification(
                    NotificationType="FORECASTED", ComparisonOperator="GREATER_THAN", Threshold=100.0, ThresholdType="PERCENTAGE"
                ),
                Subscribers=subscribers,
            )
        )
    out.add(
        budgets.Budget(
            "MonthlyBudget",
            Budget=budgets.BudgetData(
                BudgetName=ctx.name("monthly"),
                BudgetType="COST",
                TimeUnit="MONTHLY",
                BudgetLimit=budgets.Spend(Amount=float(settings["monthly"]), Unit="USD"),
            ),
            NotificationsWithSubscribers=notifications,
        )
    )


def _anomaly_detection(out: Fragment, ctx: Context, settings: dict[str, Any], default: list[str]) -> None:
    out.at = ("baseline", "anomaly_detection")
    monitor = out.add(
        ce.AnomalyMonitor("CostAnomalyMonitor", MonitorName=ctx.name("services"), MonitorType="DIMENSIONAL", MonitorDimension="SERVICE")
    )
    out.add(
        ce.AnomalySubscription(
            "CostAnomalySubscription",
            SubscriptionName=ctx.name("cost-anomalies"),
            MonitorArnList=[Ref(monitor)],
            Frequency="DAILY",
            Subscribers=[ce.Subscriber(Type="EMAIL", Address=e) for e in _emails(settings.get("notify") or default)[:10]],
            ThresholdExpression=json.dumps(
                {
                    "Dimensions": {
                        "Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                        "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
                        "Values": [str(settings["threshold"])],
                    }
                }
            ),
        )
    )


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    if not carried(spec, ctx.environment):
        return out  # another environment deploys it: no stack here (an empty fragment makes none)
    baseline = spec["baseline"]
    primary = ctx.role == "primary"
    out.at = ("baseline",)
    out.add(_key(ctx, baseline, primary))
    out.add(kms.Alias(f"{KEY}Alias", AliasName=f"alias/{ctx.name('baseline')}", TargetKeyId=Ref(KEY)))
    _topic(out, ctx, notified(spec))
    config_delivers = bool(baseline["config"]) and baseline["config"]["recorder"] == "create"
    # The primary region's bucket holds the trail's files and every region's Config snapshots.
    bucket_name = Sub(f"{ctx.name('trail')}-${{AWS::AccountId}}-{ctx.primary_region}")
    if primary and (baseline["trail"] or config_delivers):
        out.at = ("baseline", "trail") if baseline["trail"] else ("baseline", "config")
        _bucket(out, ctx, (baseline["trail"] or {}).get("retention", 365), config_delivers)
    if primary and baseline["trail"]:
        group = _trail(out, ctx, baseline["trail"])
        if baseline["security_alarms"]:
            _security_alarms(out, ctx, group)
    if not primary and config_delivers:
        out.after.add((ctx.primary_region, STACK))  # its Config delivers to the primary region's bucket
    if baseline["config"]:
        _config(out, ctx, baseline["config"], primary, bucket_name)
    _findings(out, ctx, baseline)
    if baseline["inspector"]:
        out.at = ("baseline", "inspector")
        out.add(
            ecr.RegistryScanningConfiguration(
                "RegistryScanning",
                ScanType="ENHANCED",
                Rules=[
                    ecr.ScanningRule(
                        ScanFrequency="CONTINUOUS_SCAN", RepositoryFilters=[ecr.RepositoryFilter(Filter="*", FilterType="WILDCARD")]
                    )
                ],
            )
        )
    if primary:
        if baseline["mfa_group"]:
            _mfa_group(out, ctx)
        if baseline.get("budgets"):
            _budgets(out, ctx, baseline["budgets"], notified(spec))
        if baseline.get("anomaly_detection"):
            _anomaly_detection(out, ctx, baseline["anomaly_detection"], notified(spec))
    out.at = ()
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_EMAILS = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
    "uniqueItems": True,
    "maxItems": 10,
}

PROPERTIES: dict[str, Any] = {
    "baseline": {
        "$ref": "#/$defs/baseline",
        "description": "The account baseline (CloudTrail, Config, GuardDuty, Security Hub, Inspector, budgets, cost anomalies, "
        "MFA, Shield): usually in specs/_defaults/org.yaml, deployed once per account and region in the baseline stack "
        "(see docs/baseline.md).",
    }
}
DEFS: dict[str, Any] = {
    "baseline": {
        "description": "What every account and region an environment deploys to should have, built once in the `baseline` stack "
        "(first wave). AWS allows one Config recorder, GuardDuty detector and Security Hub per account and region: two "
        "environments of a spec deploying it to one account are refused.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "environments": {
                "description": "The environments that deploy the baseline, each to its own accounts or organizational units "
                "(names a spec lacks are ignored, so shared defaults may list prod and production). Default: every environment.",
                "type": "array",
                "items": {"type": "string", "pattern": "^[a-z][a-z0-9]{0,15}$"},
                "uniqueItems": True,
                "examples": [["prod", "production"]],
            },
            "notify": {
                "description": "Who hears security alarms and GuardDuty and Security Hub findings, through the `security` topic "
                "of each region: e-mail addresses, HTTPS endpoints, phone numbers for SMS. Default: the subscribers of "
                "alarms.notify.critical.",
                "type": "array",
                "items": {"type": "string", "pattern": "^(https://\\S+|[^@\\s]+@[^@\\s]+\\.[a-z]{2,}|\\+[1-9][0-9]{6,14})$"},
                "uniqueItems": True,
                "examples": [["security@example.com"]],
            },
            "trail": {
                "description": "A multi-region CloudTrail trail with log file validation, encrypted with the baseline key, into a "
                "retained, versioned, TLS-only bucket and a CloudWatch Logs group, kept `retention` days; false: none.",
                "type": ["object", "boolean"],
                "additionalProperties": False,
                "default": {"retention": 365},
                "properties": {
                    "retention": {
                        "description": "Days the bucket and the log group keep the trail's events (a CloudWatch Logs retention).",
                        "enum": RETENTIONS,
                        "default": 365,
                    }
                },
            },
            "security_alarms": {
                "description": "CIS metric filters on the trail's log group and an alarm on each, to the security topic: root use, "
                "unauthorized calls, console sign-in without MFA and failures, IAM, CloudTrail, KMS, S3 policy, Config, "
                "security group, network ACL, gateway, route table and VPC changes. They read the trail: none without it.",
                "type": "boolean",
                "default": True,
            },
            "config": {
                "description": "AWS Config: a recorder of every resource type (global ones in the primary region) delivering to the "
                "trail's bucket, a conformance pack of AWS managed security rules, and automatic remediation; false: none.",
                "type": ["object", "boolean"],
                "additionalProperties": False,
                "default": {"recorder": "create", "conformance_pack": True, "remediation": []},
                "properties": {
                    "recorder": {
                        "description": "create: the baseline owns the recorder and delivery channel; existing: the account has "
                        "them (one per region is allowed) and only the pack and remediations are added.",
                        "enum": ["create", "existing"],
                        "default": "create",
                    },
                    "conformance_pack": {
                        "description": "A conformance pack of AWS managed rules for security best practices.",
                        "type": "boolean",
                        "default": True,
                    },
                    "remediation": {
                        "description": "Rules of the pack fixed automatically by AWS's Systems Manager runbooks: s3-public-access, "
                        "s3-tls-only, default-security-group, key-rotation.",
                        "type": "array",
                        "items": {"enum": list(REMEDIATIONS)},
                        "uniqueItems": True,
                        "default": [],
                    },
                },
            },
            "guardduty": {
                "description": "A GuardDuty detector in each region (S3, EBS malware, RDS login, runtime and Lambda network "
                "protection), findings of medium severity and above to the security topic; existing: the account has a "
                "detector, only its findings are routed; false: none.",
                "enum": [True, False, "existing"],
                "default": True,
            },
            "security_hub": {
                "description": "Security Hub in each region with the given standards, high and critical findings to the security "
                "topic; false: none.",
                "type": ["object", "boolean"],
                "additionalProperties": False,
                "default": {"hub": "create", "standards": ["aws-foundational"]},
                "properties": {
                    "hub": {
                        "description": "create: the baseline enables Security Hub; existing: the account has it, only findings are routed.",
                        "enum": ["create", "existing"],
                        "default": "create",
                    },
                    "standards": {
                        "description": "Standards to enable: " + ", ".join(STANDARDS) + ".",
                        "type": "array",
                        "items": {"enum": list(STANDARDS)},
                        "uniqueItems": True,
                        "default": ["aws-foundational"],
                    },
                },
            },
            "inspector": {
                "description": "Amazon Inspector scanning of every ECR image, continuously (the registry's enhanced scanning, "
                "which activates Inspector's ECR scanning); its findings reach Security Hub.",
                "type": "boolean",
                "default": True,
            },
            "budgets": {
                "description": "A monthly cost budget for the account, e-mailing at each percentage of actual spend and when the "
                "month's forecast exceeds it.",
                "type": "object",
                "additionalProperties": False,
                "required": ["monthly"],
                "properties": {
                    "monthly": {"description": "The monthly budget in US dollars.", "type": "number", "exclusiveMinimum": 0},
                    "alerts": {
                        "description": "Percentages of the budget whose actual spend sends an e-mail.",
                        "type": "array",
                        "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                        "uniqueItems": True,
                        "minItems": 1,
                        "maxItems": 4,
                        "default": [50, 80, 100],
                    },
                    "forecast": {
                        "description": "Also e-mail when the month's forecast exceeds the budget.",
                        "type": "boolean",
                        "default": True,
                    },
                    "notify": {**_EMAILS, "description": "E-mail addresses (at most 10). Default: those of baseline.notify."},
                },
                "examples": [{"monthly": 5000, "alerts": [50, 80, 100], "notify": ["finance@example.com"]}],
            },
            "anomaly_detection": {
                "description": "Cost Anomaly Detection: a monitor of every AWS service's spend and a daily e-mail of anomalies whose "
                "impact reaches `threshold` dollars.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "threshold": {
                        "description": "Total impact in US dollars that makes an anomaly worth an e-mail.",
                        "type": "number",
                        "minimum": 0,
                        "default": 100,
                    },
                    "notify": {**_EMAILS, "description": "E-mail addresses (at most 10). Default: those of baseline.notify."},
                },
            },
            "mfa_group": {
                "description": "An IAM group, <system>-<environment>-mfa-required, whose policy denies everything but managing one's own "
                "MFA device and password to a user signed in without MFA: put every human user in it.",
                "type": "boolean",
                "default": True,
            },
            "shield": {
                "description": "Shield Advanced protections of the environment's CDN distribution and load balancer. The "
                "subscription is not CloudFormation: subscribe the account first and say subscribed: true.",
                "type": "object",
                "additionalProperties": False,
                "required": ["protect"],
                "properties": {
                    "subscribed": {
                        "description": "The account has a Shield Advanced subscription (aws shield create-subscription).",
                        "type": "boolean",
                        "default": False,
                    },
                    "protect": {
                        "description": "What to protect: cdn, load_balancer.",
                        "type": "array",
                        "items": {"enum": ["cdn", "load_balancer"]},
                        "uniqueItems": True,
                        "minItems": 1,
                    },
                },
                "examples": [{"subscribed": True, "protect": ["cdn", "load_balancer"]}],
            },
        },
    }
}
OVERLAY: dict[str, Any] = {"baseline": {"description": "Changes to the account baseline in this environment.", "type": ["object", "null"]}}

SECTION = Section(
    "baseline",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check_environment=check,
    check_together=check_together,
    build=build,
    stack=STACK,
    needed=needed,
    whole_spec=True,
    regions=EVERY,
)
