"""Linting as ivc does finds exactly what `cfnlint.api.lint` finds.

compiler/lint.py reuses one set of rules for every template and compiler/lint_speedups.py removes waste from
cfn-lint (see their docstrings); these tests lint a corpus of deliberately broken templates, which trips each
changed path, both ways and compare every finding. The reference runs `cfnlint.api.lint` in a separate Python
process that never imports ivc, so nothing of ivc's changes it. The bundled outputs are not linted here again:
each CI run compiles them clean with ivc and lints them clean with cfn-lint's unchanged command line (the lint
gate), and `bench/lint_equivalence.py` compares every finding on them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from types import SimpleNamespace
from typing import Any

import pytest

from compiler import lint, lint_speedups
from conftest import ROOT


def _template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return json.dumps(template, indent=2)


def _database(instance_class: str, engine: str = "postgres", version: str = "16.13", **extra: Any) -> dict[str, Any]:
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
            **extra,
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
    "deletion policy without its update replace policy": (
        _template({"Topic": {**TOPIC, "DeletionPolicy": "Retain"}}),
        "us-east-1",
        {"W3011"},
    ),
    "update replace policy alone, by a condition": (
        json.dumps(
            {
                "Conditions": {"Keep": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}},
                "Resources": {"Topic": {**TOPIC, "UpdateReplacePolicy": {"Fn::If": ["Keep", "Retain", "Delete"]}}},
            }
        ),
        "us-east-1",
        {"W3011"},
    ),
    "update policy on a type that has none": (
        _template({"Topic": {**TOPIC, "UpdatePolicy": {"AutoScalingRollingUpdate": {}}}}),
        "us-west-2",
        {"E3016"},
    ),
    "update policy that is not an object": (
        _template(
            {
                "Group": {
                    "Type": "AWS::AutoScaling::AutoScalingGroup",
                    "UpdatePolicy": {"AutoScalingRollingUpdate": {"MaxBatchSize": "many"}},
                    "Properties": {"MinSize": "1", "MaxSize": "2", "AvailabilityZones": ["us-east-1a"], "LaunchConfigurationName": "lc"},
                }
            }
        ),
        "us-east-1",
        {"E3016"},
    ),
    "engine in capitals with a class it does not offer": (
        _template({"Db": _database("db.t2.micro", engine="Postgres")}),
        "us-east-1",
        {"E3062"},
    ),
    "mysql class not offered for the version": (
        _template({"Db": _database("db.t2.micro", engine="mysql", version="8.4.3")}),
        "us-east-1",
        {"E3062"},
    ),
    "functions, conditions and parameters gone wrong": (
        json.dumps(
            {
                "Parameters": {"Size": {"Type": "String", "AllowedValues": ["a", "b"], "Default": "c"}},
                "Conditions": {"Prod": {"Fn::Equals": [{"Ref": "Size"}, "a"]}},
                "Resources": {
                    "Queue": {
                        "Type": "AWS::SQS::Queue",
                        "Properties": {
                            "QueueName": {"Fn::Sub": ["${Prefix}-${AWS::Region}-${Missing}", {"Prefix": {"Ref": "Size"}}]},
                            "DelaySeconds": {"Fn::If": ["Prod", 1000, "zero"]},
                            "VisibilityTimeout": {"Fn::Join": ["", [{"Ref": "Nothing"}]]},
                        },
                    },
                    "Topic": {
                        **TOPIC,
                        "Properties": {
                            "TopicName": {"Fn::GetAtt": ["Queue", "Colour"]},
                            "KmsMasterKeyId": {"Fn::GetAtt": ["Queue", "Arn"]},
                        },
                    },
                },
                "Outputs": {"Url": {"Value": {"Fn::If": ["Missing", {"Ref": "Queue"}, ""]}}},
            }
        ),
        "us-west-2",
        {"E1010", "E1019", "E2015", "E3012", "E6101"},
    ),
    "identity policy gone wrong": (
        _template(
            {
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                            ],
                        },
                        "Policies": [
                            {
                                "PolicyName": "p",
                                "PolicyDocument": {
                                    "Version": "2012-10-17",
                                    "Statement": [{"Effect": "Alow", "Action": 7, "Resource": "*"}],
                                },
                            }
                        ],
                    },
                }
            }
        ),
        "us-east-1",
        {"E3510"},
    ),
    # sympy decides these (cfn-lint's conditions): its __init__ runs only once a template needs more than names
    "conditions that contradict each other": (
        json.dumps(
            {
                "Parameters": {"Stage": {"Type": "String", "AllowedValues": ["dev", "prod"]}},
                "Conditions": {
                    "Prod": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                    "Dev": {"Fn::Not": [{"Condition": "Prod"}]},
                    "Both": {"Fn::And": [{"Condition": "Prod"}, {"Condition": "Dev"}]},
                    "Either": {"Fn::Or": [{"Condition": "Prod"}, {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}]},
                    "East": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
                    "Never": {"Fn::Equals": ["a", "b"]},
                },
                "Resources": {
                    "Queue": {"Type": "AWS::SQS::Queue", "Condition": "Prod", "Properties": {"DelaySeconds": {"Fn::If": ["Dev", 5, 1000]}}},
                    "Topic": {
                        **TOPIC,
                        "Condition": "Dev",
                        "Properties": {
                            "TopicName": {"Fn::If": ["Both", {"Fn::GetAtt": ["Queue", "QueueName"]}, {"Ref": "AWS::NoValue"}]},
                            "KmsMasterKeyId": {"Fn::If": ["Prod", {"Ref": "Queue"}, {"Fn::If": ["Dev", "alias/aws/sns", "alias/x"]}]},
                        },
                    },
                    "Other": {**TOPIC, "Condition": "Either", "Properties": {"TopicName": {"Fn::If": ["East", "east", "west"]}}},
                },
                "Outputs": {
                    "Queue": {"Value": {"Ref": "Queue"}},
                    "Both": {"Condition": "Both", "Value": {"Fn::If": ["Never", "x", {"Fn::GetAtt": ["Queue", "Arn"]}]}},
                },
            }
        ),
        "us-east-1",
        {"W1001", "W8003"},
    ),
    # patterns (through the regex module, whose compiled patterns lint_speedups keeps)
    "names and ARNs that break their patterns": (
        _template(
            {
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "Not_A_Bucket!"}},
                "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "bad name*", "RetentionInDays": 8}},
                "Role": {
                    "Type": "AWS::IAM::Role",
                    "Properties": {
                        "AssumeRolePolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
                        },
                        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnly Access", "not-an-arn"],
                        "Policies": [
                            {
                                "PolicyName": "p q",
                                "PolicyDocument": {
                                    "Version": "2012-10-17",
                                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"}],
                                },
                            }
                        ],
                    },
                },
            }
        ),
        "us-east-1",
        {"E1155", "E1161", "E3030", "E3031", "W3037"},
    ),
    "a password written into the template": (
        _template({"Db": _database("db.t3.micro", MasterUserPassword="pw")}),
        "us-east-1",
        {"W2501"},
    ),
    # a rule that checks only its resource types (resource_property_types): E3039 for DynamoDB tables
    "table attributes that no key uses": (
        _template(
            {
                "Table": {
                    "Type": "AWS::DynamoDB::Table",
                    "DeletionPolicy": "Retain",
                    "UpdateReplacePolicy": "Retain",
                    "Properties": {
                        "BillingMode": "PAY_PER_REQUEST",
                        "AttributeDefinitions": [
                            {"AttributeName": "id", "AttributeType": "S"},
                            {"AttributeName": "unused", "AttributeType": "S"},
                        ],
                        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    },
                },
                "Topic": TOPIC,
            }
        ),
        "us-east-1",
        {"E3039"},
    ),
    # dynamic references (cfn-lint matches them with compiled regex patterns)
    "dynamic references where they do not belong": (
        _template(
            {
                "Topic": {**TOPIC, "Properties": {"TopicName": "{{resolve:ssm-secure:/db/password}}"}},
                "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "{{resolve:secretsmanager:nope}}"}},
                "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "{{ resolve:ssm:/name }}"}},
            }
        ),
        "us-east-1",
        {"E1027", "W1053"},
    ),
    "not JSON": ('{"Resources": {"Topic": {"Type": "AWS::SNS::Topic",', "us-east-1", {"E0000"}),
    "duplicate key": (
        '{"Resources": {\n "Topic": {"Type": "AWS::SNS::Topic"},\n "Topic": {"Type": "AWS::SNS::Topic"}\n}}',
        "us-east-1",
        {"E0000"},
    ),
}
GOOD: dict[str, tuple[str, str]] = {
    # E3062 cannot tell an engine that is not a literal (it checks with functions off), but takes its full path
    "engine from a parameter": (
        json.dumps(
            {
                "Parameters": {"Engine": {"Type": "String", "AllowedValues": ["postgres", "mysql"], "Default": "postgres"}},
                "Resources": {
                    "Db": {
                        **_database("db.t2.micro"),
                        "Properties": {**_database("db.t2.micro")["Properties"], "Engine": {"Ref": "Engine"}},
                    }
                },
            }
        ),
        "us-east-1",
    ),
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


def _corpus() -> list[tuple[str, str, str]]:
    """(body, region, name) of every template, broken ones between good ones, so shared rules meet both in turn."""
    broken = [(body, region, name) for name, (body, region, _) in BROKEN.items()]
    good = [(body, region, name) for name, (body, region) in GOOD.items()]
    mixed = []
    for index in range(max(len(broken), len(good))):
        mixed += broken[index : index + 1] + good[index : index + 1]
    return mixed


def _found(matches: list[Any]) -> list[tuple[str, str, str, int, int]]:
    return [
        (m.rule.id, "/".join(str(step) for step in (getattr(m, "path", None) or [])), str(m.message), m.linenumber, m.columnnumber)
        for m in matches
    ]


# cfnlint.api.lint per template, as ivc called it before it shared rules or changed cfn-lint: a new Runner each time
_REFERENCE = """
import json, sys
from cfnlint.api import ManualArgs, lint
found = {}
for body, region, name in json.load(sys.stdin):
    found[name] = [
        {"id": m.rule.id, "severity": m.rule.severity, "path": [str(step) for step in (getattr(m, "path", None) or [])],
         "message": str(m.message), "line": m.linenumber, "column": m.columnnumber}
        for m in lint(body, config=ManualArgs(regions=[region]))
    ]
