"""`ivc deploy`, `diff` and `destroy` end to end against moto's HTTP server, through boto3 as against AWS.

moto runs StackSet operations to completion at once and creates each instance's stack in its account
and region, which is what these tests observe. What moto does not do (asynchronous progress, failed
instances, throttling) is covered with botocore's Stubber in test_deploy_stubbed.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from conftest import MotoServer, ivc

ACCOUNTS = ("111111111111", "222222222222")
SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1, secondary: us-west-2}
network:
  cidr: 10.50.0.0/16
  secondary_cidr: 10.150.0.0/16
  nat: single
  endpoints: [s3]
  flow_logs: {retention: 30}
deploy:
  accounts: ["111111111111", "222222222222"]
environments:
  dev: {}
  prod: {}
"""


# moto cannot delete a stack holding route tables (it leaves them and then refuses to delete the VPC), so the
# tests that remove instances use a spec whose only stack is buckets, which moto handles end to end.
BUCKETS_ONLY = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
buckets:
  media: {versioning: true}
deploy:
  accounts: ["111111111111", "222222222222"]
environments:
  dev: {}
"""


@pytest.fixture
def project(tmp_path: Path, aws: MotoServer) -> Path:
    """A spec and its compiled output, in a folder of their own."""
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    (tmp_path / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    compile_project(tmp_path)
    return tmp_path


@pytest.fixture
def buckets_project(project: Path) -> Path:
    (project / "specs" / "shop" / "spec.yaml").write_text(BUCKETS_ONLY)
    compile_project(project)
    return project


def buckets(account: str) -> set[str]:
    return {b["Name"] for b in in_account("s3", account, "us-east-1").list_buckets()["Buckets"]}


def compile_project(root: Path) -> None:
    result = ivc("compile", root / "specs", "--out", root / "output")
    assert result.exit_code == 0, result.output


def deploy(root: Path, *args: str) -> Any:
    return ivc("deploy", root / "specs" / "shop", "--out", root / "output", *args)


def in_account(service: str, account: str, region: str) -> Any:
    """A client acting in another account, as StackSets' execution role would."""
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/AWSCloudFormationStackSetExecutionRole", RoleSessionName="ivc-test"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def vpcs(account: str, region: str) -> set[str]:
    return {v["CidrBlock"] for v in in_account("ec2", account, region).describe_vpcs()["Vpcs"] if not v.get("IsDefault")}


def cloudformation() -> Any:
    return boto3.client("cloudformation", region_name="us-east-1")


def stack_sets() -> list[str]:
    return sorted(s["StackSetName"] for s in cloudformation().list_stack_sets()["Summaries"] if s["Status"] == "ACTIVE")


def operations(name: str) -> list[dict[str, Any]]:
    return cloudformation().list_stack_set_operations(StackSetName=name)["Summaries"]


def test_deploys_network_to_two_accounts_in_two_regions(project: Path) -> None:
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 0, result.output
    assert stack_sets() == [f"shop-dev-{stack}-{region}" for stack in ("keys", "network") for region in ("us-east-1", "us-west-2")]
    for account in ACCOUNTS:
        assert vpcs(account, "us-east-1") == {"10.50.0.0/16"}
        assert vpcs(account, "us-west-2") == {"10.150.0.0/16"}
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("shop-dev-network-")]
    assert sorted((r[0], r[1], r[2], r[3]) for r in rows if len(r) >= 4 and r[3] == "CURRENT") == sorted(
        (f"shop-dev-network-{region}", account, region, "CURRENT") for account in ACCOUNTS for region in ("us-east-1", "us-west-2")
    )
    assert all(op["Status"] == "SUCCEEDED" for name in stack_sets() for op in operations(name))
    assert "[wave 1/2] shop-dev-keys-us-east-1: create SUCCEEDED" in result.stderr  # the key the flow logs import first
    assert "[wave 2/2] shop-dev-network-us-east-1: create SUCCEEDED" in result.stderr
    assert "waiting for" not in result.stderr  # prompt answers: nothing said about waiting


def test_second_run_changes_nothing(project: Path) -> None:
    deploy(project, "--env", "dev")
    before = {name: len(operations(name)) for name in stack_sets()}
    again = deploy(project, "--env", "dev")
    assert again.exit_code == 0
    assert again.stdout.count("unchanged ") == 4
    assert "nothing to change" in again.stderr
    assert {name: len(operations(name)) for name in stack_sets()} == before


