"""Releases without recompiling: ``ivc deploy --set NAME=VALUE``, its checks, its plan, and a release end to end on moto.

The spec here compiles to a data stack that moto can build. Its template gets release parameters
the way the builders make them (``Service<Name>ImageTag``, ``Function<Name>CodeKey`` with a Default
and a "Release of ..." description) and resources that use them, added in ``compiler.stacks._stack``
while compiling and while deploying, so the templates, their sha256 in the manifest and what deploy
compiles again to check them all agree.

What moto (5.2.5) really does, checked here with describe_stack_set and in each account: it stores a
StackSet's Parameters and answers them in DescribeStackSet; it builds an instance's stack with the
stack set's values (the SSM parameters below hold the released tag); DescribeStackInstance shows no
ParameterOverrides (ivc sends none). It does not carry an UpdateStackSet into existing instances, so
the values after a release are checked on the stack set, not in the accounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from compiler import stacks as _stacks
from compiler.deploy.releases import requested
from conftest import MotoServer, ivc, tree

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
buckets:
  media: {versioning: true}
deploy:
  accounts: ["111111111111", "222222222222"]
environments:
  dev: {}
  prod: {}
"""
ACCOUNTS = ("111111111111", "222222222222")
STACKSET = "shop-dev-data-us-east-1"
RELEASES = {
    "ServiceWebImageTag": ("1.4.2", "Release of services.web: the tag of its image"),
    "ServiceApiImageTag": ("2.0.0", "Release of services.api: the tag of its image"),
    "FunctionApiCodeKey": ("builds/api-1.zip", "Release of functions.api: the S3 key of its code"),
}
ORIGINAL = _stacks._stack


