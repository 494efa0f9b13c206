"""What moto does not emulate, checked with botocore's Stubber against the real API model.

moto finishes StackSet operations at once, never fails an instance and never throttles. These tests
script CloudFormation's answers instead: every stubbed call is validated against the service model,
so a wrong parameter name fails here as it would against AWS.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from compiler.deploy.aws import call
from compiler.deploy.changes import risks
from compiler.deploy.plan import Settings, Step, Target
from compiler.deploy.stacksets import StackSets
from compiler.errors import DeployError

NAME = "shop-dev-network-us-east-1"
TEMPLATE = {"Resources": {"Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}}}
PREFERENCES = {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentCount": 1, "FailureToleranceCount": 0}


def settings() -> Settings:
    return Settings(
        system="shop",
        environment="dev",
        admin_region="us-east-1",
        permission_model="self-managed",
        accounts=["111111111111", "222222222222"],
        organizational_units=[],
        administration_role_arn=None,
        execution_role_name="AWSCloudFormationStackSetExecutionRole",
        auto_deployment={},
        bucket=None,
        protected=False,
        tags={"System": "shop"},
    )


def target() -> Target:
    return Target(
        stackset=NAME,
        stack="network",
        region="us-east-1",
        wave=0,
        template=TEMPLATE,
        accounts=["111111111111", "222222222222"],
        preferences=PREFERENCES,
    )


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def engine(client: Any, sleeps: list[float], said: list[str]) -> StackSets:
    return StackSets(client, settings(), said.append, sleep=sleeps.append, poll_cap=8.0)


def operation(status: str, action: str = "CREATE") -> dict[str, Any]:
    return {"StackSetOperation": {"OperationId": "op-1", "StackSetId": f"{NAME}:1", "Action": action, "Status": status}}


def test_wait_follows_asynchronous_status_with_growing_jittered_delays(stubbed: Any) -> None:
    client, stubber = stubbed
    for status in ("QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        stubber.add_response("describe_stack_set_operation", operation(status), {"StackSetName": NAME, "OperationId": "op-1"})
    sleeps: list[float] = []
    said: list[str] = []
    ticks: list[str] = []
    stacksets = engine(client, sleeps, said)
    stacksets.tick = ticks.append
    assert stacksets.wait(target(), "op-1", "label") is True
    assert ticks[0] == "label: queued for 0s" and ticks[-1].startswith("label: running for ")  # the terminal's live line
    assert said == ["label: create QUEUED", "label: create RUNNING", "label: create SUCCEEDED"]  # one line per change
    bounds = [(0.5, 1), (1, 2), (2, 4), (4, 8), (4, 8)]  # full jitter between half and all of a doubling, capped
    assert len(sleeps) == 5 and all(low <= s <= high for s, (low, high) in zip(sleeps, bounds, strict=True))


def test_partial_failure_reports_each_instance_and_its_reason(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response("list_stack_set_operations", {"Summaries": []}, {"StackSetName": NAME})
    stubber.add_response(
        "create_stack_instances",
        {"OperationId": "op-1"},
        {"StackSetName": NAME, "Regions": ["us-east-1"], "Accounts": ["111111111111", "222222222222"], "OperationPreferences": PREFERENCES},
    )
    stubber.add_response("describe_stack_set_operation", operation("RUNNING"), {"StackSetName": NAME, "OperationId": "op-1"})
    stubber.add_response("describe_stack_set_operation", operation("FAILED"), {"StackSetName": NAME, "OperationId": "op-1"})
    stubber.add_response("describe_stack_set", {"StackSet": {"StackSetName": NAME, "Status": "ACTIVE"}}, {"StackSetName": NAME})
    stubber.add_response(
        "list_stack_instances",
        {
            "Summaries": [
                {
                    "StackSetId": f"{NAME}:1",
                    "Region": "us-east-1",
                    "Account": "111111111111",
                    "Status": "CURRENT",
                    "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
                },
                {
                    "StackSetId": f"{NAME}:1",
                    "Region": "us-east-1",
                    "Account": "222222222222",
                    "Status": "OUTDATED",
                    "StatusReason": "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role",
                    "StackInstanceStatus": {"DetailedStatus": "FAILED"},
                },
            ]
        },
        {"StackSetName": NAME},
    )
    stacksets = engine(client, [], [])
    step = Step(target(), exists=True, add=["111111111111", "222222222222"])
    assert stacksets.apply([step]) == [NAME]
    rows = stacksets.status_rows([target()])
    assert rows == [
        (NAME, "111111111111", "us-east-1", "CURRENT", "SUCCEEDED"),
        (NAME, "222222222222", "us-east-1", "OUTDATED", "Account 222222222222 should have 'AWSCloudFormationStackSetExecutionRole' role"),
    ]


def test_throttling_and_busy_stack_set_are_retried_with_backoff(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("create_stack_instances", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_client_error("create_stack_instances", "OperationInProgressException", "Another operation is in progress", 409)
    stubber.add_response(
        "create_stack_instances", {"OperationId": "op-2"}, {"StackSetName": NAME, "Regions": ["us-east-1"], "Accounts": ["111111111111"]}
    )
    sleeps: list[float] = []
    result = call(client.create_stack_instances, sleep=sleeps.append, StackSetName=NAME, Regions=["us-east-1"], Accounts=["111111111111"])
    assert result["OperationId"] == "op-2"
    assert len(sleeps) == 2 and 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_other_errors_are_not_retried(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("describe_stack_set", "ValidationError", "bad", 400)
    sleeps: list[float] = []
    with pytest.raises(Exception, match="ValidationError"):
        call(client.describe_stack_set, sleep=sleeps.append, StackSetName=NAME)
    assert sleeps == []


def test_operation_left_running_is_awaited_before_the_next(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "list_stack_set_operations",
        {"Summaries": [{"OperationId": "op-1", "Action": "UPDATE", "Status": "RUNNING"}]},
        {"StackSetName": NAME},
    )
    stubber.add_response("describe_stack_set_operation", operation("SUCCEEDED", "UPDATE"), {"StackSetName": NAME, "OperationId": "op-1"})
    said: list[str] = []
    engine(client, [], said).wait_idle(target(), "label")
    assert said[0] == "label: waiting for operation op-1 left running by an earlier run"


def test_existing_stack_set_is_adopted_after_an_interrupted_create(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "create_stack_set",
        "NameAlreadyExistsException",
        "exists",
        409,
        expected_params={
            "StackSetName": NAME,
            "TemplateBody": ANY,
            "Capabilities": ANY,
            "Tags": ANY,
            "ExecutionRoleName": ANY,
            "PermissionModel": "SELF_MANAGED",
            "ManagedExecution": {"Active": True},
        },
    )
    engine(client, [], [])._create(target())  # no exception: the next steps find and use it


def test_template_over_inline_limit_needs_a_bucket(stubbed: Any) -> None:
    client, _ = stubbed
    big = Target(
        stackset=NAME,
        stack="network",
        region="us-east-1",
        wave=0,
        accounts=[],
        preferences=PREFERENCES,
        template={"Resources": {f"Vpc{i}": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}} for i in range(1000)}},
    )
    with pytest.raises(DeployError, match=r"over the 51200-byte inline limit; set deploy\.bucket"):
        engine(client, [], [])._template_args(big)


def test_risks_name_replacements_and_deletions_of_stateful_resources() -> None:
    deployed = {
        "Resources": {
            "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceIdentifier": "a", "DBInstanceClass": "db.t3.small"}},
            "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "x"}},
            "Logs": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        }
    }
    local = json.loads(json.dumps(deployed))
    local["Resources"]["Db"]["Properties"]["DBInstanceClass"] = "db.t3.medium"  # in place: no risk
    local["Resources"]["Bucket"]["Properties"]["BucketName"] = "y"
    del local["Resources"]["Logs"]
    local["Resources"]["Vpc"]["Properties"]["CidrBlock"] = "10.1.0.0/16"  # not stateful
    assert risks(deployed, local, "us-east-1") == [
        "REPLACE AWS::S3::Bucket Bucket: BucketName changes",
        "DELETE AWS::S3::Bucket Logs: it is no longer in the template",
    ]
    local["Resources"]["Db"]["Properties"]["DBInstanceIdentifier"] = "b"
    assert "REPLACE AWS::RDS::DBInstance Db: DBInstanceIdentifier changes" in risks(deployed, local, "us-east-1")
