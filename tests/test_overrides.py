"""`overrides:`, the escape hatch: merged by the spec's rules, checked against CloudFormation's schemas at the override's line."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, read_json

BASE = """\
ivc: 1
system: shop
regions: {primary: eu-west-1}
network: {cidr: 10.9.0.0/24, tiers: [private], nat: none, subnet_prefix: 27, flow_logs: {enabled: false}}
buckets:
  media: {}
"""


def write(tmp_path: Path, overrides: str, environments: str = "environments:\n  dev: {}\n  prod: {}\n") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(BASE + textwrap.dedent(overrides) + environments)
    return path


def compiled(tmp_path: Path, spec: Path, env: str = "dev", stack: str = "data") -> Any:
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    return read_json(tmp_path / "out" / "shop" / env / "eu-west-1" / f"{stack}.json")


def test_properties_merge_into_a_generated_resource_and_the_reason_is_in_metadata(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
        overrides:
          BucketMedia:
            reason: legal hold on media
            Properties:
              ObjectLockEnabled: true
              VersioningConfiguration: {Status: Enabled}
            DeletionPolicy: Retain
        """,
    )
    template = compiled(tmp_path, spec)
    bucket = template["Resources"]["BucketMedia"]
    assert bucket["Properties"]["ObjectLockEnabled"] is True
    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True  # generated ones stay
    assert template["Metadata"]["ivc"]["overrides"] == {"BucketMedia": "legal hold on media"}
    network = read_json(tmp_path / "out" / "shop" / "dev" / "eu-west-1" / "network.json")
    assert "overrides" not in network["Metadata"]["ivc"]


def test_lists_replace_and_a_new_resource_joins_the_named_stack(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
        overrides:
          BucketMedia:
            reason: one lifecycle rule only
            Properties:
              LifecycleConfiguration: {Rules: [{Id: expire, Status: Enabled, ExpirationInDays: 30}]}
          ReportsQueue:
            reason: the reporting team's queue
            stack: data
            Type: AWS::SQS::Queue
            Properties: {MessageRetentionPeriod: 345600, SqsManagedSseEnabled: true}
        """,
    )
    resources = compiled(tmp_path, spec)["Resources"]
    assert resources["BucketMedia"]["Properties"]["LifecycleConfiguration"] == {
        "Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 30}]
    }
    assert resources["ReportsQueue"] == {
        "Type": "AWS::SQS::Queue",
        "Properties": {"MessageRetentionPeriod": 345600, "SqsManagedSseEnabled": True},
    }


def test_an_environment_overrides_only_itself(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "",
        "environments:\n  dev: {}\n  prod:\n    overrides:\n"
        "      BucketMedia: {reason: prod only, Properties: {ObjectLockEnabled: true}}\n",
    )
    prod = compiled(tmp_path, spec, "prod")
    dev = read_json(tmp_path / "out" / "shop" / "dev" / "eu-west-1" / "data.json")
    assert prod["Resources"]["BucketMedia"]["Properties"]["ObjectLockEnabled"] is True
    assert "ObjectLockEnabled" not in dev["Resources"]["BucketMedia"]["Properties"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            "overrides:\n  BuckedMedia: {reason: typo, Properties: {ObjectLockEnabled: true}}\n",
            "8:3: error: no generated resource is called BuckedMedia; did you mean BucketMedia?",
        ),
        (
            "overrides:\n  BucketMedia:\n    reason: typo\n    Properties: {ObjectLockEnable: true}\n",
            "10:18: error: ObjectLockEnable is not a property here; did you mean ObjectLockEnabled?",
        ),
        (
            "overrides:\n  BucketMedia:\n    reason: nested typo\n    Properties:\n      VersioningConfiguration: {Statuss: Enabled}\n",
            "11:33: error: Statuss is not a property here; did you mean Status?",
        ),
        (
            "overrides:\n  BucketMedia:\n    reason: wrong type\n    Properties: {ObjectLockEnabled: [yes]}\n",
            "10:37: error: BucketMedia.Properties.ObjectLockEnabled must be true or false for CloudFormation",
        ),
        (
            "overrides:\n  Extra: {reason: new, stack: data, Type: AWS::SQS::Queu}\n",
            "8:43: error: AWS::SQS::Queu is not a CloudFormation resource type in eu-west-1; did you mean AWS::SQS::Queue?",
        ),
        (
            "overrides:\n  Extra: {reason: new, stack: dta, Type: AWS::SQS::Queue}\n",
            "8:31: error: there is no stack 'dta' in this environment; did you mean data?",
        ),
        (
            "overrides:\n  Extra: {reason: new, Type: AWS::SQS::Queue}\n",
            "8:30: error: Extra adds a resource: say which stack it goes in with stack:",
        ),
        (
            "overrides:\n  BucketMedia: {Properties: {ObjectLockEnabled: true}}\n",
            "8:3: error: overrides.BucketMedia is missing required key 'reason'",
        ),
        (
            "overrides:\n  Extra: {reason: new, stack: data, Type: AWS::EC2::Subnet}\n",
            "8:43: error: a AWS::EC2::Subnet needs VpcId under Properties",
        ),
        (
            "overrides:\n  BucketMedia: {reason: clash, stack: data, Type: AWS::SQS::Queue}\n",
            "8:51: error: BucketMedia already exists (a AWS::S3::Bucket); to change it, drop Type and stack from the override",
        ),
    ],
    ids=[
        "logical-id",
        "property",
        "nested-property",
        "type",
        "resource-type",
        "stack",
        "type-without-stack",
        "reason",
        "required",
        "clash",
    ],
)
def test_bad_overrides_are_reported_at_their_own_line_by_validate_and_compile(tmp_path: Path, overrides: str, expected: str) -> None:
    spec = write(tmp_path, overrides)
    for command in (["validate", spec], ["compile", spec, "--out", tmp_path / "out"]):
        result = ivc(*command)
        assert result.exit_code == 1, result.output
        assert f"{spec}:{expected}" in result.stderr.splitlines()[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_null_removes_a_generated_property_at_the_top_level_and_per_environment(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        """\
        overrides:
          BucketMedia:
            reason: lifecycle managed by the archive team
            Properties: {LifecycleConfiguration: null}
        """,
        "environments:\n  dev: {}\n  prod:\n    overrides:\n      BucketMedia: {Properties: {OwnershipControls: null}}\n",
    )
    dev = compiled(tmp_path, spec)["Resources"]["BucketMedia"]["Properties"]
    prod = read_json(tmp_path / "out" / "shop" / "prod" / "eu-west-1" / "data.json")["Resources"]["BucketMedia"]["Properties"]
    assert "LifecycleConfiguration" not in dev and "OwnershipControls" in dev
    assert "LifecycleConfiguration" not in prod and "OwnershipControls" not in prod
    assert "BucketEncryption" in prod  # everything else stays


def test_null_elsewhere_in_the_spec_still_means_absent(tmp_path: Path) -> None:
    spec = write(tmp_path, "overrides:\n  BucketMedia: null\n")
    assert "Metadata" not in compiled(tmp_path, spec)["Resources"]["BucketMedia"]
