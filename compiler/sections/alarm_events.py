"""Operational events: what AWS reports on the default event bus, sent to a severity's alarm topic.

`alarms.events: {deployments: info, task_failures: warning, scaling: info, backups: info}` makes one EventBridge rule
per kind on the account's default bus (monitoring stack, beside the alarm topics), its pattern scoped to this
environment's cluster or databases, delivering the event to the topic of that severity (`alarms.notify.<severity>`):

- deployments: an ECS service deployment completed (ECS Deployment State Change, SERVICE_DEPLOYMENT_COMPLETED);
- deployment_failures: one failed (SERVICE_DEPLOYMENT_FAILED: sent by the deployment circuit breaker, which every
  service ivc makes has on, rolling back);
- task_failures: a service's task stopped because its essential container exited, it failed to start, or it failed its
  container or load balancer health checks (ECS Task State Change, STOPPED);
- scaling: ECS changed a service's desired count (ECS Service Action SERVICE_DESIRED_COUNT_UPDATED, sent when service
  auto scaling moves it, never for a change by hand), and Application Auto Scaling reached a service's maximum;
- backups: RDS finished a database's automated backup (RDS-EVENT-0002).

The topics are encrypted with the environment key: the key lets EventBridge use it (keys.py), and each topic that
receives events gets a policy admitting exactly the rules that deliver to it, by aws:SourceArn, beside CloudWatch's
alarms (this account) and a refusal of publishing without TLS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import sns as sns_actions
from awacs.aws import Allow, ArnEquals, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Ref, Sub, events, sns

from ..context import Context, Fragment, camel
from .base import Problem, Section, Spec, deny_insecure_transport

STACK = "monitoring"
SEVERITIES = ("critical", "warning", "info")

# kind -> (what it needs in the spec, words for the rule's description)
KINDS: dict[str, tuple[str, str]] = {
    "deployments": ("services", "an ECS service deployment completed"),
    "deployment_failures": ("services", "an ECS service deployment failed"),
    "task_failures": ("services", "a service's task stopped: its essential container exited, it failed to start or failed health checks"),
    "scaling": ("services", "service auto scaling changed a desired count, or reached a service's maximum"),
    "backups": ("databases", "RDS finished a database's automated backup"),
}


def events_of(spec: Spec) -> dict[str, str]:
    """kind -> severity of the operational events the spec sends, or {}."""
    return dict((spec.get("alarms") or {}).get("events") or {})


def topic_title(severity: str) -> str:
    """The alarm topic of a severity, built by alarms.py in the same stack."""
    return f"AlarmTopic{camel(severity)}"


def rule_title(kind: str) -> str:
    return f"EventRule{camel(kind)}"


def _has_topic(spec: Spec, severity: str) -> bool:
    """Whether alarms.py makes the severity's own topic: it has a subscriber that is not a topic of the spec."""
    return any(not ref.startswith("topics.") for ref in spec["alarms"]["notify"].get(severity, []))


def check(spec: Spec) -> Iterator[Problem]:
    for kind, severity in events_of(spec).items():
        where = ("alarms", "events", kind)
        needs, _ = KINDS[kind]
        if not spec.get(needs):
            yield where, f"alarms.events.{kind} reports on {needs}, and the spec has none"
        elif not _has_topic(spec, severity):
            yield (
                where,
                (
                    f"alarms.events.{kind} goes to the {severity} alarm topic, which needs an e-mail, HTTPS or SMS subscriber "
                    f"in alarms.notify.{severity}"
                ),
            )


