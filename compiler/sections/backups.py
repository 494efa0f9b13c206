"""AWS Backup from intent: plans per environment, an encrypted and retained vault per region, selections by spec object,
copies to the disaster-recovery region (or another account's vault) and notifications of jobs that fail or never start.

```yaml
backups:
  plans:
    daily:
      schedule: daily            # hourly | daily | weekly (Sundays) | monthly (the 1st) | cron(...); UTC
      at: "01:00"                # when a daily, weekly or monthly plan starts
      retention: 14              # days a recovery point is kept
      copy_to: secondary         # or arn:aws:backup:<region>:<account>:backup-vault:<name> (another account's vault)
      copy_retention: 30         # days the copy is kept (default: retention)
      select: [databases.main, filesystems.shared, fleets.web]
  notify: {failed: [warning], completed: []}   # severities of alarms.notify
  vault: {lock: {min_days: 7}}
```

What it builds, in the `backups` layer (after data, which holds what it protects, and monitoring, whose alarm topics it
notifies):

- A vault per region (`<system>-<env>-backups`): the primary's, and the disaster-recovery region's when the environment
  has one (a copy's destination must exist before the plan that names it: the primary's stack is deployed after the
  secondary's, ``Fragment.after``; its ARN is computed, never imported, because exports do not cross regions). Each is
  encrypted with its own region's environment key, kept when the stack goes (Retain), and its access policy denies
  everyone deleting a recovery point or shortening its lifecycle: only the plan's own lifecycle removes one. With
  `vault.lock`, AWS Backup Vault Lock holds retention between bounds (governance mode; compliance mode after
  `compliance_after_days`, which then nobody, AWS included, can undo).
- A plan per entry of `plans`, with one rule: its schedule, start and completion windows, retention (and cold storage),
  and at most one copy action.
- Selections: databases and file systems by ARN (a database's computed from its identifier, a file system's imported from
  the data stack); a fleet's instances' EBS volumes by the Name tag its launch template puts on every volume
  (``<system>-<env>-<fleet>``), limited to EBS volumes of this account and region, so instances are not imaged too.
- A role AWS Backup assumes (this account only), with AWS's managed policies for backups and restores.
- An EventBridge rule per kind of notification: backup and copy jobs of this environment's vault that end FAILED,
  ABORTED or EXPIRED (EXPIRED is the job that did not start within its start window: AWS Backup's skipped window), and
  optionally COMPLETED ones, to the alarm topics of `alarms.notify`. The topic admits exactly these rules (alarms.py adds
  the topic policy, from ``topic_statements`` here) and the environment key lets EventBridge encrypt into it (keys.py).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

from awacs import backup as backup_actions
from awacs import sns as sns_actions
from awacs import sts
from awacs.aws import Allow, ArnEquals, Bool, Condition, Deny, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, backup, events, iam

from ..context import Context, Fragment, camel
from .base import SITES, Path, Problem, Section, Spec
from .keys import key_arn

STACK = "backups"
MONITORING = "monitoring"  # the alarms' stack (alarms.STACK; alarms imports this module)
SEVERITIES = ("critical", "warning", "info")
SELECTABLE = ("databases", "filesystems", "fleets")
FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED")
DEFAULT_AT = "05:00"
REFUSED = "AWS Backup would fail the job"
VAULT_ARN_PATTERN = "^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:[A-Za-z0-9_-]{2,50}$"
NAME_LIMIT = 50  # AWS Backup's vault, plan and selection names
MANAGED_POLICIES = (
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
    "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
)


def vault_name(ctx: Context) -> str:
    """The environment's vault, the same name in every region (so the primary can name the secondary's)."""
    return ctx.name("backups")


def vault_arn(ctx: Context, region: str) -> Sub:
    """A vault of this environment in ``region``, computed: an ARN of another region is never imported."""
    return Sub(f"arn:${{AWS::Partition}}:backup:{region}:${{AWS::AccountId}}:backup-vault:{vault_name(ctx)}")


def rule_name(ctx: Context, kind: str) -> str:
    return ctx.name("backup", kind)


def rule_arn(ctx: Context, kind: str) -> Sub:
    return Sub(f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule_name(ctx, kind)}")


def notified(spec: Spec) -> dict[str, list[str]]:
    """Severity -> the kinds of notification (failed, completed) that go to its alarm topic."""
    found: dict[str, list[str]] = {}
    for kind, severities in sorted(((spec.get("backups") or {}).get("notify") or {}).items()):
        for severity in severities:
            found.setdefault(severity, []).append(kind)
    return found


def notifies(spec: Spec) -> bool:
    """Whether EventBridge delivers AWS Backup's notifications to this environment's (encrypted) alarm topics."""
    return bool(notified(spec))


def topic_statements(ctx: Context, severity: str, topic: Any) -> list[Statement]:
    """What the alarm topic of ``severity`` admits beside CloudWatch: the backup notification rules that deliver to it."""
    kinds = notified(ctx.spec).get(severity, [])
    if not kinds:
        return []
    return [
        Statement(
            Sid="BackupNotificationsPublish",
            Effect=Allow,
            Principal=Principal("Service", "events.amazonaws.com"),
            Action=[sns_actions.Publish],
            Resource=[Ref(topic)],
            Condition=Condition(ArnEquals({"aws:SourceArn": [rule_arn(ctx, kind) for kind in kinds]})),
        )
    ]


def copies_to_accounts(spec: Spec) -> list[str]:
    """Accounts whose vaults receive copies (copy_to: <vault ARN>): they must read what the environment key encrypts."""
    plans = (spec.get("backups") or {}).get("plans", {}).values()
    return sorted({str(plan["copy_to"]).split(":")[4] for plan in plans if str(plan.get("copy_to", "")).startswith("arn:")})


def key_statements(spec: Spec) -> list[Statement]:
    """What the environment key's policy adds for copies to another account's vault.

    AWS Backup copies a recovery point of a service it does not fully manage (EBS, RDS) to another account only when the
    destination account may use the source's key: it may decrypt and describe it, and create grants for AWS resources.
    """
    accounts = copies_to_accounts(spec)
    if not accounts:
        return []
    from awacs import kms as kms_actions

    destinations = Principal("AWS", [Sub(f"arn:${{AWS::Partition}}:iam::{account}:root") for account in accounts])
    return [
        Statement(
            Sid="BackupCopiesToOtherAccountsRead",
            Effect=Allow,
            Principal=destinations,
            Action=[kms_actions.Decrypt, kms_actions.DescribeKey],
            Resource=["*"],
        ),
        Statement(
            Sid="BackupCopiesToOtherAccountsGrant",
            Effect=Allow,
            Principal=destinations,
            Action=[kms_actions.CreateGrant],
            Resource=["*"],
            Condition=Condition(Bool({"kms:GrantIsForAWSResource": "true"})),
        ),
    ]


def selects(spec: Spec, kind: str, name: str) -> bool:
    """Whether a plan of the spec selects ``kind.name``."""
    return any(f"{kind}.{name}" in plan["select"] for plan in (spec.get("backups") or {}).get("plans", {}).values())


# --- checks ---


def _minutes(hour_minute: str) -> int:
    hours, minutes = hour_minute.split(":")
    return int(hours) * 60 + int(minutes)


def _near(at: int, window: str, margin: int = 60) -> bool:
    """Whether a daily time falls less than ``margin`` minutes from a daily window hh:mm-hh:mm (which may pass midnight)."""
    start, end = (_minutes(part) for part in window.split("-"))
    length = (end - start) % 1440
    return 0 < (at - (start - margin)) % 1440 < length + 2 * margin  # exactly an hour apart is apart


def check(spec: Spec) -> Iterator[Problem]:
    settings = spec.get("backups")
    if not settings:
        return
    regions = spec["regions"]
    lock = (settings.get("vault") or {}).get("lock")
    for name, plan in settings["plans"].items():
        path: Path = ("backups", "plans", name)
        for index, reference in enumerate(plan["select"]):
            kind, _, item = reference.partition(".")
            declared = list(spec.get(kind, {}))
            if item not in declared:
                close = difflib.get_close_matches(item, declared, n=1, cutoff=0.75)
                known = f"did you mean {kind}.{close[0]}?" if close else f"{kind}: {', '.join(sorted(declared)) or 'none are declared'}"
                yield (*path, "select", index), f"backups.plans.{name} selects {reference}, which does not exist ({known})"
                continue
            if kind == "filesystems" and spec[kind][item].get("backup") is True:
                yield (
                    (*path, "select", index),
                    f"filesystems.{item} has backup: true (EFS's own daily backups, kept 35 days) and this plan backs it up too; "
                    f"remove filesystems.{item}.backup (a selected file system's automatic backups are then off)",
                )
            if kind == "databases" and plan["schedule"] == "daily":
                window = spec[kind][item]["backups"]["window"]
                if _near(_minutes(plan.get("at", DEFAULT_AT)), window):
                    yield (
                        (*path, "at"),
                        f"backups.plans.{name} starts at {plan.get('at', DEFAULT_AT)}, within an hour of databases.{item}'s "
                        f"automated backup window ({window}); AWS Backup advises an hour between them (a snapshot job that meets "
                        "the window waits, and may expire); start it at least an hour apart",
                    )
        if "at" in plan and (str(plan["schedule"]).startswith("cron(") or plan["schedule"] == "hourly"):
            yield (*path, "at"), f"at sets the time of a daily, weekly or monthly plan; {plan['schedule']} says its own"
        if plan["complete_within"] < plan["start_within"] + 60:
            yield (
                (*path, "complete_within"),
                f"complete_within ({plan['complete_within']} min) must leave at least an hour after start_within "
                f"({plan['start_within']} min) for a job that starts late to finish",
            )
        cold = plan.get("cold_after")
        if cold is not None and plan["retention"] < cold + 90:
            yield (
                (*path, "retention"),
                f"a recovery point moved to cold storage after {cold} days is kept there at least 90 days: retention must be "
                f"at least {cold + 90}, not {plan['retention']}",
            )
        copy_to = plan.get("copy_to")
        if copy_to is None:
            if "copy_retention" in plan:
                yield (*path, "copy_retention"), f"copy_retention needs copy_to; backups.plans.{name} makes no copy"
        elif copy_to == "secondary" and "secondary" not in regions:
            yield (*path, "copy_to"), "copy_to: secondary needs regions.secondary (the disaster-recovery region)"
        if lock:
            kept = [("retention", plan["retention"])]
            if copy_to == "secondary":  # the disaster-recovery vault has the same lock; another account's vault its own
                kept.append(("copy_retention" if "copy_retention" in plan else "copy_to", plan.get("copy_retention", plan["retention"])))
            for field, days in kept:
                what = "copy_retention" if field == "copy_to" else field  # a copy kept as long as the original
                if days < lock["min_days"]:
                    yield (*path, field), f"{what} {days} is below the vault lock's min_days {lock['min_days']}: {REFUSED}"
                if "max_days" in lock and days > lock["max_days"]:
                    yield (*path, field), f"{what} {days} is above the vault lock's max_days {lock['max_days']}: {REFUSED}"
    if lock and "max_days" in lock and lock["max_days"] < lock["min_days"]:
        yield ("backups", "vault", "lock", "max_days"), f"max_days {lock['max_days']} is below min_days {lock['min_days']}"
    for kind, severities in (settings.get("notify") or {}).items():
        for index, severity in enumerate(severities):
            subscribers = [e for e in ((spec.get("alarms") or {}).get("notify") or {}).get(severity, []) if not e.startswith("topics.")]
            if not subscribers:
                yield (
                    ("backups", "notify", kind, index),
                    f"backups.notify.{kind} goes to the {severity} alarm topic, which needs a subscriber in alarms.notify.{severity} "
                    "(an e-mail address, HTTPS endpoint or phone number), or `[]` to hear nothing",
                )


def environment_problems(environment: str, spec: Spec) -> Iterator[Problem]:
    """Names AWS Backup takes (50 characters) hold the system and the environment's name."""
    settings = spec.get("backups")
    if not settings:
        return
    prefix = f"{spec['system']}-{environment}"
    if len(f"{prefix}-backups") > NAME_LIMIT:
        yield ("backups",), f"the vault's name {prefix}-backups is over AWS Backup's {NAME_LIMIT} characters; shorten the system's name"
    for name in settings["plans"]:
        if len(f"{prefix}-{name}") > NAME_LIMIT:
            yield ("backups", "plans", name), f"the plan's name {prefix}-{name} is over AWS Backup's {NAME_LIMIT} characters; shorten it"


