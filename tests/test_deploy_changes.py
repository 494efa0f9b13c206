"""Changes per resource, and replacement derived from the resource schemas' createOnlyProperties that cfn-lint ships.

The pure part runs on templates with the real schemas; `ivc diff` runs end to end against moto's server,
with stack sets created the way a deploy would have left them.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from compiler.deploy.changes import Change, changes, create_only, risks
from conftest import MotoServer, ivc

DB = {
    "Type": "AWS::RDS::DBInstance",
    "Properties": {"DBInstanceIdentifier": "shop-dev", "DBInstanceClass": "db.t3.small", "Engine": "postgres"},
    "DeletionPolicy": "Snapshot",
}
BUCKET = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "shop-dev-media"}, "DeletionPolicy": "Retain"}
VPC = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16", "EnableDnsSupport": True}}
LOGS = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/shop/dev", "RetentionInDays": 30}}


def template(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": copy.deepcopy(resources)}


def test_rds_identifier_replaces_the_database_and_its_class_does_not() -> None:
    deployed = template(Db=DB)
    resized = template(Db=DB)
    resized["Resources"]["Db"]["Properties"]["DBInstanceClass"] = "db.t3.medium"
    assert changes(deployed, resized, "us-east-1") == [Change("modified", "Db", "AWS::RDS::DBInstance", "DBInstanceClass")]
    assert risks(deployed, resized, "us-east-1") == []
    renamed = template(Db=DB)
    renamed["Resources"]["Db"]["Properties"]["DBInstanceIdentifier"] = "shop-dev-2"
    assert changes(deployed, renamed, "us-east-1") == [Change("replaced", "Db", "AWS::RDS::DBInstance", "DBInstanceIdentifier changes")]
    assert risks(deployed, renamed, "us-east-1") == ["REPLACE AWS::RDS::DBInstance Db: DBInstanceIdentifier changes"]


def test_s3_bucket_name_replaces_the_bucket() -> None:
    renamed = template(Bucket=BUCKET)
    renamed["Resources"]["Bucket"]["Properties"]["BucketName"] = "shop-dev-images"
    assert risks(template(Bucket=BUCKET), renamed, "us-east-1") == ["REPLACE AWS::S3::Bucket Bucket: BucketName changes"]
    named = template(Bucket=BUCKET)
    del named["Resources"]["Bucket"]["Properties"]["BucketName"]  # a property appearing or going away counts too
    assert changes(template(Bucket=BUCKET), named, "us-east-1")[0].kind == "replaced"


@pytest.mark.parametrize(
    ("resource", "name", "value", "replacing"),
    [
        (VPC, "CidrBlock", "10.1.0.0/16", "CidrBlock"),  # types the hand-written table never listed
        (LOGS, "LogGroupName", "/shop/prod", "LogGroupName"),
        (VPC, "EnableDnsSupport", False, None),
        (LOGS, "RetentionInDays", 90, None),
    ],
)
def test_any_resource_type_is_replaced_by_a_change_to_a_create_only_property(
    resource: dict[str, Any], name: str, value: Any, replacing: str | None
) -> None:
    changed = template(R=resource)
    changed["Resources"]["R"]["Properties"][name] = value
    (change,) = changes(template(R=resource), changed, "us-west-2")
    if replacing:
        assert change == Change("replaced", "R", resource["Type"], f"{replacing} changes")
    else:
        assert change == Change("modified", "R", resource["Type"], name)
    assert not change.risky  # not data-holding: shown, never refused


def test_nested_and_per_item_create_only_properties() -> None:
    assert ("Budget", "BudgetName") in create_only("us-east-1", "AWS::Budgets::Budget")
    budget = {"Type": "AWS::Budgets::Budget", "Properties": {"Budget": {"BudgetName": "a", "BudgetType": "COST", "TimeUnit": "MONTHLY"}}}
    renamed = template(B=budget)
    renamed["Resources"]["B"]["Properties"]["Budget"]["BudgetName"] = "b"
    (change,) = changes(template(B=budget), renamed, "us-east-1")
    assert change == Change("replaced", "B", "AWS::Budgets::Budget", "Budget.BudgetName changes")
    monthly = template(B=budget)
    monthly["Resources"]["B"]["Properties"]["Budget"]["TimeUnit"] = "ANNUALLY"
    assert changes(template(B=budget), monthly, "us-east-1")[0].kind == "modified"
    assert ("DbNodes", "*", "DbServerId") in create_only("us-east-1", "AWS::ODB::CloudVmCluster")
    cluster = {"Type": "AWS::ODB::CloudVmCluster", "Properties": {"DbNodes": [{"DbServerId": "a", "Tags": []}]}}
    moved = template(C=cluster)
    moved["Resources"]["C"]["Properties"]["DbNodes"][0]["DbServerId"] = "b"
    assert changes(template(C=cluster), moved, "us-east-1")[0].detail == "DbNodes.*.DbServerId changes"
    tagged = template(C=cluster)
    tagged["Resources"]["C"]["Properties"]["DbNodes"][0]["Tags"] = [{"Key": "a", "Value": "b"}]
    assert changes(template(C=cluster), tagged, "us-east-1") == [Change("modified", "C", "AWS::ODB::CloudVmCluster", "DbNodes")]


def test_schemas_of_unknown_types_and_regions() -> None:
    assert create_only("us-east-1", "AWS::Nonexistent::Thing") == ()  # unknown types: changes show as modified
    assert create_only("xx-nowhere-1", "AWS::S3::Bucket") == create_only("us-east-1", "AWS::S3::Bucket")


def test_added_removed_retyped_and_attribute_changes() -> None:
    deployed = template(Bucket=BUCKET, Logs=LOGS, Vpc=VPC)
    local = template(Bucket=BUCKET, Logs=LOGS, Db=DB)
    local["Resources"]["Bucket"]["DeletionPolicy"] = "Delete"
    local["Resources"]["Logs"]["Type"] = "AWS::Logs::Stream"
    assert changes(deployed, local, "us-east-1") == [
        Change("modified", "Bucket", "AWS::S3::Bucket", "DeletionPolicy"),
        Change("added", "Db", "AWS::RDS::DBInstance"),
        Change("replaced", "Logs", "AWS::Logs::LogGroup", "its type changes to AWS::Logs::Stream"),
        Change("removed", "Vpc", "AWS::EC2::VPC", "it is no longer in the template"),
    ]
    assert changes(None, local, "us-east-1") == [Change("added", i, local["Resources"][i]["Type"]) for i in ("Bucket", "Db", "Logs")]


# --- `ivc diff` against moto -------------------------------------------------------------------------

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
buckets:
  media: {versioning: false}
  logs: {}
deploy:
  accounts: ["111111111111"]
environments:
  dev: {}
"""
NAME = "shop-dev-data-us-east-1"


