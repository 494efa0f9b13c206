"""Deploy and destroy of the front door against moto's HTTP server: a deletion-protected load balancer is kept by
`ivc destroy`, and the CloudFront prefix list the load balancer's group admits is looked up in each region at deploy."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

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
