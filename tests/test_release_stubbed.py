"""Releases (``ivc deploy --set``) as the exact CloudFormation calls, with botocore's Stubber.

Every stubbed request and answer is validated against botocore's model of the CloudFormation API, so a
wrong parameter name or shape (Parameters, UsePreviousValue, UsePreviousTemplate) fails here as it
would against AWS. The values live in the StackSet's Parameters (see compiler/deploy/releases.py for
why not in per-instance ParameterOverrides): no call here carries ParameterOverrides.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from compiler.deploy.plan import Settings, Target
from compiler.deploy.stacksets import StackSets
from compiler.stacks import minified

NAME = "shop-prod-app-us-east-1"
ACCOUNTS = ["111111111111", "222222222222"]
PREFERENCES = {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentCount": 1, "FailureToleranceCount": 0}
TAGS = {"Environment": "prod", "System": "shop"}


def template(web: str = "1.4.2", api: str = "builds/api-1.zip") -> dict[str, Any]:
    return {
        "Parameters": {
            "FunctionApiCodeKey": {"Type": "String", "Default": api, "Description": "Release of functions.api: the S3 key of its code"},
            "ServiceWebImageTag": {"Type": "String", "Default": web, "Description": "Release of services.web: the tag of its image"},
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "shop"}}},
    }


def target(local: dict[str, Any]) -> Target:
    return Target(stackset=NAME, stack="app", region="us-east-1", wave=3, template=local, accounts=ACCOUNTS, preferences=PREFERENCES)


def settings() -> Settings:
    return Settings(
        system="shop",
        environment="prod",
        admin_region="us-east-1",
        permission_model="self-managed",
        accounts=ACCOUNTS,
        organizational_units=[],
        administration_role_arn=None,
        execution_role_name="AWSCloudFormationStackSetExecutionRole",
        auto_deployment={},
        bucket=None,
        protected=True,
        tags=TAGS,
    )


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def existing(stubber: Stubber, deployed: dict[str, Any], parameters: dict[str, str]) -> None:
    """What plan reads of a deployed stack set: its template, tags and parameters, then its instances."""
    stubber.add_response(
        "describe_stack_set",
        {
            "StackSet": {
                "StackSetName": NAME,
                "Status": "ACTIVE",
                "TemplateBody": minified(deployed),
                "Tags": [{"Key": k, "Value": v} for k, v in TAGS.items()],
                "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            }
        },
        {"StackSetName": NAME},
    )
    stubber.add_response(
        "list_stack_instances",
        {"Summaries": [{"StackSetId": f"{NAME}:1", "Region": "us-east-1", "Account": a, "Status": "CURRENT"} for a in ACCOUNTS]},
        {"StackSetName": NAME},
    )


def succeeds(stubber: Stubber, action: str) -> None:
    stubber.add_response(
        "describe_stack_set_operation",
        {"StackSetOperation": {"OperationId": "op-1", "Action": action, "Status": "SUCCEEDED"}},
        {"StackSetName": NAME, "OperationId": "op-1"},
    )


def test_a_new_stack_set_is_created_with_the_released_value_and_the_spec_s_others(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("describe_stack_set", "StackSetNotFoundException", "not found", 404, expected_params={"StackSetName": NAME})
    said: list[str] = []
    engine = StackSets(client, settings(), said.append, sleep=lambda _: None)
    [step] = engine.plan([target(template())], {"services.web": "1.4.3"})
    assert step.action == "create"
    assert [r.line() for r in step.releases] == [None, f"release services.web: 1.4.2 -> 1.4.3 in {NAME}"]
    stubber.add_response(
        "create_stack_set",
        {"StackSetId": f"{NAME}:1"},
        {
            "StackSetName": NAME,
            "TemplateBody": minified(template()),  # the compiled template, unchanged by the release
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Tags": ANY,
            "Parameters": [
                {"ParameterKey": "FunctionApiCodeKey", "ParameterValue": "builds/api-1.zip"},
                {"ParameterKey": "ServiceWebImageTag", "ParameterValue": "1.4.3"},
            ],
            "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
            "PermissionModel": "SELF_MANAGED",
            "ManagedExecution": {"Active": True},
        },
    )
    stubber.add_response(
        "create_stack_instances",
        {"OperationId": "op-1"},
        {"StackSetName": NAME, "Regions": ["us-east-1"], "Accounts": ACCOUNTS, "OperationPreferences": PREFERENCES},  # no overrides
    )
    succeeds(stubber, "CREATE")
    assert engine.apply([step]) == []


def test_a_release_alone_updates_parameters_with_the_previous_template(stubbed: Any) -> None:
    client, stubber = stubbed
    existing(stubber, template(), {"ServiceWebImageTag": "1.4.2", "FunctionApiCodeKey": "builds/api-7.zip"})
    said: list[str] = []
    engine = StackSets(client, settings(), said.append, sleep=lambda _: None)
    [step] = engine.plan([target(template())], {"services.web": "1.4.3"})
    assert (step.action, step.template_changed, step.releases_changed) == ("update", False, True)
    assert [r.line() for r in step.releases] == [
        f"release functions.api: builds/api-7.zip in {NAME}: kept (the spec says builds/api-1.zip; --reset functions.api deploys that)",
        f"release services.web: 1.4.2 -> 1.4.3 in {NAME}",
    ]
    stubber.add_response("list_stack_set_operations", {"Summaries": []}, {"StackSetName": NAME})
    stubber.add_response(
        "update_stack_set",
        {"OperationId": "op-1"},
        {
            "StackSetName": NAME,
            "UsePreviousTemplate": True,
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Parameters": [
                {"ParameterKey": "FunctionApiCodeKey", "UsePreviousValue": True},  # another release, made earlier: kept
                {"ParameterKey": "ServiceWebImageTag", "ParameterValue": "1.4.3"},
            ],
            "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
            "OperationPreferences": PREFERENCES,
        },
    )
    succeeds(stubber, "UPDATE")
    assert engine.apply([step]) == []
    assert f"[wave 1/1] {NAME}: releasing services.web 1.4.3 to every instance" in said


def test_the_same_release_again_changes_nothing(stubbed: Any) -> None:
    client, stubber = stubbed
    existing(stubber, template(), {"ServiceWebImageTag": "1.4.3", "FunctionApiCodeKey": "builds/api-1.zip"})
    said: list[str] = []
    engine = StackSets(client, settings(), said.append, sleep=lambda _: None)
    [step] = engine.plan([target(template())], {"services.web": "1.4.3"})
    assert step.action == "unchanged"
    assert [r.line() for r in step.releases] == [None, f"release services.web: 1.4.3 in {NAME}: unchanged"]
    assert engine.apply([step]) == []  # no call: the Stubber has nothing queued
    assert said == [f"[wave 1/1] {NAME}: unchanged"]


def test_a_template_change_without_set_keeps_the_released_values(stubbed: Any) -> None:
    client, stubber = stubbed
    deployed = template()
    local = json.loads(json.dumps(deployed))
    local["Resources"]["Topic"]["Properties"]["DisplayName"] = "Shop"
    existing(stubber, deployed, {"ServiceWebImageTag": "1.4.3", "FunctionApiCodeKey": "builds/api-1.zip"})
    engine = StackSets(client, settings(), lambda _: None, sleep=lambda _: None)
    [step] = engine.plan([target(local)])
    assert (step.action, step.template_changed, step.releases_changed) == ("update", True, False)
    stubber.add_response("list_stack_set_operations", {"Summaries": []}, {"StackSetName": NAME})
    stubber.add_response(
        "update_stack_set",
        {"OperationId": "op-1"},
        {
            "StackSetName": NAME,
            "TemplateBody": minified(local),
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Tags": ANY,
            "Parameters": [
                {"ParameterKey": "FunctionApiCodeKey", "UsePreviousValue": True},
                {"ParameterKey": "ServiceWebImageTag", "UsePreviousValue": True},  # 1.4.3 stays: no silent rollback to 1.4.2
            ],
            "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
            "OperationPreferences": PREFERENCES,
        },
    )
    succeeds(stubber, "UPDATE")
    assert engine.apply([step]) == []


def test_reset_and_a_changed_spec_value_send_the_template_s_default(stubbed: Any) -> None:
    client, stubber = stubbed
    # The spec moved services.web from 1.4.2 to 1.5.0 since the last deploy, which had released 1.4.3 by --set.
    existing(stubber, template(web="1.4.2"), {"ServiceWebImageTag": "1.4.3", "FunctionApiCodeKey": "builds/api-7.zip"})
    engine = StackSets(client, settings(), lambda _: None, sleep=lambda _: None)
    [step] = engine.plan([target(template(web="1.5.0"))], {"functions.api": None})
    assert [r.line() for r in step.releases] == [
        f"release functions.api: builds/api-7.zip -> builds/api-1.zip in {NAME} (reset to the spec's value)",
        f"release services.web: 1.4.3 -> 1.5.0 in {NAME} (the spec's value changed since the last deploy)",
    ]
    assert [r.parameter() for r in step.releases] == [
        {"ParameterKey": "FunctionApiCodeKey", "ParameterValue": "builds/api-1.zip"},
        {"ParameterKey": "ServiceWebImageTag", "ParameterValue": "1.5.0"},
    ]


def test_a_parameter_new_to_the_stack_set_gets_its_default_not_use_previous_value(stubbed: Any) -> None:
    client, stubber = stubbed
    deployed = {"Resources": template()["Resources"]}  # deployed before the builders made releases parameters
    existing(stubber, deployed, {})
    engine = StackSets(client, settings(), lambda _: None, sleep=lambda _: None)
    [step] = engine.plan([target(template())])
    assert step.template_changed and not step.releases_changed
    assert [r.parameter() for r in step.releases] == [
        {"ParameterKey": "FunctionApiCodeKey", "ParameterValue": "builds/api-1.zip"},  # UsePreviousValue would be refused
        {"ParameterKey": "ServiceWebImageTag", "ParameterValue": "1.4.2"},
    ]
