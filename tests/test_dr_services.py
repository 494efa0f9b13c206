"""Services standing by in the DR region: their tasks at standby counts on standby capacity, the queues, topics and
buses they use rebuilt there, and their images replicated by ECR into repositories made first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "recovery" / "services.yaml"
PRIMARY, DR = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted in both regions through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("quay")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "quay" / "prod"


def stack(out: Path, region: str, name: str) -> dict[str, Any]:
    return dict(read_json(out / region / f"{name}.json"))


def scalable(template: dict[str, Any], service: str) -> tuple[int, int]:
    target = props(template, f"Service{service}ScalableTarget")
    return target["MinCapacity"], target["MaxCapacity"]


def test_standing_by_services_run_at_their_standby_counts_and_scale_up_to_their_maximum(out: Path) -> None:
    primary, dr = stack(out, PRIMARY, "app"), stack(out, DR, "app")
    assert props(primary, "ServiceApi")["DesiredCount"] == 3
    assert props(dr, "ServiceApi")["DesiredCount"] == 1
    assert scalable(primary, "Api") == (3, 12)
    assert scalable(dr, "Api") == (1, 12)  # the primary's maximum: it scales up on failover
    assert props(dr, "ServiceWorker")["DesiredCount"] == 1
    assert scalable(dr, "Worker") == (1, 3)  # the standby's own maximum
    assert "ServiceReporter" in primary["Resources"]
    assert "ServiceReporter" not in dr["Resources"]  # it does not stand by


def test_the_ecs_capacity_stands_by_at_its_sizes_under_the_same_cluster_name(out: Path) -> None:
    dr = stack(out, DR, "app")
    group = props(dr, "FleetContainersGroup")
    assert (group["MinSize"], group["MaxSize"]) == ("1", "8")
    assert props(dr, "Cluster")["ClusterName"] == props(stack(out, PRIMARY, "app"), "Cluster")["ClusterName"] == "quay-prod"
    provider = props(dr, "FleetContainersCapacityProvider")["AutoScalingGroupProvider"]
    assert provider["AutoScalingGroupArn"] == {"Ref": "FleetContainersGroup"}
    strategy = props(dr, "ServiceApi")["CapacityProviderStrategy"]
    assert [item["CapacityProvider"] for item in strategy] == [{"Ref": "FleetContainersCapacityProvider"}]


def test_standby_tasks_pull_their_image_from_the_dr_regions_registry_and_read_the_database_replica(out: Path) -> None:
    dr = stack(out, DR, "app")
    container = props(dr, "ServiceApiTaskDefinition")["ContainerDefinitions"][0]
    assert container["Image"] == {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/api:${ServiceApiImageTag}"}
    settings = {item["Name"]: item["Value"] for item in container["Environment"]}
    assert settings["DATABASE_MAIN_HOST"] == {"Fn::ImportValue": "quay-prod-standby-StandbyMainAddress"}
    assert settings["QUEUE_JOBS_URL"] == {"Fn::ImportValue": "quay-prod-data-QueueJobsUrl"}  # the DR region's queue
    # The release parameter is the same in both regions, so one deploy gives both the same image.
    assert "ServiceApiImageTag" in dr["Parameters"]


def test_ecr_replicates_the_standing_by_images_into_repositories_made_first_in_the_dr_region(out: Path) -> None:
    primary, dr = stack(out, PRIMARY, "data"), stack(out, DR, "data")
    rules = props(primary, "RegistryReplication")["ReplicationConfiguration"]["Rules"]
    assert rules == [
        {
            "Destinations": [{"Region": DR, "RegistryId": {"Ref": "AWS::AccountId"}}],
            "RepositoryFilters": [{"Filter": "api", "FilterType": "PREFIX_MATCH"}, {"Filter": "worker", "FilterType": "PREFIX_MATCH"}],
        }
    ]
    assert set(of_type(dr, "AWS::ECR::Repository")) == {"RegistryApi", "RegistryWorker"}  # not tools: nothing there runs it
    api = props(dr, "RegistryApi")
    assert api["RepositoryName"] == "api"
    assert api["ImageTagMutability"] == "IMMUTABLE"
    assert api["EncryptionConfiguration"]["EncryptionType"] == "KMS"  # the DR region's environment key, not ECR's default
    assert dr["Resources"]["RegistryApi"]["DeletionPolicy"] == "Retain"
    assert "RegistryReplication" not in dr["Resources"]
    manifest = read_json(out / "manifest.json")
    waves = {f"{s['region']}/{s['name']}": s["wave"] for s in manifest["stacks"]}
    assert waves[f"{DR}/data"] < waves[f"{PRIMARY}/data"]  # else replication makes the repositories with ECR's defaults


def test_the_messaging_standing_by_services_use_is_rebuilt_with_what_it_delivers_to(out: Path) -> None:
    dr = stack(out, DR, "data")
    queues = {props(dr, title)["QueueName"] for title in of_type(dr, "AWS::SQS::Queue")}
    # jobs: used; mail: the topic's subscription; audit: the bus rule's target; reports: nothing standing by uses it.
    expected = {f"quay-prod-{name}{suffix}" for name in ("jobs", "mail", "audit") for suffix in ("", "-dlq")}
    assert queues == expected | {"quay-prod-system-bus-dlq"}  # and the bus's own dead-letter queue
    assert set(of_type(dr, "AWS::SNS::Topic")) == {"TopicEvents"}
    subscription = props(dr, "TopicEventsSubscription1")
    assert subscription["Endpoint"] == {"Fn::GetAtt": ["QueueMail", "Arn"]}
    rule = props(stack(out, DR, "app"), "BusSystemRuleAudit")
    assert rule["EventBusName"] == {"Fn::ImportValue": "quay-prod-data-BusSystemName"}


def test_the_dr_site_watches_its_standing_by_services_and_queues(out: Path) -> None:
    alarms = {
        props(stack(out, DR, "monitoring"), title)["AlarmName"] for title in of_type(stack(out, DR, "monitoring"), "AWS::CloudWatch::Alarm")
    }
    assert any("api" in name and "running-below" in name for name in alarms), alarms
    assert any("jobs" in name and "age" in name for name in alarms), alarms
    assert not any("reporter" in name or "reports" in name for name in alarms), alarms


def test_an_rto_is_refused_while_a_routed_service_does_not_stand_by(tmp_path: Path) -> None:
    spec = tmp_path / "quay.yaml"
    spec.write_text(FIXTURE.read_text().replace("      api: {count: 1}\n", ""))
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "services.api" in result.output and "rto" in result.output


def test_the_dr_replicas_lag_is_watched_in_the_dr_region_and_its_other_alarms_stay_with_the_primary(out: Path) -> None:
    def database_alarms(region: str) -> dict[str, dict[str, Any]]:
        template = stack(out, region, "monitoring")
        alarms = {props(template, title)["AlarmName"]: props(template, title) for title in of_type(template, "AWS::CloudWatch::Alarm")}
        return {name: alarm for name, alarm in alarms.items() if "-databases-" in name}

    dr, primary = database_alarms(DR), database_alarms(PRIMARY)
    assert set(dr) == {"quay-prod-databases-main-replica-lag-critical"}
    lag = dr["quay-prod-databases-main-replica-lag-critical"]
    assert (lag["MetricName"], lag["Threshold"], lag["Dimensions"]) == (
        "ReplicaLag",
        900,
        [{"Name": "DBInstanceIdentifier", "Value": "quay-prod-main-dr"}],
    )
    assert props(stack(out, DR, "standby"), "StandbyMain")["DBInstanceIdentifier"] == "quay-prod-main-dr"
    assert lag["TreatMissingData"] == "breaching"  # no lag reported: replication is broken
    assert lag["AlarmActions"] == [{"Ref": "AlarmTopicCritical"}]  # the DR region's own topic
    assert set(primary) == {"quay-prod-databases-main-cpu-critical"}  # the source has no replica lag


def test_a_replica_lag_alarm_without_anything_standing_by_is_refused_at_its_line(tmp_path: Path) -> None:
    text = FIXTURE.read_text()
    start = text.index("  standby:\n")
    spec = tmp_path / "quay.yaml"
    spec.write_text((text[:start] + text[text.index("environments:") :]).replace("  rto: 1h\n", ""))  # no standby, no RTO
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "replica_lag is raised by the DR site's alarms, in the DR region: stand something by there (recovery.standby)" in result.output


def test_a_replica_lag_alarm_on_a_database_nothing_standing_by_uses_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "quay.yaml"
    text = FIXTURE.read_text().replace(
        "databases:\n", 'databases:\n  ledger: {version: "16.10", instance: db.m5.large, dr_replica: {}}\n', 1
    )
    spec.write_text(text.replace("  databases: {main: {", "  databases: {ledger: {replica_lag: {critical: 900}}, main: {", 1))
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "nothing standing by uses databases.ledger" in result.output


def test_a_standing_by_api_is_watched_on_its_first_target_behind_the_load_balancer(tmp_path: Path) -> None:
    from compiler.sections import site

    api = {"routes": {"POST /hook": "functions.hook", "ANY /{proxy+}": "services.api"}}
    assert site.api_targets(api)[0] == "functions.hook"  # sorted: a function first, which has no hosts to count
    assert site.api_watched(api) == "services.api"
    assert site.api_watched({"routes": {"POST /hook": "functions.hook"}}) is None  # refused at validate