@pytest.fixture
def project(tmp_path: Path, aws: MotoServer) -> Path:
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    (tmp_path / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / "output")
    assert result.exit_code == 0, result.output
    return tmp_path


def compiled(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((project / "output" / "shop" / "dev" / "us-east-1" / "data.json").read_text())
    return loaded


def stack_set(body: dict[str, Any], instances: bool = True) -> None:
    """A stack set as an earlier deploy of ``body`` would have left it."""
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    cloudformation.create_stack_set(
        StackSetName=NAME, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SELF_MANAGED"
    )
    if instances:
        cloudformation.create_stack_instances(StackSetName=NAME, Accounts=["111111111111"], Regions=["us-east-1"])


def diff(project: Path) -> Any:
    return ivc("diff", project / "specs" / "shop", "--env", "dev", "--out", project / "output")


def test_diff_says_not_deployed_without_stack_set_or_instances(project: Path) -> None:
    for _ in ("no stack set", "a stack set without instances"):
        result = diff(project)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == f"{NAME} (us-east-1): not deployed; a deploy creates its {len(lines) - 1} resource(s)"
        assert "  added     AWS::S3::Bucket BucketMedia" in lines
        assert not any(line.startswith(("---", "+++", "@@")) for line in lines)  # no text diff against nothing
        stack_set(compiled(project), instances=False)


def test_diff_lists_changes_per_resource_before_the_text_diff(project: Path) -> None:
    deployed = compiled(project)  # what an earlier compile made, changed the ways a later one would
    resources = deployed["Resources"]
    resources["BucketMedia"]["Properties"]["BucketName"] = "shop-dev-media-old"  # replaced, and stateful: a risk
    resources["BucketLogs"]["Properties"]["Tags"] = [{"Key": "Old", "Value": "tag"}]  # modified
    del resources["BucketMediaPolicy"]  # added
    resources["OldQueue"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "shop-old"}}  # removed, not stateful
    stack_set(deployed)
    result = diff(project)
    assert result.exit_code == 1  # a stateful resource would be replaced
    assert result.stdout.splitlines()[:7] == [
        f"{NAME} (us-east-1): 1 added, 1 modified, 1 replaced, 1 removed",
        "  modified  AWS::S3::Bucket BucketLogs: Tags",
        "  replaced  AWS::S3::Bucket BucketMedia: BucketName changes",
        "  added     AWS::S3::BucketPolicy BucketMediaPolicy",
        "  removed   AWS::SQS::Queue OldQueue: it is no longer in the template",
        f"!! {NAME}: REPLACE AWS::S3::Bucket BucketMedia: BucketName changes",
        f"--- deployed/{NAME}.json",  # then the text diff
    ]
    assert '-        "BucketName": "shop-dev-media-old",' in result.stdout.splitlines()


def test_diff_of_what_is_deployed_says_so(project: Path) -> None:
    stack_set(compiled(project))
    result = diff(project)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{NAME} (us-east-1): no template changes\n"


def test_registry_re_encrypted_is_a_risk_like_any_store_of_data() -> None:
    """Moving the environment key replaces a KMS-encrypted ECR repository: its images exist nowhere else."""
    registry = {
        "Type": "AWS::ECR::Repository",
        "Properties": {"RepositoryName": "shop-api", "EncryptionConfiguration": {"EncryptionType": "KMS", "KmsKey": "arn:old"}},
        "DeletionPolicy": "Retain",
    }
    moved = template(Registry=registry)
    moved["Resources"]["Registry"]["Properties"]["EncryptionConfiguration"]["KmsKey"] = "arn:new"
    assert risks(template(Registry=registry), moved, "us-east-1") == [
        "REPLACE AWS::ECR::Repository Registry: EncryptionConfiguration, EncryptionConfiguration.KmsKey change"
    ]
