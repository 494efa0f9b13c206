"""Linting with cfn-lint's rules built once per process finds exactly what `cfnlint.api.lint` finds.

compiler/lint.py reuses one set of rules for every template (see its docstring); these tests lint a corpus of
deliberately broken templates, and a sample of the bundled outputs, both ways and compare every finding.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from compiler import lint
from conftest import ROOT


def _template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return json.dumps(template, indent=2)


def _database(instance_class: str, engine: str = "postgres", version: str = "16.13") -> dict[str, Any]:
    return {
        "Type": "AWS::RDS::DBInstance",
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Snapshot",
        "Properties": {
            "Engine": engine,
            "EngineVersion": version,
            "DBInstanceClass": instance_class,
            "AllocatedStorage": "20",
            "StorageEncrypted": True,
            "MasterUsername": "admin",
            "ManageMasterUserPassword": True,
        },
    }


TOPIC = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}}

# name -> (body, region, rule ids that must be among cfn-lint's findings: proof the template really is broken)
BROKEN: dict[str, tuple[str, str, set[str]]] = {
    "class not offered for the engine version": (_template({"Db": _database("db.t2.micro")}), "us-east-1", {"E3062"}),
    "class that does not exist": (_template({"Db": _database("db.t1.nonsense")}), "us-west-2", {"E3025", "E3062"}),
    "bogus property": (
        _template({"Topic": {**TOPIC, "Properties": {"TopicName": "alerts", "Colour": "blue"}}}),
        "us-east-1",
        {"E3002"},
    ),
    "DependsOn a missing resource": (_template({"Topic": {**TOPIC, "DependsOn": "Nowhere"}}), "us-west-2", {"E3005"}),
    "output GetAtt of a missing resource": (
        _template({"Topic": TOPIC}, {"Name": {"Value": {"Fn::GetAtt": ["Nowhere", "TopicName"]}}}),
        "us-east-1",
        {"E6101"},
    ),
    # db.m6id.large is offered for PostgreSQL in us-east-1 but not in us-west-1: only the region's config tells
    "class not offered in the region": (_template({"Db": _database("db.m6id.large")}), "us-west-1", {"E3025"}),
    "not JSON": ('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic",', "us-east-1", {"E0000"}),
    "duplicate key": (
        '{"Resources": {\n "Topic": {"Type": "AWS::SNS::Topic"},\n "Topic": {"Type": "AWS::SNS::Topic"}\n}}',
        "us-east-1",
        {"E0000"},
    ),
}
GOOD: dict[str, tuple[str, str]] = {
    "same class in a region that offers it": (_template({"Db": _database("db.m6id.large")}), "us-east-1"),
    "ignored by a cfn-lint directive": (
        json.dumps(
            {
                "Resources": {
                    "Topic": {
                        **TOPIC,
                        "Properties": {"TopicName": "alerts", "Colour": "blue"},
                        "Metadata": {"cfn-lint": {"config": {"ignore_checks": ["E3002"]}}},
                    }
                }
            }
        ),
        "us-east-1",
    ),
}
# small bundled outputs, in both regions, one with a database instance
SAMPLES = [
    "output/indivillage/production/us-west-2/standby.json",
    "output/indivillage/production/us-west-2/backups.json",
    "output/socialflow/prod/us-east-1/keys.json",
    "output/indii-music/production/us-east-1/security.json",
]


def _corpus() -> list[tuple[str, str, str]]:
    """(body, region, name) of every template, broken ones between good ones, so shared rules meet both in turn."""
    samples = [((ROOT / path).read_text(encoding="utf-8"), path.split("/")[3], path) for path in SAMPLES]
    broken = [(body, region, name) for name, (body, region, _) in BROKEN.items()]
    good = [(body, region, name) for name, (body, region) in GOOD.items()] + samples
    mixed = []
    for index in range(max(len(broken), len(good))):
        mixed += broken[index : index + 1] + good[index : index + 1]
    return mixed


def _found(matches: list[Any]) -> list[tuple[str, str, str, int, int]]:
    return [
        (m.rule.id, "/".join(str(step) for step in (getattr(m, "path", None) or [])), str(m.message), m.linenumber, m.columnnumber)
        for m in matches
    ]


@cache
def _reference() -> dict[str, list[Any]]:
    """What `cfnlint.api.lint` finds, as ivc called it before rules were shared: a new Runner per template."""
    from cfnlint.api import ManualArgs
    from cfnlint.api import lint as api_lint

    return {name: api_lint(body, config=ManualArgs(regions=[region])) for body, region, name in _corpus()}


def test_the_broken_templates_are_broken_and_the_good_ones_clean() -> None:
    reference = _reference()
    for name, (_, _, expected) in BROKEN.items():
        assert expected <= {match.rule.id for match in reference[name]}, name
    for name in [*GOOD, *SAMPLES]:
        assert reference[name] == [], name


def test_shared_rules_find_what_cfn_lint_api_finds() -> None:
    reference = _reference()
    for body, region, name in _corpus():
        assert _found(lint.cfn_lint_matches(body, region)) == _found(reference[name]), name


def test_lint_all_in_worker_processes_gives_the_same_diagnostics_in_job_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    reference = _reference()
    corpus = _corpus()
    results = lint.lint_all([(body, region, f"{name}.json") for body, region, name in corpus])
    expected = [lint.to_diagnostics(reference[name], f"{name}.json") for _, _, name in corpus]
    assert results == expected


def test_workers_that_do_not_fork_build_their_own_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    # where the start method is not fork (macOS, Windows), workers inherit nothing and build the rules themselves
    import multiprocessing

    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    monkeypatch.setattr(lint, "_pool_context", lambda: multiprocessing.get_context("spawn"))
    names = ["class not offered in the region", "bogus property"]
    jobs = [(BROKEN[name][0], BROKEN[name][1], name) for name in names]
    assert lint.lint_all(jobs) == [lint.to_diagnostics(_reference()[name], name) for name in names]
