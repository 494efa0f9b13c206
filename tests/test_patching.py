"""Patching: a Patch Manager baseline per environment, and a maintenance window or automatic daily installs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import ivc, of_type, props, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
logs: {retention: 90}
patching:
  window: sun:02:00-sun:04:00
  weeks: [1, 3]
environments:
  development:
    patching: {window: null, weeks: null}
  staging:
    patching: {window: tue:02:00-tue:04:00, weeks: null, approve_after_days: 3}
  production: {}
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("patching")
    (folder / "spec.yaml").write_text(SPEC)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return folder / "out" / "shop"


def operations(out: Path, env: str) -> dict[str, Any]:
    return dict(read_json(out / env / "us-east-1" / "operations.json"))


def windows(template: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    return [
        (w["Properties"]["Schedule"], w["Properties"]["Duration"], w["Properties"]["Cutoff"], w["Properties"]["ScheduleTimezone"])
        for w in of_type(template, "AWS::SSM::MaintenanceWindow").values()
    ]


def test_production_patches_on_the_first_and_third_sunday_from_two_to_four_utc(out: Path) -> None:
    assert windows(operations(out, "production")) == [("cron(0 2 ? * SUN#1 *)", 2, 1, "UTC"), ("cron(0 2 ? * SUN#3 *)", 2, 1, "UTC")]


def test_staging_patches_every_tuesday_from_two_to_four_utc(out: Path) -> None:
    assert windows(operations(out, "staging")) == [("cron(0 2 ? * TUE *)", 2, 1, "UTC")]


def test_development_installs_patches_automatically_every_day(out: Path) -> None:
    template = operations(out, "development")
    assert not of_type(template, "AWS::SSM::MaintenanceWindow")
    association = props(template, "PatchAssociation")
    assert association["Name"] == "AWS-RunPatchBaseline"
    assert association["ScheduleExpression"] == "rate(1 day)"
    assert association["Parameters"] == {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}
    assert association["Targets"] == [{"Key": "tag:Patch Group", "Values": ["shop-development"]}]


def test_the_baseline_approves_security_and_bugfix_patches_for_the_environments_patch_group(out: Path) -> None:
    for env, days in (("production", 7), ("staging", 3)):
        baseline = props(operations(out, env), "PatchBaseline")
        assert baseline["OperatingSystem"] == "AMAZON_LINUX_2023"
        assert baseline["PatchGroups"] == [f"shop-{env}"]
        [rule] = baseline["ApprovalRules"]["PatchRules"]
        assert rule["ApproveAfterDays"] == days
        assert {f["Key"]: f["Values"] for f in rule["PatchFilterGroup"]["PatchFilters"]} == {
            "CLASSIFICATION": ["Security", "Bugfix"],
            "SEVERITY": ["Critical", "Important"],
        }


def test_the_window_installs_on_its_patch_group_and_logs_to_an_encrypted_group(out: Path) -> None:
    template = operations(out, "production")
    target = props(template, "PatchWindowWeek1Target")
    assert target["Targets"] == [{"Key": "tag:Patch Group", "Values": ["shop-production"]}]
    task = props(template, "PatchWindowWeek1Task")
    assert (task["TaskType"], task["TaskArn"]) == ("RUN_COMMAND", "AWS-RunPatchBaseline")
    assert (task["MaxConcurrency"], task["MaxErrors"]) == ("25%", "1")
    assert task["Targets"] == [{"Key": "WindowTargetIds", "Values": [{"Ref": "PatchWindowWeek1Target"}]}]
    command = task["TaskInvocationParameters"]["MaintenanceWindowRunCommandParameters"]
    assert command["Parameters"] == {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}
    assert command["CloudWatchOutputConfig"] == {"CloudWatchLogGroupName": {"Ref": "PatchLogGroup"}, "CloudWatchOutputEnabled": True}
    group = template["Resources"]["PatchLogGroup"]
    assert group["Properties"]["LogGroupName"] == "/shop/production/patching"
    assert group["Properties"]["KmsKeyId"] == {"Fn::ImportValue": "shop-production-keys-EnvironmentKeyArn"}
    assert group["Properties"]["RetentionInDays"] == 90
    assert group["DeletionPolicy"] == "Retain"  # production is protected


def _errors(tmp_path: Path, patching: str, env: str = "dev") -> list[str]:
    spec_file = tmp_path / "spec.yaml"
    head = SPEC.split("patching:")[0]
    spec_file.write_text(head + textwrap.dedent(patching) + f"environments:\n  {env}: {{}}\n")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec_file)
    return [d.render().split(":", 1)[1] for d in exc.value.diagnostics]


def test_a_window_lasts_whole_hours(tmp_path: Path) -> None:
    assert _errors(tmp_path, "patching: {window: 'sun:02:00-sun:02:30'}\n") == [
        "6:20: error: a maintenance window lasts whole hours, 1 to 24; sun:02:00-sun:02:30 lasts 0 h 30 min"
    ]


def test_weeks_need_a_window(tmp_path: Path) -> None:
    assert _errors(tmp_path, "patching: {weeks: [2]}\n") == [
        "6:19: error: weeks says in which weeks of the month the window opens: give patching.window too"
    ]


def test_a_protected_environment_names_its_window(tmp_path: Path) -> None:
    assert _errors(tmp_path, "patching: {reboot: true}\n", env="prod") == [
        "6:11: error: in prod, patches would be installed at any time, rebooting instances: give patching.window "
        "(such as sun:02:00-sun:04:00)"
    ]


def test_a_window_across_midnight_lasts_until_the_next_day(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC.split("patching:")[0] + "patching: {window: 'sat:23:00-sun:03:00'}\nenvironments: {prod: {}}\n")
    result = ivc("compile", spec_file, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    template = read_json(tmp_path / "out" / "shop" / "prod" / "us-east-1" / "operations.json")
    assert windows(template) == [("cron(0 23 ? * SAT *)", 4, 1, "UTC")]
