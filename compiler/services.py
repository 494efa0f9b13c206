"""Services: ECS Fargate tasks and services, the public load balancer in front of routed ones, and autoscaling.

A service's permissions come only from its `uses:` and `secrets:`: the execution
role may read exactly the secrets injected into it and pull exactly its ECR
repository; the task role may touch exactly the buckets it uses, in the modes it
says. Connection settings for what it uses arrive as environment variables.
"""

from __future__ import annotations

from typing import Any

from awacs import ecr as ecr_actions
from awacs import kms as kms_actions
from awacs import logs as logs_actions
from awacs import s3 as s3_actions
from awacs import secretsmanager as secrets_actions
from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, applicationautoscaling, ecs, iam
from troposphere import elasticloadbalancingv2 as elb

from . import network, relations, security
from .context import Context, Fragment, camel
from .databases import default_db_name
from .logs import log_group as log_group_for
from .secrets import key_arn, secret_logical_id

STACK = "app"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def env_name(*parts: str) -> str:
    """``("database", "main", "host")`` -> ``DATABASE_MAIN_HOST``."""
    return "_".join(part.upper().replace("-", "_") for part in parts)


def image_uri(image: str) -> Any:
    """`ecr:<repository>:<tag>` is this account's ECR in this region; anything else is used as written."""
    if image.startswith("ecr:"):
        repository = image[len("ecr:") :]
        return Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository}")
    return image


def build(services: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    cluster = out.add(
        ecs.Cluster(
            "Cluster",
            ClusterName=ctx.name(),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
            Tags=ctx.resource_tags(ctx.name()),
        )
    )
    out.export(ctx, STACK, "ClusterName", Ref(cluster), "Name of the ECS cluster.")
    target_groups, listeners = _load_balancer(spec, ctx, out)
    for name, service in sorted(services.items()):
        _service(name, service, ctx, out, cluster, target_groups.get(name), listeners)
    return out


def _load_balancer(spec: dict[str, Any], ctx: Context, out: Fragment) -> tuple[dict[str, elb.TargetGroup], list[str]]:
    routed = relations.routed(spec)
    if not routed:
        return {}, []
    settings = spec["load_balancer"]
    balancer = out.add(
        elb.LoadBalancer(
            "LoadBalancer",
            Type="application",
            Scheme="internet-facing",
            Subnets=network.subnet_ids(ctx, network.PUBLIC_TIER),
            SecurityGroups=[security.imported(ctx, "load-balancer")],
            LoadBalancerAttributes=[
                elb.LoadBalancerAttributes(Key="idle_timeout.timeout_seconds", Value=str(settings["idle_timeout"])),
                elb.LoadBalancerAttributes(Key="deletion_protection.enabled", Value=str(settings["deletion_protection"]).lower()),
                elb.LoadBalancerAttributes(Key="routing.http.drop_invalid_header_fields.enabled", Value="true"),
            ],
            Tags=ctx.resource_tags(ctx.name("alb")),
        )
    )
    out.export(ctx, STACK, "LoadBalancerDnsName", GetAtt(balancer, "DNSName"), "DNS name of the public load balancer.")
    out.export(
        ctx, STACK, "LoadBalancerFullName", GetAtt(balancer, "LoadBalancerFullName"), "Full name (for metrics) of the load balancer."
    )
    groups: dict[str, elb.TargetGroup] = {}
    for name, service in sorted(routed.items()):
        route = service["route"]
        attributes = [elb.TargetGroupAttribute(Key="deregistration_delay.timeout_seconds", Value=str(route["deregistration_delay"]))]
        if route["stickiness"]:
            attributes += [
                elb.TargetGroupAttribute(Key="stickiness.enabled", Value="true"),
                elb.TargetGroupAttribute(Key="stickiness.type", Value="lb_cookie"),
                elb.TargetGroupAttribute(Key="stickiness.lb_cookie.duration_seconds", Value=str(route["stickiness"])),
            ]
        groups[name] = out.add(
            elb.TargetGroup(
                f"Service{camel(name)}TargetGroup",
                TargetType="ip",
                Protocol="HTTP",
                Port=service["port"],
                VpcId=ctx.imported(network.STACK, "VpcId"),
                HealthCheckPath=route["health"],
                HealthCheckIntervalSeconds=30,
                HealthyThresholdCount=2,
                UnhealthyThresholdCount=3,
                Matcher=elb.Matcher(HttpCode="200-399"),
                TargetGroupAttributes=attributes,
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        out.export(
            ctx,
            STACK,
            f"Service{camel(name)}TargetGroupFullName",
            GetAtt(groups[name], "TargetGroupFullName"),
            f"Full name (for metrics) of service {name}'s target group.",
        )
    default = next((name for name, s in sorted(routed.items()) if s["route"]["path"] == "/"), None)
    if default:
        default_action = elb.Action(Type="forward", TargetGroupArn=Ref(groups[default]))
    else:
        default_action = elb.Action(Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(StatusCode="404"))
    certificate = settings.get("certificate")
    if certificate:
        out.add(
            elb.Listener(
                "LoadBalancerHttpListener",
                LoadBalancerArn=Ref(balancer),
                Port=80,
                Protocol="HTTP",
                DefaultActions=[
                    elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(Protocol="HTTPS", Port="443", StatusCode="HTTP_301"))
                ],
            )
        )
        main = out.add(
            elb.Listener(
                "LoadBalancerHttpsListener",
                LoadBalancerArn=Ref(balancer),
                Port=443,
                Protocol="HTTPS",
                SslPolicy=TLS_POLICY,
                Certificates=[elb.Certificate(CertificateArn=certificate)],
                DefaultActions=[default_action],
            )
        )
    else:
        main = out.add(
            elb.Listener(
                "LoadBalancerHttpListener", LoadBalancerArn=Ref(balancer), Port=80, Protocol="HTTP", DefaultActions=[default_action]
            )
        )
    for index, (name, service) in enumerate(sorted(routed.items()), start=1):
        if name == default:
            continue
        out.add(
            elb.ListenerRule(
                f"Service{camel(name)}ListenerRule",
                ListenerArn=Ref(main),
                Priority=service["route"].get("priority", index * 10),
                Conditions=[
                    elb.Condition(Field="path-pattern", PathPatternConfig=elb.PathPatternConfig(Values=[service["route"]["path"]]))
                ],
                Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=Ref(groups[name]))],
            )
        )
    return groups, [main.title]


