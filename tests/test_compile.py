"""`ivc compile`: the output contract pipelines depend on."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from troposphere import Ref, ec2

from compiler import __version__, sections
from compiler.context import Context, Fragment
from conftest import FIXTURES, ivc, read_json, tree

TWO_ENVS = """\
ivc: 1
system: shop
regions: {primary: eu-west-1}
network: {cidr: 10.9.0.0/24, tiers: [private], nat: none, subnet_prefix: 27, flow_logs: {enabled: false}}
environments:
  dev: {}
  prod:
    regions: {secondary: eu-central-1}
    network: {secondary_cidr: 10.19.0.0/24}
    deploy: {accounts: ["123456789012"]}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "specs" / "shop" / "spec.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(TWO_ENVS)
    return path


def test_layout_and_manifest(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = ivc("compile", spec, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(tree(out)) == [
        "shop/dev/eu-west-1/network.json",
        "shop/dev/manifest.json",
        "shop/prod/eu-central-1/network.json",
        "shop/prod/eu-west-1/network.json",
        "shop/prod/manifest.json",
    ]
    manifest = read_json(out / "shop" / "prod" / "manifest.json")
    assert manifest["ivc_version"] == __version__
    assert len(manifest["spec"]["sha256"]) == 64
    assert manifest["deploy_order"] == [["eu-west-1/network", "eu-central-1/network"]]
    primary = manifest["stacks"][0]
    body = (out / "shop" / "prod" / "eu-west-1" / "network.json").read_bytes()
    import hashlib

    assert primary | {"exports": None} == {
        "name": "network",
        "region": "eu-west-1",
        "role": "primary",
        "file": "eu-west-1/network.json",
        "sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "deploy_size": len(json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()),
        "resources": 7,
        "parameters": [],
        "exports": None,
        "imports": [],
        "wave": 0,
        "accounts": ["123456789012"],
    }
    assert "shop-prod-network-VpcId" in primary["exports"]
    assert result.stdout.count("wrote ") == 5


def test_compiling_twice_gives_identical_bytes(spec: Path, tmp_path: Path) -> None:
    ivc("compile", spec, "--out", tmp_path / "a")
    ivc("compile", spec, "--out", tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    again = ivc("compile", spec, "--out", tmp_path / "a")
    assert again.exit_code == 0 and again.stdout == ""  # nothing changed, nothing written


def test_check_reports_stale_missing_and_extra_and_writes_nothing(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ivc("compile", spec, "--out", out)
    assert ivc("compile", spec, "--out", out, "--check").exit_code == 0
    (out / "shop" / "dev" / "eu-west-1" / "network.json").write_text("{}\n")
    (out / "shop" / "prod" / "manifest.json").unlink()
    shutil.copytree(out / "shop" / "dev", out / "shop" / "qa")  # an environment ivc wrote that the spec no longer has
    qa_manifest = out / "shop" / "qa" / "manifest.json"
    qa_manifest.write_text(qa_manifest.read_text().replace('"environment": "dev"', '"environment": "qa"'))
    before = tree(out)
    result = ivc("compile", spec, "--out", out, "--check")
    assert result.exit_code == 1
    assert sorted(result.stdout.splitlines()) == sorted(
        [
            f"stale {out}/shop/dev/eu-west-1/network.json",
            f"missing {out}/shop/prod/manifest.json",
            f"extra {out}/shop/qa/eu-west-1/network.json",
            f"extra {out}/shop/qa/manifest.json",
        ]
    )
    assert "4 file(s) out of date" in result.stderr
    assert tree(out) == before


def test_removed_environment_and_region_are_pruned(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ivc("compile", spec, "--out", out)
    spec.write_text(
        TWO_ENVS.replace("    regions: {secondary: eu-central-1}\n    network: {secondary_cidr: 10.19.0.0/24}\n", "").replace(
            "  dev: {}\n", ""
        )
    )
    result = ivc("compile", spec, "--out", out)
    assert result.exit_code == 0, result.output
    assert sorted(tree(out)) == ["shop/prod/eu-west-1/network.json", "shop/prod/manifest.json"]
    assert f"removed {out}/shop/dev/eu-west-1/network.json" in result.stdout
    assert not (out / "shop" / "dev").exists()
    assert not list(out.rglob(".*.tmp"))


def test_region_filter_writes_one_region_and_a_complete_manifest(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = ivc("compile", spec, "--out", out, "--env", "prod", "--region", "eu-central-1")
    assert result.exit_code == 0, result.output
    assert sorted(tree(out)) == ["shop/prod/eu-central-1/network.json", "shop/prod/manifest.json"]
    assert len(read_json(out / "shop" / "prod" / "manifest.json")["stacks"]) == 2
    assert ivc("compile", spec, "--out", out, "--region", "ap-south-1").exit_code == 2


def _add_resource(monkeypatch: pytest.MonkeyPatch, resource: Any) -> None:
    """Make the network builder emit one more resource, so cfn-lint has something real to find."""
    original = sections.BY_NAME["network"]
    assert original.build is not None
    build = original.build

    def with_extra(section: dict[str, Any], ctx: Context) -> Fragment:
        fragment = build(section, ctx)
        fragment.add(resource)
        return fragment

    replaced = dataclasses.replace(original, build=with_extra)
    monkeypatch.setattr(sections, "SECTIONS", tuple(replaced if s is original else s for s in sections.SECTIONS))


def test_lint_error_fails_compile_naming_stack_resource_and_rule(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_resource(monkeypatch, ec2.Subnet("BrokenSubnet", VpcId="vpc-1", CidrBlock="10.9.0.0/99"))
    out = tmp_path / "out"
    result = ivc("compile", spec, "--out", out, "--env", "dev")
    assert result.exit_code == 1
    line = next(line for line in result.stderr.splitlines() if "error:" in line)
    assert line.startswith(f"{spec}:4:1: error: '10.9.0.0/99' ")  # the network section made the resource
    assert line.endswith(f"(template {out}/shop/dev/eu-west-1/network.json, BrokenSubnet, rule E3002)")
    assert not out.exists()


def test_lint_warning_is_shown_and_fails_only_with_strict(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _add_resource(monkeypatch, ec2.Subnet("PinnedSubnet", VpcId=Ref("Vpc"), CidrBlock="10.9.0.224/27", AvailabilityZone="eu-west-1a"))
    out = tmp_path / "out"
    relaxed = ivc("compile", spec, "--out", out, "--env", "dev")
    assert relaxed.exit_code == 0
    assert f"{spec}:4:1: warning: Avoid hardcoding" in relaxed.stderr
    assert "PinnedSubnet, rule W3010)" in relaxed.stderr
    cached = ivc("compile", spec, "--out", tmp_path / "again", "--env", "dev")  # same template: from the lint cache
    assert "PinnedSubnet, rule W3010)" in cached.stderr
    assert f"(template {tmp_path}/again/shop/dev/eu-west-1/network.json, PinnedSubnet" in cached.stderr
    strict = ivc("compile", spec, "--out", tmp_path / "strict", "--env", "dev", "--strict")
    assert strict.exit_code == 1
    assert not (tmp_path / "strict").exists()


def test_spec_errors_fail_compile_before_writing(tmp_path: Path) -> None:
    result = ivc("compile", FIXTURES / "bad" / "unknown_key.yaml", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "unknown key 'enviroments' at the top level" in result.stderr
    assert not (tmp_path / "out").exists()


def test_bundled_specs_compile_from_their_folder(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "extends", tmp_path / "layered")
    (tmp_path / "layered" / "spec.yaml").rename(tmp_path / "layered" / "other.yaml")
    assert ivc("compile", tmp_path / "layered", "--out", tmp_path / "out").exit_code == 2


def test_lint_cache_can_be_turned_off(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVC_CACHE_DIR", str(tmp_path / "cache"))
    ivc("compile", spec, "--out", tmp_path / "a")
    assert len(list((tmp_path / "cache" / "lint").glob("*.json"))) == 3  # one per template and region
    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    shutil.rmtree(tmp_path / "cache")
    assert ivc("compile", spec, "--out", tmp_path / "b").exit_code == 0
    assert not (tmp_path / "cache").exists()


def test_cloudformation_limits_are_enforced_at_compile(tmp_path: Path) -> None:
    # 7 tiers x 16 rules x 6 zones of network ACL entries: far over 500 resources in one stack.
    tiers = ["public", "a", "b", "c", "d", "e", "f", "g"]
    rules = ", ".join(f"{{from: {tier}, ports: {port}}}" for tier in tiers for port in (22, 443))
    acls = "\n".join(f"    {tier}: {{inbound: [{rules}]}}" for tier in tiers[1:])
    spec = tmp_path / "big.yaml"
    spec.write_text(
        f"ivc: 1\nsystem: big\nregions: {{primary: us-east-1}}\nnetwork:\n  cidr: 10.0.0.0/16\n  zones: 6\n"
        f"  tiers: [{', '.join(tiers)}]\n  acls:\n{acls}\nenvironments: {{dev: {{}}}}\n"
    )
    for command in (["validate", spec], ["compile", spec, "--out", tmp_path / "out"]):
        result = ivc(*command)
        assert result.exit_code == 1
        lines = result.stderr.splitlines()
        assert any(
            line.startswith(f"{spec}:4:1: error: stack us-east-1/network has ") and "resources, over CloudFormation's 500" in line
            for line in lines
        ), result.stderr
    assert not (tmp_path / "out").exists()


def test_template_over_inline_limit_needs_deploy_bucket(tmp_path: Path) -> None:
    tiers = ["public", "a", "b", "c", "d", "e", "f", "g"]
    acls = "\n".join(f"    {tier}: {{inbound: [{{from: public, ports: 443}}, {{from: a, ports: 22}}]}}" for tier in tiers[1:])
    text = (
        f"ivc: 1\nsystem: wide\nregions: {{primary: us-east-1}}\nnetwork:\n  cidr: 10.0.0.0/16\n  zones: 6\n"
        f"  tiers: [{', '.join(tiers)}]\n  acls:\n{acls}\nenvironments: {{dev: {{}}}}\n"
    )
    spec = tmp_path / "wide.yaml"
    spec.write_text(text)
    refused = ivc("compile", spec, "--out", tmp_path / "out")
    assert refused.exit_code == 1
    assert "over the 51200-byte inline limit: set deploy.bucket so ivc deploy can upload it" in refused.stderr
    spec.write_text(text.replace("environments:", "deploy: {bucket: wide-templates}\nenvironments:"))
    assert ivc("compile", spec, "--out", tmp_path / "out").exit_code == 0


def test_progress_is_one_line_per_environment_and_a_failure_says_so(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    good = ivc("compile", spec, "--out", out)
    assert good.exit_code == 0
    assert [line for line in good.stderr.splitlines() if line.startswith("ivc: shop/")] == [
        "ivc: shop/dev: 1 template(s), 7 resources",
        "ivc: shop/prod: 2 template(s), 14 resources",
    ]
    _add_resource(monkeypatch, ec2.Subnet("BrokenSubnet", VpcId="vpc-1", CidrBlock="10.9.0.0/99"))
    bad = ivc("compile", spec, "--out", tmp_path / "bad", "--env", "dev")
    assert bad.exit_code == 1
    assert "ivc: shop/dev: 1 template(s), 8 resources, not written: lint found problems" in bad.stderr
    assert bad.stderr.splitlines()[-1].startswith("ivc: compile FAILED with 2 problem(s); nothing with a problem was written")


@pytest.mark.parametrize(
    ("image", "default", "composed"),
    [
        ("nginx:1.25", "1.25", "nginx:${ServiceWebImageTag}"),
        ("registry.example.com:5000/team/web", "latest", "registry.example.com:5000/team/web:${ServiceWebImageTag}"),
        ("web@sha256:abc123", "sha256:abc123", "web@${ServiceWebImageTag}"),
        ("ecr:shop/web:2.0.1", "2.0.1", "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/shop/web:${ServiceWebImageTag}"),
    ],
)
def test_a_service_image_tag_is_a_release_parameter_defaulting_to_the_spec(image: str, default: str, composed: str) -> None:
    from compiler.context import Fragment
    from compiler.sections.services import image_uri, split_image

    out = Fragment()
    tag = out.release("ServiceWebImageTag", split_image(image.removeprefix("ecr:"))[2], "Release of services.web")
    assert tag.to_dict()["Default"] == default
    assert image_uri(image, tag).to_dict() == {"Fn::Sub": composed}