assert "compiler" not in sys.modules
json.dump(found, sys.stdout)
"""


@cache
def _reference() -> dict[str, list[Any]]:
    """What unchanged cfn-lint finds in each template of the corpus, as match-like objects."""
    done = subprocess.run(
        [sys.executable, "-c", _REFERENCE], input=json.dumps(_corpus()), capture_output=True, text=True, check=True, cwd="/"
    )
    return {
        name: [
            SimpleNamespace(
                rule=SimpleNamespace(id=m["id"], severity=m["severity"]),
                path=m["path"],
                message=m["message"],
                linenumber=m["line"],
                columnnumber=m["column"],
            )
            for m in matches
        ]
        for name, matches in json.loads(done.stdout).items()
    }


def test_the_broken_templates_are_broken_and_the_good_ones_clean() -> None:
    reference = _reference()
    for name, (_, _, expected) in BROKEN.items():
        assert expected <= {match.rule.id for match in reference[name]}, name
    for name in GOOD:
        assert reference[name] == [], name


def test_shared_rules_find_what_cfn_lint_api_finds() -> None:
    reference = _reference()
    for body, region, name in _corpus():
        assert _found(lint.cfn_lint_matches(body, region)) == _found(reference[name]), name


def test_the_speedups_are_in_effect_for_the_checked_cfn_lint() -> None:
    # A new cfn-lint leaves cfn-lint unchanged (correct, slower) and fails here: check the speedups against its
    # code (see compiler/lint_speedups.py), run this module, then set CHECKED_VERSION.
    lint._rules()
    assert lint_speedups.applicable(), f"cfn-lint {lint.cfn_lint_version()} is not the checked {lint_speedups.CHECKED_VERSION}"
    import cfnlint.jsonschema.validators as validators_module

    first = validators_module.create()
    assert validators_module.create() is first  # classes are memoised


def test_the_rules_that_share_one_parse_of_the_iam_data_leave_it_as_parsed() -> None:
    from importlib.resources import files

    for body, region, _ in _corpus():
        lint.cfn_lint_matches(body, region)
    by_id = {rule.id: rule for rule in lint._rules().values()}
    shared = by_id["W3037"]._service_map
    assert by_id["I3510"].service_map is shared
    assert shared == json.loads(files("cfnlint.data.AdditionalSpecs").joinpath("Policies.json").read_text(encoding="utf-8"))


def test_the_versions_read_from_the_packages_are_the_installed_ones() -> None:
    # lint_speedups reads them from the source, not importlib.metadata (30 ms before the first template)
    from importlib.metadata import version

    assert lint_speedups.installed_version("cfnlint", "version.py") == version("cfn-lint")
    assert lint_speedups.installed_version("sympy", "release.py") == version("sympy")
    assert lint_speedups.installed_version("no_such_package_here", "version.py") is None


def test_one_walk_finds_every_key_where_a_search_for_it_does() -> None:
    # lint_speedups indexes every key in one walk while a template is built: it must be built the same
    from cfnlint.decode.decode import decode_str
    from cfnlint.template.template import Template

    lint._rules()
    bodies = [body for body, _, _ in _corpus()]
    bodies += [path.read_text(encoding="utf-8") for path in sorted((ROOT / "output" / "socialflow" / "prod").glob("*/*.json"))]
    compared = 0
    for body in bodies:
        indexed, walked = decode_str(body)[0], decode_str(body)[0]
        if not isinstance(indexed, dict):
            continue
        fast = Template("", indexed, ["us-east-1"])
        slow = Template.__new__(Template)
        Template.__init__.__wrapped__(slow, "", walked, ["us-east-1"])  # type: ignore[attr-defined]
        assert fast.transform_pre == slow.transform_pre
        assert list(fast.graph.graph.edges(data=True)) == list(slow.graph.graph.edges(data=True))
        assert fast.template == slow.template
        compared += len(fast.transform_pre["Ref"])
        for key in ("Ref", "Condition", "Fn::GetAtt", "MasterUserPassword", "Password"):
            assert fast.search_deep_keys(key) == slow.search_deep_keys(key)
    assert compared > 300  # Refs found, all of them found alike


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


def test_a_prepared_process_lints_what_lint_all_lints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    corpus = _corpus()
    progress: list[tuple[int, int]] = []
    ready = lint.Prepared()
    try:
        results = lint.lint_all([(body, region, name) for body, region, name in corpus], lambda *told: progress.append(told), ready)
    finally:
        ready.close()
    assert results == [lint.to_diagnostics(_reference()[name], name) for _, _, name in corpus]
    assert progress == [(count, len(corpus)) for count in range(1, len(corpus) + 1)]
    assert not ready._process.is_alive()


def test_a_prepared_process_that_is_gone_only_costs_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    names = ["class not offered in the region", "bogus property"]
    ready = lint.Prepared()
    ready._process.kill()
    ready._process.join()
    jobs = [(BROKEN[name][0], BROKEN[name][1], name) for name in names]
    assert lint.lint_all(jobs, ready=ready) == [lint.to_diagnostics(_reference()[name], name) for name in names]


def test_nothing_is_prepared_where_the_rules_are_built_already() -> None:
    lint._rules()
    assert lint.prepare() is None


def test_a_prepared_process_that_dies_while_it_lints_only_costs_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # its workers outlive it holding its end of the pipe: the parent notices by asking, then lints here
    import os
    import signal

    monkeypatch.setenv("IVC_CACHE_DIR", "off")
    corpus = _corpus()
    ready = lint.Prepared()

    def kill_at_first(count: int, total: int) -> None:
        if count == 1 and ready._process.is_alive():
            os.kill(ready._pid, signal.SIGKILL)

    results = lint.lint_all([(body, region, name) for body, region, name in corpus], kill_at_first, ready)
    assert results == [lint.to_diagnostics(_reference()[name], name) for _, _, name in corpus]
    assert not ready._process.is_alive()


def _gone(pid: int, seconds: float) -> bool:
    """Whether ``pid`` has ended (or is a zombie nobody reaps) within ``seconds``."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(sys.platform != "linux", reason="processes fork, and /proc tells their state, on Linux")
