"""Deploy and destroy of the front door against moto's HTTP server: a deletion-protected load balancer is kept by
`ivc destroy`, and the CloudFront prefix list the load balancer's group admits is looked up in each region at deploy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from compiler.deploy.plan import Settings, Target
from compiler.deploy.stacksets import StackSets
from compiler.deploy.supplied import managed_prefix_list
from compiler.errors import DeployError
from conftest import MotoServer, ivc

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
services:
  web: {image: nginx, port: 80, route: {path: /}}
deploy: {accounts: ["111111111111"]}
environments:
  prod: {}
  dev: {}
"""


@pytest.fixture
def project(tmp_path: Path, aws: MotoServer) -> Path:
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    (tmp_path / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / "output")
    assert result.exit_code == 0, result.output
    return tmp_path


def test_destroy_keeps_a_stack_whose_load_balancer_has_deletion_protection(project: Path) -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    for environment in ("prod", "dev"):
        body = (project / "output" / "shop" / environment / "us-east-1" / "app.json").read_text()
        cloudformation.create_stack_set(StackSetName=f"shop-{environment}-app-us-east-1", TemplateBody=body)
    prod = ivc("destroy", project / "specs" / "shop", "--env", "prod", "--out", project / "output", "--yes")
    assert prod.exit_code == 0, prod.output
    assert prod.stdout.splitlines()[0] == (
        "keep      shop-prod-app-us-east-1: its load balancer has deletion protection (on by default in protected "
        "environments): set load_balancer.deletion_protection: false for this environment, compile and deploy, then destroy"
    )
    dev = ivc("destroy", project / "specs" / "shop", "--env", "dev", "--out", project / "output", "--yes")
    assert dev.exit_code == 0, dev.output
    assert dev.stdout.splitlines()[0] == "destroy   shop-dev-app-us-east-1"
    active = {s["StackSetName"] for s in cloudformation.list_stack_sets()["Summaries"] if s["Status"] == "ACTIVE"}
    assert active == {"shop-prod-app-us-east-1"}


BEHIND_CDN = SPEC.replace("deploy:", "cdn: {default: {origin: services.web}}\ndeploy:")


def prefix_list_id(region: str) -> str:
    """What EC2 itself says the CloudFront origin-facing list's ID is in ``region``."""
    lists = boto3.client("ec2", region_name=region).describe_managed_prefix_lists(
        Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]
    )["PrefixLists"]
    assert len(lists) == 1
    return str(lists[0]["PrefixListId"])


def test_deploy_looks_up_cloudfronts_prefix_list_in_the_stacks_region_and_plans_it_as_a_parameter(project: Path) -> None:
    (project / "specs" / "shop" / "spec.yaml").write_text(BEHIND_CDN)
    assert ivc("compile", project / "specs", "--out", project / "output").exit_code == 0
    command = ("deploy", project / "specs" / "shop", "--env", "dev", "--out", project / "output")
    plan = ivc(*command, "--dry-run")
    assert plan.exit_code == 0, plan.output
    # Looked up through EC2's API (moto's server), for the security stack only: no other template takes it.
    lines = [line for line in plan.stdout.splitlines() if "CloudFrontOriginPrefixList" in line]
    assert lines == [
        f"  parameter CloudFrontOriginPrefixList: {prefix_list_id('us-east-1')} in shop-dev-security-us-east-1 "
        "(the prefix list com.amazonaws.global.cloudfront.origin-facing in us-east-1)"
    ]
    # moto builds no security group rule from a prefix list (its CloudFormation reads only CIDRs and groups), so the
    # StackSet side is checked with Stubber in the tests below.


# --- the StackSet's parameter, with botocore's Stubber (moto cannot build the rule that uses it) -------------------

NAME = "shop-dev-security-us-east-1"
PL = "pl-3b927c52"
PREFERENCES = {"RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentCount": 1, "FailureToleranceCount": 0}


def security_template(project: Path) -> dict[str, Any]:
    (project / "specs" / "shop" / "spec.yaml").write_text(BEHIND_CDN)
    assert ivc("compile", project / "specs", "--out", project / "output").exit_code == 0
    return dict(json.loads((project / "output" / "shop" / "dev" / "us-east-1" / "security.json").read_text()))