def test_spec_change_updates_the_stack_set(project: Path) -> None:
    deploy(project, "--env", "dev")
    spec = project / "specs" / "shop" / "spec.yaml"
    spec.write_text(SPEC.replace("flow_logs: {retention: 30}", "flow_logs: {retention: 90}"))
    compile_project(project)
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 0, result.output
    plan = "update    shop-dev-network-us-east-1 (us-east-1): template\n  modified  AWS::Logs::LogGroup FlowLogGroup: RetentionInDays\n"
    assert plan in result.stdout  # per resource, under its stack set
    template = json.loads(cloudformation().describe_stack_set(StackSetName="shop-dev-network-us-east-1")["StackSet"]["TemplateBody"])
    assert template["Resources"]["FlowLogGroup"]["Properties"]["RetentionInDays"] == 90
    assert [op["Action"] for op in operations("shop-dev-network-us-east-1")].count("UPDATE") == 1


def test_targets_follow_the_accounts_in_the_spec(buckets_project: Path) -> None:
    deploy(buckets_project, "--env", "dev")
    spec = buckets_project / "specs" / "shop" / "spec.yaml"
    spec.write_text(BUCKETS_ONLY.replace('["111111111111", "222222222222"]', '["111111111111", "333333333333"]'))
    compile_project(buckets_project)
    result = deploy(buckets_project, "--env", "dev")
    assert result.exit_code == 0, result.output
    assert "update    shop-dev-data-us-east-1 (us-east-1): +333333333333 -222222222222" in result.stdout
    assert "removing instances 222222222222 in us-east-1 (keeping their stacks: stateful)" in result.stderr
    instances = cloudformation().list_stack_instances(StackSetName="shop-dev-data-us-east-1")["Summaries"]
    assert sorted(i["Account"] for i in instances) == ["111111111111", "333333333333"]
    assert "shop-dev-media-333333333333-us-east-1" in buckets("333333333333")


def test_dry_run_changes_nothing(project: Path) -> None:
    result = deploy(project, "--env", "dev", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "create    shop-dev-keys-us-east-1 (us-east-1): instances in 111111111111, 222222222222",
        "create    shop-dev-keys-us-west-2 (us-west-2): instances in 111111111111, 222222222222",
        "create    shop-dev-network-us-east-1 (us-east-1): instances in 111111111111, 222222222222",
        "create    shop-dev-network-us-west-2 (us-west-2): instances in 111111111111, 222222222222",
    ]
    assert stack_sets() == []


def test_interrupted_deploy_converges_without_duplicates(project: Path) -> None:
    # As if an earlier run died right after creating the stack set, before any instance existed.
    body = json.dumps(
        json.loads((project / "output" / "shop" / "dev" / "us-east-1" / "keys.json").read_text()), sort_keys=True, separators=(",", ":")
    )
    cloudformation().create_stack_set(
        StackSetName="shop-dev-keys-us-east-1", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"], PermissionModel="SELF_MANAGED"
    )
    cloudformation().create_stack_instances(StackSetName="shop-dev-keys-us-east-1", Accounts=["111111111111"], Regions=["us-east-1"])
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 0, result.output
    assert stack_sets() == [f"shop-dev-{stack}-{region}" for stack in ("keys", "network") for region in ("us-east-1", "us-west-2")]
    instances = cloudformation().list_stack_instances(StackSetName="shop-dev-keys-us-east-1")["Summaries"]
    assert sorted(i["Account"] for i in instances) == list(ACCOUNTS)
    assert all(vpcs(account, "us-east-1") == {"10.50.0.0/16"} for account in ACCOUNTS)


def test_destroy_removes_instances_then_stack_sets_and_keeps_retained_data(buckets_project: Path) -> None:
    deploy(buckets_project, "--env", "dev")
    assert "shop-dev-media-111111111111-us-east-1" in buckets("111111111111")
    result = ivc("destroy", buckets_project / "specs" / "shop", "--env", "dev", "--out", buckets_project / "output", "--yes")
    assert result.exit_code == 0, result.output
    assert stack_sets() == []
    assert result.stdout.splitlines() == ["destroy   shop-dev-data-us-east-1"]
    assert all("shop-dev-media-" + account + "-us-east-1" in buckets(account) for account in ACCOUNTS)  # DeletionPolicy Retain


def answering(answer: str, *args: str | Path) -> Any:
    """Run the CLI with ``answer`` typed at its prompt."""
    from click.testing import CliRunner

    from cli import main

    return CliRunner().invoke(main, [str(a) for a in args], input=answer)