def test_a_prepared_process_ends_when_its_parent_is_killed() -> None:
    script = "import os; from compiler import lint; r = lint.Prepared(); print(r._pid, flush=True); os.kill(os.getpid(), 9)"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == -9
    assert _gone(int(done.stdout.split()[0]), 10)


def _session(pid: int) -> list[int]:
    """The processes of the session ``pid`` leads."""
    return [int(p) for p in subprocess.run(["pgrep", "-s", str(pid)], capture_output=True, text=True).stdout.split()]


@pytest.mark.skipif(sys.platform != "linux", reason="processes fork, and /proc tells their state, on Linux")
@pytest.mark.parametrize("moment", ["getting ready", "linting"])
def test_ctrl_c_stops_the_compile_and_every_process_it_started(moment: str, tmp_path: Any) -> None:
    # as a terminal does: SIGINT to the whole foreground group, while cfn-lint gets ready, then while it lints
    import os
    import signal
    import time

    if moment == "linting" and (os.cpu_count() or 1) < 2:
        pytest.skip("with one core the prepared process lints without workers: the moment cannot be seen from outside")
    compile_ = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "compile", "specs/socialflow", "--env", "prod", "--out", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "IVC_CACHE_DIR": "off"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a shell's background job would ignore it
    )
    if moment == "getting ready":
        time.sleep(0.3)  # the prepared process imports cfn-lint for about half a second
    else:
        deadline = time.monotonic() + 30
        # the compile and its prepared process, until the prepared process forks its workers
        while len(_session(compile_.pid)) <= 2 and compile_.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    started = _session(compile_.pid)
    assert compile_.poll() is None, f"the compile ended before it could be interrupted while {moment}"
    os.killpg(compile_.pid, signal.SIGINT)
    _, err = compile_.communicate(timeout=30)
    assert compile_.returncode == 1
    assert "Traceback" not in err
    assert all(_gone(pid, 10) for pid in started if pid != compile_.pid)
    if moment == "linting":
        assert len(started) > 2  # it was interrupted with its workers running