def _pattern(kind: str, ctx: Context) -> dict[str, Any]:
    """The rule's event pattern, scoped to this environment's cluster (services) or databases."""
    cluster = ctx.imported("app", "ClusterName")
    cluster_arn = Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:cluster/${Cluster}", Cluster=cluster)
    # Deployment and service action events name the service in `resources` (arn:...:service/<cluster>/<service>) only.
    services = [{"prefix": Sub("arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/${Cluster}/", Cluster=cluster)}]
    if kind in ("deployments", "deployment_failures"):
        name = "SERVICE_DEPLOYMENT_COMPLETED" if kind == "deployments" else "SERVICE_DEPLOYMENT_FAILED"
        return {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Deployment State Change"],
            "resources": services,
            "detail": {"eventName": [name]},
        }
    if kind == "task_failures":
        # Only tasks of services (group service:<name>): a scheduled one-off task ends with EssentialContainerExited too.
        return {
            "source": ["aws.ecs"],
            "detail-type": ["ECS Task State Change"],
            "detail": {
                "clusterArn": [cluster_arn],
                "group": [{"prefix": "service:"}],
                "lastStatus": ["STOPPED"],
                "$or": [
                    {"stopCode": ["EssentialContainerExited", "TaskFailedToStart"]},
                    {"stoppedReason": [{"prefix": "Task failed"}]},  # "Task failed container health checks", "... ELB health checks"
                ],
            },
        }
    if kind == "scaling":
        return {
            "$or": [
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Service Action"],
                    "resources": services,
                    "detail": {"eventName": ["SERVICE_DESIRED_COUNT_UPDATED"]},
                },
                {
                    "source": ["aws.application-autoscaling"],
                    "detail-type": ["Application Auto Scaling Scaling Activity State Change"],
                    "detail": {
                        "serviceNamespace": ["ecs"],
                        "resourceId": [{"prefix": Sub("service/${Cluster}/", Cluster=cluster)}],
                    },
                },
            ]
        }
    databases = [
        Sub(
            "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:${Database}",
            Database=ctx.imported("data", f"Database{camel(name)}Id"),
        )
        for name in sorted(ctx.spec["databases"])
    ]
    return {
        "source": ["aws.rds"],
        "detail-type": ["RDS DB Instance Event"],
        "resources": databases,
        "detail": {"EventID": ["RDS-EVENT-0002"]},  # "Finished DB instance backup"
    }


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    rules: dict[str, list[Any]] = {}  # severity -> ARNs of the rules that deliver to its topic
    for kind, severity in sorted(events_of(spec).items()):
        out.at = ("alarms", "events", kind)
        rule = out.add(
            events.Rule(
                rule_title(kind),
                Name=ctx.name("events", kind.replace("_", "-")),
                Description=f"{ctx.name()}: {KINDS[kind][1]}; to the {severity} alarm topic",
                EventPattern=_pattern(kind, ctx),
                State="ENABLED",
                Targets=[
                    # EventBridge retries a failed delivery for 24 hours (its default).
                    events.Target(Id=f"alarms-{severity}", Arn=Ref(topic_title(severity)))
                ],
            )
        )
        rules.setdefault(severity, []).append(GetAtt(rule, "Arn"))
    for severity, arns in sorted(rules.items()):
        out.at = ("alarms", "notify", severity)
        topic = Ref(topic_title(severity))
        out.add(
            sns.TopicPolicy(
                f"{topic_title(severity)}Policy",
                Topics=[topic],
                PolicyDocument=PolicyDocument(
                    Version="2012-10-17",
                    Statement=[
                        deny_insecure_transport([sns_actions.Publish], [topic]),
                        Statement(
                            Sid="AlarmsPublish",
                            Effect=Allow,
                            Principal=Principal("Service", "cloudwatch.amazonaws.com"),
                            Action=[sns_actions.Publish],
                            Resource=[topic],
                            Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
                        ),
                        Statement(
                            Sid="EventRulesPublish",
                            Effect=Allow,
                            Principal=Principal("Service", "events.amazonaws.com"),
                            Action=[sns_actions.Publish],
                            Resource=[topic],
                            Condition=Condition(ArnEquals({"aws:SourceArn": arns})),
                        ),
                    ],
                ),
            )
        )
    return out


# --- this section's piece of the spec language: alarms.events, referred to from alarms' own schema ---

DEFS: dict[str, Any] = {
    "alarmEvents": {
        "description": "Operational events AWS reports, each sent to the alarm topic of a severity (alarms.notify.<severity> "
        "must have an e-mail, HTTPS or SMS subscriber): one EventBridge rule per kind on the default bus, scoped to this "
        "environment.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            kind: {"description": f"When {words}: the severity whose subscribers hear of it.", "enum": list(SEVERITIES)}
            for kind, (_, words) in KINDS.items()
        },
        "default": {},
        "examples": [{"deployments": "info", "task_failures": "warning", "scaling": "info", "backups": "info"}],
    }
}


def needed(spec: Spec) -> bool:
    return bool(events_of(spec))


SECTION = Section("alarm-events", defs=DEFS, check=check, build=build, stack=STACK, needed=needed, whole_spec=True)
