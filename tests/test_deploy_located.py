"""A deploy failure that names a resource is told at the spec line that made the resource."""

from __future__ import annotations

from pathlib import Path

from compiler.deploy.plan import located_failures, targets
from compiler.stacks import assemble
from compiler.validate import load_and_validate

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
buckets:
  media: {}
environments:
  dev: {}
"""


def test_a_failed_resource_points_at_its_spec_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    environment = load_and_validate(path)[0]
    chosen = targets(environment, assemble(environment), ["111111111111"])
    reason = (
        "ResourceLogicalId:BucketMedia, ResourceType:AWS::S3::Bucket, "
        "ResourceStatusReason:shop-dev-media-111111111111-us-east-1 already exists."
    )
    rows = [
        ("shop-dev-data-us-east-1", "111111111111", "us-east-1", "OUTDATED", reason),
        ("shop-dev-network-us-east-1", "111111111111", "us-east-1", "CURRENT", ""),
        ("shop-dev-network-us-east-1", "222222222222", "us-east-1", "OUTDATED", "Account is not bootstrapped"),
    ]
    assert located_failures(environment, chosen, rows) == [
        f"{path}:6:3: error: shop-dev-media-111111111111-us-east-1 already exists. "
        "(stack set shop-dev-data-us-east-1, account 111111111111, us-east-1, BucketMedia)"
    ]
