"""Firewall (WAFv2): web ACLs on the load balancer (regional, app stack) and the CDN (CloudFront, edge stack).

The good fixture lives in tests/fixtures/firewall/ with its golden in tests/golden/firewall/, compared here
(`pytest --update-golden` rewrites it too); the bad fixtures are tests/fixtures/bad/firewall*.yaml.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, GOLDEN, ivc, read_json, tree

FIXTURE = FIXTURES / "firewall" / "firewall.yaml"
MANAGED = {
    "common": "AWSManagedRulesCommonRuleSet",
    "known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "ip-reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous-ip": "AWSManagedRulesAnonymousIpList",
    "sql-injection": "AWSManagedRulesSQLiRuleSet",
    "linux": "AWSManagedRulesLinuxRuleSet",
}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The good fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("firewall")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    return folder / "guarded"


def resources(out: Path, env: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / env / "us-east-1" / f"{stack}.json")["Resources"])


def rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in acl["Properties"]["Rules"]}


def test_compiled_fixture_matches_golden(out: Path, update_golden: bool) -> None:
    golden = GOLDEN / "firewall"
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    assert tree(out) == tree(golden), "firewall: output differs from tests/golden/firewall; review, then run pytest --update-golden"


def test_the_load_balancer_acl_is_regional_in_the_app_stack_and_associated(out: Path) -> None:
    app = resources(out, "prod", "app")
    acl = app["FirewallWeb"]
    assert acl["Type"] == "AWS::WAFv2::WebACL"
    assert acl["Properties"]["Scope"] == "REGIONAL"
    assert acl["Properties"]["DefaultAction"] == {"Allow": {}}
    association = app["FirewallWebLoadBalancerAssociation"]["Properties"]
    assert association == {"ResourceArn": {"Ref": "LoadBalancer"}, "WebACLArn": {"Fn::GetAtt": ["FirewallWeb", "Arn"]}}
    assert "FirewallEdge" not in app


def test_own_rules_come_first_in_order_then_managed_groups_by_their_aws_names(out: Path) -> None:
    acl = resources(out, "dev", "app")["FirewallWeb"]
    names = [(rule["Priority"], rule["Name"]) for rule in acl["Properties"]["Rules"]]
    assert names == [
        (0, "allow-ips"),
        (1, "deny-ips"),
        (2, "deny-countries"),
        (3, "rate-limit"),
        (10, "common"),
        (11, "known-bad-inputs"),
        (12, "ip-reputation"),
        (13, "sql-injection"),
        (14, "linux"),
    ]
    by_name = rules(acl)
    for short, group in MANAGED.items():
        if short in by_name:
            assert by_name[short]["Statement"] == {"ManagedRuleGroupStatement": {"Name": group, "VendorName": "AWS"}}
    assert by_name["allow-ips"]["Action"] == {"Allow": {}}
    assert by_name["deny-ips"]["Action"] == {"Block": {}}
    assert by_name["rate-limit"]["Statement"] == {"RateBasedStatement": {"AggregateKeyType": "IP", "Limit": 1000}}
    assert by_name["deny-countries"]["Statement"] == {"GeoMatchStatement": {"CountryCodes": ["KP"]}}


def test_ip_lists_become_one_ip_set_per_address_family(out: Path) -> None:
    app = resources(out, "dev", "app")
    assert app["FirewallWebAllowIps4"]["Properties"]["Addresses"] == ["203.0.113.0/24"]
    assert app["FirewallWebAllowIps4"]["Properties"]["IPAddressVersion"] == "IPV4"
    assert app["FirewallWebAllowIps6"]["Properties"]["Addresses"] == ["2001:db8:1::/48"]
    assert app["FirewallWebAllowIps6"]["Properties"]["Scope"] == "REGIONAL"
    assert "FirewallWebDenyIps6" not in app
    either = rules(app["FirewallWeb"])["allow-ips"]["Statement"]["OrStatement"]["Statements"]
    assert [s["IPSetReferenceStatement"]["Arn"]["Fn::GetAtt"][0] for s in either] == ["FirewallWebAllowIps4", "FirewallWebAllowIps6"]


def test_count_puts_a_rule_in_count_only_mode_and_prod_can_lift_it(out: Path) -> None:
    dev, prod = rules(resources(out, "dev", "app")["FirewallWeb"]), rules(resources(out, "prod", "app")["FirewallWeb"])
    assert dev["sql-injection"]["OverrideAction"] == {"Count": {}}
    assert dev["common"]["OverrideAction"] == {"None": {}}
    assert prod["sql-injection"]["OverrideAction"] == {"None": {}}


def test_every_rule_and_the_acl_publish_metrics_and_samples(out: Path) -> None:
    for env, stack, title in (("dev", "app", "FirewallWeb"), ("prod", "edge", "FirewallEdge")):
        acl = resources(out, env, stack)[title]["Properties"]
        configs = [acl["VisibilityConfig"]] + [rule["VisibilityConfig"] for rule in acl["Rules"]]
        assert all(c["CloudWatchMetricsEnabled"] and c["SampledRequestsEnabled"] for c in configs)
        assert len({c["MetricName"] for c in configs}) == len(configs)


def test_the_cdn_acl_is_cloudfront_scoped_in_the_edge_stack_and_blocks_other_countries(out: Path) -> None:
    edge = resources(out, "dev", "edge")
    acl = edge["FirewallEdge"]["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    geo = rules(edge["FirewallEdge"])["allow-countries"]
    assert geo["Statement"] == {"NotStatement": {"Statement": {"GeoMatchStatement": {"CountryCodes": ["DE", "FR", "NL"]}}}}
    assert geo["Action"] == {"Block": {}}
    assert not [k for k, v in edge.items() if v["Type"] == "AWS::WAFv2::WebACLAssociation"]  # the distribution names it


def test_bot_control_only_when_asked(out: Path) -> None:
    dev, prod = rules(resources(out, "dev", "edge")["FirewallEdge"]), rules(resources(out, "prod", "edge")["FirewallEdge"])
    assert "bot-control" not in dev
    bot = prod["bot-control"]["Statement"]["ManagedRuleGroupStatement"]
    assert bot["Name"] == "AWSManagedRulesBotControlRuleSet"
    assert bot["ManagedRuleGroupConfigs"] == [{"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "COMMON"}}]
    for env in ("dev", "prod"):
        assert not any("BotControl" in str(r) for r in rules(resources(out, env, "app")["FirewallWeb"]).values())


def test_logs_go_to_an_encrypted_aws_waf_logs_group_without_credentials(out: Path) -> None:
    for stack, title, name in (("app", "FirewallWeb", "web"), ("edge", "FirewallEdge", "edge")):
        template = resources(out, "prod", stack)
        group = template[f"{title}LogGroup"]["Properties"]
        assert group["LogGroupName"] == f"aws-waf-logs-guarded-prod-{name}"
        assert group["KmsKeyId"] == {"Fn::ImportValue": "guarded-prod-keys-EnvironmentKeyArn"}
        assert group["RetentionInDays"] == 90
        logging = template[f"{title}Logging"]["Properties"]
        assert logging["ResourceArn"] == {"Fn::GetAtt": [title, "Arn"]}
        assert logging["LogDestinationConfigs"] == [
            {"Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{title}LogGroup}}"}
        ]
        assert logging["RedactedFields"] == [{"SingleHeader": {"Name": "authorization"}}, {"SingleHeader": {"Name": "cookie"}}]


def test_the_environment_key_lets_logs_encrypt_the_waf_groups(out: Path) -> None:
    key = resources(out, "prod", "keys")["EnvironmentKey"]["Properties"]["KeyPolicy"]
    logs = next(s for s in key["Statement"] if s["Sid"] == "LogsEncryptThisEnvironmentsLogGroups")
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    for name in ("edge", "web"):
        assert {
            "Fn::Sub": f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:aws-waf-logs-guarded-prod-{name}"
        } in arns


# --- checks at the spec line ----------------------------------------------------------------------

HEAD = """\
ivc: 1
system: shop
regions: {primary: PRIMARY}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
services:
  web: {image: public.ecr.aws/nginx/nginx:1.27, port: 8080, route: {path: /}}
