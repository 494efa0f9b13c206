"""Alarms: thresholds, anomaly bands and composites on services, fleets, REST APIs, databases and the load balancer,
routed by severity to e-mail, SMS, an HTTPS endpoint and a topic of the spec; compiled and linted for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "alarms" / "alarms.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("alarms")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "watch" / "prod" / "us-east-1"


def stack(out: Path, name: str) -> dict[str, Any]:
    return dict(read_json(out / f"{name}.json"))


def alarm(out: Path, title: str) -> dict[str, Any]:
    return props(stack(out, "monitoring"), title)


def dims(properties: dict[str, Any]) -> dict[str, Any]:
    return {d["Name"]: d["Value"] for d in properties["Dimensions"]}


def test_each_severity_has_a_topic_with_its_subscribers_sms_https_and_email(out: Path) -> None:
    monitoring = stack(out, "monitoring")
    subscriptions = {
        (s["Properties"]["TopicArn"]["Ref"], s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
        for s in of_type(monitoring, "AWS::SNS::Subscription").values()
    }
    assert subscriptions == {
        ("AlarmTopicCritical", "https", "https://events.pagerduty.com/integration/0123456789abcdef/enqueue"),
        ("AlarmTopicCritical", "sms", "+15551234567"),
        ("AlarmTopicWarning", "email", "ops@example.com"),
        ("AlarmTopicInfo", "email", "ops@example.com"),
    }
    for topic in of_type(monitoring, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::ImportValue": "watch-prod-keys-EnvironmentKeyArn"}
    # Each alarm notifies its own severity: critical pages (HTTPS and SMS), warnings also reach the spec's topic.
    assert alarm(out, "AlarmFleetsWebCpuCritical")["AlarmActions"] == [{"Ref": "AlarmTopicCritical"}]
    assert alarm(out, "AlarmFleetsWebCpuWarning")["AlarmActions"] == [
        {"Ref": "AlarmTopicWarning"},
        {"Fn::ImportValue": "watch-prod-data-TopicOpsArn"},
    ]
    assert alarm(out, "AlarmFleetsBatchCpuInfo")["OKActions"] == [{"Ref": "AlarmTopicInfo"}]


def test_fleet_alarms_read_what_the_group_and_its_cloudwatch_agent_publish(out: Path) -> None:
    group = {"Fn::ImportValue": "watch-prod-app-FleetWebGroupName"}
    expected = {
        "AlarmFleetsWebCpuWarning": ("AWS/EC2", "CPUUtilization", "Average", "GreaterThanThreshold", 80.0),
        "AlarmFleetsWebMemoryWarning": ("CWAgent", "mem_used_percent", "Maximum", "GreaterThanThreshold", 90.0),
        "AlarmFleetsWebDiskCritical": ("CWAgent", "disk_used_percent", "Maximum", "GreaterThanThreshold", 90.0),
        "AlarmFleetsWebInServiceBelowCritical": ("AWS/AutoScaling", "GroupInServiceInstances", "Minimum", "LessThanThreshold", 2.0),
    }
    for title, (namespace, metric, statistic, operator, threshold) in expected.items():
        found = alarm(out, title)
        assert (found["Namespace"], found["MetricName"], found["Statistic"]) == (namespace, metric, statistic), title
        assert (found["ComparisonOperator"], found["Threshold"]) == (operator, threshold), title
        assert dims(found) == {"AutoScalingGroupName": group}, title
    assert alarm(out, "AlarmFleetsWebInServiceBelowCritical")["TreatMissingData"] == "breaching"  # no data: nothing in service
    # The fleet's agent publishes exactly those names, rolled up per group; the group collects its own metrics.
    app = stack(out, "app")
    agent = json.loads(props(app, "FleetWebAgentConfiguration")["Value"])["metrics"]
    assert agent["namespace"] == "CWAgent" and agent["aggregation_dimensions"] == [["AutoScalingGroupName"]]
    assert agent["metrics_collected"]["mem"]["measurement"] == ["mem_used_percent"]
    assert agent["metrics_collected"]["disk"] == {"measurement": ["used_percent"], "resources": ["/"]}  # disk_used_percent of /
    assert props(app, "FleetWebGroup")["MetricsCollection"] == [{"Granularity": "1Minute"}]  # every group metric


def test_load_balancer_alarms_cover_every_balanced_target_on_its_target_group(out: Path) -> None:
    balancer = {"Fn::ImportValue": "watch-prod-app-LoadBalancerFullName"}
    service = alarm(out, "AlarmLoadBalancerApiHealthyBelowCritical")
    fleet = alarm(out, "AlarmLoadBalancerFleetWebHealthyBelowCritical")
    assert dims(service) == {"LoadBalancer": balancer, "TargetGroup": {"Fn::ImportValue": "watch-prod-app-ServiceApiTargetGroupFullName"}}
    assert dims(fleet) == {"LoadBalancer": balancer, "TargetGroup": {"Fn::ImportValue": "watch-prod-app-FleetWebTargetGroupFullName"}}
    assert fleet["AlarmName"] == "watch-prod-load-balancer-fleet-web-healthy-below-critical"
    assert "fleet web" in fleet["AlarmDescription"]


def test_rest_api_alarms_name_the_api_and_its_stage(out: Path) -> None:
    app = stack(out, "app")
    [stage] = of_type(app, "AWS::ApiGateway::Stage").values()
    expected = {"ApiName": props(app, "RestApiPartners")["Name"], "Stage": stage["Properties"]["StageName"]}
    assert expected == {"ApiName": "watch-prod-partners", "Stage": "prod"}
    for title, metric in (
        ("AlarmRestApisPartnersErrors5xxCritical", "5XXError"),
        ("AlarmRestApisPartnersErrors4xxWarning", "4XXError"),
        ("AlarmRestApisPartnersLatencyWarning", "Latency"),
    ):
        found = alarm(out, title)
        assert (found["Namespace"], found["MetricName"]) == ("AWS/ApiGateway", metric)
        assert dims(found) == expected


def test_every_value_the_monitoring_stack_imports_is_exported(out: Path) -> None:
    exported = {
        output["Export"]["Name"]
        for path in out.glob("*.json")
        for output in read_json(path).get("Outputs", {}).values()
        if "Export" in output
    }
    text = (out / "monitoring.json").read_text()
    imported = set()
    for chunk in text.split('"Fn::ImportValue": "')[1:]:
        imported.add(chunk.split('"', 1)[0])
    assert imported and imported <= exported, imported - exported


def test_an_anomaly_band_is_a_detector_and_an_alarm_on_the_metrics_band(out: Path) -> None:
    monitoring = stack(out, "monitoring")
    detector = props(monitoring, "AnomalyDetectorLoadBalancerFleetWebRequests")["SingleMetricAnomalyDetector"]
    assert (detector["Namespace"], detector["MetricName"], detector["Stat"]) == ("AWS/ApplicationELB", "RequestCount", "Sum")
    resource = monitoring["Resources"]["AlarmLoadBalancerFleetWebRequestsAnomalyWarning"]
    assert resource["DependsOn"] == ["AnomalyDetectorLoadBalancerFleetWebRequests"]
    requests = resource["Properties"]
    [metric, band] = requests["Metrics"]
    assert metric["MetricStat"]["Metric"]["Dimensions"] == detector["Dimensions"]
    assert (metric["MetricStat"]["Stat"], metric["MetricStat"]["Metric"]["MetricName"]) == ("Sum", "RequestCount")
    assert band["Expression"] == "ANOMALY_DETECTION_BAND(metric, 3)"
    assert requests["ThresholdMetricId"] == band["Id"]
    # Requests alarm either way (a surge or a drop); latency only above its band; no fixed threshold on either.
    assert requests["ComparisonOperator"] == "LessThanLowerOrGreaterThanUpperThreshold"
    latency = alarm(out, "AlarmLoadBalancerApiLatencyAnomalyWarning")
    assert latency["ComparisonOperator"] == "GreaterThanUpperThreshold"
    assert "Threshold" not in requests and "Threshold" not in latency
    assert alarm(out, "AlarmLoadBalancerApiLatencyWarning")["Threshold"] == 2.0  # the fixed threshold beside it stays


def test_anomaly_bands_by_severity_share_one_detector(out: Path) -> None:
    monitoring = stack(out, "monitoring")
    detectors = [t for t in of_type(monitoring, "AWS::CloudWatch::AnomalyDetector") if "DatabasesMain" in t]
    assert detectors == ["AnomalyDetectorDatabasesMainCpu"]
    warning = alarm(out, "AlarmDatabasesMainCpuAnomalyWarning")
    critical = alarm(out, "AlarmDatabasesMainCpuAnomalyCritical")
    assert warning["Metrics"][1]["Expression"] == "ANOMALY_DETECTION_BAND(metric, 2)"
    assert critical["Metrics"][1]["Expression"] == "ANOMALY_DETECTION_BAND(metric, 4)"
    assert critical["AlarmActions"] == [{"Ref": "AlarmTopicCritical"}]
    assert alarm(out, "AlarmDatabasesMainCpuWarning")["Threshold"] == 80.0


def test_a_composite_alarm_reads_its_alarms_and_pages_alone_when_they_are_quiet(out: Path) -> None:
    site_down = alarm(out, "AlarmCompositeSiteDown")
    assert site_down["AlarmRule"] == {
        "Fn::Sub": 'ALARM("${AlarmLoadBalancerFleetWebHealthyBelowCritical}") OR ALARM("${AlarmLoadBalancerApiHealthyBelowCritical}")'
        ' OR ALARM("${AlarmFleetsWebInServiceBelowCritical}")'
    }
    assert site_down["AlarmName"] == "watch-prod-composite-site-down"
    assert site_down["AlarmDescription"] == "critical: Nobody can reach the site"
    assert site_down["AlarmActions"] == site_down["OKActions"] == [{"Ref": "AlarmTopicCritical"}]
    # children: quiet -- its alarms keep their state for the rule, but notify nobody themselves.
    for child in ("AlarmLoadBalancerFleetWebHealthyBelowCritical", "AlarmFleetsWebInServiceBelowCritical"):
        assert alarm(out, child)["AlarmActions"] == [] and alarm(out, child)["OKActions"] == []
    # A composite of `all` is AND; its children still notify on their own.
    slow = alarm(out, "AlarmCompositeSlowEverywhere")
    assert slow["AlarmRule"] == {
        "Fn::Sub": 'ALARM("${AlarmLoadBalancerFleetWebLatencyWarning}") AND ALARM("${AlarmLoadBalancerApiLatencyAnomalyWarning}")'
    }
    assert alarm(out, "AlarmLoadBalancerFleetWebLatencyWarning")["AlarmActions"][0] == {"Ref": "AlarmTopicWarning"}


def test_the_dashboard_shows_fleets_and_rest_apis(out: Path) -> None:
    body = props(stack(out, "monitoring"), "Dashboard")["DashboardBody"]["Fn::Sub"]
    widgets = {w["properties"]["title"]: w["properties"]["metrics"] for w in json.loads(body[0])["widgets"]}
    fleet = widgets["fleet web: CPU, memory and disk % (fullest instance), instances in service"]
    assert [m[:2] for m in fleet] == [
        ["AWS/EC2", "CPUUtilization"],
        ["CWAgent", "mem_used_percent"],
        ["CWAgent", "disk_used_percent"],
        ["AWS/AutoScaling", "GroupInServiceInstances"],
    ]
    assert fleet[0][2:4] == ["AutoScalingGroupName", "${FleetWeb}"]
    assert body[1]["FleetWeb"] == {"Fn::ImportValue": "watch-prod-app-FleetWebGroupName"}
    api = widgets["REST API partners: requests, 4xx, 5xx, latency (ms)"]
    assert api[0][:6] == ["AWS/ApiGateway", "Count", "ApiName", "watch-prod-partners", "Stage", "prod"]


def test_a_quiet_child_needs_no_subscriber_of_its_own(tmp_path: Path) -> None:
    text = FIXTURE.read_text().replace("    info: [ops@example.com]\n", "")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec)
    assert [d.message for d in exc.value.diagnostics] == ["an info alarm needs someone in alarms.notify.info"]
    spec.write_text(
        text.replace(
            "      description: Nobody can reach the site\n",
            "      description: Nobody can reach the site\n    batch-busy: {severity: warning, of: [fleets.batch.cpu], children: quiet}\n",
        )
    )
    load_and_validate(spec)


def test_a_target_behind_the_internal_load_balancer_is_watched_on_it(tmp_path: Path) -> None:
    spec = tmp_path / "tiers.yaml"
    spec.write_text(
        (FIXTURES / "balancers" / "two.yaml")
        .read_text()
        .replace(
            "environments:\n",
            "alarms:\n  notify: {critical: ['+15551234567']}\n  load_balancer: {healthy_below: {critical: 1}}\n"
            "  composite:\n    down: {of: [load_balancer.web.healthy_below, load_balancer.app.healthy_below]}\nenvironments:\n",
        )
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "tiers" / "dev" / "us-east-1"
    monitoring = stack(folder, "monitoring")
    web = dims(props(monitoring, "AlarmLoadBalancerFleetWebHealthyBelowCritical"))
    app = dims(props(monitoring, "AlarmLoadBalancerFleetAppHealthyBelowCritical"))
    assert web["LoadBalancer"] == {"Fn::ImportValue": "tiers-dev-app-LoadBalancerFullName"}
    assert app["LoadBalancer"] == {"Fn::ImportValue": "tiers-dev-app-InternalLoadBalancerFullName"}
    assert app["TargetGroup"] == {"Fn::ImportValue": "tiers-dev-app-FleetAppTargetGroupFullName"}
    exported = {o["Export"]["Name"] for o in stack(folder, "app")["Outputs"].values()}
    assert {
        web["LoadBalancer"]["Fn::ImportValue"],
        app["LoadBalancer"]["Fn::ImportValue"],
        app["TargetGroup"]["Fn::ImportValue"],
    } <= exported
    body = props(monitoring, "Dashboard")["DashboardBody"]["Fn::Sub"]
    titles = [w["properties"]["title"] for w in json.loads(body[0])["widgets"]]
    assert "load balancer: requests and target 5xx" in titles and "internal load balancer: requests and target 5xx" in titles
