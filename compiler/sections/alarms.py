"""Monitoring: alarms routed by severity to SNS topics, and a dashboard per environment.

Three kinds of alarm, each critical, warning or info, notify the subscribers of its severity in `alarms.notify`
(e-mail addresses, HTTPS endpoints such as PagerDuty's, phone numbers for SMS, or topics of the spec):

- thresholds: `alarms.<kind>.<item>.<metric>: 80` (a warning) or `{warning: 80, critical: 95}`;
- anomaly detection: `{anomaly: 2}` (a warning when the metric leaves the band CloudWatch expects for it, 2 standard
  deviations wide) or `{anomaly: {warning: 2, critical: 3}}`, alone or next to thresholds. One
  AWS::CloudWatch::AnomalyDetector per item and metric trains the model; each severity's alarm compares the metric
  with ANOMALY_DETECTION_BAND, on the side of the band the metric says (`band`: above it, below it, or either way);
- composite: `alarms.composite.<name>: {severity, when: any|all, of: [<kind>.<item>.<metric>[.anomaly][.<severity>]]}`,
  one AWS::CloudWatch::CompositeAlarm over alarms of the spec. With `children: quiet` the alarms it is made of notify
  nobody on their own (no actions: they keep their state, which the composite reads), so one incident pages once.
  CloudWatch's ActionsSuppressor is the other direction (an alarm that silences the composite) and is not used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from awacs import sns as sns_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Ref, Sub, cloudwatch, sns

from .. import relations
from ..context import Context, Fragment, camel
from . import backups, balancers, fleets, load_balancer, network
from .apis import close_match
from .base import Path, Problem, Section, Spec
from .keys import key_arn

STACK = "monitoring"
SEVERITIES = ("critical", "warning", "info")
GIB = 1024**3
PERIOD = 60  # seconds a datapoint covers; an alarm looks at three of them
REFERENCE = "<kind>.<item>.<metric>[.anomaly][.<severity>]"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"
TASK_COUNTS = ("RunningTaskCount", "DesiredTaskCount")
BILLING_REGION = "us-east-1"  # where AWS publishes the account's billing metrics, whatever the environment's region


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
    # Anomaly detection: which side of the expected band alarms ("upper", "lower", "both"); "" follows `above`;
    # "none" where a fixed minimum is what matters (running tasks, healthy targets), never a learned band.
    band: str = ""

    @property
    def side(self) -> str:
        return self.band or ("upper" if self.above else "lower")

    @property
    def anomaly_operator(self) -> str:
        return {
            "upper": "GreaterThanUpperThreshold",
            "lower": "LessThanLowerThreshold",
            "both": "LessThanLowerOrGreaterThanUpperThreshold",
        }[self.side]


METRICS: dict[str, dict[str, Metric]] = {
    "services": {
        "cpu": Metric("AWS/ECS", "CPUUtilization", "Average", True, words="average CPU %"),
        "memory": Metric("AWS/ECS", "MemoryUtilization", "Average", True, words="average memory %"),
        "running_below": Metric(
            "ECS/ContainerInsights", "RunningTaskCount", "Minimum", False, missing="breaching", words="running tasks", band="none"
        ),
    },
    "databases": {
        "cpu": Metric("AWS/RDS", "CPUUtilization", "Average", True, words="CPU %"),
        "connections": Metric("AWS/RDS", "DatabaseConnections", "Maximum", True, words="connections"),
        "free_storage_gb": Metric("AWS/RDS", "FreeStorageSpace", "Minimum", False, GIB, words="free storage (GiB)"),
        # The DR replica's (`dr_replica`) lag behind its source, in seconds: what the RPO loses if the region goes now.
        # Raised by the DR site's alarms, in its region (an alarm notifies topics of its own region only).
        "replica_lag": Metric("AWS/RDS", "ReplicaLag", "Maximum", True, missing="breaching", words="DR replica lag (s)"),
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
            band="none",
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
        "requests": Metric("AWS/ApiGateway", "Count", "Sum", True, words="requests per minute", band="both"),
    },
    # REST APIs publish per API name and stage (rest_apis names each API <system>-<environment>-<name> and its one
    # stage after the environment); detailed per-method metrics stay off.
    "rest_apis": {
        "errors_5xx": Metric("AWS/ApiGateway", "5XXError", "Sum", True, words="5xx responses per minute"),
        "errors_4xx": Metric("AWS/ApiGateway", "4XXError", "Sum", True, words="4xx responses per minute"),
        "latency": Metric("AWS/ApiGateway", "Latency", "Average", True, words="average latency (ms)"),
        "requests": Metric("AWS/ApiGateway", "Count", "Sum", True, words="requests per minute", band="both"),
    },
    # Fleets: CPU from EC2 per group; memory and root disk from the CloudWatch agent, which fleets configure to
    # aggregate per group (CWAgent, dimension AutoScalingGroupName: the fullest instance is the Maximum); instances in
    # service from the group metrics fleets collect (MetricsCollection, every metric, each minute).
    "fleets": {
        "cpu": Metric("AWS/EC2", "CPUUtilization", "Average", True, words="average CPU %"),
        "memory": Metric(fleets.AGENT_NAMESPACE, "mem_used_percent", "Maximum", True, words="memory used % on the fullest instance"),
        "disk": Metric(fleets.AGENT_NAMESPACE, "disk_used_percent", "Maximum", True, words="root disk used % on the fullest instance"),
        "in_service_below": Metric(
            "AWS/AutoScaling", "GroupInServiceInstances", "Minimum", False, missing="breaching", words="instances in service", band="none"
        ),
    },
    "load_balancer": {
        "unhealthy_targets": Metric("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", True, words="unhealthy targets", band="none"),
        "healthy_below": Metric(
            "AWS/ApplicationELB", "HealthyHostCount", "Minimum", False, missing="breaching", words="healthy targets", band="none"
        ),
        "errors_5xx": Metric("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", True, words="5xx responses per minute"),
        "latency": Metric("AWS/ApplicationELB", "TargetResponseTime", "Average", True, words="average response seconds"),
        "requests": Metric("AWS/ApplicationELB", "RequestCount", "Sum", True, words="requests per minute", band="both"),
    },
}


NOTIFY_PATTERN = "^(https://\\S+|[^@\\s]+@[^@\\s]+\\.[a-z]{2,}|\\+[1-9][0-9]{6,14}|topics\\.[a-z][a-z0-9-]*)$"
COMPOSITE_PATTERN = "^[a-z_]+\\.[a-z][a-z0-9-]*\\.[a-z0-9_]+(\\.[a-z]+){0,2}$"
# alarms set per item of these sections
DR_ONLY = ("replica_lag",)  # metrics of what only the DR region has: their alarms are built there
ITEM_KINDS = ("services", "databases", "caches", "queues", "functions", "apis", "rest_apis", "fleets")
KINDS = (*ITEM_KINDS, "load_balancer")  # what a composite's reference may start with


@dataclass(frozen=True)
class Planned:
    """One alarm the spec asks for: a threshold or an anomaly band, of one severity, on one metric of one item."""

    kind: str
    name: str  # the item; for the load balancer, the service or fleet behind it
    metric_key: str
    severity: str
    value: float  # the threshold in spec units, or the band's width in standard deviations
    anomaly: bool
    target: str = ""  # load balancer alarms: the section of what is behind it (services or fleets)

    @property
    def metric(self) -> Metric:
        return METRICS[self.kind][self.metric_key]

    @property
    def reference(self) -> str:
        """How a composite names it: ``load_balancer.web.requests.anomaly.warning``."""
        return ".".join([self.kind, self.name, self.metric_key, *(["anomaly"] if self.anomaly else []), self.severity])

    @property
    def subject(self) -> str:
        """Its item's part of logical IDs: a fleet behind the load balancer is told apart from a service."""
        return f"Fleet{camel(self.name)}" if self.target == "fleets" else camel(self.name)

    @property
    def title(self) -> str:
        anomaly = "Anomaly" if self.anomaly else ""
        return f"Alarm{camel(self.kind)}{self.subject}{camel(self.metric_key)}{anomaly}{camel(self.severity)}"

    @property
    def detector(self) -> str:
        return f"AnomalyDetector{camel(self.kind)}{self.subject}{camel(self.metric_key)}"

    def alarm_name(self, ctx: Context) -> str:
        who = ["fleet", self.name] if self.target == "fleets" else [self.name]
        anomaly = ["anomaly"] if self.anomaly else []
        return ctx.name(self.kind.replace("_", "-"), *who, self.metric_key.replace("_", "-"), *anomaly, self.severity)

    @property
    def path(self) -> Path:
        """Where the spec sets it."""
        item = ("alarms", self.kind) if self.kind == "load_balancer" else ("alarms", self.kind, self.name)
        return (*item, self.metric_key, *(["anomaly"] if self.anomaly else []))

    @property
    def words(self) -> str:
        if self.kind == "load_balancer":
            who = f"load balancer, {'fleet' if self.target == 'fleets' else 'service'} {self.name}"
        else:
            who = f"{self.kind.replace('_', ' ')} {self.name}"
        metric = self.metric
        if self.anomaly:
            side = {"upper": "above", "lower": "below", "both": "outside"}[metric.side]
            return f"{self.severity}: {who} {metric.words} {side} its expected band ({self.value:g} standard deviations)"
        return f"{self.severity}: {who} {metric.words} {'above' if metric.above else 'below'} {self.value:g}"