def test_protected_environment_shows_the_plan_then_asks(project: Path) -> None:
    refused = answering("n\n", "deploy", project / "specs" / "shop", "--env", "prod", "--out", project / "output")
    assert refused.exit_code == 1
    assert refused.stderr.endswith("ivc: error: prod is protected and the deploy was not confirmed (use --yes in pipelines)\n")
    assert stack_sets() == []
    # What the terminal shows, stdout and stderr as they were written: the whole plan, then the question.
    plan = refused.output.index("create    shop-prod-network-us-west-2 (us-west-2): instances in 111111111111, 222222222222")
    assert (
        refused.output.index("create    shop-prod-network-us-east-1 (us-east-1)") < plan < refused.output.index("Deploy shop prod? [y/N]:")
    )
    confirmed = answering("y\n", "deploy", project / "specs" / "shop", "--env", "prod", "--out", project / "output")
    assert confirmed.exit_code == 0, confirmed.output
    assert stack_sets() == [f"shop-prod-{stack}-{region}" for stack in ("keys", "network") for region in ("us-east-1", "us-west-2")]
    unanswered = ivc("deploy", project / "specs" / "shop", "--env", "dev", "--out", project / "output")
    assert unanswered.exit_code == 0, unanswered.output  # dev is not protected: no question
    assert "[y/N]" not in unanswered.output


def test_destroy_asks_in_every_environment(buckets_project: Path) -> None:
    deploy(buckets_project, "--env", "dev")
    command = ("destroy", buckets_project / "specs" / "shop", "--env", "dev", "--out", buckets_project / "output")
    refused = answering("n\n", *command)
    assert refused.exit_code == 1
    assert refused.output.index("destroy   shop-dev-data-us-east-1") < refused.output.index("Destroy shop dev? [y/N]:")
    assert refused.stderr.endswith("ivc: error: the destroy of dev was not confirmed (use --yes in pipelines)\n")
    assert stack_sets() == ["shop-dev-data-us-east-1"]
    assert answering("", *command).exit_code == 1  # no terminal to answer: no destroy
    assert stack_sets() == ["shop-dev-data-us-east-1"]
    confirmed = answering("y\n", *command)
    assert confirmed.exit_code == 0, confirmed.output
    assert stack_sets() == []
    again = answering("", *command)
    assert again.exit_code == 0, again.output  # nothing left: nothing to ask
    assert again.stderr == "nothing of shop dev is deployed: nothing to destroy\n"


def test_stale_output_is_refused(project: Path) -> None:
    (project / "specs" / "shop" / "spec.yaml").write_text(SPEC.replace("nat: single", "nat: per-zone"))
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 1
    assert "out of date with the spec: run `ivc compile` first" in result.stderr
    assert stack_sets() == []


def test_replacing_stateful_resource_needs_allow_replace(project: Path) -> None:
    spec = project / "specs" / "shop" / "spec.yaml"
    spec.write_text(SPEC.replace("deploy:", "buckets:\n  media: {}\ndeploy:"))
    compile_project(project)
    assert deploy(project, "--env", "dev", "--region", "us-east-1").exit_code == 0
    spec.write_text(SPEC.replace("deploy:", "buckets:\n  images: {}\ndeploy:"))
    compile_project(project)
    refused = deploy(project, "--env", "dev", "--region", "us-east-1")
    assert refused.exit_code == 1
    assert "refusing to deploy: 1 change(s) would replace or delete stateful resources" in refused.stderr
    assert "DELETE AWS::S3::Bucket BucketMedia" in refused.stderr
    difference = ivc("diff", project / "specs" / "shop", "--env", "dev", "--region", "us-east-1", "--out", project / "output")
    assert difference.exit_code == 1
    assert "!! shop-dev-data-us-east-1: DELETE AWS::S3::Bucket BucketMedia: it is no longer in the template" in difference.stdout
    assert any(line.startswith("-") and "BucketMedia" in line for line in difference.stdout.splitlines())
    allowed = deploy(project, "--env", "dev", "--region", "us-east-1", "--allow-replace")
    assert allowed.exit_code == 0, allowed.output


def test_unreachable_endpoint_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import _free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{_free_port()}")
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr.startswith("ivc: error: cannot reach the AWS endpoint http://127.0.0.1:")
    assert len(result.stderr.splitlines()) == 1


def test_missing_credentials_is_one_line(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = deploy(project, "--env", "dev")
    assert result.exit_code == 1
    assert result.stderr == "ivc: error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n"


def test_killed_server_mid_deploy_then_rerun_converges(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from compiler import deploy as stacksets
    from compiler.errors import DeployError

    server = MotoServer()  # a server of this test's own, to kill
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        if line.endswith("shop-dev-network-us-west-2: creating stack set"):
            server.stop()

    try:
        with pytest.raises(DeployError, match="cannot reach the AWS endpoint"):
            stacksets.deploy(project / "specs" / "shop", "dev", project / "output", say, lambda _: True, show=lines.append)
        server.start()  # moto keeps no state across restarts: the rerun must build everything again
        outcome = stacksets.deploy(project / "specs" / "shop", "dev", project / "output", lines.append, lambda _: True, show=lines.append)
        assert outcome.failed == []
        assert len(outcome.rows) == 8 and {row[3] for row in outcome.rows} == {"CURRENT"}
    finally:
        server.stop()
