"""Monitoring: alarms from the spec's thresholds, SNS topics per severity, and a dashboard per environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from troposphere import Ref, Sub, cloudwatch, sns

from .. import relations
from ..context import Context, Fragment, camel
from . import network
from .base import Problem, Section, Spec
from .keys import key_arn

STACK = "monitoring"
SEVERITIES = ("critical", "warning", "info")
GIB = 1024**3


@dataclass(frozen=True)
class Metric:
    """How a spec threshold maps onto a CloudWatch metric."""

    namespace: str
    name: str
    statistic: str
    above: bool  # alarm when the value is above the threshold (else below)
    unit_scale: float = 1.0  # spec units -> metric units
    missing: str = "notBreaching"
    words: str = ""
    of_dead_letters: bool = False  # a queue metric read on the queue's dead-letter queue


def check(spec: Spec) -> Iterator[Problem]:
    alarms = spec.get("alarms")
    if not alarms:
        return
    for kind in ITEM_KINDS:
        for name in alarms[kind]:
            if name not in spec.get(kind, {}):
                yield ("alarms", kind, name), f"alarms.{kind}.{name}: there is no {kind}.{name}"
    if alarms["load_balancer"] and not relations.balanced(spec):
        yield ("alarms", "load_balancer"), "load balancer alarms need a service with a route"
    severities = {s for s in ("critical", "warning", "info") if alarms["notify"].get(s)}
    for severity in SEVERITIES:
        for index, ref in enumerate(alarms["notify"].get(severity, [])):
            if ref.startswith("topics.") and ref.split(".", 1)[1] not in spec.get("topics", {}):
                yield (
                    ("alarms", "notify", severity, index),
                    f"{ref} does not exist (topics: {', '.join(sorted(spec.get('topics', {}))) or 'none'})",
                )
    for kind in ITEM_KINDS:
        for name, metrics in alarms[kind].items():
            for metric, threshold in metrics.items():
                for severity in threshold if isinstance(threshold, dict) else ["warning"]:
                    if severity not in severities:
                        yield ("alarms", kind, name, metric), f"a {severity} alarm needs someone in alarms.notify.{severity}"


METRICS: dict[str, dict[str, Metric]] = {
    "services": {
        "cpu": Metric("AWS/ECS", "CPUUtilization", "Average", True, words="average CPU %"),
        "memory": Metric("AWS/ECS", "MemoryUtilization", "Average", True, words="average memory %"),
        "running_below": Metric("ECS/ContainerInsights", "RunningTaskCount", "Minimum", False, missing="breaching", words="running tasks"),
    },
    "databases": {
        "cpu": Metric("AWS/RDS", "CPUUtilization", "Average", True, words="CPU %"),
        "connections": Metric("AWS/RDS", "DatabaseConnections", "Maximum", True, words="connections"),
        "free_storage_gb": Metric("AWS/RDS", "FreeStorageSpace", "Minimum", False, GIB, words="free storage (GiB)"),
    },
    "caches": {
        "cpu": Metric("AWS/ElastiCache", "EngineCPUUtilization", "Average", True, words="engine CPU %"),
        "memory": Metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", True, words="memory used %"),
        "evictions": Metric("AWS/ElastiCache", "Evictions", "Sum", True, words="evictions per minute"),
    },
    "queues": {
        "age": Metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", True, words="oldest message age (s)"),
        "depth": Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", True, words="messages waiting"),
        "dead_letters": Metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            True,
            words="messages in the dead-letter queue",
            of_dead_letters=True,
        ),
    },
    "functions": {
        "errors": Metric("AWS/Lambda", "Errors", "Sum", True, words="errors per minute"),
        "throttles": Metric("AWS/Lambda", "Throttles", "Sum", True, words="throttled invocations per minute"),
        "concurrency": Metric("AWS/Lambda", "ConcurrentExecutions", "Maximum", True, words="concurrent executions"),
        "duration": Metric("AWS/Lambda", "Duration", "Average", True, words="average duration (ms)"),
    },
    "apis": {
        "errors_5xx": Metric("AWS/ApiGateway", "5xx", "Sum", True, words="5xx responses per minute"),
        "errors_4xx": Metric("AWS/ApiGateway", "4xx", "Sum", True, words="4xx responses per minute"),
        "latency": Metric("AWS/ApiGateway", "Latency", "Average", True, words="average latency (ms)"),
    },
    "load_balancer": {
        "unhealthy_targets": Metric("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", True, words="unhealthy targets"),
        "healthy_below": Metric("AWS/ApplicationELB", "HealthyHostCount", "Minimum", False, missing="breaching", words="healthy targets"),
        "errors_5xx": Metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", True, words="5xx responses per minute"),
        "latency": Metric("AWS/ApplicationELB", "TargetResponseTime", "Average", True, words="average response seconds"),
    },
}


NOTIFY_PATTERN = "^(https://\\S+|[^@\\s]+@[^@\\s]+\\.[a-z]{2,}|topics\\.[a-z][a-z0-9-]*)$"
ITEM_KINDS = ("services", "databases", "caches", "queues", "functions", "apis")  # alarms set per item of these sections


def _item_thresholds(kind: str, description: str, noun: str) -> dict[str, Any]:
    """The schema of `alarms.<kind>`: per item, a threshold for each metric of that kind."""
    return {
        "description": description,
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                key: {
                    "$ref": "#/$defs/threshold",
                    "description": f"{metric.words[:1].upper()}{metric.words[1:]} {'above' if metric.above else 'below'}.",
                }
                for key, metric in METRICS[kind].items()
            },
            "description": f"A {noun}'s thresholds.",
        },
        "default": {},
    }


def _thresholds(value: Any) -> dict[str, float]:
    return dict(value) if isinstance(value, dict) else {"warning": value}


def _dimensions(kind: str, name: str, ctx: Context, metric: Metric) -> list[cloudwatch.MetricDimension]:
    if kind == "queues":
        output = f"Queue{camel(name)}DeadLetterName" if metric.of_dead_letters else f"Queue{camel(name)}Name"
        return [cloudwatch.MetricDimension(Name="QueueName", Value=ctx.imported("data", output))]
    if kind == "functions":
        return [cloudwatch.MetricDimension(Name="FunctionName", Value=ctx.imported("app", f"Function{camel(name)}Name"))]
    if kind == "apis":
        return [
            cloudwatch.MetricDimension(Name="ApiId", Value=ctx.imported("app", f"Api{camel(name)}Id")),
            cloudwatch.MetricDimension(Name="Stage", Value="$default"),
        ]
    if kind == "services":
        return [
            cloudwatch.MetricDimension(Name="ClusterName", Value=ctx.imported("app", "ClusterName")),
            cloudwatch.MetricDimension(Name="ServiceName", Value=ctx.imported("app", f"Service{camel(name)}Name")),
        ]
    if kind == "databases":
        return [cloudwatch.MetricDimension(Name="DBInstanceIdentifier", Value=ctx.imported("data", f"Database{camel(name)}Id"))]
    if kind == "caches":
        # Replication group metrics are per node; the primary is node 001 of the group.
        return [cloudwatch.MetricDimension(Name="CacheClusterId", Value=f"{ctx.name(name)}-001")]
    return [
        cloudwatch.MetricDimension(Name="LoadBalancer", Value=ctx.imported("app", "LoadBalancerFullName")),
        cloudwatch.MetricDimension(Name="TargetGroup", Value=ctx.imported("app", f"Service{camel(name)}TargetGroupFullName")),
    ]


def build(alarms: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    actions: dict[str, list[Any]] = {}  # severity -> where its alarms go: its own topic, then topics of the spec
    for severity in SEVERITIES:
        named = [ref for ref in alarms["notify"].get(severity, []) if ref.startswith("topics.")]
        actions[severity] = [ctx.imported("data", f"Topic{camel(ref.split('.', 1)[1])}Arn") for ref in sorted(named)]
        subscribers = [endpoint for endpoint in alarms["notify"].get(severity, []) if not endpoint.startswith("topics.")]
        if not subscribers:
            continue
        topic = out.add(
            sns.Topic(
                f"AlarmTopic{camel(severity)}",
                TopicName=ctx.name("alarms", severity),
                DisplayName=f"{ctx.name()} {severity} alarms",
                KmsMasterKeyId=key_arn(ctx),
                Tags=ctx.resource_tags(ctx.name("alarms", severity)),
            )
        )
        actions[severity].insert(0, Ref(topic))
        for index, endpoint in enumerate(subscribers, start=1):
            out.add(
                sns.SubscriptionResource(
                    f"AlarmTopic{camel(severity)}Subscription{index}",
                    TopicArn=Ref(topic),
                    Protocol="https" if endpoint.startswith("https://") else "email",
                    Endpoint=endpoint,
                )
            )
        out.export(ctx, STACK, f"AlarmTopic{camel(severity)}Arn", Ref(topic), f"SNS topic for {severity} alarms.")
    targets: list[tuple[str, str, dict[str, Any]]] = [
        (kind, name, metrics) for kind in ITEM_KINDS for name, metrics in sorted(alarms[kind].items())
    ]
    if alarms["load_balancer"]:
        targets += [("load_balancer", name, alarms["load_balancer"]) for name in sorted(relations.routed(ctx.spec))]
    for kind, name, metrics in targets:
        for metric_key, value in sorted(metrics.items()):
            metric = METRICS[kind][metric_key]
            for severity, threshold in sorted(_thresholds(value).items()):
                title = f"Alarm{camel(kind)}{camel(name)}{camel(metric_key)}{camel(severity)}"
                subject = f"{kind.replace('_', ' ')} {name}" if kind != "load_balancer" else f"load balancer, service {name}"
                out.add(
                    cloudwatch.Alarm(
                        title,
                        AlarmName=ctx.name(kind.replace("_", "-"), name, metric_key.replace("_", "-"), severity),
                        AlarmDescription=f"{severity}: {subject} {metric.words} {'above' if metric.above else 'below'} {threshold:g}",
                        Namespace=metric.namespace,
                        MetricName=metric.name,
                        Dimensions=_dimensions(kind, name, ctx, metric),
                        Statistic=metric.statistic,
                        Period=60,
                        EvaluationPeriods=3,
                        DatapointsToAlarm=3,
                        Threshold=float(threshold) * metric.unit_scale,
                        ComparisonOperator="GreaterThanThreshold" if metric.above else "LessThanThreshold",
                        TreatMissingData=metric.missing,
                        AlarmActions=actions.get(severity, []),
                        OKActions=actions.get(severity, []),
                    )
                )
    if alarms["dashboard"]:
        out.add(_dashboard(ctx))
    return out


def _dashboard(ctx: Context) -> cloudwatch.Dashboard:
    """One dashboard per environment; names of imported resources are filled in by Fn::Sub."""
    spec = ctx.spec
    variables: dict[str, Any] = {}
    widgets: list[dict[str, Any]] = []

    def widget(title: str, metrics: list[list[Any]]) -> None:
        widgets.append(
            {
                "type": "metric",
                "width": 12,
                "height": 6,
                "x": (len(widgets) % 2) * 12,
                "y": (len(widgets) // 2) * 6,
                "properties": {
                    "title": title,
                    "region": "${AWS::Region}",
                    "stat": "Average",
                    "period": 60,
                    "view": "timeSeries",
                    "metrics": metrics,
                },
            }
        )

    if spec.get("services"):
        variables["Cluster"] = ctx.imported("app", "ClusterName")
        for name in sorted(spec["services"]):
            variables[f"Service{camel(name)}"] = ctx.imported("app", f"Service{camel(name)}Name")
            dims = ["ClusterName", "${Cluster}", "ServiceName", f"${{Service{camel(name)}}}"]
            widget(f"service {name}: CPU and memory %", [["AWS/ECS", "CPUUtilization", *dims], ["AWS/ECS", "MemoryUtilization", *dims]])
    for name in sorted(spec.get("databases", {})):
        variables[f"Database{camel(name)}"] = ctx.imported("data", f"Database{camel(name)}Id")
        dims = ["DBInstanceIdentifier", f"${{Database{camel(name)}}}"]
        widget(f"database {name}: CPU % and connections", [["AWS/RDS", "CPUUtilization", *dims], ["AWS/RDS", "DatabaseConnections", *dims]])
    for name in sorted(spec.get("caches", {})):
        dims = ["CacheClusterId", f"{ctx.name(name)}-001"]
        widget(
            f"cache {name}: engine CPU and memory %",
            [["AWS/ElastiCache", "EngineCPUUtilization", *dims], ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", *dims]],
        )
    for name in sorted(spec.get("queues", {})):
        variables[f"Queue{camel(name)}"] = ctx.imported("data", f"Queue{camel(name)}Name")
        variables[f"Queue{camel(name)}DeadLetter"] = ctx.imported("data", f"Queue{camel(name)}DeadLetterName")
        widget(
            f"queue {name}: waiting, oldest age (s), dead letters",
            [
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{Queue{camel(name)}}}", {"stat": "Maximum"}],
                ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"${{Queue{camel(name)}}}", {"stat": "Maximum"}],
                ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"${{Queue{camel(name)}DeadLetter}}", {"stat": "Maximum"}],
            ],
        )
    for name in sorted(spec.get("functions", {})):
        variables[f"Function{camel(name)}"] = ctx.imported("app", f"Function{camel(name)}Name")
        dims = ["FunctionName", f"${{Function{camel(name)}}}"]
        widget(
            f"function {name}: invocations, errors, throttles",
            [["AWS/Lambda", metric, *dims, {"stat": "Sum"}] for metric in ("Invocations", "Errors", "Throttles")],
        )
    for name in sorted(spec.get("apis", {})):
        variables[f"Api{camel(name)}"] = ctx.imported("app", f"Api{camel(name)}Id")
        dims = ["ApiId", f"${{Api{camel(name)}}}", "Stage", "$default"]
        widget(
            f"API {name}: requests, 5xx, latency (ms)",
            [
                ["AWS/ApiGateway", "Count", *dims, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5xx", *dims, {"stat": "Sum"}],
                ["AWS/ApiGateway", "Latency", *dims],
            ],
        )
    nat_gateways = network.nat_count(spec["network"]) if "network" in spec and network.PUBLIC_TIER in spec["network"]["tiers"] else 0
    if nat_gateways:
        for zone in range(1, nat_gateways + 1):
            variables[f"NatGateway{zone}"] = ctx.imported("network", f"NatGateway{zone}Id")
        widget(
            "NAT gateways: bytes out and port allocation errors",
            [
                ["AWS/NATGateway", metric, "NatGatewayId", f"${{NatGateway{zone}}}", {"stat": "Sum"}]
                for zone in range(1, nat_gateways + 1)
                for metric in ("BytesOutToDestination", "ErrorPortAllocation")
            ],
        )
    if relations.balanced(spec):
        variables["LoadBalancer"] = ctx.imported("app", "LoadBalancerFullName")
        dims = ["LoadBalancer", "${LoadBalancer}"]
        widget(
            "load balancer: requests and target 5xx",
            [
                ["AWS/ApplicationELB", "RequestCount", *dims, {"stat": "Sum"}],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *dims, {"stat": "Sum"}],
            ],
        )
    body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
    return cloudwatch.Dashboard("Dashboard", DashboardName=ctx.name(), DashboardBody=Sub(body, **variables) if variables else Sub(body))


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "alarms": {"$ref": "#/$defs/alarms", "description": "CloudWatch alarms as thresholds, routed by severity to SNS topics."}
}
DEFS: dict[str, Any] = {
    "threshold": {
        "oneOf": [
            {"type": "number", "minimum": 0},
            {
                "type": "object",
                "additionalProperties": False,
                "minProperties": 1,
                "properties": {
                    "warning": {"description": "Threshold for a warning.", "type": "number", "minimum": 0},
                    "critical": {"description": "Threshold for a critical alarm.", "type": "number", "minimum": 0},
                },
            },
        ],
        "description": "A threshold (a warning), or thresholds by severity: {warning: 80, critical: 95}.",
    },
    "alarms": {
        "description": "Thresholds that raise CloudWatch alarms, and who hears about them.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "notify": {
                "description": "Who hears of alarms, per severity: e-mail addresses, HTTPS endpoints, or topics of this spec "
                "(topics.<name>, delivering to their own subscribers).",
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "critical": {
                        "description": "Who hears about critical alarms.",
                        "type": "array",
                        "items": {"type": "string", "pattern": NOTIFY_PATTERN},
                        "default": [],
                    },
                    "warning": {
                        "description": "Who hears about warning alarms.",
                        "type": "array",
                        "items": {"type": "string", "pattern": NOTIFY_PATTERN},
                        "default": [],
                    },
                    "info": {
                        "description": "Who hears about info alarms.",
                        "type": "array",
                        "items": {"type": "string", "pattern": NOTIFY_PATTERN},
                        "default": [],
                    },
                },
            },
            "services": _item_thresholds(
                "services", "Per service: average CPU and memory percent above, running tasks below a minimum.", "service"
            ),
            "databases": _item_thresholds("databases", "Per database: CPU percent, connections, free storage GiB below.", "database"),
            "caches": _item_thresholds("caches", "Per cache: engine CPU percent, memory percent used, evictions per minute.", "cache"),
            "queues": _item_thresholds(
                "queues", "Per queue: age of the oldest message, messages waiting, messages in its dead-letter queue.", "queue"
            ),
            "functions": _item_thresholds(
                "functions", "Per function: errors and throttles per minute, concurrent executions, average duration.", "function"
            ),
            "apis": _item_thresholds("apis", "Per HTTP API: 5xx and 4xx responses per minute, average latency.", "API"),
            "load_balancer": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "unhealthy_targets": {"$ref": "#/$defs/threshold", "description": "Unhealthy targets above (per target group)."},
                    "errors_5xx": {"$ref": "#/$defs/threshold", "description": "Target 5xx responses per minute above."},
                    "latency": {"$ref": "#/$defs/threshold", "description": "Average target response seconds above."},
                    "healthy_below": {
                        "$ref": "#/$defs/threshold",
                        "description": "Healthy targets below (per target group); 1 means all targets are unhealthy.",
                    },
                },
                "description": "Load balancer thresholds.",
                "default": {},
            },
            "dashboard": {
                "description": "Create a CloudWatch dashboard of the environment's services, databases, caches and load balancer.",
                "type": "boolean",
                "default": True,
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "alarms": {"description": "Changes to alarms in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("alarms", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK)