def _levels(value: Any) -> list[tuple[str, float, bool]]:
    """(severity, threshold or band width, anomaly) of one metric's setting: 80, {warning: 80}, {anomaly: 2}, ..."""
    if not isinstance(value, dict):
        return [("warning", float(value), False)]
    found = [(severity, float(number), False) for severity, number in value.items() if severity != "anomaly"]
    band = value.get("anomaly")
    if band is not None:
        found += [(severity, float(width), True) for severity, width in (band.items() if isinstance(band, dict) else [("warning", band)])]
    return sorted(found)


def planned(alarms: dict[str, Any], spec: Spec, *, declared: bool = True) -> list[Planned]:
    """Every alarm of the spec's thresholds; load balancer thresholds apply to each target behind it. With
    ``declared=False`` also those of items the spec does not declare (which check reports)."""
    items: list[tuple[str, str, dict[str, Any], str]] = [
        (kind, name, metrics, "")
        for kind in ITEM_KINDS
        for name, metrics in sorted(alarms[kind].items())
        if name in spec.get(kind, {}) or not declared
    ]
    if alarms["load_balancer"]:
        items += [("load_balancer", name, alarms["load_balancer"], kind) for kind, name, _ in relations.balanced(spec)]
    return [
        Planned(kind, name, metric_key, severity, value, anomaly, target)
        for kind, name, metrics, target in items
        for metric_key, setting in sorted(metrics.items())
        for severity, value, anomaly in _levels(setting)
    ]