# --- builder ---


def schedule_expression(plan: dict[str, Any]) -> str:
    """A plan's schedule as AWS Backup's cron expression (UTC)."""
    schedule = str(plan["schedule"])
    if schedule.startswith("cron("):
        return schedule
    hours, minutes = (int(part) for part in plan.get("at", DEFAULT_AT).split(":"))
    return {
        "hourly": f"cron({minutes} * * * ? *)",
        "daily": f"cron({minutes} {hours} * * ? *)",
        "weekly": f"cron({minutes} {hours} ? * SUN *)",
        "monthly": f"cron({minutes} {hours} 1 * ? *)",
    }[schedule]


def _vault(settings: dict[str, Any], ctx: Context) -> backup.BackupVault:
    properties: dict[str, Any] = {}
    lock = (settings.get("vault") or {}).get("lock")
    if lock:
        configuration: dict[str, Any] = {"MinRetentionDays": lock["min_days"]}
        if "max_days" in lock:
            configuration["MaxRetentionDays"] = lock["max_days"]
        if "compliance_after_days" in lock:
            configuration["ChangeableForDays"] = lock["compliance_after_days"]
        properties["LockConfiguration"] = backup.LockConfigurationType(**configuration)
    policy = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            # Only the plan's lifecycle removes a recovery point. Wildcard principal and resource: AWS Config's
            # backup-recovery-point-manual-deletion-disabled rule reads exactly this. Changing the policy itself stays a
            # CloudFormation change, so it is not denied (that would lock out the stack too).
            Statement(
                Sid="NobodyDeletesRecoveryPoints",
                Effect=Deny,
                Principal=Principal("AWS", "*"),
                Action=[backup_actions.DeleteRecoveryPoint, backup_actions.UpdateRecoveryPointLifecycle],
                Resource=["*"],
            )
        ],
    )
    tags = {**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc", "Name": vault_name(ctx)}
    return backup.BackupVault(
        "BackupVault",
        BackupVaultName=vault_name(ctx),
        EncryptionKeyArn=key_arn(ctx),
        AccessPolicy=json.loads(policy.to_json()),  # no intrinsic functions in it: troposphere takes a dict
        BackupVaultTags=tags,
        DeletionPolicy="Retain",
        UpdateReplacePolicy="Retain",
        **properties,
    )


def _role(ctx: Context) -> iam.Role:
    trust = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "backup.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            )
        ],
    )
    return iam.Role(
        "BackupRole",
        Description=f"{ctx.name()}: AWS Backup takes and restores this environment's backups",
        AssumeRolePolicyDocument=trust,
        ManagedPolicyArns=[Sub(arn) for arn in MANAGED_POLICIES],
        Tags=ctx.resource_tags(ctx.name("backup")),
    )