def test_a_machine_that_cannot_start_another_process_lints_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import multiprocessing

    def no_process(*_: Any, **__: Any) -> Any:
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(lint, "_prepared_here", False)
    monkeypatch.setattr(lint._rules, "cache_info", lambda: SimpleNamespace(currsize=0))
    monkeypatch.setattr(multiprocessing.get_context("fork"), "Process", no_process)
    assert lint.prepare() is None


# What cfn-lint asks of sympy, in a process where sympy is light (ivc's lint) or imported whole (the reference).
_SYMPY_AT_WORK = """
import json, sys
if sys.argv[1] == "light":
    from compiler import lint_speedups
    lint_speedups._light_sympy()
    assert "Matrix" not in vars(sys.modules["sympy"]), "sympy's __init__ ran at import"
from sympy import And, Or, Symbol
def build(f):
    if isinstance(f, str):
        return Symbol(f)
    return (And if f[0] == "and" else Or)(*[build(part) for part in f[1:]])
built = [build(f) for f in json.load(sys.stdin)]  # sympy at work: its __init__ runs first, if it is light
from sympy import Not, Implies, Equivalent, to_nnf
from sympy.assumptions.cnf import EncodedCNF
from sympy.logic.inference import satisfiable
found = []
for expr in built:
    cnf = EncodedCNF()
    cnf.add_prop(And(expr, Implies(Symbol("a"), Not(Symbol("b")))))
    models = satisfiable(cnf, all_models=True)
    found.append([str(expr), str(to_nnf(Equivalent(expr, Symbol("z")), simplify=False)),
                  sorted(sorted((str(k), v) for k, v in m.items()) for m in models if m)])
json.dump(found, sys.stdout)
"""


