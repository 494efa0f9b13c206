"""The policy gate's judgement (ci/policy_gate.py): which checkov failures fail CI, and what an exception must say.

checkov itself runs in .ci/run from its own virtual environment; these tests feed the gate checkov-shaped JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("policy_gate", ROOT / "ci" / "policy_gate.py")
assert _spec is not None and _spec.loader is not None
gate: Any = importlib.util.module_from_spec(_spec)
sys.modules["policy_gate"] = gate  # dataclasses look their module up
_spec.loader.exec_module(gate)


def failed(check: str, resource: str, path: str) -> dict[str, Any]:
    return {"check_id": check, "resource": resource, "file_path": "/" + path, "check_name": f"name of {check}"}


def report(*checks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"check_type": "cloudformation", "results": {"failed_checks": list(checks)}}]


LOGS = "AWS::S3::Bucket.AccessLogsBucket"
EXCEPTIONS = """\
exceptions:
  - check: CKV_AWS_18
    resource: AWS::S3::Bucket.AccessLogsBucket
    templates: "*/*/*/data.json"
    reason: the access-logs bucket cannot log to itself without logging its own deliveries
"""


@pytest.mark.parametrize(
    ("template", "prod"),
    [
        ("shop/prod/us-east-1/app.json", True),
        ("shop/production/eu-west-1/data.json", True),
        ("shop/prod-eu/us-east-1/app.json", True),
        ("shop/staging/us-east-1/app.json", False),
        ("shop/dev/us-east-1/app.json", False),
        ("production/dev/us-east-1/app.json", False),  # a system named production is not an environment
    ],
)
def test_prod_templates_are_output_system_prod_star(template: str, prod: bool) -> None:
    assert gate.is_prod(template) is prod


def run(tmp_path: Path, exceptions: str, checks: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    (tmp_path / "exceptions.yaml").write_text(exceptions)
    (tmp_path / "report.json").write_text(json.dumps(report(*checks)))
    code = gate.main(["--report", str(tmp_path / "report.json"), "--exceptions", str(tmp_path / "exceptions.yaml")])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_excepted_failure_passes_and_non_prod_failures_do_not_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checks = [
        failed("CKV_AWS_18", LOGS, "shop/prod/us-east-1/data.json"),
        failed("CKV_AWS_91", "AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancer", "shop/dev/us-east-1/app.json"),
    ]
    code, out, _ = run(tmp_path, EXCEPTIONS, checks, capsys)
    assert code == 0, out
    assert "0 unjustified failure(s) on prod templates, 1 excepted, 0 stale exception(s); 1 failure(s) on other environments" in out
    # shown to the reviewer, as a warning at its template
    assert "output/shop/dev/us-east-1/app.json: warning: CKV_AWS_91 AWS::ElasticLoadBalancingV2::LoadBalancer.LoadBalancer" in out


def test_an_unlisted_prod_failure_fails_at_its_template(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checks = [
        failed("CKV_AWS_18", LOGS, "shop/prod/us-east-1/data.json"),
        failed("CKV_AWS_21", LOGS, "shop/production/us-east-1/data.json"),  # same resource, another check
        failed("CKV_AWS_18", "AWS::S3::Bucket.BucketUploads", "shop/prod/us-east-1/data.json"),  # same check, another resource
    ]
    code, out, _ = run(tmp_path, EXCEPTIONS, checks, capsys)
    assert code == 1
    assert "output/shop/production/us-east-1/data.json: error: CKV_AWS_21 AWS::S3::Bucket.AccessLogsBucket" in out
    assert "output/shop/prod/us-east-1/data.json: error: CKV_AWS_18 AWS::S3::Bucket.BucketUploads" in out


def test_an_exception_that_matches_nothing_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(tmp_path, EXCEPTIONS, [], capsys)
    assert code == 1
    assert "exception CKV_AWS_18 AWS::S3::Bucket.AccessLogsBucket (*/*/*/data.json) matches nothing; remove it" in out


@pytest.mark.parametrize(
    "entry",
    [
        "  - {check: CKV_AWS_18, resource: X.Y, templates: '*'}",
        "  - {check: CKV_AWS_18, resource: X.Y, templates: '*', reason: n/a}",
        "  - {check: CKV_AWS_18, resource: X.Y, templates: '*', reason: 'a reason long enough to check', owner: me}",
    ],
)
def test_every_exception_needs_a_checkable_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str], entry: str) -> None:
    code, _, err = run(tmp_path, "exceptions:\n" + entry + "\n", [], capsys)
    assert code == 2
    assert err.startswith("policy gate: error:")


def test_the_repositorys_exceptions_file_is_well_formed() -> None:
    exceptions = gate.load_exceptions(ROOT / "policy" / "checkov-exceptions.yaml")
    assert exceptions, "the file lists the true not-applicables"
    assert len({(e.check, e.resource, e.templates) for e in exceptions}) == len(exceptions)


def test_checkov_runs_with_every_download_and_version_check_off() -> None:
    assert gate.OFFLINE_ENV["BC_SKIP_MAPPING"] == "TRUE"
    assert gate.OFFLINE_ENV["CKV_SKIP_PACKAGE_UPDATE_CHECK"] == "True"
