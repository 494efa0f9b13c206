"""The account baseline, compiled from tests/fixtures/baseline/baseline.yaml (which extends shared defaults carrying it)
and linted by cfn-lint for real: what a reviewer of the baseline stack would check, region by region.

Nothing here is deployed: moto has no CloudTrail trail validation, Config conformance packs, Security Hub standards,
budgets, Cost Explorer or Shield, so those are proven on the compiled templates only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.stacks import assemble
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "baseline" / "baseline.yaml"
TOPIC = {"Ref": "SecurityTopic"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baseline")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "base"


def stack(out: Path, env: str, region: str, name: str) -> dict[str, Any]:
    return dict(read_json(out / env / region / f"{name}.json"))


@pytest.fixture(scope="module")
def primary(out: Path) -> dict[str, Any]:
    return stack(out, "prod", "us-east-1", "baseline")


@pytest.fixture(scope="module")
def secondary(out: Path) -> dict[str, Any]:
    return stack(out, "prod", "us-west-2", "baseline")


def test_only_the_environment_named_deploys_it_in_every_region_first(out: Path) -> None:
    assert not (out / "dev" / "us-east-1" / "baseline.json").exists()
    manifest = read_json(out / "prod" / "manifest.json")
    waves = {s["region"] + "/" + s["name"]: s for s in manifest["stacks"]}
    assert waves["us-east-1/baseline"]["wave"] == 0 and waves["us-east-1/baseline"]["imports"] == []
    # the secondary region's Config delivers to the primary region's bucket: it follows it
    assert waves["us-west-2/baseline"]["wave"] == 1 and waves["us-west-2/baseline"]["imports"] == []
    assert waves["us-east-1/baseline"]["accounts"] == ["222222222222"]


def test_trail_is_multi_region_validated_encrypted_into_a_retained_bucket(primary: dict[str, Any]) -> None:
    trail = props(primary, "Trail")
    assert trail["IsMultiRegionTrail"] is True and trail["EnableLogFileValidation"] is True
    assert trail["IncludeGlobalServiceEvents"] is True and trail["IsLogging"] is True
    assert trail["KMSKeyId"] == {"Fn::GetAtt": ["BaselineKey", "Arn"]}
    assert trail["S3BucketName"] == {"Ref": "TrailBucket"}
    bucket = primary["Resources"]["TrailBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 365
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "BaselineLogsBucket"}
    assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())
    key = primary["Resources"]["BaselineKey"]
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Retain"


def test_trail_bucket_policy_is_tls_only_and_scoped_to_this_trail(primary: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in props(primary, "TrailBucketPolicy")["PolicyDocument"]["Statement"]}
    deny = statements["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    write = statements["CloudTrailWritesThisTrail"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and write["Action"] == ["s3:PutObject"]
    trail_arn = {"Fn::Sub": "arn:${AWS::Partition}:cloudtrail:us-east-1:${AWS::AccountId}:trail/base-prod-trail"}
    assert write["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert statements["CloudTrailChecksAcl"]["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    # the key lets CloudTrail encrypt for this trail only, and Logs encrypt the trail's group only
    key = {s["Sid"]: s for s in props(primary, "BaselineKey")["KeyPolicy"]["Statement"]}
    assert key["CloudTrailEncryptsThisTrailsLogs"]["Condition"]["StringEquals"]["aws:SourceArn"] == trail_arn
    assert "base/prod/baseline/cloudtrail" in str(key["LogsEncryptTheTrailsLogGroup"]["Condition"])


def test_security_metric_filters_raise_alarms_to_the_encrypted_topic(primary: dict[str, Any]) -> None:
    filters = of_type(primary, "AWS::Logs::MetricFilter")
    alarms = of_type(primary, "AWS::CloudWatch::Alarm")
    assert len(filters) == len(alarms) == 14
    patterns = " ".join(f["Properties"]["FilterPattern"] for f in filters.values())
    for event in ('"Root"', "ConsoleLogin", "MFAUsed", "StopLogging", "ScheduleKeyDeletion", "AuthorizeSecurityGroupIngress", "CreateVpc"):
        assert event in patterns
    assert all(f["Properties"]["LogGroupName"] == {"Ref": "TrailLogGroup"} for f in filters.values())
    assert all(a["Properties"]["AlarmActions"] == [TOPIC] for a in alarms.values())
    topic = props(primary, "SecurityTopic")
    assert topic["KmsMasterKeyId"] == {"Ref": "BaselineKey"}
    assert props(primary, "SecurityTopicSubscription1")["Endpoint"] == "security@example.com"
    policy = {s["Sid"]: s for s in props(primary, "SecurityTopicPolicy")["PolicyDocument"]["Statement"]}
    assert policy["DenyInsecureTransport"]["Effect"] == "Deny"
    group = props(primary, "TrailLogGroup")
    assert group["KmsKeyId"] == {"Fn::GetAtt": ["BaselineKey", "Arn"]} and group["RetentionInDays"] == 365


def test_findings_reach_the_topic_in_every_region(primary: dict[str, Any], secondary: dict[str, Any]) -> None:
    for template in (primary, secondary):
        rules = of_type(template, "AWS::Events::Rule")
        assert {r["Properties"]["EventPattern"]["source"][0] for r in rules.values()} == {"aws.guardduty", "aws.securityhub"}
        assert all(r["Properties"]["Targets"][0]["Arn"] == TOPIC for r in rules.values())
        assert props(template, "GuardDutyDetector")["Enable"] is True
        standards = {s["Properties"]["StandardsArn"]["Fn::Sub"] for s in of_type(template, "AWS::SecurityHub::Standard").values()}
        assert standards == {
            "arn:${AWS::Partition}:securityhub:${AWS::Region}::standards/aws-foundational-security-best-practices/v/1.0.0",
            "arn:${AWS::Partition}:securityhub:${AWS::Region}::standards/cis-aws-foundations-benchmark/v/1.4.0",
        }
        assert props(template, "RegistryScanning")["ScanType"] == "ENHANCED"
        # the topic policy lets EventBridge and CloudWatch of this account publish
        policy = {s["Sid"]: s for s in props(template, "SecurityTopicPolicy")["PolicyDocument"]["Statement"]}
        assert policy["AlarmsAndFindingsPublish"]["Principal"]["Service"] == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]


def test_config_records_global_types_once_with_a_pack_and_remediation(primary: dict[str, Any], secondary: dict[str, Any]) -> None:
    assert props(primary, "ConfigRecorder")["RecordingGroup"] == {"AllSupported": True, "IncludeGlobalResourceTypes": True}
    assert props(secondary, "ConfigRecorder")["RecordingGroup"] == {"AllSupported": True, "IncludeGlobalResourceTypes": False}
    bucket = {"Fn::Sub": "base-prod-trail-${AWS::AccountId}-us-east-1"}
    assert props(primary, "ConfigDeliveryChannel")["S3BucketName"] == props(secondary, "ConfigDeliveryChannel")["S3BucketName"] == bucket
    primary_pack = str(props(primary, "ConformancePack")["TemplateBody"])
    secondary_pack = str(props(secondary, "ConformancePack")["TemplateBody"])
    assert "ROOT_ACCOUNT_MFA_ENABLED" in primary_pack and "ROOT_ACCOUNT_MFA_ENABLED" not in secondary_pack
    assert "S3_BUCKET_SSL_REQUESTS_ONLY" in secondary_pack
    assert "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules" in primary_pack
    assert props(primary, "ConformancePack")["TemplateBody"]["Fn::Sub"][1]["RemediationDefaultSecurityGroupRole"] == {
        "Fn::GetAtt": ["RemediationDefaultSecurityGroupRole", "Arn"]
    }


def test_global_things_only_in_the_primary_region(primary: dict[str, Any], secondary: dict[str, Any]) -> None:
    for kind in ("AWS::CloudTrail::Trail", "AWS::IAM::Group", "AWS::Budgets::Budget", "AWS::CE::AnomalyMonitor", "AWS::S3::Bucket"):
        assert of_type(primary, kind) and not of_type(secondary, kind), kind


def test_budget_alerts_at_the_documented_thresholds_and_forecast(primary: dict[str, Any]) -> None:
    budget = props(primary, "MonthlyBudget")
    assert budget["Budget"]["BudgetLimit"] == {"Amount": 5000.0, "Unit": "USD"} and budget["Budget"]["TimeUnit"] == "MONTHLY"
    alerts = [(n["Notification"]["NotificationType"], n["Notification"]["Threshold"]) for n in budget["NotificationsWithSubscribers"]]
    assert alerts == [("ACTUAL", 50.0), ("ACTUAL", 80.0), ("ACTUAL", 100.0), ("FORECASTED", 100.0)]
    assert budget["NotificationsWithSubscribers"][0]["Subscribers"] == [{"Address": "finance@example.com", "SubscriptionType": "EMAIL"}]
    anomalies = props(primary, "CostAnomalySubscription")
    assert anomalies["Subscribers"] == [{"Address": "finance@example.com", "Type": "EMAIL"}]
    assert '"Values": ["100"]' in anomalies["ThresholdExpression"]


def test_mfa_group_denies_everything_but_mfa_self_service_without_mfa(primary: dict[str, Any]) -> None:
    group = props(primary, "MfaRequiredGroup")
    assert group["GroupName"] == "base-prod-mfa-required"
    statements = {s["Sid"]: s for s in group["Policies"][0]["PolicyDocument"]["Statement"]}
    deny = statements["DenyAllExceptMfaSelfServiceWithoutMfa"]
    assert deny["Effect"] == "Deny" and deny["Resource"] == ["*"] and "Action" not in deny
    assert {"iam:EnableMFADevice", "iam:CreateVirtualMFADevice", "sts:GetSessionToken"} <= set(deny["NotAction"])
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    own = statements["ManageOwnMfaAndPassword"]["Resource"]
    assert {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:mfa/${!aws:username}"} in own


def test_shield_protects_prods_distribution_and_load_balancer(out: Path) -> None:
    app = of_type(stack(out, "prod", "us-east-1", "app"), "AWS::Shield::Protection")
    edge = of_type(stack(out, "prod", "us-east-1", "edge"), "AWS::Shield::Protection")
    assert [p["Properties"]["ResourceArn"] for p in app.values()] == [{"Ref": "LoadBalancer"}]
    assert [p["Properties"]["ResourceArn"] for p in edge.values()] == [
        {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}"}
    ]
    for name in ("app", "edge"):
        assert not of_type(stack(out, "dev", "us-east-1", name), "AWS::Shield::Protection")


def test_validate_says_the_shield_subscription_is_not_cloudformation() -> None:
    result = ivc("validate", FIXTURES / "bad" / "baseline_checks.yaml")
    assert result.exit_code == 1
    assert "Shield Advanced subscription, which CloudFormation cannot create" in result.stderr
    assert "aws shield create-subscription" in result.stderr


def _environment(tmp_path: Path, baseline: str, env: str = "prod") -> Any:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"ivc: 1\nsystem: own\nregions: {{primary: eu-west-1}}\nbaseline: {baseline}\nenvironments:\n  {env}: {{}}\n",
        encoding="utf-8",
    )
    (environment,) = load_and_validate(spec)
    return environment


def test_existing_detector_recorder_and_hub_are_left_alone_and_still_routed(tmp_path: Path) -> None:
    environment = _environment(
        tmp_path,
        "{notify: [sec@example.com], guardduty: existing, config: {recorder: existing}, security_hub: {hub: existing}, inspector: false}",
    )
    (baseline,) = [s for s in assemble(environment) if s.name == "baseline"]
    kinds = {r["Type"] for r in baseline.template["Resources"].values()}
    assert not kinds & {
        "AWS::GuardDuty::Detector",
        "AWS::Config::ConfigurationRecorder",
        "AWS::SecurityHub::Hub",
        "AWS::ECR::RegistryScanningConfiguration",
    }
    assert {"AWS::Events::Rule", "AWS::Config::ConformancePack", "AWS::CloudTrail::Trail"} <= kinds
    assert "DependsOn" not in baseline.template["Resources"]["ConformancePack"]


def test_environments_not_named_build_no_baseline_stack(tmp_path: Path) -> None:
    environment = _environment(tmp_path, "{environments: [production], notify: [sec@example.com]}", env="staging")
    assert [s.name for s in assemble(environment)] == []


def test_two_environments_sharing_an_account_are_refused() -> None:
    with pytest.raises(SpecError) as caught:
        load_and_validate(FIXTURES / "bad" / "baseline_accounts.yaml")
    (problem,) = caught.value.diagnostics
    assert "environments dev and prod would both deploy the account baseline" in problem.message