def test_light_sympy_computes_what_sympy_computes() -> None:
    import random

    rng = random.Random(12)

    def formula(depth: int) -> Any:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice("abcd")
        return [rng.choice(["and", "or"]), *(formula(depth - 1) for _ in range(rng.randint(2, 3)))]

    formulas = json.dumps([formula(4) for _ in range(60)])
    light, whole = (
        subprocess.run([sys.executable, "-c", _SYMPY_AT_WORK, how], input=formulas, capture_output=True, text=True, check=True, cwd=ROOT)
        for how in ("light", "whole")
    )
    light, whole = light.stdout, whole.stdout
    assert json.loads(light) == json.loads(whole)
    assert len({str(found[2]) for found in json.loads(whole)}) > 5  # the formulas differ in what satisfies them


_SYMPY_WHEN = """
import sys
from compiler import lint
sys.path.insert(0, "tests")
from test_lint import BROKEN
lint._dedicated = True  # as in the prepared process, the one that imports sympy light
lint._rules()
print(len([name for name in sys.modules if name.startswith("sympy")]), "Matrix" in vars(sys.modules["sympy"]))
lint.cfn_lint_matches(*BROKEN["bogus property"][:2])
print("Matrix" in vars(sys.modules["sympy"]))
lint.cfn_lint_matches(*BROKEN["conditions that contradict each other"][:2])
import sympy, sympy.sets
from sympy.sets import FiniteSet
print("Matrix" in vars(sympy), sympy.sets is sys.modules["sympy.sets"], FiniteSet is sympy.FiniteSet,
      sympy.sets.__spec__.origin.endswith("__init__.py"))
"""