def _selected_arns(ctx: Context, references: list[str]) -> list[Any]:
    from . import databases, filesystems

    arns: list[Any] = []
    for reference in references:
        kind, _, name = reference.partition(".")
        if kind == "databases":
            arns.append(Sub(f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:db:{databases.identifier(ctx, name)}"))
        elif kind == "filesystems":
            arns.append(ctx.imported(filesystems.STACK, f"{filesystems.title(name)}Arn"))
    return arns


def _notification_rule(ctx: Context, kind: str, severities: list[str]) -> events.Rule:
    states = list(FAILED_STATES) if kind == "failed" else ["COMPLETED"]
    pattern = {
        "source": ["aws.backup"],
        "detail-type": ["Backup Job State Change", "Copy Job State Change"],
        "detail": {
            "state": states,
            # This environment's jobs only: backups into its vault, copies out of it.
            "$or": [{"backupVaultName": [vault_name(ctx)]}, {"sourceBackupVaultArn": []}],
        },
    }
    template = f'"AWS Backup ({ctx.name()}): <type> <state> for <resource> in <region>. <message>"'
    return events.Rule(
        f"BackupNotifications{camel(kind)}",
        Name=rule_name(ctx, kind),
        Description=f"{ctx.name()}: AWS Backup jobs of this environment that end {', '.join(states)}, to the "
        f"{', '.join(severities)} alarm topic",
        State="ENABLED",
        EventPattern=_pattern(pattern, vault_arn(ctx, ctx.region)),
        Targets=[
            events.Target(
                Id=f"alarms-{severity}",
                Arn=ctx.imported(MONITORING, f"AlarmTopic{camel(severity)}Arn"),
                InputTransformer=events.InputTransformer(
                    InputPathsMap={
                        "type": "$.detail-type",
                        "state": "$.detail.state",
                        "resource": "$.detail.resourceArn",
                        "region": "$.region",
                        "message": "$.detail.statusMessage",
                    },
                    InputTemplate=template,
                ),
            )
            for severity in severities
        ],
    )


def _pattern(pattern: dict[str, Any], arn: Any) -> dict[str, Any]:
    """The event pattern with the vault's computed ARN in place (an object, so CloudFormation resolves the Sub)."""
    pattern["detail"]["$or"][1]["sourceBackupVaultArn"] = [arn]
    return pattern


def build(settings: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    out.at = ("backups",)
    vault = out.add(_vault(settings, ctx))
    out.export(ctx, STACK, "BackupVaultArn", GetAtt(vault, "BackupVaultArn"), "ARN of the environment's AWS Backup vault.")
    if ctx.role != "primary":
        return out  # the disaster-recovery region holds copies; plans run where the data is
    secondary = ctx.spec["regions"].get("secondary")
    role = out.add(_role(ctx))
    for name, plan in sorted(settings["plans"].items()):
        out.at = ("backups", "plans", name)
        lifecycle: dict[str, Any] = {"DeleteAfterDays": plan["retention"]}
        if plan.get("cold_after") is not None:
            lifecycle["MoveToColdStorageAfterDays"] = plan["cold_after"]
        rule: dict[str, Any] = {
            "RuleName": name,
            "TargetBackupVault": Ref(vault),
            "ScheduleExpression": schedule_expression(plan),
            "ScheduleExpressionTimezone": "Etc/UTC",
            "StartWindowMinutes": plan["start_within"],
            "CompletionWindowMinutes": plan["complete_within"],
            "Lifecycle": backup.LifecycleResourceType(**lifecycle),
            "RecoveryPointTags": {"System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc", "Plan": name},
        }
        copy_to = plan.get("copy_to")
        if copy_to:
            destination = vault_arn(ctx, secondary) if copy_to == "secondary" else copy_to
            if copy_to == "secondary":
                out.after.add((secondary, STACK))  # the destination vault exists before the plan names it
            rule["CopyActions"] = [
                backup.CopyActionResourceType(
                    DestinationBackupVaultArn=destination,
                    Lifecycle=backup.LifecycleResourceType(DeleteAfterDays=plan.get("copy_retention", plan["retention"])),
                )
            ]
        resource = out.add(
            backup.BackupPlan(
                f"BackupPlan{camel(name)}",
                BackupPlan=backup.BackupPlanResourceType(
                    BackupPlanName=ctx.name(name), BackupPlanRule=[backup.BackupRuleResourceType(**rule)]
                ),
                BackupPlanTags={"System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc"},
            )
        )
        arns = _selected_arns(ctx, plan["select"])
        if arns:
            out.add(
                backup.BackupSelection(
                    f"BackupPlan{camel(name)}Resources",
                    BackupPlanId=Ref(resource),
                    BackupSelection=backup.BackupSelectionResourceType(
                        SelectionName=f"{name}-resources"[:NAME_LIMIT], IamRoleArn=GetAtt(role, "Arn"), Resources=arns
                    ),
                )
            )
        from . import fleets

        for reference in plan["select"]:
            kind, _, fleet = reference.partition(".")
            if kind != "fleets":
                continue
            # Every volume of the fleet's instances carries its Name tag (the launch template's TagSpecifications);
            # the resource pattern keeps it to EBS volumes, so the instances themselves are not imaged.
            out.add(
                backup.BackupSelection(
                    f"BackupPlan{camel(name)}{fleets.title(fleet)}Volumes",
                    BackupPlanId=Ref(resource),
                    BackupSelection=backup.BackupSelectionResourceType(
                        SelectionName=f"{name}-fleet-{fleet}"[:NAME_LIMIT],
                        IamRoleArn=GetAtt(role, "Arn"),
                        Resources=[Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*")],
                        Conditions=backup.Conditions(
                            StringEquals=[backup.ConditionParameter(ConditionKey="aws:ResourceTag/Name", ConditionValue=ctx.name(fleet))]
                        ),
                    ),
                )
            )
    by_kind: dict[str, list[str]] = {}
    for severity, kinds in notified(ctx.spec).items():
        for kind in kinds:
            by_kind.setdefault(kind, []).append(severity)
    for kind, severities in sorted(by_kind.items()):
        out.at = ("backups", "notify", kind)
        out.add(_notification_rule(ctx, kind, sorted(severities, key=SEVERITIES.index)))
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

SELECT_PATTERN = "^(databases|filesystems|fleets)\\.[a-z][a-z0-9-]*$"
SCHEDULE_PATTERN = "^(hourly|daily|weekly|monthly|cron\\(.+\\))$"
AT_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
COPY_PATTERN = f"^(secondary|{VAULT_ARN_PATTERN[1:-1]})$"


DAYS: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 36500}


def _severities(what: str, default: list[str]) -> dict[str, Any]:
    return {
        "description": f"{what}: severities of alarms.notify, whose alarm topics hear of them.",
        "type": "array",
        "items": {"enum": list(SEVERITIES)},
        "uniqueItems": True,
        "default": default,
    }


PROPERTIES: dict[str, Any] = {
    "backups": {
        "$ref": "#/$defs/backups",
        "description": "AWS Backup: plans that back up databases, file systems and fleets' volumes into an encrypted, retained "
        "vault, copy to the disaster-recovery region or another account, and notify the alarm topics of jobs that fail or "
        "never start.",
    }
}
DEFS: dict[str, Any] = {
    "backupPlan": {
        "description": "One backup plan: when it runs, how long it keeps what it takes, where it copies it, and what it takes.",
        "type": "object",
        "additionalProperties": False,
        "required": ["retention", "select"],
        "properties": {
            "schedule": {
                "description": "When it runs, UTC: hourly, daily, weekly (Sundays), monthly (the 1st), or an AWS Backup "
                "cron expression such as cron(0 5 ? * MON-FRI *).",
                "type": "string",
                "pattern": SCHEDULE_PATTERN,
                "default": "daily",
                "examples": ["daily", "cron(0 5 ? * MON-FRI *)"],
            },
            "at": {
                "description": "The time a daily, weekly or monthly plan starts, UTC hh:mm (default 05:00). Keep it an hour "
                "apart from a selected database's automated backup window.",
                "type": "string",
                "pattern": AT_PATTERN,
                "examples": ["01:00"],
            },
            "start_within": {
                "description": "Minutes a job may wait to start; one that has not started by then ends EXPIRED (a skipped "
                "window), which backups.notify.failed reports.",
                "type": "integer",
                "minimum": 60,
                "maximum": 10080,
                "default": 60,
            },
            "complete_within": {
                "description": "Minutes from the scheduled start by which a job must finish, or AWS Backup stops it (ABORTED).",
                "type": "integer",
                "minimum": 120,
                "maximum": 43200,
                "default": 1440,
            },
            "retention": {
                "description": "Days a recovery point is kept.",
                "type": "integer",
                "minimum": 1,
                "maximum": 36500,
                "examples": [14, 30],
            },
            "cold_after": {
                "description": "Days after which a recovery point moves to cold storage, for resource types that have it (EFS; "
                "AWS Backup ignores it for others). It then stays at least 90 days: retention >= cold_after + 90.",
                "type": "integer",
                "minimum": 1,
                "maximum": 36500,
            },
            "copy_to": {
                "description": "Where each recovery point is copied: secondary (this environment's vault in regions.secondary), "
                "or another account's vault by ARN (that vault's access policy must admit backup:CopyIntoBackupVault from this "
                "account, and cross-account backup must be on in AWS Organizations).",
                "type": "string",
                "pattern": COPY_PATTERN,
                "examples": ["secondary", "arn:aws:backup:us-west-2:222222222222:backup-vault:central"],
            },
            "copy_retention": {
                "description": "Days the copy is kept. Default: retention.",
                "type": "integer",
                "minimum": 1,
                "maximum": 36500,
            },
            "select": {
                "description": "What it backs up: databases.<n> and filesystems.<n> (by ARN), fleets.<n> (the EBS volumes of the "
                "fleet's instances, by their Name tag).",
                "type": "array",
                "items": {"type": "string", "pattern": SELECT_PATTERN},
                "minItems": 1,
                "uniqueItems": True,
                "examples": [["databases.main", "filesystems.shared", "fleets.web"]],
            },
        },
    },
    "backups": {
        "description": "AWS Backup plans, the vault they keep recovery points in, and who hears of their jobs.",
        "type": "object",
        "additionalProperties": False,
        "required": ["plans"],
        "properties": {
            "plans": {
                "description": "Backup plans by name.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": {"$ref": "#/$defs/backupPlan"},
                "minProperties": 1,
            },
            "notify": {
                "description": "Who hears of backup and copy jobs, through the alarm topics.",
                "type": "object",
                "additionalProperties": False,
                "default": {"failed": ["warning"]},
                "properties": {
                    "failed": _severities(
                        "Jobs that end FAILED, ABORTED (past complete_within) or EXPIRED (not started "
                        "within start_within: a skipped window)",
                        ["warning"],
                    ),
                    "completed": _severities("Jobs that complete", []),
                },
            },
            "vault": {
                "description": "The vaults' settings (the primary's and the disaster-recovery region's).",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "lock": {
                        "description": "AWS Backup Vault Lock: every recovery point is kept between min_days and max_days. "
                        "Governance mode (removable by whoever may change the vault) unless compliance_after_days is set.",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["min_days"],
                        "properties": {
                            "min_days": {"description": "The shortest retention the vault accepts.", **DAYS},
                            "max_days": {"description": "The longest retention the vault accepts.", **DAYS},
                            "compliance_after_days": {
                                "description": "Days (3 or more) after which the lock becomes compliance mode: from then on nobody, "
                                "the account's root and AWS included, can remove it or delete a recovery point early.",
                                "type": "integer",
                                "minimum": 3,
                                "maximum": 36500,
                            },
                        },
                    }
                },
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "backups": {"description": "Changes to backups in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "backups",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    check_environment=environment_problems,
    build=build,
    stack=STACK,
    regions=SITES,
)