@pytest.fixture
def template(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    return security_template(tmp_path)


def stubbed_engine(cloudformation: Any, ec2: Any) -> StackSets:
    settings = Settings(
        system="shop",
        environment="dev",
        admin_region="us-east-1",
        permission_model="self-managed",
        accounts=["111111111111"],
        organizational_units=[],
        administration_role_arn=None,
        execution_role_name="AWSCloudFormationStackSetExecutionRole",
        auto_deployment={},
        bucket=None,
        protected=False,
        tags={"System": "shop"},
    )
    return StackSets(
        cloudformation,
        settings,
        lambda _: None,
        sleep=lambda _: None,
        prefix_list=lambda region, name: managed_prefix_list(ec2, name, region),
    )


def clients() -> tuple[Any, Any]:
    made = [boto3.client(s, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x") for s in ("cloudformation", "ec2")]
    return made[0], made[1]


def answer_prefix_list(ec2: Stubber) -> None:
    ec2.add_response(
        "describe_managed_prefix_lists",
        {"PrefixLists": [{"PrefixListId": PL, "PrefixListName": "com.amazonaws.global.cloudfront.origin-facing"}]},
        {"Filters": [{"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]},
    )


def security_target(template: dict[str, Any]) -> Target:
    return Target(NAME, "security", "us-east-1", 1, template, ["111111111111"], PREFERENCES)


def test_a_new_stack_set_is_created_with_the_prefix_list_as_its_own_parameter(template: dict[str, Any]) -> None:
    cloudformation, ec2 = clients()
    with Stubber(cloudformation) as cf, Stubber(ec2) as ec2_stub:
        cf.add_client_error("describe_stack_set", "StackSetNotFoundException", expected_params={"StackSetName": NAME})
        answer_prefix_list(ec2_stub)
        engine = stubbed_engine(cloudformation, ec2)
        steps = engine.plan([security_target(template)])
        cf.add_response(
            "create_stack_set",
            {"StackSetId": f"{NAME}:1"},
            {
                "StackSetName": NAME,
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                "Tags": [{"Key": "System", "Value": "shop"}],
                "Description": ANY,
                "TemplateBody": ANY,
                "Parameters": [{"ParameterKey": "CloudFrontOriginPrefixList", "ParameterValue": PL}],
                "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
                "PermissionModel": "SELF_MANAGED",
                "ManagedExecution": {"Active": True},
            },
        )
        cf.add_response(
            "create_stack_instances",
            {"OperationId": "op-1"},
            {"StackSetName": NAME, "Regions": ["us-east-1"], "Accounts": ["111111111111"], "OperationPreferences": PREFERENCES},
        )
        cf.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {"OperationId": "op-1", "Action": "CREATE", "Status": "SUCCEEDED"}},
            {"StackSetName": NAME, "OperationId": "op-1"},
        )
        assert engine.apply(steps) == []
        cf.assert_no_pending_responses()
        ec2_stub.assert_no_pending_responses()


def test_a_stack_set_holding_another_id_is_updated_with_the_regions_one_keeping_its_template(template: dict[str, Any]) -> None:
    cloudformation, ec2 = clients()
    body = json.dumps(template, sort_keys=True, separators=(",", ":"))
    with Stubber(cloudformation) as cf, Stubber(ec2) as ec2_stub:
        cf.add_response(
            "describe_stack_set",
            {
                "StackSet": {
                    "StackSetName": NAME,
                    "Status": "ACTIVE",
                    "TemplateBody": body,
                    "Tags": [{"Key": "System", "Value": "shop"}],
                    "Parameters": [{"ParameterKey": "CloudFrontOriginPrefixList", "ParameterValue": "pl-00000000"}],
                }
            },
            {"StackSetName": NAME},
        )
        cf.add_response(
            "list_stack_instances",
            {"Summaries": [{"StackSetId": f"{NAME}:1", "Region": "us-east-1", "Account": "111111111111", "Status": "CURRENT"}]},
            {"StackSetName": NAME},
        )
        answer_prefix_list(ec2_stub)
        engine = stubbed_engine(cloudformation, ec2)
        [step] = engine.plan([security_target(template)])
        assert (step.action, step.template_changed, step.supplied_changed) == ("update", False, True)
        assert step.supplied[0].line(NAME, "us-east-1") == (
            f"parameter CloudFrontOriginPrefixList: pl-00000000 -> {PL} in {NAME} "
            "(the prefix list com.amazonaws.global.cloudfront.origin-facing in us-east-1)"
        )
        cf.add_response("list_stack_set_operations", {"Summaries": []}, {"StackSetName": NAME})
        cf.add_response(
            "update_stack_set",
            {"OperationId": "op-2"},
            {
                "StackSetName": NAME,
                "UsePreviousTemplate": True,
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                "Parameters": [{"ParameterKey": "CloudFrontOriginPrefixList", "ParameterValue": PL}],
                "ExecutionRoleName": "AWSCloudFormationStackSetExecutionRole",
                "OperationPreferences": PREFERENCES,
            },
        )
        cf.add_response(
            "describe_stack_set_operation",
            {"StackSetOperation": {"OperationId": "op-2", "Action": "UPDATE", "Status": "SUCCEEDED"}},
            {"StackSetName": NAME, "OperationId": "op-2"},
        )
        assert engine.apply([step]) == []
        cf.assert_no_pending_responses()


def test_a_region_without_the_prefix_list_stops_the_deploy_in_one_line(template: dict[str, Any]) -> None:
    cloudformation, ec2 = clients()
    with Stubber(cloudformation) as cf, Stubber(ec2) as ec2_stub:
        cf.add_client_error("describe_stack_set", "StackSetNotFoundException", expected_params={"StackSetName": NAME})
        ec2_stub.add_response("describe_managed_prefix_lists", {"PrefixLists": []}, None)
        with pytest.raises(DeployError) as refused:
            stubbed_engine(cloudformation, ec2).plan([security_target(template)])
        assert str(refused.value) == "the managed prefix list com.amazonaws.global.cloudfront.origin-facing is not in us-east-1"
