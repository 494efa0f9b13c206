"""Parameters: a Parameter Store hierarchy per environment, in groups read through `uses: [parameters.<group>]`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import ivc, of_type, props, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
parameters:
  root: /{environment}
  values:
    app: {log-level: info, uploads: true}
    billing: {currency: EUR}
functions:
  report: {runtime: python3.12, handler: a.b, code: "s3:shop-code/report.zip", uses: [parameters.app]}
environments:
  staging: {}
  prod:
    parameters: {values: {app: {log-level: warn}}}
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parameters")
    (folder / "spec.yaml").write_text(SPEC)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return folder / "out" / "shop"


def test_each_environment_has_its_own_hierarchy(out: Path) -> None:
    for env, level in (("staging", "info"), ("prod", "warn")):
        found = of_type(read_json(out / env / "us-east-1" / "operations.json"), "AWS::SSM::Parameter").values()
        assert {p["Properties"]["Name"]: p["Properties"]["Value"] for p in found} == {
            f"/{env}/app/log-level": level,
            f"/{env}/app/uploads": "true",
            f"/{env}/billing/currency": "EUR",
        }
        assert {p["Properties"]["Type"] for p in found} == {"String"}  # configuration, never secrets


def test_a_user_reads_exactly_its_group_and_is_handed_its_path(out: Path) -> None:
    app = read_json(out / "prod" / "us-east-1" / "app.json")
    function = props(app, "FunctionReport")
    assert function["Environment"]["Variables"]["PARAMETERS_APP_PATH"] == "/prod/app"
    role = next(r for k, r in of_type(app, "AWS::IAM::Role").items() if k.startswith("FunctionReport"))
    statements = json.dumps(role["Properties"]["Policies"])
    assert "parameter/prod/app/*" in statements and "ssm:GetParametersByPath" in statements
    assert "billing" not in statements


def test_unknown_groups_and_multi_line_values_are_refused_at_their_line(tmp_path: Path) -> None:
    spec = SPEC.replace("uses: [parameters.app]", "uses: [parameters.ap]").replace("currency: EUR", 'currency: "E\\nUR"')
    (tmp_path / "spec.yaml").write_text(spec)
    with pytest.raises(SpecError) as error:
        load_and_validate(tmp_path / "spec.yaml")
    messages = sorted({d.render().split(":", 1)[1].split(" (in ")[0] for d in error.value.diagnostics})
    assert messages == [
        "11:87: error: functions.report uses parameters.ap, which does not exist (parameters: app, billing)",
        "9:25: error: billing/currency is empty or holds a line break; give one line of text",
    ]