def test_cfn_lint_gets_all_of_sympy_only_for_a_template_that_needs_it() -> None:
    # Fails with a sympy other than lint_speedups.CHECKED_SYMPY (then imported whole: correct, slower): check
    # _light_sympy against it, then set CHECKED_SYMPY and setup.cfg's pin.
    done = subprocess.run([sys.executable, "-c", _SYMPY_WHEN], capture_output=True, text=True, check=True, cwd=ROOT)
    ready, plain, conditions = done.stdout.splitlines()
    modules, whole = ready.split()
    assert int(modules) < 100 and whole == "False"  # import sympy: about 420 modules
    assert plain == "False"  # a template without conditions needs none of it
    assert conditions == "True True True True"  # one with conditions gets sympy as `import sympy` makes it, once


# A module of sympy first imported after cfn-lint's import (here directly; in cfn-lint, inside sympy's functions)
_SYMPY_MODULE_ONCE = """
import sys
from compiler import lint
lint._dedicated = True
lint._rules()
from sympy.assumptions.relation.equality import EqualityPredicate  # sympy's __init__ imports it too
import gc, sympy
name = "sympy.assumptions.relation.equality"
copies = [c for c in gc.get_objects() if isinstance(c, type) and c.__module__ == name and c.__name__ == "EqualityPredicate"]
module = sys.modules[name]
print(len(copies), module.EqualityPredicate is EqualityPredicate, module.__spec__.origin.endswith("equality.py"),
      "Matrix" in vars(sympy))
"""


def test_a_sympy_module_imported_after_cfn_lint_runs_once() -> None:
    # sympy's __init__ runs first and imports it: the import gets that module, not a second run of its file
    done = subprocess.run([sys.executable, "-c", _SYMPY_MODULE_ONCE], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.split() == ["1", "True", "True", "True"]


# The prepared process's lint (sympy light) against unchanged cfn-lint, on the whole corpus
_DEDICATED_LINT = """
import json, sys
from compiler import lint
sys.path.insert(0, "tests")
from test_lint import _corpus, _found
lint._dedicated = True
found = {name: _found(lint.cfn_lint_matches(body, region)) for body, region, name in _corpus()}
assert "Matrix" in vars(sys.modules["sympy"])  # the conditions made sympy whole
json.dump(found, sys.stdout)
"""


def test_a_process_that_imports_sympy_light_finds_what_cfn_lint_api_finds() -> None:
    done = subprocess.run([sys.executable, "-c", _DEDICATED_LINT], capture_output=True, text=True, check=True, cwd=ROOT)
    found = json.loads(done.stdout)
    reference = _reference()
    for _, _, name in _corpus():
        assert [tuple(f) for f in found[name]] == _found(reference[name]), name
