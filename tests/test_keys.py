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
            if protected or name == "FlowLogGroup":  # flow logs were always kept
                assert policies == ("Retain", "Retain"), f"{path}: {name}"
            else:
                assert policies == (None, None), f"{path}: {name} goes with its stack outside protected environments"
    assert seen[True] and seen[False]