def with_releases(name: str, region: str, role: str, template: dict[str, Any]) -> Any:
    """compiler.stacks._stack, with release parameters (and SSM parameters holding their values) in the data stack."""
    if name == "data":
        template = json.loads(json.dumps(template))
        template.setdefault("Parameters", {}).update(
            {key: {"Type": "String", "Default": default, "Description": said} for key, (default, said) in RELEASES.items()}
        )
        for key in RELEASES:
            template["Resources"][f"Release{key}"] = {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/shop/release/{key}", "Type": "String", "Value": {"Ref": key}},
            }
    return ORIGINAL(name, region, role, template)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The spec, compiled once with its release parameters."""
    root = tmp_path_factory.mktemp("release")
    (root / "specs" / "shop").mkdir(parents=True)
    (root / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_stacks, "_stack", with_releases)
        result = ivc("compile", str(root / "specs"), "--out", str(root / "output"))
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def project(built: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(_stacks, "_stack", with_releases)
    before = tree(built / "output")
    yield built
    assert tree(built / "output") == before  # a release never changes output/


def deploy(root: Path, *args: str) -> Any:
    return ivc("deploy", str(root / "specs" / "shop"), "--out", str(root / "output"), *args)


def cloudformation() -> Any:
    return boto3.client("cloudformation", region_name="us-east-1")


def parameters(name: str = STACKSET) -> dict[str, str]:
    answer = cloudformation().describe_stack_set(StackSetName=name)["StackSet"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in answer.get("Parameters", [])}


def operations(name: str = STACKSET) -> int:
    return len(cloudformation().list_stack_set_operations(StackSetName=name)["Summaries"])


def ssm_value(account: str, key: str) -> str:
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/AWSCloudFormationStackSetExecutionRole", RoleSessionName="ivc-test"
    )["Credentials"]
    ssm = boto3.client(
        "ssm",
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return str(ssm.get_parameter(Name=f"/shop/release/{key}")["Parameter"]["Value"])


# --- what --set accepts ---------------------------------------------------------------------------


def templates() -> list[dict[str, Any]]:
    return [
        {"Parameters": {key: {"Type": "String", "Default": default, "Description": said} for key, (default, said) in RELEASES.items()}},
        {"Parameters": {"FunctionWorkerImageTag": {"Type": "String", "Default": "7", "Description": "Release of functions.worker"}}},
    ]


def usage(sets: list[str], resets: list[str] | None = None) -> str:
    from compiler.pipeline import UsageError

    with pytest.raises(UsageError) as raised:
        requested(sets, resets or [], templates(), "shop dev")
    return str(raised.value)


def test_names_bare_or_with_their_section() -> None:
    assert requested(["web=1.4.3", "functions.api=builds/api-2.zip", "worker=8"], ["services.api"], templates(), "shop dev") == {
        "services.web": "1.4.3",
        "functions.api": "builds/api-2.zip",
        "functions.worker": "8",
        "services.api": None,
    }


def test_an_ambiguous_bare_name_lists_its_candidates() -> None:
    assert usage(["api=2.0.1"]) == "--set api: ambiguous in shop dev, it is functions.api and services.api: name one of them"


def test_an_unknown_name_says_what_can_be_released() -> None:
    assert usage(["wbe=1.4.3"]) == (
        "--set wbe: shop dev has no release of that name; did you mean web? "
        "what can be released: functions.api, functions.worker, services.api, services.web"
    )
    assert usage([], ["service.web"]).startswith("--reset service.web: shop dev has no release of that name; did you mean services.web?")
    assert usage(["web"]).startswith("--set web: expected NAME=VALUE")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("web=", "--set web=: the value is empty; give an image tag"),
        ("web=1.4 3", "--set web=1.4 3: an image tag has no whitespace or control characters"),
        ("web=.hidden", "--set web=.hidden: not a Docker image tag (letters, digits, _ . -, not starting with . or -, at most 128"),
        ("web=v1/2", "--set web=v1/2: not a Docker image tag"),
        ("web=" + "a" * 129, "an image tag is at most 128 characters, this one has 129"),
        ("functions.api=builds/a b.zip", "an S3 key has no whitespace or control characters"),
        ("functions.api=" + "k" * 1025, "an S3 key is at most 1024 bytes, this one has 1025"),
        ("web=default", "--set web=default: to deploy the spec's own value again use --reset web"),
    ],
)
def test_values_are_checked_before_any_aws_call(given: str, message: str) -> None:
    assert message in usage([given])


def test_long_s3_keys_and_docker_tags_within_their_limits_pass() -> None:
    key = "builds/" + "k" * 1017
    assert requested([f"functions.api={key}", "web=" + "a" * 128], [], templates(), "shop dev")["functions.api"] == key


def test_the_same_release_twice_must_agree() -> None:
    assert requested(["web=1.4.3", "services.web=1.4.3"], [], templates(), "shop dev") == {"services.web": "1.4.3"}
    assert usage(["web=1.4.3", "services.web=1.4.4"]) == "services.web is given twice with different values (1.4.3, 1.4.4); give it once"


def test_the_builders_release_parameters_are_found_in_a_bundled_spec() -> None:
    from compiler.stacks import assemble
    from compiler.validate import load_and_validate

    [environment] = load_and_validate(Path("specs/socialflow/spec.yaml"), "dev")
    app = [stack.template for stack in assemble(environment) if stack.name == "app"]
    assert requested(["app=1.4.3"], ["worker"], app, "socialflow dev") == {"services.app": "1.4.3", "services.worker": None}
    assert "${ServiceAppImageTag}" in json.dumps(app)  # the image is composed from the release parameter


def test_unknown_name_on_the_command_line_is_a_usage_error(project: Path) -> None:
    result = deploy(project, "--env", "dev", "--set", "wbe=1.4.3")  # no AWS endpoint set up: it fails before any call
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "ivc: error: --set wbe: shop dev has no release of that name; did you mean web? "
        "what can be released: functions.api, services.api, services.web"
    ]


def test_a_release_outside_the_chosen_stacks_is_a_usage_error(project: Path) -> None:
    result = deploy(project, "--env", "dev", "--stack", "network", "--set", "web=1.4.3")
    assert result.exit_code == 2
    assert result.stderr == (
        "ivc: error: services.web is not in the stack sets chosen by --stack network --region *: widen --stack or --region\n"
    )


# --- a release end to end on moto -----------------------------------------------------------------


def test_release_rerun_keep_and_reset_on_moto(project: Path, aws: MotoServer) -> None:
    first = deploy(project, "--env", "dev", "--set", "web=1.4.3")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[:2] == [
        f"create    {STACKSET} (us-east-1): instances in 111111111111, 222222222222",
        f"  release services.web: 1.4.2 -> 1.4.3 in {STACKSET}",
    ]
    assert parameters() == {"ServiceWebImageTag": "1.4.3", "ServiceApiImageTag": "2.0.0", "FunctionApiCodeKey": "builds/api-1.zip"}
    for account in ACCOUNTS:  # each account's stack was built with the released tag, and the spec's other values
        assert ssm_value(account, "ServiceWebImageTag") == "1.4.3"
        assert ssm_value(account, "FunctionApiCodeKey") == "builds/api-1.zip"
        instance = cloudformation().describe_stack_instance(
            StackSetName=STACKSET, StackInstanceAccount=account, StackInstanceRegion="us-east-1"
        )["StackInstance"]
        assert instance.get("ParameterOverrides", []) == []

    count = operations()
    again = deploy(project, "--env", "dev", "--set", "services.web=1.4.3")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines()[:2] == [f"unchanged {STACKSET} (us-east-1)", f"  release services.web: 1.4.3 in {STACKSET}: unchanged"]
    assert "nothing to change" in again.stderr
    assert operations() == count

    dry = deploy(project, "--env", "dev", "--set", "web=1.4.4", "--set", "functions.api=builds/api-2.zip", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.splitlines() == [
        f"update    {STACKSET} (us-east-1): release",
        f"  release functions.api: builds/api-1.zip -> builds/api-2.zip in {STACKSET}",
        f"  release services.web: 1.4.3 -> 1.4.4 in {STACKSET}",
    ]
    assert operations() == count and parameters()["ServiceWebImageTag"] == "1.4.3"

    difference = ivc("diff", str(project / "specs" / "shop"), "--env", "dev", "--out", str(project / "output"), "--set", "web=1.4.4")
    assert difference.exit_code == 0, difference.output
    assert difference.stdout.splitlines()[:2] == [
        f"{STACKSET} (us-east-1): no template changes; 1 release",
        f"  release services.web: 1.4.3 -> 1.4.4 in {STACKSET}",
    ]

    released = deploy(project, "--env", "dev", "--set", "web=1.4.4")
    assert released.exit_code == 0, released.output
    assert f"[wave 1/1] {STACKSET}: releasing services.web 1.4.4 to every instance" in released.stderr
    assert parameters()["ServiceWebImageTag"] == "1.4.4"
    assert json.loads(cloudformation().describe_stack_set(StackSetName=STACKSET)["StackSet"]["TemplateBody"]) == json.loads(
        (project / "output" / "shop" / "dev" / "us-east-1" / "data.json").read_text()
    )

    kept = deploy(project, "--env", "dev")  # no --set: the release stays
    assert kept.exit_code == 0, kept.output
    assert f"  release services.web: 1.4.4 in {STACKSET}: kept (the spec says 1.4.2; --reset services.web deploys that)" in kept.stdout
    assert "nothing to change" in kept.stderr and parameters()["ServiceWebImageTag"] == "1.4.4"

    reset = deploy(project, "--env", "dev", "--reset", "web")
    assert reset.exit_code == 0, reset.output
    assert f"  release services.web: 1.4.4 -> 1.4.2 in {STACKSET} (reset to the spec's value)" in reset.stdout
    assert parameters()["ServiceWebImageTag"] == "1.4.2"


def test_protected_environment_shows_the_release_before_asking(project: Path, aws: MotoServer) -> None:
    from click.testing import CliRunner

    from cli import main

    command = ["deploy", str(project / "specs" / "shop"), "--env", "prod", "--out", str(project / "output"), "--set", "web=1.4.3"]
    refused = CliRunner().invoke(main, command, input="n\n")
    assert refused.exit_code == 1
    line = "  release services.web: 1.4.2 -> 1.4.3 in shop-prod-data-us-east-1"
    assert refused.output.index(line) < refused.output.index("Deploy shop prod? [y/N]:")
    assert cloudformation().list_stack_sets()["Summaries"] == []
