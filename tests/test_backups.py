"""backups: AWS Backup plans from intent, an encrypted retained vault per region, copies to the DR region, notifications."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.deploy.changes import STATEFUL_TYPES
from conftest import FIXTURES, ivc, of_type, props, read_json

SPEC = FIXTURES / "backups" / "backups.yaml"


def imported(env: str, stack: str, output: str) -> dict[str, str]:
    return {"Fn::ImportValue": f"vaulted-{env}-{stack}-{output}"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backups")
    result = ivc("compile", SPEC, "--out", folder, "--strict")  # cfn-lint runs on every template; warnings fail too
    assert result.exit_code == 0, result.output
    return folder


def stack(out: Path, env: str, name: str, region: str = "us-east-1") -> dict[str, Any]:
    found: dict[str, Any] = read_json(out / "vaulted" / env / region / f"{name}.json")
    return found


def manifest(out: Path, env: str) -> dict[str, Any]:
    found: dict[str, Any] = read_json(out / "vaulted" / env / "manifest.json")
    return found


def test_each_region_has_a_vault_encrypted_with_its_own_key_retained_and_nobody_deletes_recovery_points(out: Path) -> None:
    for env, region in (("dev", "us-east-1"), ("production", "us-east-1"), ("production", "us-west-2")):
        template = stack(out, env, "backups", region)
        vault = template["Resources"]["BackupVault"]
        assert vault["DeletionPolicy"] == vault["UpdateReplacePolicy"] == "Retain"
        properties = vault["Properties"]
        assert properties["BackupVaultName"] == f"vaulted-{env}-backups"  # the same name in every region
        # The key of the vault's own region: an import resolves in the importing stack's region.
        assert properties["EncryptionKeyArn"] == imported(env, "keys", "EnvironmentKeyArn")
        policy = properties["AccessPolicy"]
        policy = json.loads(policy) if isinstance(policy, str) else policy
        (deny,) = policy["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"} and deny["Resource"] == ["*"]
        assert deny["Action"] == ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"]
        assert not [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert "LockConfiguration" not in props(stack(out, "dev", "backups"), "BackupVault")
    for region in ("us-east-1", "us-west-2"):  # production's lock holds in both of its vaults
        lock = props(stack(out, "production", "backups", region), "BackupVault")["LockConfiguration"]
        assert lock == {"MinRetentionDays": 7, "MaxRetentionDays": 3650}  # governance mode: no ChangeableForDays
    # The disaster-recovery region holds the vault only: plans run where the data is.
    assert list(stack(out, "production", "backups", "us-west-2")["Resources"]) == ["BackupVault"]
    assert "AWS::Backup::BackupVault" in STATEFUL_TYPES  # ivc deploy refuses to replace or remove one


def test_plans_keep_what_they_take_as_long_as_the_spec_says_on_its_schedule(out: Path) -> None:
    dev = stack(out, "dev", "backups")
    assert sorted(of_type(dev, "AWS::Backup::BackupPlan")) == ["BackupPlanDaily", "BackupPlanMonthly"]
    (daily,) = props(dev, "BackupPlanDaily")["BackupPlan"]["BackupPlanRule"]
    assert daily["ScheduleExpression"] == "cron(0 1 * * ? *)" and daily["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert daily["TargetBackupVault"] == {"Ref": "BackupVault"}
    assert daily["Lifecycle"] == {"DeleteAfterDays": 14}
    assert daily["StartWindowMinutes"] == 60 and daily["CompletionWindowMinutes"] == 1440
    assert "CopyActions" not in daily  # dev has no disaster-recovery region
    (monthly,) = props(dev, "BackupPlanMonthly")["BackupPlan"]["BackupPlanRule"]
    assert monthly["ScheduleExpression"] == "cron(0 5 1 * ? *)"
    assert monthly["Lifecycle"] == {"DeleteAfterDays": 400, "MoveToColdStorageAfterDays": 30}
    assert props(dev, "BackupPlanDaily")["BackupPlan"]["BackupPlanName"] == "vaulted-dev-daily"


def test_production_copies_to_the_vault_of_its_disaster_recovery_region_which_is_deployed_first(out: Path) -> None:
    production = stack(out, "production", "backups")
    (daily,) = props(production, "BackupPlanDaily")["BackupPlan"]["BackupPlanRule"]
    assert daily["Lifecycle"] == {"DeleteAfterDays": 30}
    (copy,) = daily["CopyActions"]
    # Computed, never imported: exports do not cross regions.
    assert copy["DestinationBackupVaultArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:backup:us-west-2:${AWS::AccountId}:backup-vault:vaulted-production-backups"
    }
    assert copy["Lifecycle"] == {"DeleteAfterDays": 30}
    waves = {s["file"]: s["wave"] for s in manifest(out, "production")["stacks"]}
    assert waves["us-west-2/backups.json"] < waves["us-east-1/backups.json"]
    # Another account's vault, by the ARN the spec gives; that account may use the key for the copies.
    (partner,) = props(production, "BackupPlanPartner")["BackupPlan"]["BackupPlanRule"]
    assert partner["ScheduleExpression"] == "cron(0 6 ? * MON-FRI *)"
    assert partner["CopyActions"][0]["DestinationBackupVaultArn"] == "arn:aws:backup:eu-west-1:222222222222:backup-vault:central"
    key = props(stack(out, "production", "keys"), "EnvironmentKey")["KeyPolicy"]["Statement"]
    shared = {s["Sid"]: s for s in key if s["Sid"].startswith("BackupCopiesToOtherAccounts")}
    assert set(shared) == {"BackupCopiesToOtherAccountsRead", "BackupCopiesToOtherAccountsGrant"}
    for statement in shared.values():
        assert statement["Principal"] == {"AWS": [{"Fn::Sub": "arn:${AWS::Partition}:iam::222222222222:root"}]}
    assert shared["BackupCopiesToOtherAccountsGrant"]["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    dev_key = props(stack(out, "dev", "keys"), "EnvironmentKey")["KeyPolicy"]["Statement"]
    assert not [s for s in dev_key if s["Sid"].startswith("BackupCopies")]


def test_selections_name_databases_and_file_systems_by_arn_and_fleets_volumes_by_their_tag(out: Path) -> None:
    dev = stack(out, "dev", "backups")
    selection = props(dev, "BackupPlanDailyResources")["BackupSelection"]
    assert selection["Resources"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:vaulted-dev-main"},
        imported("dev", "data", "FileSystemSharedArn"),
    ]
    assert selection["IamRoleArn"] == {"Fn::GetAtt": ["BackupRole", "Arn"]}
    volumes = props(dev, "BackupPlanDailyFleetWebVolumes")["BackupSelection"]
    # EBS volumes only (the instances carry the same tag and are not imaged), of this account and region.
    assert volumes["Resources"] == [{"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"}]
    assert volumes["Conditions"] == {"StringEquals": [{"ConditionKey": "aws:ResourceTag/Name", "ConditionValue": "vaulted-dev-web"}]}
    # The fleet's launch template puts that Name tag on every volume it makes.
    data = props(stack(out, "dev", "app"), "FleetWebLaunchTemplate")["LaunchTemplateData"]
    (volume_tags,) = [t["Tags"] for t in data["TagSpecifications"] if t["ResourceType"] == "volume"]
    assert {"Key": "Name", "Value": "vaulted-dev-web"} in volume_tags
    role = props(dev, "BackupRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert [arn["Fn::Sub"].rsplit("/", 1)[1] for arn in role["ManagedPolicyArns"]] == [
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
    ]
    assert "Policies" not in role


def test_a_file_system_a_plan_takes_has_no_second_automatic_backup(out: Path) -> None:
    data = stack(out, "production", "data")  # production is protected: EFS backs up on its own unless a plan does
    assert props(data, "FileSystemShared")["BackupPolicy"] == {"Status": "DISABLED"}
    assert props(data, "FileSystemScratch")["BackupPolicy"] == {"Status": "ENABLED"}


def test_failed_aborted_and_expired_jobs_reach_the_alarm_topic_which_admits_only_these_rules(out: Path) -> None:
    for env, kinds in (("dev", {"Failed": "Warning"}), ("production", {"Failed": "Warning", "Completed": "Info"})):
        backups = stack(out, env, "backups")
        rules = of_type(backups, "AWS::Events::Rule")
        assert sorted(rules) == sorted(f"BackupNotifications{kind}" for kind in kinds)
        monitoring = stack(out, env, "monitoring")
        for kind, severity in kinds.items():
            rule = props(backups, f"BackupNotifications{kind}")
            assert rule["Name"] == f"vaulted-{env}-backup-{kind.lower()}"
            pattern = rule["EventPattern"]
            assert pattern["source"] == ["aws.backup"]
            assert pattern["detail-type"] == ["Backup Job State Change", "Copy Job State Change"]
            assert pattern["detail"]["state"] == (["FAILED", "ABORTED", "EXPIRED"] if kind == "Failed" else ["COMPLETED"])
            vault_arn = f"arn:${{AWS::Partition}}:backup:us-east-1:${{AWS::AccountId}}:backup-vault:vaulted-{env}-backups"
            assert pattern["detail"]["$or"] == [
                {"backupVaultName": [f"vaulted-{env}-backups"]},
                {"sourceBackupVaultArn": [{"Fn::Sub": vault_arn}]},
            ]
            (target,) = rule["Targets"]
            assert target["Arn"] == imported(env, "monitoring", f"AlarmTopic{severity}Arn")
            assert "<state>" in target["InputTransformer"]["InputTemplate"]
            document = props(monitoring, f"AlarmTopic{severity}Policy")["PolicyDocument"]
            statements = {s["Sid"]: s for s in document["Statement"]}
            assert statements["AlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}  # alarms still publish
            admitted = statements["BackupNotificationsPublish"]
            assert admitted["Principal"] == {"Service": "events.amazonaws.com"}
            assert admitted["Condition"] == {
                "ArnEquals": {
                    "aws:SourceArn": [
                        {"Fn::Sub": f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule['Name']}"}
                    ]
                }
            }
        # EventBridge encrypts into the encrypted alarm topics with the environment key.
        key = props(stack(out, env, "keys"), "EnvironmentKey")["KeyPolicy"]["Statement"]
        assert [s for s in key if s["Sid"] == "EventBridgeUsesKeyForThisAccount"]
    assert "AlarmTopicInfoPolicy" not in stack(out, "dev", "monitoring")["Resources"]  # nobody backs up to it: SNS's default


def test_backups_notify_the_warning_topic_by_default(out: Path) -> None:
    # Neither the spec nor dev's overlay says; the default is {failed: [warning]}.
    assert of_type(stack(out, "dev", "backups"), "AWS::Events::Rule").keys() == {"BackupNotificationsFailed"}


def test_rds_replicates_its_automated_backups_to_the_disaster_recovery_region_with_that_regions_key(out: Path) -> None:
    database = props(stack(out, "production", "data"), "DatabaseMain")
    assert database["AutomaticBackupReplicationRegion"] == "us-west-2"
    # The secondary region's environment key, by its alias: exports do not cross regions.
    assert database["AutomaticBackupReplicationKmsKeyId"] == {
        "Fn::Sub": "arn:${AWS::Partition}:kms:us-west-2:${AWS::AccountId}:alias/vaulted-production"
    }
    assert database["AutomaticBackupReplicationRetentionPeriod"] == 14
    assert database["BackupRetentionPeriod"] == 7
    waves = {s["file"]: s["wave"] for s in manifest(out, "production")["stacks"]}
    assert waves["us-west-2/keys.json"] < waves["us-east-1/data.json"]
    assert not [k for k in props(stack(out, "dev", "data"), "DatabaseMain") if k.startswith("AutomaticBackupReplication")]