def _hint(word: str, options: list[str]) -> str:
    found = close_match(word, options)
    return f"; did you mean {found}?" if found else ""


def resolve(reference: str, plan: list[Planned]) -> Planned | str:
    """The alarm a composite's reference names, or why it names none."""
    parts = reference.split(".")
    if len(parts) < 3:
        return f"{reference} names no alarm; write {REFERENCE}"
    kind, item, metric_key, *rest = parts
    if kind not in KINDS:
        return f"{reference}: {kind} has no alarms; alarms are set on {', '.join(KINDS)}{_hint(kind, list(KINDS))}"
    of_kind = [p for p in plan if p.kind == kind]
    items = sorted({p.name for p in of_kind})
    if item not in items:
        return f"{reference}: {kind}.{item} has no alarms ({kind} with alarms: {', '.join(items) or 'none'}){_hint(item, items)}"
    of_item = [p for p in of_kind if p.name == item]
    metrics = sorted({p.metric_key for p in of_item})
    if metric_key not in metrics:
        return f"{reference}: {kind}.{item} has no {metric_key} alarm (its alarms: {', '.join(metrics)}){_hint(metric_key, metrics)}"
    anomaly = rest[:1] == ["anomaly"]
    severity = rest[1:] if anomaly else rest
    if len(severity) > 1 or (severity and severity[0] not in SEVERITIES):
        word = severity[-1] if severity else ""
        return f"{reference}: after the metric may come .anomaly, then a severity ({', '.join(SEVERITIES)}){_hint(word, list(SEVERITIES))}"
    matching = [p for p in of_item if p.metric_key == metric_key and p.anomaly == anomaly and severity in ([], [p.severity])]
    if len({p.target for p in matching}) > 1:
        return f"{reference}: services.{item} and fleets.{item} are both behind the load balancer, so this could be either; rename one"
    if not matching:
        have = sorted(p.reference for p in of_item if p.metric_key == metric_key)
        return f"{reference} names no alarm; {kind}.{item}.{metric_key} has {', '.join(have)}"
    if len(matching) > 1:
        return f"{reference} names {len(matching)} alarms; say which: {' or '.join(p.reference for p in matching)}"
    return matching[0]


def quieted(alarms: dict[str, Any], plan: list[Planned]) -> set[str]:
    """Titles of the alarms composites with `children: quiet` are made of: they notify nobody on their own."""
    found = set()
    for composite in alarms["composite"].values():
        if composite["children"] == "quiet":
            found |= {child.title for child in (resolve(ref, plan) for ref in composite["of"]) if isinstance(child, Planned)}
    return found


def _unheard(severity: str) -> str:
    return f"{'an' if severity == 'info' else 'a'} {severity} alarm needs someone in alarms.notify.{severity}"


