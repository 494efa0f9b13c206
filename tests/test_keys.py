"""The environment's KMS key, and the log groups it encrypts, read from the compiled JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import read_json


def templates(out: Path) -> dict[str, dict[str, Any]]:
    """Every compiled template, by its path under ``out``."""
    return {p.relative_to(out).as_posix(): read_json(p) for p in sorted(out.rglob("*.json")) if p.name != "manifest.json"}


def keys(out: Path) -> dict[str, dict[str, Any]]:
    """Every environment key, by the template that holds it."""
    found = {path: t["Resources"]["EnvironmentKey"] for path, t in templates(out).items() if "EnvironmentKey" in t["Resources"]}
    assert found
    return found


def statement(key: dict[str, Any], sid: str) -> dict[str, Any]:
    [found] = [s for s in key["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == sid]
    return found


def test_only_aws_services_may_create_grants_on_the_key(compiled: Path) -> None:
    for path, key in keys(compiled).items():
        deny = statement(key, "GrantsOnlyForAwsResources")
        assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}, path
        assert deny["Action"] == ["kms:CreateGrant"] and deny["Resource"] == ["*"], path
        # IfExists: a CreateGrant that does not say it is for an AWS resource is denied as one that says it is not.
        assert deny["Condition"] == {"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}}, path


def test_nothing_ivc_deploys_creates_grants_itself(compiled: Path) -> None:
    # Services that use grants (such as RDS and ECR) create them for their own resources, which the key
    # allows; no role or resource of ivc's may create one, so the deny above breaks nothing ivc builds.
    for path, template in templates(compiled).items():
        for name, resource in template["Resources"].items():
            assert resource["Type"] != "AWS::KMS::Grant", f"{path}: {name}"
            if resource["Type"] != "AWS::KMS::Key":
                assert "kms:CreateGrant" not in json.dumps(resource) and '"kms:*"' not in json.dumps(resource), f"{path}: {name}"


PROTECTED = ("prod", "production")  # no compiled spec sets deploy.protected, so these are the protected ones


def test_protected_environments_keep_their_log_groups(compiled: Path) -> None:
    seen = {True: 0, False: 0}
    for path, template in templates(compiled).items():
        protected = template["Metadata"]["ivc"]["environment"] in PROTECTED
        for name, group in template["Resources"].items():
            if group["Type"] != "AWS::Logs::LogGroup":
                continue
            seen[protected] += 1
            policies = (group.get("DeletionPolicy"), group.get("UpdateReplacePolicy"))
            if protected:  # the flow-log group follows the same rule: a fixed name must not block a redeploy
                assert policies == ("Retain", "Retain"), f"{path}: {name}"
            else:
                assert policies == (None, None), f"{path}: {name} goes with its stack outside protected environments"
    assert seen[True] and seen[False]


def test_the_key_is_alone_in_the_first_wave_and_every_other_stack_imports_it(compiled: Path) -> None:
    for manifest_file in sorted(compiled.glob("*/*/manifest.json")):
        manifest = read_json(manifest_file)
        prefix = f"{manifest['system']}-{manifest['environment']}"
        waves = {(s["region"], s["name"]): s["wave"] for s in manifest["stacks"]}
        for entry in manifest["stacks"]:
            template = read_json(manifest_file.parent / entry["file"])
            text = json.dumps(template)
            if entry["name"] == "keys":
                assert entry["wave"] == 0 and sorted(template["Resources"]) == ["EnvironmentKey", "EnvironmentKeyAlias"]
                assert entry["exports"] == [f"{prefix}-keys-EnvironmentKeyArn"]
                continue
            assert '"EnvironmentKey"' not in text, entry["file"]  # no GetAtt or Ref to a key of its own
            if "EnvironmentKeyArn" in text:
                assert f"{prefix}-keys-EnvironmentKeyArn" in entry["imports"], entry["file"]
                assert waves[(entry["region"], "keys")] < entry["wave"]


def test_flow_logs_are_encrypted_with_the_key_under_the_environments_prefix(compiled: Path) -> None:
    checked = 0
    for path, template in templates(compiled).items():
        if "FlowLogGroup" not in template["Resources"]:
            continue
        checked += 1
        system, env = template["Metadata"]["ivc"]["system"], template["Metadata"]["ivc"]["environment"]
        group = template["Resources"]["FlowLogGroup"]["Properties"]
        assert group["LogGroupName"] == f"/{system}/{env}/network/flow-logs", path
        assert group["KmsKeyId"] == {"Fn::ImportValue": f"{system}-{env}-keys-EnvironmentKeyArn"}, path
        # CloudWatch Logs encrypts with its own permission on the key: the delivering role needs no KMS rights.
        assert "kms:" not in json.dumps(template["Resources"]["FlowLogRole"]), path
        key = read_json(compiled / Path(path).parent / "keys.json")["Resources"]["EnvironmentKey"]
        allowed = statement(key, "LogsEncryptThisEnvironmentsLogGroups")["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
        assert {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/{system}/{env}/*"} in allowed
    assert checked
