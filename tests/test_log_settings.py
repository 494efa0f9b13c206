"""Log groups and log retention as the spec says: names it chooses, shared groups, the access-logs bucket's days."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import ivc, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
logs: {retention: 30, access_logs: 30}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
buckets:
  media: {}
services:
  web: {image: nginx:1.27, log_group: /ecs/dev}
  worker: {image: nginx:1.27, log_group: /ecs/dev}
  beat: {image: nginx:1.27}
environments:
  dev: {}
"""


def test_services_share_a_named_log_group_and_the_key_may_encrypt_it(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "shop" / "dev" / "us-east-1"
    app = read_json(folder / "app.json")["Resources"]
    groups = {k: v["Properties"] for k, v in app.items() if v["Type"] == "AWS::Logs::LogGroup"}
    assert sorted(g["LogGroupName"] for g in groups.values()) == ["/ecs/dev", "/shop/dev/services/beat"]
    assert all(g["RetentionInDays"] == 30 for g in groups.values())
    shared = next(k for k, g in groups.items() if g["LogGroupName"] == "/ecs/dev")
    for service in ("Web", "Worker"):
        options = app[f"Service{service}TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["LogConfiguration"]["Options"]
        assert options["awslogs-group"] == {"Ref": shared}
        assert options["awslogs-stream-prefix"] == service.lower()
    data = read_json(folder / "data.json")["Resources"]
    key_policy = json.dumps(read_json(folder / "keys.json")["Resources"]["EnvironmentKey"]["Properties"]["KeyPolicy"])
    assert "log-group:/ecs/dev" in key_policy
    rules = data["AccessLogsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rules[0]["ExpirationInDays"] == 30