def check(spec: Spec) -> Iterator[Problem]:
    alarms = spec.get("alarms")
    if not alarms:
        return
    for kind in ITEM_KINDS:
        for name in alarms[kind]:
            if name not in spec.get(kind, {}):
                yield ("alarms", kind, name), f"alarms.{kind}.{name}: there is no {kind}.{name}{_hint(name, list(spec.get(kind, {})))}"
    if alarms["load_balancer"] and not relations.balanced(spec):
        yield ("alarms", "load_balancer"), "load balancer alarms need a service or fleet with a route"
    severities = {s for s in SEVERITIES if alarms["notify"].get(s)}
    for severity in SEVERITIES:
        for index, ref in enumerate(alarms["notify"].get(severity, [])):
            if ref.startswith("topics.") and ref.split(".", 1)[1] not in spec.get("topics", {}):
                yield (
                    ("alarms", "notify", severity, index),
                    f"{ref} does not exist (topics: {', '.join(sorted(spec.get('topics', {}))) or 'none'})",
                )
    plan = planned(alarms, spec)
    quiet = quieted(alarms, plan)
    told: set[tuple[Path, str]] = set()  # a load balancer threshold is one alarm per target: told once
    for alarm in planned(alarms, spec, declared=False):
        problems = []
        if alarm.anomaly and alarm.metric.side == "none":
            problems.append(f"{alarm.metric_key} is held against a fixed minimum; anomaly detection does not apply: give a number")
        elif alarm.severity not in severities and alarm.title not in quiet:
            problems.append(_unheard(alarm.severity))
        for message in problems:
            if (alarm.path, message) not in told:
                told.add((alarm.path, message))
                yield alarm.path, message
    yield from _dr_only_problems(alarms, spec)
    for name, composite in alarms["composite"].items():
        path = ("alarms", "composite", name)
        if composite["severity"] not in severities:
            yield (*path, "severity"), _unheard(composite["severity"])
        for index, reference in enumerate(composite["of"]):
            found = resolve(reference, plan)
            if isinstance(found, str):
                yield (*path, "of", index), found


def _dimensions(kind: str, name: str, ctx: Context, metric: Metric, target: str = "") -> list[cloudwatch.MetricDimension]:
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
    if kind == "rest_apis":
        return [
            cloudwatch.MetricDimension(Name="ApiName", Value=ctx.name(name)),
            cloudwatch.MetricDimension(Name="Stage", Value=ctx.environment),
        ]
    if kind == "fleets":
        return [cloudwatch.MetricDimension(Name="AutoScalingGroupName", Value=ctx.imported("app", f"{fleets.title(name)}GroupName"))]
    if kind == "services":
        return [
            cloudwatch.MetricDimension(Name="ClusterName", Value=ctx.imported("app", "ClusterName")),
            cloudwatch.MetricDimension(Name="ServiceName", Value=ctx.imported("app", f"Service{camel(name)}Name")),
        ]
    if kind == "databases" and ctx.role == "secondary":
        from .standby import standby_identifier  # standby reaches site, which reaches this module

        return [cloudwatch.MetricDimension(Name="DBInstanceIdentifier", Value=standby_identifier(ctx, name))]
    if kind == "databases":
        return [cloudwatch.MetricDimension(Name="DBInstanceIdentifier", Value=ctx.imported("data", f"Database{camel(name)}Id"))]
    if kind == "caches":
        # Replication group metrics are per node; the primary is node 001 of the group.
        return [cloudwatch.MetricDimension(Name="CacheClusterId", Value=f"{ctx.name(name)}-001")]
    # The target group on the load balancer the target sits behind: the public one, or the internal one next to it.
    kind = target or "services"
    balancer = f"{load_balancer.balancer_title(ctx.spec, kind, name)}FullName"
    group = f"{load_balancer.target_group_title(kind, name)}FullName"
    return [
        cloudwatch.MetricDimension(Name="LoadBalancer", Value=ctx.imported("app", balancer)),
        cloudwatch.MetricDimension(Name="TargetGroup", Value=ctx.imported("app", group)),
    ]


def _backup_delivery(ctx: Context, severity: str, topic: sns.Topic) -> list[sns.TopicPolicy]:
    """AWS Backup's job notifications (backups.notify) reach this topic through EventBridge rules, which its policy must
    admit by their ARNs. A topic policy replaces SNS's default one, so CloudWatch's alarms are admitted in it too. Topics
    nobody backs up to keep the default policy (no policy resource), so nothing else changes."""
    admitted = backups.topic_statements(ctx, severity, topic)
    if not admitted:
        return []
    alarms_publish = Statement(
        Sid="AlarmsPublish",
        Effect=Allow,
        Principal=Principal("Service", "cloudwatch.amazonaws.com"),
        Action=[sns_actions.Publish],
        Resource=[Ref(topic)],
        Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
    )
    document = PolicyDocument(Version="2012-10-17", Statement=[alarms_publish, *admitted])
    return [sns.TopicPolicy(f"{topic.title}Policy", Topics=[Ref(topic)], PolicyDocument=document)]


def _subscription_protocol(endpoint: str) -> str:
    if endpoint.startswith("https://"):
        return "https"
    return "sms" if endpoint.startswith("+") else "email"


