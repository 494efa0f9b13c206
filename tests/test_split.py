"""A layer over CloudFormation's per-template quotas is split into numbered stacks (compiler/split.py).

The spec is bench/bench_scale.py's generator: N services, each with its own database, bucket and queue. From 15
services the data layer has more than 180 outputs, so it becomes data and data-2.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from compiler import split
from compiler.stacks import Stack, assemble
from compiler.validate import load_and_validate
from conftest import ROOT, ivc, read_json

SERVICES = 16  # just over the count that splits the data layer (15), so that data-2 holds a bucket
QUOTAS = {"resources": 500, "outputs": 200, "parameters": 200}


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "bench_scale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


def _stacks(folder: Path, services: int, extra: str = "") -> list[Stack]:
    spec = bench.write_spec(folder, services) / "spec.yaml"
    if extra:
        spec.write_text(spec.read_text(encoding="utf-8") + extra, encoding="utf-8")
    [environment] = load_and_validate(spec)
    return assemble(environment)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated spec compiled, cfn-lint included (the compile fails on a finding)."""
    folder = tmp_path_factory.mktemp("split")
    spec = bench.write_spec(folder / "specs", SERVICES)
    result = ivc("compile", spec, "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output + result.stderr
    assert "warning" not in result.stderr and "error" not in result.stderr, result.stderr
    return folder / "out" / bench.SYSTEM / "dev"


@pytest.mark.slow
def test_the_data_layer_becomes_numbered_stacks_within_the_quotas(compiled: Path) -> None:
    manifest = read_json(compiled / "manifest.json")
    names = [s["name"] for s in manifest["stacks"]]
    assert "data" in names and "data-2" in names and "data-3" not in names
    for stack in manifest["stacks"]:
        template = read_json(compiled / stack["file"])
        assert len(template["Resources"]) <= QUOTAS["resources"]
        assert len(template.get("Outputs", {})) <= QUOTAS["outputs"]
        assert len(template.get("Parameters", {})) <= QUOTAS["parameters"]
        assert stack["deploy_size"] <= 1_048_576
        assert template["Metadata"]["ivc"]["stack"] == stack["name"]
    second = read_json(compiled / "us-east-1" / "data-2.json")
    assert "data-2 stack in us-east-1" in second["Description"]


@pytest.mark.slow
def test_every_import_is_exported_by_a_stack_of_an_earlier_wave(compiled: Path) -> None:
    manifest = read_json(compiled / "manifest.json")
    exporter = {name: stack for stack in manifest["stacks"] for name in stack["exports"]}
    for stack in manifest["stacks"]:
        for name in stack["imports"]:
            assert name in exporter, f"{stack['name']} imports {name}, which nothing exports"
            assert exporter[name]["wave"] < stack["wave"], (stack["name"], name)
    waves = [[key.split("/")[1] for key in wave] for wave in manifest["deploy_order"]]
    assert waves.index(["data"]) < waves.index(["data-2"]) < next(i for i, w in enumerate(waves) if "app" in w)
    # The later part reaches the first one's shared access-logs bucket by an import, not a Ref.
    second = (compiled / "us-east-1" / "data-2.json").read_text(encoding="utf-8")
    assert '"Ref": "AccessLogsBucket"' not in second
    assert '"Fn::ImportValue": "scale-dev-data-AccessLogsBucketName"' in second


def test_every_resource_of_one_spec_item_is_in_one_stack(tmp_path: Path) -> None:
    stacks = _stacks(tmp_path, SERVICES)
    where: dict[tuple[Any, ...], set[str]] = {}
    for stack in stacks:
        if stack.layer != "data":
            continue
        for logical, origin in stack.origins.items():
            if not logical.startswith("Outputs/") and len(origin) >= 2:
                where.setdefault(tuple(origin[:2]), set()).add(stack.name)
    assert len(where) == 3 * SERVICES
    assert all(len(names) == 1 for names in where.values()), {i: n for i, n in where.items() if len(n) > 1}
    # An output goes with its resource: a bucket's exports are in the bucket's stack.
    by_name = {s.name: s for s in stacks}
    for name in ("data", "data-2"):
        template = by_name[name].template
        for output in template["Outputs"].values():
            value = json.dumps(output["Value"])
            assert "ImportValue" not in value


def test_appending_a_service_keeps_every_resource_in_its_stack(tmp_path: Path) -> None:
    before = {r: s.key for s in _stacks(tmp_path / "a", SERVICES) for r in s.template["Resources"]}
    after = {r: s.key for s in _stacks(tmp_path / "b", SERVICES + 6) for r in s.template["Resources"]}
    assert {r: (k, after.get(r)) for r, k in before.items() if after.get(r) != k} == {}
    assert {k for r, k in after.items() if r not in before} >= {"us-east-1/data-2"}


def test_a_layer_within_the_quotas_is_not_touched(tmp_path: Path) -> None:
    stacks = _stacks(tmp_path, 14)
    assert [s.name for s in stacks if s.layer == "data"] == ["data"]
    template = next(s.template for s in stacks if s.name == "data")
    assert split.split("data", template, {}) == ([split.Part("data", template, {})], [])


def test_bundled_outputs_are_unchanged() -> None:
    # No bundled layer is near a quota: splitting changes no byte of output/ (the compile --check of CI says the same).
    for spec in sorted((ROOT / "specs").glob("*/spec.yaml")):
        for environment in load_and_validate(spec):
            folder = ROOT / "output" / environment.system / environment.name
            stacks = assemble(environment)
            assert all(s.name == s.layer for s in stacks)
            for stack in stacks:
                assert (folder / stack.file).read_text(encoding="utf-8") == stack.body, stack.key


@pytest.mark.slow
def test_a_cfn_lint_finding_in_a_later_part_lands_at_the_spec_line(tmp_path: Path) -> None:
    stacks = _stacks(tmp_path / "probe", SERVICES)
    assert "QueueS16" in next(s for s in stacks if s.name == "data-2").template["Resources"]
    spec = bench.write_spec(tmp_path / "specs", SERVICES) / "spec.yaml"
    lines = spec.read_text(encoding="utf-8").splitlines()
    lines[-2:-2] = ["overrides:", "  QueueS16:", "    reason: too short a retention", "    Properties: {MessageRetentionPeriod: 30}"]
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 1
    line = lines.index("  QueueS16:") + 1
    found = [x for x in result.stderr.splitlines() if x.startswith(f"{spec}:{line}:3: error: ")]
    assert found and "data-2.json" in found[0] and "QueueS16" in found[0], result.stderr


def test_a_spec_item_too_big_for_one_stack_is_an_error_at_its_line() -> None:
    resources = {f"Queue{i}": {"Type": "AWS::SQS::Queue", "Properties": {}} for i in range(501)}
    resources["Other"] = {"Type": "AWS::SQS::Queue", "Properties": {}}
    # One item's resources reference each other, so they stay together: a chain through the queues.
    for i in range(1, 501):
        resources[f"Queue{i}"]["DependsOn"] = f"Queue{i - 1}"
    origins: dict[str, tuple[Any, ...]] = {f"Queue{i}": ("queues", "big", "x") for i in range(501)}
    origins["Other"] = ("queues", "small")
    template = {"Metadata": {"ivc": {"system": "s", "environment": "dev"}}, "Resources": resources}
    parts, problems = split.split("data", template, origins, "us-east-1/data")
    assert parts == []
    assert problems == [
        (
            ("queues", "big"),
            "stack us-east-1/data has 502 resources, over CloudFormation's 500, and queues.big alone makes 501 of them: "
            "what one spec item makes (with what it references in the same stack) stays in one stack, so make it smaller "
            "or split it into more items",
        )
    ]


def test_references_across_parts_become_imports_of_exports() -> None:
    # Two items that fill a part each, the second referencing a shared resource three ways.
    shared = {"Type": "AWS::SNS::Topic", "Properties": {}}
    resources: dict[str, Any] = {"Hub": shared}
    origins: dict[str, tuple[Any, ...]] = {"Hub": ()}
    for item, count in (("a", 399), ("b", 10)):
        for i in range(count):
            logical = f"Queue{item.upper()}{i}"
            resources[logical] = {"Type": "AWS::SQS::Queue", "Properties": {"Tags": [{"Key": "k", "Value": {"Ref": "Hub"}}]}}
            origins[logical] = ("queues", item)
    resources["QueueB0"]["Properties"]["QueueName"] = {"Fn::Sub": "${Hub.TopicName}-${AWS::Region}"}
    resources["QueueB0"]["DependsOn"] = ["Hub", "QueueB1"]
    template = {"Metadata": {"ivc": {"system": "s", "environment": "dev", "stack": "data"}}, "Resources": resources}
    parts, problems = split.split("data", template, origins)
    assert problems == []
    first, second = parts
    assert (first.name, second.name) == ("data", "data-2")
    assert "Hub" in first.template["Resources"] and "QueueB0" in second.template["Resources"]
    b0 = second.template["Resources"]["QueueB0"]
    assert b0["Properties"]["Tags"][0]["Value"] == {"Fn::ImportValue": "s-dev-data-Hub-Ref"}
    assert b0["Properties"]["QueueName"] == {
        "Fn::Sub": ["${SplitHubTopicName}-${AWS::Region}", {"SplitHubTopicName": {"Fn::ImportValue": "s-dev-data-Hub-TopicName"}}]
    }
    assert b0["DependsOn"] == ["QueueB1"]
    outputs = first.template["Outputs"]
    assert {o["Export"]["Name"] for o in outputs.values()} == {"s-dev-data-Hub-Ref", "s-dev-data-Hub-TopicName"}
    assert outputs["SplitHubTopicName"]["Value"] == {"Fn::GetAtt": ["Hub", "TopicName"]}
    assert second.template["Metadata"]["ivc"]["stack"] == "data-2"
    assert second.origins["QueueB0"] == ("queues", "b")


def test_deploy_takes_a_split_layer_by_its_name_with_its_preferences(tmp_path: Path) -> None:
    from compiler.deploy.plan import located_failures, targets

    spec = bench.write_spec(tmp_path, SERVICES) / "spec.yaml"
    text = spec.read_text(encoding="utf-8").replace(
        "deploy: {bucket: scale-cloudformation-templates}",
        "deploy:\n  bucket: scale-cloudformation-templates\n  stacks: {data: {preferences: {max_concurrent: 3}}}",
    )
    spec.write_text(text, encoding="utf-8")
    [environment] = load_and_validate(spec)
    stacks = assemble(environment)
    layer = targets(environment, stacks, ["111111111111"], stack="data")
    assert [t.stackset for t in layer] == ["scale-dev-data-us-east-1", "scale-dev-data-2-us-east-1"]
    assert all(t.preferences["MaxConcurrentCount"] == 3 for t in layer)
    [part] = targets(environment, stacks, ["111111111111"], stack="data-2")
    reason = "ResourceLogicalId:DatabaseS16, ResourceType:AWS::RDS::DBInstance, ResourceStatusReason:quota exceeded."
    rows = [("scale-dev-data-2-us-east-1", "111111111111", "us-east-1", "OUTDATED", reason)]
    line = text.splitlines().index("databases:") + 17  # databases.s16
    assert located_failures(environment, [part], rows) == [
        f"{spec}:{line}:3: error: quota exceeded. (stack set scale-dev-data-2-us-east-1, account 111111111111, us-east-1, DatabaseS16)"
    ]


def _with(text: str, before: str, lines: list[str]) -> str:
    at = text.splitlines().index(before)
    return "\n".join(text.splitlines()[:at] + lines + text.splitlines()[at:]) + "\n"


@pytest.mark.slow
def test_a_resource_that_moves_to_another_stack_is_called_out_at_its_spec_line(tmp_path: Path) -> None:
    # Sections that grow unevenly: a database added at the end of its section sorts before the buckets after
    # position 14, so the bucket at the boundary of data and data-2 changes stack (found by review).
    folder = bench.write_spec(tmp_path / "specs", 14)
    spec = folder / "spec.yaml"
    extra_buckets = [f"  y{i:02d}: {{versioning: true}}" for i in range(6)]
    spec.write_text(_with(spec.read_text(encoding="utf-8"), "queues:", extra_buckets), encoding="utf-8")
    first = ivc("compile", spec, "--out", tmp_path / "out")
    assert first.exit_code == 0, first.stderr
    assert "moves from stack" not in first.stderr
    database = '  x00: {engine: postgres, version: "16.10", instance: db.t3.micro, storage: {size: 20}}'
    spec.write_text(_with(spec.read_text(encoding="utf-8"), "buckets:", [database]), encoding="utf-8")
    strict = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert strict.exit_code == 1
    assert "not written: resources move between stacks" in strict.stderr
    grown = ivc("compile", spec, "--out", tmp_path / "out")
    assert grown.exit_code == 0, grown.stderr
    line = next(n for n, text in enumerate(spec.read_text(encoding="utf-8").splitlines(), start=1) if text.startswith("  y02:"))
    warnings = [w for w in grown.stderr.splitlines() if "BucketY02 moves from stack us-east-1/data to us-east-1/data-2" in w]
    assert warnings and warnings[0].startswith(f"{spec}:{line}:"), grown.stderr
    again = ivc("compile", spec, "--out", tmp_path / "out")
    assert "moves from stack" not in again.stderr  # said once: the output folder now has it where it is


def test_a_part_imports_only_from_parts_before_it_and_follows_a_dependency_it_lost() -> None:
    # An output joining a shared resource and a later item's, and DependsOn on a shared resource: no cycle, order kept.
    resources: dict[str, Any] = {"Hub": {"Type": "AWS::S3::Bucket"}}
    origins: dict[str, tuple[Any, ...]] = {"Hub": ()}
    outputs: dict[str, Any] = {}
    for i in range(200):
        resources[f"Q{i}"] = {"Type": "AWS::SQS::Queue", "DependsOn": "Hub", "Properties": {"QueueName": f"q{i}"}}
        origins[f"Q{i}"] = ("queues", f"q{i}")
        outputs[f"Q{i}Url"] = {"Value": {"Ref": f"Q{i}"}, "Export": {"Name": f"sys-env-Q{i}Url"}}
        origins[f"Outputs/Q{i}Url"] = ("queues", f"q{i}")
    outputs["Both"] = {"Value": {"Fn::Join": [",", [{"Ref": "Hub"}, {"Ref": "Q199"}]]}}
    template = {"Metadata": {"ivc": {"system": "sys", "environment": "env"}}, "Resources": resources, "Outputs": outputs}
    parts, problems = split.split("data", template, origins, "us-east-1/data")
    assert problems == [] and [p.name for p in parts] == ["data", "data-2"]
    first, second = parts
    assert "Fn::ImportValue" not in json.dumps(first.template)
    assert "Both" in second.template["Outputs"] and "Both" not in first.template.get("Outputs", {})
    assert not any("DependsOn" in r for r in second.template["Resources"].values())
    assert second.after == ["data"] and first.after == []
