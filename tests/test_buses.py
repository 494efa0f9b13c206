"""buses: EventBridge custom buses, encrypted, with a dead-letter queue, an archive, rules whose targets admit that rule
only, and what `uses: [buses.<n>:publish]` grants. Compiled with cfn-lint for real (--strict: warnings fail too)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import ivc, of_type, props, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
queues:
  jobs: {}
  idle: {}
  orders: {fifo: true}
topics:
  events: {}
buses:
  system:
    archive: 30
    rules:
      uploads:
        pattern: {source: [shop.api], detail-type: [File uploaded], detail: {size: [{numeric: [">", 0]}]}}
        to: [queues.jobs, functions.worker, topics.events]
        retries: 10
        max_age: 3600
      orders:
        pattern: {source: [shop.api], $or: [{detail-type: [Order placed]}, {detail: {kind: [{prefix: order-}]}}]}
        to: [queues.orders]
  audit: {}
functions:
  worker:
    runtime: python3.12
    handler: app.handler
    code: s3:shop-artifacts/worker.zip
    uses: [buses.audit:publish]
services:
  api:
    image: shop/api:1.0.0
    uses: [buses.system:publish]
environments:
  dev: {}
"""
KEY = {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}


def rule_arn(bus: str, rule: str) -> dict[str, str]:
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/shop-dev-{bus}/{rule}"}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("buses")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    result = ivc("compile", spec, "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return {stack: read_json(folder / "out" / "shop" / "dev" / "us-east-1" / f"{stack}.json") for stack in ("keys", "data", "app")}


def test_a_bus_is_named_for_the_environment_encrypted_with_its_key_and_has_a_dead_letter_queue(templates: dict[str, Any]) -> None:
    bus = props(templates["data"], "BusSystem")
    assert bus["Name"] == "shop-dev-system"
    assert bus["KmsKeyIdentifier"] == KEY
    assert bus["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["BusSystemDeadLetter", "Arn"]}}
    dead = props(templates["data"], "BusSystemDeadLetter")
    assert dead["KmsMasterKeyId"] == KEY and dead["MessageRetentionPeriod"] == 14 * 86400
    archive = props(templates["data"], "BusSystemArchive")
    assert archive["RetentionDays"] == 30 and archive["KmsKeyIdentifier"] == KEY
    assert archive["SourceArn"] == {"Fn::GetAtt": ["BusSystem", "Arn"]}
    assert "BusAuditArchive" not in templates["data"]["Resources"]  # no archive unless asked


def test_the_key_lets_eventbridge_use_it_for_this_account_only(templates: dict[str, Any]) -> None:
    statements = props(templates["keys"], "EnvironmentKey")["KeyPolicy"]["Statement"]
    events = next(s for s in statements if s.get("Principal") == {"Service": "events.amazonaws.com"})
    assert sorted(events["Action"]) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_only_the_bus_and_its_rules_may_send_to_its_dead_letter_queue(templates: dict[str, Any]) -> None:
    statements = props(templates["data"], "BusSystemDeadLetterPolicy")["PolicyDocument"]["Statement"]
    assert statements[0]["Effect"] == "Deny" and statements[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    allowed = statements[1]
    assert allowed["Principal"] == {"Service": "events.amazonaws.com"} and allowed["Action"] == ["sqs:SendMessage"]
    bus = {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/shop-dev-system"}
    assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": [bus, rule_arn("system", "orders"), rule_arn("system", "uploads")]}}


def test_a_rule_matches_its_pattern_on_its_bus_and_every_target_retries_then_dead_letters(templates: dict[str, Any]) -> None:
    rule = props(templates["app"], "BusSystemRuleUploads")
    assert rule["Name"] == "uploads"  # its ARN is then rule/shop-dev-system/uploads, which the targets admit
    assert rule["EventBusName"] == {"Fn::ImportValue": "shop-dev-data-BusSystemName"}
    assert rule["EventPattern"]["detail"] == {"size": [{"numeric": [">", 0]}]}
    assert [t["Id"] for t in rule["Targets"]] == ["queue-jobs", "function-worker", "topic-events"]
    for target in rule["Targets"]:
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::ImportValue": "shop-dev-data-BusSystemDeadLetterArn"}}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}
    fifo = props(templates["app"], "BusSystemRuleOrders")["Targets"][0]
    assert fifo["SqsParameters"] == {"MessageGroupId": "orders"}  # a FIFO queue needs a message group
    assert fifo["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_each_target_admits_exactly_the_rules_that_deliver_to_it(templates: dict[str, Any]) -> None:
    resources = templates["data"]["Resources"]
    queue = next(s for s in resources["QueueJobsPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "BusRulesDeliver")
    assert queue["Principal"] == {"Service": "events.amazonaws.com"} and queue["Action"] == ["sqs:SendMessage"]
    assert queue["Condition"] == {"ArnEquals": {"aws:SourceArn": [rule_arn("system", "uploads")]}}
    assert len(resources["QueueIdlePolicy"]["Properties"]["PolicyDocument"]["Statement"]) == 1  # no rule, no admission
    topic = next(s for s in resources["TopicEventsPolicy"]["Properties"]["PolicyDocument"]["Statement"] if s["Sid"] == "BusRulesPublish")
    assert topic["Action"] == ["sns:Publish"] and topic["Condition"] == {"ArnEquals": {"aws:SourceArn": [rule_arn("system", "uploads")]}}
    permissions = of_type(templates["app"], "AWS::Lambda::Permission")
    invoke = permissions["BusSystemRuleUploadsInvokeWorker"]["Properties"]
    assert invoke["Principal"] == "events.amazonaws.com" and invoke["FunctionName"] == {"Ref": "FunctionWorker"}
    assert invoke["SourceArn"] == {"Fn::GetAtt": ["BusSystemRuleUploads", "Arn"]}


def test_publishing_grants_put_events_on_that_bus_only_and_hands_over_its_name(templates: dict[str, Any]) -> None:
    app = templates["app"]
    statements = props(app, "ServiceApiTaskRole")["Policies"][0]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Sid": "PublishBusSystem",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": [{"Fn::ImportValue": "shop-dev-data-BusSystemArn"}],
        }
    ]
    container = props(app, "ServiceApiTaskDefinition")["ContainerDefinitions"][0]
    assert {"Name": "BUS_SYSTEM_NAME", "Value": {"Fn::ImportValue": "shop-dev-data-BusSystemName"}} in container["Environment"]
    function_role = json.dumps(props(app, "FunctionWorkerRole"))
    assert "shop-dev-data-BusAuditArn" in function_role and "shop-dev-data-BusSystemArn" not in function_role
    assert props(app, "FunctionWorker")["Environment"]["Variables"]["BUS_AUDIT_NAME"] == {"Fn::ImportValue": "shop-dev-data-BusAuditName"}