def build(alarms: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    actions: dict[str, list[Any]] = {}  # severity -> where its alarms go: its own topic, then topics of the spec
    for severity in SEVERITIES:
        named = [ref for ref in alarms["notify"].get(severity, []) if ref.startswith("topics.")]
        actions[severity] = [ctx.imported("data", f"Topic{camel(ref.split('.', 1)[1])}Arn") for ref in sorted(named)]
        subscribers = [endpoint for endpoint in alarms["notify"].get(severity, []) if not endpoint.startswith("topics.")]
        if not subscribers:
            continue
        out.at = ("alarms", "notify", severity)
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
        for policy in _backup_delivery(ctx, severity, topic):
            out.add(policy)
        for index, endpoint in enumerate(subscribers, start=1):
            out.add(
                sns.SubscriptionResource(
                    f"AlarmTopic{camel(severity)}Subscription{index}",
                    TopicArn=Ref(topic),
                    Protocol=_subscription_protocol(endpoint),
                    Endpoint=endpoint,
                )
            )
        out.export(ctx, STACK, f"AlarmTopic{camel(severity)}Arn", Ref(topic), f"SNS topic for {severity} alarms.")
    plan = [alarm for alarm in planned(alarms, ctx.spec) if ctx.role == "secondary" or alarm.metric_key not in DR_ONLY]
    quiet = quieted(alarms, plan)
    for alarm in plan:
        out.at = alarm.path
        metric = alarm.metric
        dimensions = _dimensions(alarm.kind, alarm.name, ctx, metric, alarm.target)
        notified = [] if alarm.title in quiet else actions.get(alarm.severity, [])
        common: dict[str, Any] = {
            "AlarmName": alarm.alarm_name(ctx),
            "AlarmDescription": alarm.words + (" (notifies through the composite alarms it is part of)" if alarm.title in quiet else ""),
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 3,
            "TreatMissingData": metric.missing,
            "AlarmActions": notified,
            "OKActions": notified,
        }
        if not alarm.anomaly:
            out.add(
                cloudwatch.Alarm(
                    alarm.title,
                    Namespace=metric.namespace,
                    MetricName=metric.name,
                    Dimensions=dimensions,
                    Statistic=metric.statistic,
                    Period=PERIOD,
                    Threshold=alarm.value * metric.unit_scale,
                    ComparisonOperator="GreaterThanThreshold" if metric.above else "LessThanThreshold",
                    **common,
                )
            )
            continue
        if alarm.detector not in {resource.title for resource in out.resources}:
            # The model of what the metric usually is, per item and metric; every severity's band is drawn from it.
            out.add(
                cloudwatch.AnomalyDetector(
                    alarm.detector,
                    SingleMetricAnomalyDetector=cloudwatch.SingleMetricAnomalyDetector(
                        Namespace=metric.namespace, MetricName=metric.name, Dimensions=dimensions, Stat=metric.statistic
                    ),
                )
            )
        out.add(
            cloudwatch.Alarm(
                alarm.title,
                # The detector exists first: otherwise the alarm would create its own model, which the stack does not own.
                DependsOn=[alarm.detector],
                Metrics=[
                    cloudwatch.MetricDataQuery(
                        Id="metric",
                        MetricStat=cloudwatch.MetricStat(
                            Metric=cloudwatch.Metric(Namespace=metric.namespace, MetricName=metric.name, Dimensions=dimensions),
                            Period=PERIOD,
                            Stat=metric.statistic,
                        ),
                        ReturnData=True,
                    ),
                    cloudwatch.MetricDataQuery(
                        Id="band",
                        Expression=f"ANOMALY_DETECTION_BAND(metric, {alarm.value:g})",
                        Label=f"expected {metric.words}",
                        ReturnData=True,
                    ),
                ],
                ThresholdMetricId="band",
                ComparisonOperator=metric.anomaly_operator,
                **common,
            )
        )
    joiners = {"any": " OR ", "all": " AND "}
    for name, composite in sorted(alarms["composite"].items()):
        out.at = ("alarms", "composite", name)
        children = [resolve(reference, plan) for reference in composite["of"]]
        titles = list(dict.fromkeys(child.title for child in children if isinstance(child, Planned)))
        severity = composite["severity"]
        # Ref of an alarm is its name: the rule reads the children's names and the composite waits for them.
        rule = joiners[composite["when"]].join(f'ALARM("${{{title}}}")' for title in titles)
        out.add(
            cloudwatch.CompositeAlarm(
                f"AlarmComposite{camel(name)}",
                AlarmName=ctx.name("composite", name),
                AlarmDescription=f"{severity}: " + composite.get("description", f"{composite['when']} of {', '.join(composite['of'])}"),
                AlarmRule=Sub(rule),
                ActionsEnabled=True,
                AlarmActions=actions.get(severity, []),
                OKActions=actions.get(severity, []),
                Tags=ctx.resource_tags(ctx.name("composite", name)),
            )
        )
    out.at = ()
    if alarms["dashboard"]:
        out.add(_dashboard(ctx))
    if alarms["cost_dashboard"]:
        out.add(_cost_dashboard(ctx))
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
            # Container Insights (on for every cluster ivc makes) counts the tasks.
            widget(
                f"service {name}: running and desired tasks",
                [
                    [CONTAINER_INSIGHTS, metric, *dims, {"stat": "Minimum" if metric == "RunningTaskCount" else "Maximum"}]
                    for metric in TASK_COUNTS
                ],
            )
    for name in sorted(spec.get("fleets", {})):
        variables[f"Fleet{camel(name)}"] = ctx.imported("app", f"{fleets.title(name)}GroupName")
        dims = ["AutoScalingGroupName", f"${{Fleet{camel(name)}}}"]
        widget(
            f"fleet {name}: CPU, memory and disk % (fullest instance), instances in service",
            [
                ["AWS/EC2", "CPUUtilization", *dims],
                [fleets.AGENT_NAMESPACE, "mem_used_percent", *dims, {"stat": "Maximum"}],
                [fleets.AGENT_NAMESPACE, "disk_used_percent", *dims, {"stat": "Maximum"}],
                ["AWS/AutoScaling", "GroupInServiceInstances", *dims, {"stat": "Minimum", "yAxis": "right"}],
            ],
        )
    for name in sorted(spec.get("databases", {})):
        # In the DR site, the database is its standby (standby.py), promoted or not.
        source = ("standby", f"Standby{camel(name)}Id") if ctx.role == "secondary" else ("data", f"Database{camel(name)}Id")
        variables[f"Database{camel(name)}"] = ctx.imported(*source)
        dims = ["DBInstanceIdentifier", f"${{Database{camel(name)}}}"]
        widget(f"database {name}: CPU % and connections", [["AWS/RDS", "CPUUtilization", *dims], ["AWS/RDS", "DatabaseConnections", *dims]])
        widget(f"database {name}: read and write IOPS", [["AWS/RDS", "ReadIOPS", *dims], ["AWS/RDS", "WriteIOPS", *dims]])
        widget(f"database {name}: read and write latency (s)", [["AWS/RDS", "ReadLatency", *dims], ["AWS/RDS", "WriteLatency", *dims]])
    for name in sorted(spec.get("caches", {})):
        dims = ["CacheClusterId", f"{ctx.name(name)}-001"]
        widget(
            f"cache {name}: engine CPU and memory %",
            [["AWS/ElastiCache", "EngineCPUUtilization", *dims], ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", *dims]],
        )
        widget(
            f"cache {name}: connections and hit rate %",
            [
                ["AWS/ElastiCache", "CurrConnections", *dims, {"stat": "Maximum"}],
                ["AWS/ElastiCache", "CacheHitRate", *dims, {"yAxis": "right"}],
            ],
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
    for name in sorted(spec.get("rest_apis", {})):
        dims = ["ApiName", ctx.name(name), "Stage", ctx.environment]
        widget(
            f"REST API {name}: requests, 4xx, 5xx, latency (ms)",
            [
                ["AWS/ApiGateway", "Count", *dims, {"stat": "Sum"}],
                ["AWS/ApiGateway", "4XXError", *dims, {"stat": "Sum"}],
                ["AWS/ApiGateway", "5XXError", *dims, {"stat": "Sum"}],
                ["AWS/ApiGateway", "Latency", *dims, {"yAxis": "right"}],
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
    for balancer in balancers.balancers(spec):
        variables[balancer.title] = ctx.imported("app", f"{balancer.title}FullName")
        dims = ["LoadBalancer", f"${{{balancer.title}}}"]
        widget(
            f"{balancer.words.removeprefix('the ')}: requests and target 5xx",
            [
                ["AWS/ApplicationELB", "RequestCount", *dims, {"stat": "Sum"}],
                ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *dims, {"stat": "Sum"}],
            ],
        )
    for kind, name, _ in relations.balanced(spec):
        front = load_balancer.balancer_title(spec, kind, name)
        group = load_balancer.target_group_title(kind, name)
        variables.setdefault(front, ctx.imported("app", f"{front}FullName"))
        variables[f"{group}FullName"] = ctx.imported("app", f"{group}FullName")
        dims = ["TargetGroup", f"${{{group}FullName}}", "LoadBalancer", f"${{{front}}}"]
        widget(
            f"{kind[:-1]} {name} behind the load balancer: healthy and unhealthy targets, response time (s)",
            [
                ["AWS/ApplicationELB", "HealthyHostCount", *dims, {"stat": "Minimum"}],
                ["AWS/ApplicationELB", "UnHealthyHostCount", *dims, {"stat": "Maximum"}],
                ["AWS/ApplicationELB", "TargetResponseTime", *dims, {"yAxis": "right"}],
            ],
        )
    body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
    return cloudwatch.Dashboard("Dashboard", DashboardName=ctx.name(), DashboardBody=Sub(body, **variables) if variables else Sub(body))


def _cost_dashboard(ctx: Context) -> cloudwatch.Dashboard:
    """Estimated charges: the account's total and per AWS service. Billing metrics exist only in us-east-1, only once
    the account's billing alerts are on, every few hours, and for the whole account (never one environment)."""
    period = 6 * 3600

    def widget(index: int, title: str, metrics: list[list[Any]]) -> dict[str, Any]:
        properties = {"title": title, "region": BILLING_REGION, "stat": "Maximum", "period": period, "view": "timeSeries"}
        return {"type": "metric", "width": 12, "height": 6, "x": index * 12, "y": 0, "properties": {**properties, "metrics": metrics}}

    by_service = f"SEARCH('{{AWS/Billing,Currency,ServiceName}} MetricName=\"EstimatedCharges\" Currency=\"USD\"', 'Maximum', {period})"
    widgets = [
        widget(0, "estimated charges this month, USD (whole account)", [["AWS/Billing", "EstimatedCharges", "Currency", "USD"]]),
        widget(1, "estimated charges by AWS service, USD (whole account)", [[{"expression": by_service, "id": "services"}]]),
    ]
    body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
    return cloudwatch.Dashboard("DashboardCost", DashboardName=ctx.name("cost"), DashboardBody=body)


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_SIDES = {
    "upper": "With anomaly, above its expected band.",
    "lower": "With anomaly, below its expected band.",
    "both": "With anomaly, outside its expected band either way (a surge or a drop).",
    "none": "Held against a fixed number: no anomaly detection.",
}


def _metric_description(metric: Metric) -> str:
    return f"{metric.words[:1].upper()}{metric.words[1:]} {'above' if metric.above else 'below'}. {_SIDES[metric.side]}"


def _dr_only_problems(alarms: dict[str, Any], spec: Spec) -> Iterator[Problem]:
    """A DR replica's lag is watched from the DR site: the database needs `dr_replica`, and something standing by must
    use it (the DR site's alarms watch what it has)."""
    from .site import runs, site_spec  # site reaches balancers, which reach this module

    for name, metrics in alarms["databases"].items():
        if "replica_lag" not in metrics or name not in spec.get("databases", {}):
            continue
        at = ("alarms", "databases", name, "replica_lag")
        if "dr_replica" not in spec["databases"][name]:
            yield at, f"replica_lag watches databases.{name}'s DR replica, which it does not have: add databases.{name}.dr_replica"
        elif not runs(spec):
            yield at, "replica_lag is raised by the DR site's alarms, in the DR region: stand something by there (recovery.standby)"
        elif name not in (site_spec(spec) or {}).get("databases", {}):
            yield (
                at,
                f"replica_lag is raised by the DR site's alarms, which watch what its standbys use, and nothing standing by uses "
                f"databases.{name}",
            )
    for name, composite in alarms["composite"].items():
        for index, reference in enumerate(composite["of"]):
            parts = reference.split(".")
            if parts[0] == "databases" and len(parts) > 2 and parts[2] in DR_ONLY:
                yield ("alarms", "composite", name, "of", index), "replica_lag alarms live in the DR region: a composite cannot join them"


def _item_thresholds(kind: str, description: str, noun: str) -> dict[str, Any]:
    """The schema of `alarms.<kind>`: per item, a threshold for each metric of that kind."""
    return {
        "description": description,
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                key: {"$ref": "#/$defs/threshold", "description": _metric_description(metric)} for key, metric in METRICS[kind].items()
            },
            "description": f"A {noun}'s thresholds.",
        },
        "default": {},
    }


def _by_severity(what: str, minimum: dict[str, Any]) -> dict[str, Any]:
    return {
        severity: {"description": f"{what} for {article} {severity} alarm.", "type": "number", **minimum}
        for severity, article in (
            ("critical", "a"),
            ("warning", "a"),
            ("info", "an"),
        )
    }


def _notify(severity: str) -> dict[str, Any]:
    return {
        "description": f"Who hears about {severity} alarms.",
        "type": "array",
        "items": {"type": "string", "pattern": NOTIFY_PATTERN},
        "uniqueItems": True,
        "default": [],
    }


PROPERTIES: dict[str, Any] = {
    "alarms": {
        "$ref": "#/$defs/alarms",
        "description": "CloudWatch alarms (thresholds, anomaly bands, composites), routed by severity to SNS topics.",
    }
}
DEFS: dict[str, Any] = {
    # One schema for both forms (a number, or a mapping by severity) rather than oneOf: a mistake inside the mapping is
    # then told as itself (an unknown severity, a band of 0), never as "not one of two forms".
    "threshold": {
        "type": ["number", "object"],
        "minimum": 0,
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            **_by_severity("Threshold", {"minimum": 0}),
            "anomaly": {
                "$ref": "#/$defs/anomalyBand",
                "description": "Anomaly detection: the band's width in standard deviations (a warning), or widths by severity.",
            },
        },
        "description": "A threshold (a warning), thresholds by severity such as {warning: 80, critical: 95}, and anomaly "
        "detection: {anomaly: 2} or {anomaly: {warning: 2, critical: 3}}.",
        "examples": [80, {"warning": 80, "critical": 95}, {"anomaly": 2}, {"critical": 95, "anomaly": {"warning": 2}}],
    },
    "anomalyBand": {
        "type": ["number", "object"],
        "exclusiveMinimum": 0,
        "maximum": 100,
        "additionalProperties": False,
        "minProperties": 1,
        "properties": _by_severity("The band's width in standard deviations", {"exclusiveMinimum": 0, "maximum": 100}),
        "description": "Alarm when the metric leaves the band CloudWatch's anomaly detection expects it in, this many standard "
        "deviations wide (2 is usual; wider is calmer): a number is a warning, or widths by severity such as "
        "{warning: 2, critical: 4}. The model learns from the metric's history (two weeks for a full weekly pattern); "
        "until it has enough, the band is wide and the alarm rarely fires.",
        "examples": [2, {"warning": 2, "critical": 4}],
    },
    "compositeAlarm": {
        "description": "One alarm over others of this spec: in alarm when any (or all) of them are.",
        "type": "object",
        "additionalProperties": False,
        "required": ["of"],
        "properties": {
            "severity": {"description": "Whom it notifies (alarms.notify.<severity>).", "enum": list(SEVERITIES), "default": "critical"},
            "when": {
                "description": "any: in alarm when one of its alarms is (OR); all: only when every one is (AND).",
                "enum": ["any", "all"],
                "default": "any",
            },
            "of": {
                "description": f"Its alarms, as {REFERENCE}: load_balancer.web.healthy_below (the target web behind the load "
                "balancer), databases.main.cpu.critical, load_balancer.web.requests.anomaly. The severity may be left out when "
                "the metric has one alarm.",
                "type": "array",
                "items": {"type": "string", "pattern": COMPOSITE_PATTERN},
                "minItems": 1,
                "maxItems": 100,
                "uniqueItems": True,
            },
            "children": {
                "description": "notify: its alarms still notify their own severity. quiet: they notify nobody on their own "
                "(they keep their state, which this alarm reads), so an incident pages once, through this alarm.",
                "enum": ["notify", "quiet"],
                "default": "notify",
            },
            "description": {"description": "What it means, for whoever it pages.", "type": "string", "minLength": 1, "maxLength": 1000},
        },
        "examples": [{"severity": "critical", "of": ["load_balancer.web.healthy_below", "databases.main.free_storage_gb"]}],
    },
    "alarms": {
        "description": "Thresholds, anomaly bands and composites that raise CloudWatch alarms, and who hears about them.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "notify": {
                "description": "Who hears of alarms, per severity: e-mail addresses, HTTPS endpoints (such as a PagerDuty "
                "integration URL), phone numbers in E.164 form for SMS (quoted: '+15551234567'), or topics of this spec "
                "(topics.<name>, delivering to their own subscribers).",
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": {severity: _notify(severity) for severity in SEVERITIES},
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
            "apis": _item_thresholds("apis", "Per HTTP API: 5xx and 4xx responses and requests per minute, average latency.", "API"),
            "rest_apis": _item_thresholds(
                "rest_apis", "Per REST API (its stage): 5xx and 4xx responses and requests per minute, average latency.", "REST API"
            ),
            "fleets": _item_thresholds(
                "fleets",
                "Per fleet (its Auto Scaling group): average CPU percent, memory and root disk percent used on the fullest "
                "instance (from the CloudWatch agent), instances in service below a minimum.",
                "fleet",
            ),
            "load_balancer": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    key: {"$ref": "#/$defs/threshold", "description": _metric_description(metric)}
                    for key, metric in METRICS["load_balancer"].items()
                },
                "description": "Load balancer thresholds, each an alarm per target behind it (every service and fleet with a "
                "route, on its target group).",
                "default": {},
            },
            "events": {
                "$ref": "#/$defs/alarmEvents",
                "description": "Operational events (deployments, task failures, scaling, backups) to a severity's subscribers.",
            },
            "composite": {
                "description": "Composite alarms by name: one alarm over others of this spec, such as `site-down` when the "
                "web targets are unhealthy or the database is out of storage.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": {"$ref": "#/$defs/compositeAlarm"},
                "default": {},
            },
            "dashboard": {
                "description": "Create a CloudWatch dashboard of the environment's services (CPU, memory, running and desired "
                "tasks), fleets, databases (CPU, connections, IOPS, latency), caches (CPU, memory, connections, hit rate), queues, "
                "functions, APIs and load balancer (requests, 5xx, healthy and unhealthy targets, response time per target).",
                "type": "boolean",
                "default": True,
            },
            "cost_dashboard": {
                "description": "Create a second dashboard, <system>-<environment>-cost, of the account's estimated charges, in "
                "total and per AWS service. Billing metrics live in us-east-1 only, appear only once billing alerts are turned "
                "on in the account's billing preferences, and cover the whole account, not one environment.",
                "type": "boolean",
                "default": False,
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "alarms": {"description": "Changes to alarms in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("alarms", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, site=True)