def _connections(service: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Environment variables, injected secrets (variable -> valueFrom) and readable secret ARNs from `uses:` and `secrets:`."""
    spec = ctx.spec
    variables: dict[str, Any] = {
        key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in service["environment"].items()
    }
    injected: dict[str, Any] = {}
    readable: list[Any] = []
    for use in relations.uses(service):
        if use.kind == "databases":
            prefix = f"Database{camel(use.name)}"
            secret = ctx.imported("data", f"{prefix}SecretArn")
            variables[env_name("database", use.name, "host")] = ctx.imported("data", f"{prefix}Address")
            variables[env_name("database", use.name, "port")] = ctx.imported("data", f"{prefix}Port")
            variables[env_name("database", use.name, "name")] = spec["databases"][use.name].get("name", default_db_name(ctx))
            injected[env_name("database", use.name, "user")] = Join("", [secret, ":username::"])
            injected[env_name("database", use.name, "password")] = Join("", [secret, ":password::"])
            readable.append(secret)
        elif use.kind == "caches":
            prefix = f"Cache{camel(use.name)}"
            secret = ctx.imported("data", f"{prefix}AuthTokenArn")
            variables[env_name("cache", use.name, "host")] = ctx.imported("data", f"{prefix}Address")
            variables[env_name("cache", use.name, "port")] = ctx.imported("data", f"{prefix}Port")
            variables[env_name("cache", use.name, "tls")] = "true"
            injected[env_name("cache", use.name, "auth_token")] = secret
            readable.append(secret)
        elif use.kind == "buckets":
            variables[env_name("bucket", use.name)] = ctx.imported("data", f"Bucket{camel(use.name)}Name")
        elif use.kind == "secrets":
            secret = ctx.imported("data", f"{secret_logical_id(use.name)}Arn")
            injected[env_name(use.name)] = secret
            readable.append(secret)
    for variable, ref in service["secrets"].items():
        secret = ctx.imported("data", f"{secret_logical_id(ref.split('.', 1)[1])}Arn")
        injected[variable] = secret
        readable.append(secret)
    return dict(sorted(variables.items())), dict(sorted(injected.items())), readable


def _trust() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "ecs-tasks.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")})),
            )
        ],
    )


def _role(title: str, purpose: str, policy: str, statements: list[Statement], ctx: Context, name: str, kind: str) -> iam.Role:
    """A role ECS tasks of this account assume, with one inline policy."""
    return iam.Role(
        title,
        Description=f"{ctx.name(name)}: {purpose}",
        AssumeRolePolicyDocument=_trust(),
        Tags=ctx.resource_tags(ctx.name(name, kind)),
        Policies=[iam.Policy(PolicyName=policy, PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
    )


def _task_statements(service: dict[str, Any], ctx: Context) -> list[Statement]:
    statements = []
    for use in relations.uses(service):
        if use.kind != "buckets":
            continue
        arn = ctx.imported("data", f"Bucket{camel(use.name)}Arn")
        objects = Join("", [arn, "/*"])
        actions = ([s3_actions.GetObject] if use.reads else []) + (
            [s3_actions.PutObject, s3_actions.DeleteObject, s3_actions.AbortMultipartUpload] if use.writes else []
        )
        statements.append(
            Statement(Sid=f"{camel(use.access)}Bucket{camel(use.name)}Objects", Effect=Allow, Action=actions, Resource=[objects])
        )
        if use.reads:
            statements.append(Statement(Sid=f"ListBucket{camel(use.name)}", Effect=Allow, Action=[s3_actions.ListBucket], Resource=[arn]))
        if ctx.spec["buckets"][use.name]["encryption"] == "kms":
            statements.append(
                Statement(
                    Sid=f"KeyForBucket{camel(use.name)}",
                    Effect=Allow,
                    Resource=[key_arn(ctx, False)],
                    Action=[kms_actions.Decrypt] + ([kms_actions.GenerateDataKey] if use.writes else []),
                )
            )
    return statements


def _service(
    name: str,
    service: dict[str, Any],
    ctx: Context,
    out: Fragment,
    cluster: ecs.Cluster,
    target_group: elb.TargetGroup | None,
    listeners: list[str],
) -> None:
    title = f"Service{camel(name)}"
    log_group = out.add(log_group_for(f"{title}LogGroup", ctx.log_group_name("services", name), ctx, name, STACK))
    variables, injected, readable = _connections(service, ctx)
    execution = [
        Statement(
            Sid="WriteOwnLogs",
            Effect=Allow,
            Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents],
            Resource=[GetAtt(log_group, "Arn")],
        )
    ]
    if service["image"].startswith("ecr:"):
        repository = service["image"][len("ecr:") :].split(":")[0].split("@")[0]
        execution += [
            Statement(Sid="EcrLogin", Effect=Allow, Action=[ecr_actions.GetAuthorizationToken], Resource=["*"]),
            Statement(
                Sid="PullOwnImage",
                Effect=Allow,
                Resource=[Sub(f"arn:${{AWS::Partition}}:ecr:${{AWS::Region}}:${{AWS::AccountId}}:repository/{repository}")],
                Action=[ecr_actions.BatchCheckLayerAvailability, ecr_actions.GetDownloadUrlForLayer, ecr_actions.BatchGetImage],
            ),
        ]
    if readable:
        unique = list({str(r.to_dict()): r for r in readable}.values())
        execution += [
            Statement(Sid="ReadInjectedSecrets", Effect=Allow, Action=[secrets_actions.GetSecretValue], Resource=unique),
            Statement(Sid="DecryptInjectedSecrets", Effect=Allow, Action=[kms_actions.Decrypt], Resource=[key_arn(ctx, False)]),
        ]
    execution_role = out.add(
        _role(f"{title}ExecutionRole", "ECS pulls the image, writes logs, injects secrets", "start-task", execution, ctx, name, "execution")
    )
    task_definition: dict[str, Any] = {}
    statements = _task_statements(service, ctx)
    if statements:
        task_role = out.add(
            _role(f"{title}TaskRole", "what the application itself may do, from its uses", "uses", statements, ctx, name, "task")
        )
        task_definition["TaskRoleArn"] = GetAtt(task_role, "Arn")
    container: dict[str, Any] = {
        "Name": name,
        "Image": image_uri(service["image"]),
        "Essential": True,
        "Environment": [ecs.Environment(Name=k, Value=v) for k, v in variables.items()],
        "Secrets": [ecs.Secret(Name=k, ValueFrom=v) for k, v in injected.items()],
        "LogConfiguration": ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={"awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": name},
        ),
    }
    if "command" in service:
        container["Command"] = service["command"]
    if "port" in service:
        container["PortMappings"] = [ecs.PortMapping(ContainerPort=service["port"], Protocol="tcp")]
    if "health" in service:
        health = service["health"]
        container["HealthCheck"] = ecs.HealthCheck(
            Command=["CMD-SHELL", health["command"]],
            Interval=health["interval"],
            Retries=health["retries"],
            StartPeriod=health["start_period"],
            Timeout=5,
        )
    definition = out.add(
        ecs.TaskDefinition(
            f"{title}TaskDefinition",
            Family=ctx.name(name),
            Cpu=str(service["size"]["cpu"]),
            Memory=str(service["size"]["memory"]),
            NetworkMode="awsvpc",
            RequiresCompatibilities=["FARGATE"],
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            RuntimePlatform=ecs.RuntimePlatform(CpuArchitecture="ARM64" if service["arm"] else "X86_64", OperatingSystemFamily="LINUX"),
            ContainerDefinitions=[ecs.ContainerDefinition(**container)],
            Tags=ctx.resource_tags(ctx.name(name)),
            **task_definition,
        )
    )
    properties: dict[str, Any] = {
        "Cluster": Ref(cluster),
        "TaskDefinition": Ref(definition),
        "DesiredCount": service["count"],
        "LaunchType": "FARGATE",
        "DeploymentConfiguration": ecs.DeploymentConfiguration(
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True), MaximumPercent=200, MinimumHealthyPercent=100
        ),
        "NetworkConfiguration": ecs.NetworkConfiguration(
            AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                AssignPublicIp="DISABLED",
                SecurityGroups=[security.imported(ctx, "service", name)],
                Subnets=network.subnet_ids(ctx, network.app_tier(ctx.spec["network"])),
            )
        ),
        "PropagateTags": "SERVICE",
        "EnableECSManagedTags": True,
        "Tags": ctx.resource_tags(ctx.name(name)),
    }
    if target_group is not None:
        properties["LoadBalancers"] = [
            ecs.LoadBalancer(ContainerName=name, ContainerPort=service["port"], TargetGroupArn=Ref(target_group))
        ]
        properties["HealthCheckGracePeriodSeconds"] = 60
        properties["DependsOn"] = listeners
    resource = out.add(ecs.Service(title, **properties))
    out.export(ctx, STACK, f"{title}Name", GetAtt(resource, "Name"), f"Name of ECS service {name}.")
    if "scale" in service:
        _autoscaling(name, service, ctx, out, cluster, resource, target_group)


def _autoscaling(
    name: str,
    service: dict[str, Any],
    ctx: Context,
    out: Fragment,
    cluster: ecs.Cluster,
    resource: ecs.Service,
    target_group: elb.TargetGroup | None,
) -> None:
    scale = service["scale"]
    title = f"Service{camel(name)}"
    target = out.add(
        applicationautoscaling.ScalableTarget(
            f"{title}ScalableTarget",
            ServiceNamespace="ecs",
            ScalableDimension="ecs:service:DesiredCount",
            ResourceId=Join("/", ["service", Ref(cluster), GetAtt(resource, "Name")]),
            MinCapacity=scale.get("min", service["count"]),
            MaxCapacity=scale["max"],
        )
    )
    metrics = [
        ("cpu", "ECSServiceAverageCPUUtilization", "Cpu"),
        ("memory", "ECSServiceAverageMemoryUtilization", "Memory"),
        ("requests_per_target", "ALBRequestCountPerTarget", "Requests"),
    ]
    for key, metric, label in metrics:
        if key not in scale:
            continue
        predefined: dict[str, Any] = {"PredefinedMetricType": metric}
        if key == "requests_per_target" and target_group is not None:
            predefined["ResourceLabel"] = Join(
                "/", [GetAtt("LoadBalancer", "LoadBalancerFullName"), GetAtt(target_group, "TargetGroupFullName")]
            )
        out.add(
            applicationautoscaling.ScalingPolicy(
                f"{title}ScaleOn{label}",
                PolicyName=ctx.name(name, key.replace("_", "-")),
                PolicyType="TargetTrackingScaling",
                ScalingTargetId=Ref(target),
                TargetTrackingScalingPolicyConfiguration=applicationautoscaling.TargetTrackingScalingPolicyConfiguration(
                    TargetValue=float(scale[key]),
                    ScaleOutCooldown=scale["scale_out_cooldown"],
                    ScaleInCooldown=scale["scale_in_cooldown"],
                    PredefinedMetricSpecification=applicationautoscaling.PredefinedMetricSpecification(**predefined),
                ),
            )
        )
