"""Problems only the assembled stacks or AWS's offerings show are found by `ivc validate`, at the spec line."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ivc

HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
"""
ENVS = "environments:\n  dev: {}\n"


def problems(tmp_path: Path, body: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body + ENVS)
    result = ivc("validate", spec)
    assert "internal error" not in result.output and "Traceback" not in result.output
    return [line.removeprefix(f"{spec}:") for line in result.stderr.splitlines() if ": error: " in line]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "buckets:\n  media: {}\ncdn:\n  default: {origin: buckets.media}\n  paths:\n    /Default: {origin: buckets.media}\n",
            "10:5: error: cdn.paths./Default and cdn.default would both make the resource CachePolicyDefault; rename one of them",
        ),
        (
            "caches:\n  sessions: {node: cache.t4g.smal}\n",
            "6:20: error: cache.t4g.smal is not an ElastiCache node type in us-east-1; did you mean cache.t4g.small?",
        ),
        ("caches:\n  sessions: {node: cache.t4g.small, version: '7.9'}\n", "6:46: error: ElastiCache does not offer redis 7.9"),
        (
            "databases:\n  main: {instance: db.t3.mediun}\n",
            "6:20: error: db.t3.mediun is not an RDS instance class for postgres in us-east-1; did you mean db.t3.medium?",
        ),
        (
            "databases:\n  main: {instance: db.t3.medium, version: '15.4'}\n",
            "6:43: error: postgres 15.4 is deprecated by RDS and cannot be created; use a current minor version",
        ),
        (
            "buckets:\n  a-1: {}\n  a1: {}\n",
            "7:3: error: buckets.a1 and buckets.a-1 would both make the resource BucketA1; rename one of them",
        ),
        (
            "buckets:\n  x: {}\n  x-policy: {}\n",
            "7:3: error: buckets.x-policy and buckets.x would both make the resource BucketXPolicy; rename one of them",
        ),
        (
            "load_balancer: {certificate: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123'}\n"
            "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n",
            "5:30: error: the load balancer's certificate must be in its region, us-east-1; this one is in eu-west-1",
        ),
    ],
    ids=[
        "cdn-path-default",
        "node-type",
        "cache-version",
        "instance-class",
        "deprecated-version",
        "a-1-and-a1",
        "x-and-x-policy",
        "certificate-region",
    ],
)
def test_validate_finds_it_at_the_spec_line(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, body) == [expected]


def test_a_routed_service_needs_a_public_tier(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD.replace("tiers: [public, private]", "tiers: [private]")
        + "services:\n  web: {image: nginx, port: 80, route: {path: /}}\n"
        + ENVS
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert (
        f"{spec}:6:40: error: services.web has a route, and the internet-facing load balancer needs a 'public' tier in network.tiers"
        in result.stderr
    )


def test_alarms_alone_get_the_key_their_topics_are_encrypted_with(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "alarms:\n  notify: {critical: [ops@example.com]}\n" + ENVS)
    out = tmp_path / "out"
    result = ivc("compile", spec, "--out", out)
    assert result.exit_code == 0, result.output
    assert (out / "shop" / "dev" / "us-east-1" / "keys.json").read_text().count('"AWS::KMS::Key"') == 1