cdn:
  default: {origin: services.web}
environments: {dev: {}}
"""


def errors(tmp_path: Path, body: str, primary: str = "us-east-1") -> list[str]:
    path = tmp_path / "spec.yaml"
    path.write_text(HEAD.replace("PRIMARY", primary) + textwrap.dedent(body))
    try:
        load_and_validate(path)
    except SpecError as error:
        return [d.render().split(": error: ", 1)[1] for d in error.diagnostics]
    return []


def test_a_cdn_firewall_is_accepted_whatever_the_primary_region(tmp_path: Path) -> None:
    # Built in us-east-1 beside the distribution (tests/test_edge_apart.py); what remains in eu-west-1 is the cdn's own
    # need to name its load balancer origin.
    body = "firewall:\n  edge: {attach: [cdn]}\n"
    assert [e for e in errors(tmp_path, body, primary="eu-west-1") if "firewall" in e] == []
    assert errors(tmp_path, body) == []


def test_one_target_takes_one_web_acl(tmp_path: Path) -> None:
    body = """\
    firewall:
      a: {attach: [load_balancer]}
      b: {attach: [load_balancer]}
      c: {attach: [cdn]}
      d: {attach: [cdn]}
    """
    assert errors(tmp_path, body) == [
        "firewall.b and firewall.a both attach to load_balancer, which takes one web ACL",
        "firewall.d and firewall.c both attach to cdn, which takes one web ACL",
    ]


def test_rule_names_are_what_count_may_name(tmp_path: Path) -> None:
    body = """\
    firewall:
      web: {attach: [load_balancer], deny_ips: [192.0.2.0/24], count: [deny-ips, rate-limit, common, bot-control]}
    """
    assert errors(tmp_path, body) == [
        "count names 'bot-control', which is not a rule of firewall.web "
        "(its rules: deny-ips, rate-limit, common, known-bad-inputs, ip-reputation)"
    ]
