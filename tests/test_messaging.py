"""queues and topics: dead-letter queues, long polling, encryption, delivery policies, and what `uses:` of them grants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
queues:
  jobs: {retries: 5}
  email: {}
  orders: {fifo: true, content_based_deduplication: true}
topics:
  notifications:
    subscriptions:
      - {queue: queues.email, filter: {kind: [welcome]}}
      - {email: ops@example.com}
  alerts: {}
services:
  worker:
    image: shop/worker:1.0.0
    uses: [queues.jobs:consume, topics.alerts:publish, queues.orders:send]
environments:
  dev: {}
"""


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("messaging")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    result = ivc("compile", spec, "--out", folder / "out")
    assert result.exit_code == 0, result.output
    return {stack: read_json(folder / "out" / "shop" / "dev" / "us-east-1" / f"{stack}.json") for stack in ("keys", "data", "app")}


def test_every_queue_has_a_dead_letter_queue_long_polling_and_the_environment_key(templates: dict[str, Any]) -> None:
    resources = templates["data"]["Resources"]
    jobs, dead = resources["QueueJobs"]["Properties"], resources["QueueJobsDeadLetter"]["Properties"]
    assert jobs["MessageRetentionPeriod"] == 4 * 86400  # SQS's default, the documented 4 days
    assert jobs["ReceiveMessageWaitTimeSeconds"] == 20
    assert jobs["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["QueueJobsDeadLetter", "Arn"]}, "maxReceiveCount": 5}
    assert dead["MessageRetentionPeriod"] == 14 * 86400
    assert jobs["KmsMasterKeyId"] == dead["KmsMasterKeyId"] == {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}
    assert resources["QueueOrders"]["Properties"]["QueueName"] == "shop-dev-orders.fifo"
    assert resources["QueueOrdersDeadLetter"]["Properties"]["FifoQueue"] is True
    denial = resources["QueueJobsPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert denial["Effect"] == "Deny" and denial["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_a_topic_delivers_to_its_queue_only_by_source_arn_and_the_key_lets_sns_encrypt(templates: dict[str, Any]) -> None:
    resources = templates["data"]["Resources"]
    subscription = resources["TopicNotificationsSubscription1"]["Properties"]
    assert subscription["Protocol"] == "sqs" and subscription["RawMessageDelivery"] is True
    assert subscription["FilterPolicy"] == {"kind": ["welcome"]}
    allowed = resources["QueueEmailPolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    assert allowed["Principal"] == {"Service": "sns.amazonaws.com"}
    assert allowed["Condition"] == {"ArnEquals": {"aws:SourceArn": [{"Ref": "TopicNotifications"}]}}
    assert len(resources["QueueJobsPolicy"]["Properties"]["PolicyDocument"]["Statement"]) == 1  # no topic delivers there
    key_sids = [s["Sid"] for s in templates["keys"]["Resources"]["EnvironmentKey"]["Properties"]["KeyPolicy"]["Statement"]]
    assert "TopicsDeliverToEncryptedQueues" in key_sids
    assert resources["TopicAlerts"]["Properties"]["KmsMasterKeyId"] == {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}


def test_uses_grant_exactly_the_access_named_and_hand_over_the_settings(templates: dict[str, Any]) -> None:
    resources = templates["app"]["Resources"]
    statements = {s["Sid"]: s for s in resources["ServiceWorkerTaskRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["ConsumeQueueJobs"]["Action"] == [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ]
    assert statements["ConsumeQueueJobs"]["Resource"] == [{"Fn::ImportValue": "shop-dev-data-QueueJobsArn"}]
    assert statements["SendQueueOrders"]["Action"] == ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    assert statements["PublishTopicAlerts"]["Action"] == ["sns:Publish"]
    assert statements["KeyForTopicAlerts"]["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert statements["KeyForQueueJobs"]["Action"] == ["kms:Decrypt"]
    container = resources["ServiceWorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {e["Name"] for e in container["Environment"]} == {"QUEUE_JOBS_URL", "QUEUE_ORDERS_URL", "TOPIC_ALERTS_ARN"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("queues.jobs:consume", "queues.jbos:consume"), "error: services.worker uses queues.jbos, which does not exist"),
        (("{queue: queues.email, filter", "{queue: queues.orders, filter"), "a FIFO topic delivers to FIFO queues only"),
        (("{queue: queues.email, filter", "{queue: queues.mail, filter"), "delivers to queues.mail, which does not exist"),
        (("  email: {}", "  email: {content_based_deduplication: true}"), "content_based_deduplication needs fifo: true"),
    ],
)
def test_bad_messaging_is_refused_at_its_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace(*change))
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert expected in result.stderr, result.stderr
    assert result.stderr.startswith(f"{spec}:")


def test_alarms_on_queues_go_to_a_topic_of_the_spec_which_admits_cloudwatch(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        SPEC.replace(
            "environments:",
            "alarms:\n  notify: {warning: [ops@example.com], critical: [topics.alerts]}\n"
            "  queues: {jobs: {age: 300, dead_letters: {critical: 0}}}\nenvironments:",
        )
    )
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "shop" / "dev" / "us-east-1"
    alarms = read_json(folder / "monitoring.json")["Resources"]
    dead = alarms["AlarmQueuesJobsDeadLettersCritical"]["Properties"]
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::ImportValue": "shop-dev-data-QueueJobsDeadLetterName"}}]
    assert dead["AlarmActions"] == [{"Fn::ImportValue": "shop-dev-data-TopicAlertsArn"}]
    age = alarms["AlarmQueuesJobsAgeWarning"]["Properties"]
    assert age["MetricName"] == "ApproximateAgeOfOldestMessage" and age["Threshold"] == 300
    assert age["AlarmActions"] == [{"Ref": "AlarmTopicWarning"}]
    assert "AlarmTopicCritical" not in alarms  # critical alarms use the spec's topic
    policy = read_json(folder / "data.json")["Resources"]["TopicAlertsPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert policy[1]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(spec.read_text().replace("critical: [topics.alerts]", "critical: [topics.alert]"))
    refused = ivc("validate", unknown)
    assert refused.exit_code == 1 and "topics.alert does not exist (topics: alerts, notifications)" in refused.stderr


def test_a_worker_scales_on_messages_waiting_per_task(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    scaled = "    uses: [queues.jobs:consume, topics.alerts:publish, queues.orders:send]\n"
    spec.write_text(SPEC.replace(scaled, scaled + "    scale: {min: 1, max: 8, queue: queues.jobs, backlog_per_task: 100}\n"))
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    app = read_json(tmp_path / "out" / "shop" / "dev" / "us-east-1" / "app.json")["Resources"]
    policy = app["ServiceWorkerScaleOnBacklog"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert policy["TargetValue"] == 100
    queries = {q["Id"]: q for q in policy["CustomizedMetricSpecification"]["Metrics"]}
    assert queries["backlog"] == {
        "Expression": "waiting / tasks",
        "Id": "backlog",
        "Label": "messages waiting per task",
        "ReturnData": True,
    }
    assert queries["waiting"]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::ImportValue": "shop-dev-data-QueueJobsName"}}
    ]
    assert app["ServiceWorkerScalableTarget"]["Properties"]["MaxCapacity"] == 8
    half = tmp_path / "half.yaml"
    half.write_text(spec.read_text().replace(", backlog_per_task: 100", ""))
    refused = ivc("validate", half)
    assert refused.exit_code == 1 and "scale on a queue needs both queue and backlog_per_task" in refused.stderr
