"""Services: ECS Fargate tasks and services, the public load balancer in front of routed ones, and autoscaling.

A service's permissions come only from its `uses:` and `secrets:`: the execution
role may read exactly the secrets injected into it and pull exactly its ECR
repository; the task role may touch exactly the buckets it uses, in the modes it
says. Connection settings for what it uses arrive as environment variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from awacs import cloudwatch as cloudwatch_actions
from awacs import ecr as ecr_actions
from awacs import kms as kms_actions
from awacs import secretsmanager as secrets_actions
from awacs import sts
from awacs import xray as xray_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Sub, applicationautoscaling, ecs, iam, servicediscovery

from .. import relations
from ..context import Context, Fragment, camel
from . import balancers, filesystems, load_balancer, network, registries, security
from .base import LOG_GROUP_PATTERN, Connection, Problem, Section, Spec, Use, UseTarget, env_name, uses_property
from .logs import log_group as log_group_for
from .logs import writes_own_logs
from .secrets import key_arn, secret_arn

STACK = "app"
# Cloud Map: services find each other at <service>.<environment>.<system>.internal, A records of each running task.
DISCOVERY_TTL = 10
# The X-Ray daemon beside a traced service's container: AWS's image, and what AWS's examples reserve for it.
XRAY_IMAGE = "public.ecr.aws/xray/aws-xray-daemon:3.x"
XRAY_CPU = 32
XRAY_MEMORY = 256
XRAY_PORT = 2000
ROOT_USERS = ("0", "root")
SCRATCH_VOLUME = "tmp"  # writable scratch space at /tmp when the root filesystem is read-only
# Fargate task sizes: CPU units -> allowed memory (MiB) range and step.
FARGATE_MEMORY = {
    256: (512, 2048, 512),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}


def check(spec: Spec) -> Iterator[Problem]:
    for name, service in spec.get("services", {}).items():
        path = ("services", name)
        for variable, ref in service["secrets"].items():
            secret = ref.split(".", 1)[1]
            if secret not in spec.get("secrets", {}):
                yield (*path, "secrets", variable), f"{variable} reads secrets.{secret}, which does not exist"
        size = service["size"]
        low, high, step = FARGATE_MEMORY[size["cpu"]]
        if on_fleet(service) is None and not (low <= size["memory"] <= high and (size["memory"] - low) % step == 0):
            yield (
                (*path, "size", "memory"),
                (f"Fargate with {size['cpu']} CPU units takes {low} to {high} MiB of memory in steps of {step}, not {size['memory']}"),
            )
        if "route" in service and "port" not in service:
            yield (*path, "route"), f"services.{name} has a route but no port for the load balancer to reach"
        public = network.PUBLIC_TIER in spec.get("network", {}).get("tiers", [network.PUBLIC_TIER])
        balancer = balancers.balancer_of(spec, "services", name)
        if balancer is not None and not public and not balancer.internal:
            yield (
                (*path, "route"),
                f"services.{name} has a route, and the internet-facing load balancer needs a '{network.PUBLIC_TIER}' tier in network.tiers",
            )
        scale = service.get("scale")
        if scale:
            low_count = scale.get("min", service["count"])
            if low_count > scale["max"]:
                yield (*path, "scale", "max"), f"scale.max {scale['max']} is below the minimum {low_count}"
            if not any(k in scale for k in ("cpu", "memory", "requests_per_target", "queue", "queue_metric")):
                yield (*path, "scale"), "scale needs a target: cpu, memory, requests_per_target, queue or queue_metric"
            if "queue" in scale and "queue_metric" in scale:
                yield (
                    (*path, "scale", "queue_metric"),
                    "scale on one backlog: queue (SQS) or queue_metric (the code publishes it), not both",
                )
            elif ("queue" in scale or "queue_metric" in scale) != ("backlog_per_task" in scale):
                source = "queue_metric" if "queue_metric" in scale else "queue"
                yield (*path, "scale"), f"scale on a queue needs both {source} and backlog_per_task"
            elif "queue" in scale and scale["queue"].split(".", 1)[1] not in spec.get("queues", {}):
                yield (
                    (*path, "scale", "queue"),
                    f"{scale['queue']} does not exist (queues: {', '.join(sorted(spec.get('queues', {}))) or 'none'})",
                )
            if "requests_per_target" in scale and "route" not in service:
                yield (*path, "scale", "requests_per_target"), "requests_per_target needs the service to have a route"
        yield from _check_capacity(name, service)
        yield from _check_fleet(spec, name, service)
        if not service["readonly_root"] and "readonly_reason" not in service:
            yield (
                (*path, "readonly_root"),
                f"services.{name} turns off the read-only root filesystem; say why in readonly_reason "
                "(or write to /tmp, which stays writable)",
            )
        root = service["user"].split(":")[0] in ROOT_USERS
        if root and "root_reason" not in service:
            yield (*path, "user"), f"services.{name} runs as root ({service['user']}); say why in root_reason, or run as another user"
        if not root and "root_reason" in service:
            yield (*path, "root_reason"), f"root_reason explains a user of root; services.{name} runs as {service['user']}"
        if service["readonly_root"] and "readonly_reason" in service:
            yield (*path, "readonly_reason"), "readonly_reason explains readonly_root: false; remove it, or set readonly_root: false"
    yield from _check_service_uses(spec)


def _check_capacity(name: str, service: dict[str, Any]) -> Iterator[Problem]:
    capacity = service.get("capacity")
    if capacity is None:
        return
    where = ("services", name, "capacity")
    if "fleet" in capacity:
        for key in ("on_demand", "spot", "base"):
            if capacity.get(key):  # base defaults to 0
                yield (*where, key), f"services.{name} runs on fleets.{capacity['fleet']}; {key} weighs Fargate capacity"
        return
    if capacity.get("spot", 0) == 0 and capacity.get("on_demand", 0) == 0:
        yield where, f"services.{name}'s capacity weights are all zero; give spot or on_demand a weight of at least 1"
    elif capacity.get("base", 0) > 0 and capacity.get("on_demand", 0) == 0:
        yield (*where, "base"), "capacity.base places its tasks on on-demand Fargate, which needs an on_demand weight of at least 1"


def on_fleet(service: dict[str, Any]) -> str | None:
    """The fleet a service runs on (ECS on EC2), or None for Fargate."""
    fleet = service.get("capacity", {}).get("fleet")
    return None if fleet is None else str(fleet)


def bridged(spec: Spec) -> dict[str, str]:
    """Services in bridge mode, by name, with the fleet whose instances (and security group) they share."""
    return {
        name: str(on_fleet(service))
        for name, service in spec.get("services", {}).items()
        if service["network_mode"] == "bridge" and on_fleet(service) is not None
    }


def _check_fleet(spec: Spec, name: str, service: dict[str, Any]) -> Iterator[Problem]:
    path = ("services", name)
    fleet = on_fleet(service)
    fleets = spec.get("fleets", {})
    if fleet is not None and fleet not in fleets:
        yield (*path, "capacity", "fleet"), f"fleets.{fleet} does not exist (fleets: {', '.join(sorted(fleets)) or 'none'})"
    elif fleet is not None and not fleets[fleet].get("ecs"):
        yield (*path, "capacity", "fleet"), f"fleets.{fleet} is not ECS capacity; give it ecs: true"
    if fleet is not None and service["arm"]:
        yield (*path, "arm"), f"on fleets.{fleet} the instances' type and image decide the architecture; remove arm"
    if service["network_mode"] != "bridge":
        return
    if fleet is None:
        yield (*path, "network_mode"), "bridge networking needs EC2 instances: run the service on a fleet (capacity: {fleet: <name>})"
        return
    if service["tracing"]:
        yield (*path, "tracing"), "in bridge mode the X-Ray daemon is not on the task's localhost; use network_mode: awsvpc to trace"
    used = any(use.kind == "services" and use.name == name for _, _, item in relations.users(spec) for use in relations.uses(item))
    if used or service["discovery"]:
        yield (
            (*path, "network_mode"),
            f"services.{name} is found through service discovery, whose A records need network_mode: awsvpc (bridge tasks share "
            "their instance's address on a dynamic port)",
        )


def _check_service_uses(spec: Spec) -> Iterator[Problem]:
    """A service used by another (or by a function) is reached on its port, so it needs one; nothing uses itself."""
    services = spec.get("services", {})
    for kind, name, item in relations.users(spec):
        for index, use in enumerate(relations.uses(item)):
            if use.kind != "services" or use.name not in services:
                continue
            where = (kind, name, "uses", index)
            if kind == "services" and use.name == name:
                yield where, f"services.{name} uses itself; a service reaches its own tasks without a relationship"
            elif "port" not in services[use.name]:
                yield where, f"{kind}.{name} uses services.{use.name}, which has no port to be reached on; give services.{use.name} a port"


def cluster_name(ctx: Context) -> str:
    """The environment's ECS cluster, the same name in every region it runs in."""
    return ctx.name()


def name_output(name: str) -> str:
    """The output (and export, ``ctx.export_name(STACK, ...)``) holding the ECS service's name, which CloudFormation picks."""
    return f"Service{camel(name)}Name"


def discovery_namespace(ctx: Context) -> str:
    """The environment's private DNS namespace: services are found at <service>.<environment>.<system>.internal."""
    return f"{ctx.environment}.{ctx.system}.internal"


def discovered(spec: Spec) -> bool:
    """Whether the environment needs its namespace (and services with a port register): something uses a service,
    or a service asks to be discoverable by callers outside the spec."""
    if any(service.get("discovery") for service in spec.get("services", {}).values()):
        return True
    return any(use.kind == "services" for _, _, item in relations.users(spec) for use in relations.uses(item))


def _port(spec: Spec, name: str) -> int:
    """The port a used service is reached on (the checks make sure it has one before anything is built)."""
    return int(spec["services"][name]["port"])


def connect(ctx: Context, use: Use) -> Connection:
    """`uses: [services.api]` hands the caller the api's address through service discovery."""
    port = ctx.spec["services"][use.name]["port"]
    return Connection(variables={env_name("service", use.name, "url"): f"http://{use.name}.{discovery_namespace(ctx)}:{port}"})


def log_group_name(ctx: Context, name: str, service: dict[str, Any]) -> str:
    return str(service.get("log_group") or ctx.log_group_name("services", name))


def named_log_groups(spec: Spec, ctx: Context) -> list[str]:
    """Log groups the spec names outside the environment's prefix, for the environment key's policy."""
    own = ctx.log_group_name() + "/"
    names = {log_group_name(ctx, n, s) for n, s in spec.get("services", {}).items()}
    return sorted(n for n in names if not n.startswith(own))


def split_image(image: str) -> tuple[str, str, str]:
    """``repo:tag`` -> (repo, ":", tag); ``repo@sha256:...`` -> (repo, "@", digest); no tag means latest."""
    if "@" in image:
        repository, digest = image.split("@", 1)
        return repository, "@", digest
    if ":" in image.rsplit("/", 1)[-1]:
        repository, tag = image.rsplit(":", 1)
        return repository, ":", tag
    return image, ":", "latest"


def image_uri(image: str, tag: Any) -> Any:
    """The image with ``tag`` (a release parameter) as its tag; `ecr:<repository>:<tag>` is this account's ECR in this region."""
    repository, separator, _ = split_image(image[len("ecr:") :] if image.startswith("ecr:") else image)
    repository = repository.replace("${", "${!")  # written text, never a Sub variable
    if image.startswith("ecr:"):
        repository = f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{repository}"
    return Sub(f"{repository}{separator}${{{tag.title}}}")


def build(services: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    cluster = out.add(
        ecs.Cluster(
            "Cluster",
            ClusterName=cluster_name(ctx),
            ClusterSettings=[ecs.ClusterSetting(Name="containerInsights", Value="enabled")],
            Tags=ctx.resource_tags(ctx.name()),
        )
    )
    providers = _fleet_capacity(ctx, out, cluster)
    if not providers and any("capacity" in service for service in services.values()):
        cluster.CapacityProviders = ["FARGATE", "FARGATE_SPOT"]
    out.export(ctx, STACK, "ClusterName", Ref(cluster), "Name of the ECS cluster.")
    namespace = None
    if discovered(spec):
        out.at = ("services",)
        namespace = out.add(
            servicediscovery.PrivateDnsNamespace(
                "DiscoveryNamespace",
                Name=discovery_namespace(ctx),
                Vpc=ctx.imported(network.STACK, "VpcId"),
                Description=f"{ctx.name()}: services find each other here",
                Tags=ctx.resource_tags(discovery_namespace(ctx)),
            )
        )
        out.export(ctx, STACK, "DiscoveryNamespaceId", GetAtt(namespace, "Id"), "ID of the Cloud Map namespace services register in.")
    # Services may share a log group the spec names (the document's `/ecs/<env>`): made once, each service its own streams.
    log_groups: dict[str, Any] = {}
    for name, service in sorted(services.items()):
        out.at = ("services", name)
        group_name = log_group_name(ctx, name, service)
        if group_name not in log_groups:
            log_groups[group_name] = out.add(log_group_for(f"Service{camel(name)}LogGroup", group_name, ctx, name, STACK))
    for name, service in sorted(services.items()):
        out.at = ("services", name)
        target_group = load_balancer.target_group_title("services", name) if "route" in service else None
        _service(name, service, ctx, out, cluster, target_group, log_groups, namespace)
    return out


def capacity_provider_title(fleet: str) -> str:
    return f"Fleet{camel(fleet)}CapacityProvider"


ASSOCIATION = "ClusterCapacityProviders"


def _fleet_capacity(ctx: Context, out: Fragment, cluster: ecs.Cluster) -> list[str]:
    """A capacity provider per ECS fleet, and the cluster's one list of capacity providers.

    Without ECS fleets the cluster lists Fargate's providers itself, as it always has. With them, one
    ClusterCapacityProviderAssociations holds every provider (Fargate's too) and the cluster lists none: two sources
    would overwrite each other. The association, not the cluster, refers to the fleets' providers, so the stack is
    deleted in a safe order: services, association, providers, groups (their instances drained), then the cluster
    (which the launch templates refer to, and which cannot go while instances are registered).
    """
    fleets = ctx.spec.get("fleets", {})
    titles = []
    for name in fleet_names(ctx.spec):
        out.at = ("fleets", name, "ecs")
        fleet = fleets[name]
        provider = out.add(
            ecs.CapacityProvider(
                capacity_provider_title(name),
                AutoScalingGroupProvider=ecs.AutoScalingGroupProvider(
                    AutoScalingGroupArn=Ref(f"Fleet{camel(name)}Group"),  # ECS takes the group's name here too
                    ManagedScaling=ecs.ManagedScaling(
                        Status="ENABLED",
                        TargetCapacity=fleet.get("target_capacity", 100),
                        MinimumScalingStepSize=1,
                        MaximumScalingStepSize=10,
                        InstanceWarmupPeriod=fleet["health_check_grace"],
                    ),
                    # Off: with it on, ECS protects instances running tasks and deleting the stack waits on them forever.
                    ManagedTerminationProtection="DISABLED",
                    ManagedDraining="ENABLED",  # tasks move off an instance before it ends (scale-in, rolling update)
                ),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        titles.append(provider.title)
    if titles:
        out.at = ("fleets",)
        out.add(
            ecs.ClusterCapacityProviderAssociations(
                ASSOCIATION,
                Cluster=Ref(cluster),
                CapacityProviders=["FARGATE", "FARGATE_SPOT", *[Ref(t) for t in titles]],
                # Every service names its capacity (a launch type or a strategy); this default is never used by ivc's.
                DefaultCapacityProviderStrategy=[ecs.CapacityProviderStrategy(CapacityProvider="FARGATE", Weight=1)],
            )
        )
    out.at = ("services",)
    return titles


def fleet_names(spec: Spec) -> list[str]:
    return sorted(name for name, fleet in spec.get("fleets", {}).items() if fleet.get("ecs"))


def _connections(service: dict[str, Any], ctx: Context) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    """Environment variables, injected secrets (variable -> valueFrom) and readable secret ARNs from `uses:` and `secrets:`."""
    connection = relations.connections(service, ctx)
    variables, injected, readable = connection.variables, connection.injected, connection.readable
    for variable, ref in service["secrets"].items():
        secret = secret_arn(ctx, ref.split(".", 1)[1])
        injected[variable] = secret
        readable.append(secret)
    if service["tracing"]:
        variables.setdefault("AWS_XRAY_DAEMON_ADDRESS", f"127.0.0.1:{XRAY_PORT}")
    published = queue_metric(service, ctx)
    if published is not None:
        # Where the code publishes its queue's depth each minute, and under which dimension, so it need not know.
        namespace, metric, dimensions = published
        variables.update(
            QUEUE_METRIC_NAMESPACE=namespace,
            QUEUE_METRIC_NAME=metric,
            QUEUE_METRIC_DIMENSIONS=",".join(f"{k}={v}" for k, v in dimensions),
        )
    return dict(sorted(variables.items())), dict(sorted(injected.items())), readable


def queue_metric(service: dict[str, Any], ctx: Context) -> tuple[str, str, list[tuple[str, str]]] | None:
    """The queue depth the service's own code publishes for scaling (a Celery broker on Redis has no CloudWatch metric
    of its queues): namespace, metric name and dimensions (this environment), or None."""
    published = (service.get("scale") or {}).get("queue_metric")
    if published is None:
        return None
    return published["namespace"], published["name"], [("Environment", ctx.environment)]


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


def task_statements(name: str, service: dict[str, Any], ctx: Context) -> list[Statement]:
    """What the application may do: each used section's statements for its use, and mounting what it mounts."""
    statements = []
    for use in relations.uses(service):
        meaning = relations.target(use.kind)
        if meaning is not None and meaning.statements is not None:
            statements += meaning.statements(ctx, use)
    for mounted in relations.mounts(ctx, "services", name, service):
        statements += mounted.statements
    published = queue_metric(service, ctx)
    if published is not None:
        statements.append(
            Statement(
                Sid="PublishQueueDepth",  # PutMetricData takes no resource; the condition holds it to the one namespace
                Effect=Allow,
                Action=[cloudwatch_actions.PutMetricData],
                Resource=["*"],
                Condition=Condition(StringEquals({"cloudwatch:namespace": published[0]})),
            )
        )
    if service["tracing"]:
        statements.append(
            Statement(
                Sid="SendTraces",  # X-Ray's actions take no resource narrower than *
                Effect=Allow,
                Action=[
                    xray_actions.PutTraceSegments,
                    xray_actions.PutTelemetryRecords,
                    xray_actions.GetSamplingRules,
                    xray_actions.GetSamplingTargets,
                ],
                Resource=["*"],
            )
        )
    return statements


def _service(
    name: str,
    service: dict[str, Any],
    ctx: Context,
    out: Fragment,
    cluster: ecs.Cluster,
    target_group: str | None,
    log_groups: dict[str, Any],
    namespace: servicediscovery.PrivateDnsNamespace | None = None,
) -> None:
    title = f"Service{camel(name)}"
    image = service["image"]
    tag = split_image(image[len("ecr:") :] if image.startswith("ecr:") else image)[2]
    release = out.release(f"{title}ImageTag", tag, f"Release of services.{name}: the image tag (ivc deploy --set {name}=<tag>)")
    log_group = log_groups[log_group_name(ctx, name, service)]
    variables, injected, readable = _connections(service, ctx)
    execution = [writes_own_logs(log_group)]
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
        registry = registries.of_image(ctx.spec, service["image"])
        if registry is not None and registries.kms_encrypted(ctx.spec, registry):
            execution.append(Statement(Sid="DecryptOwnImage", Effect=Allow, Action=[kms_actions.Decrypt], Resource=[key_arn(ctx, False)]))
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
    statements = task_statements(name, service, ctx)
    if statements:
        task_role = out.add(
            _role(f"{title}TaskRole", "what the application itself may do, from its uses", "uses", statements, ctx, name, "task")
        )
        task_definition["TaskRoleArn"] = GetAtt(task_role, "Arn")
    container: dict[str, Any] = {
        "Name": name,
        "Image": image_uri(service["image"], release),
        "Essential": True,
        "Environment": [ecs.Environment(Name=k, Value=v) for k, v in variables.items()],
        "Secrets": [ecs.Secret(Name=k, ValueFrom=v) for k, v in injected.items()],
        "LogConfiguration": ecs.LogConfiguration(
            LogDriver="awslogs",
            Options={"awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": name},
        ),
    }
    container["User"] = service["user"]
    container["ReadonlyRootFilesystem"] = service["readonly_root"]
    mount_points, volumes = [], []
    if service["readonly_root"]:
        mount_points.append(ecs.MountPoint(SourceVolume=SCRATCH_VOLUME, ContainerPath="/tmp", ReadOnly=False))
        volumes.append(ecs.Volume(Name=SCRATCH_VOLUME))
    for mounted in relations.mounts(ctx, "services", name, service):
        mount_points.append(filesystems.mount_point(mounted))
        volumes.append(filesystems.task_volume(mounted))
    if volumes:
        container["MountPoints"] = mount_points
        task_definition["Volumes"] = volumes
    if "command" in service:
        container["Command"] = service["command"]
    fleet = on_fleet(service)
    bridge = service["network_mode"] == "bridge" and fleet is not None
    if "port" in service:
        # In bridge mode the instance picks a free port from its ephemeral range for each task (HostPort 0).
        host = {"HostPort": 0} if bridge else {}
        container["PortMappings"] = [ecs.PortMapping(ContainerPort=service["port"], Protocol="tcp", **host)]
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
            NetworkMode="bridge" if bridge else "awsvpc",
            RequiresCompatibilities=["FARGATE" if fleet is None else "EC2"],
            ExecutionRoleArn=GetAtt(execution_role, "Arn"),
            ContainerDefinitions=[ecs.ContainerDefinition(**container), *_tracing(name, service, log_group)],
            Tags=ctx.resource_tags(ctx.name(name)),
            **task_definition,
            **_platform(service),
        )
    )
    properties: dict[str, Any] = {
        "Cluster": Ref(cluster),
        "TaskDefinition": Ref(definition),
        "DesiredCount": service["count"],
        **_placement(service),
        "DeploymentConfiguration": ecs.DeploymentConfiguration(
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True), MaximumPercent=200, MinimumHealthyPercent=100
        ),
        "PropagateTags": "SERVICE",
        "EnableECSManagedTags": True,
        "Tags": ctx.resource_tags(ctx.name(name)),
    }
    if not bridge:  # a bridge task shares its instance's address and security group
        properties["NetworkConfiguration"] = ecs.NetworkConfiguration(
            AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                AssignPublicIp="DISABLED",
                SecurityGroups=[security.imported(ctx, "service", name)],
                Subnets=network.subnet_ids(ctx, task_tier(ctx.spec, service)),
            )
        )
    waits = []
    if target_group is not None:
        properties["LoadBalancers"] = [
            ecs.LoadBalancer(ContainerName=name, ContainerPort=service["port"], TargetGroupArn=Ref(target_group))
        ]
        properties["HealthCheckGracePeriodSeconds"] = 60
        waits += load_balancer.listener_titles(ctx.spec, "services", name)
    if fleet is not None:
        # Spread over the zones, then fill instances before starting more. The association comes first: a strategy
        # may only name a capacity provider of the cluster, and on deletion the service goes before its provider.
        properties["PlacementStrategies"] = [
            ecs.PlacementStrategy(Type="spread", Field="attribute:ecs.availability-zone"),
            ecs.PlacementStrategy(Type="binpack", Field="memory"),
        ]
        waits.append(ASSOCIATION)
    if waits:
        properties["DependsOn"] = waits
    if namespace is not None and "port" in service:
        registry = out.add(
            servicediscovery.Service(
                f"{title}Discovery",
                Name=name,
                Description=f"{ctx.name(name)}: its running tasks",
                NamespaceId=GetAtt(namespace, "Id"),
                DnsConfig=servicediscovery.DnsConfig(
                    DnsRecords=[servicediscovery.DnsRecord(Type="A", TTL=DISCOVERY_TTL)], RoutingPolicy="MULTIVALUE"
                ),
                HealthCheckCustomConfig=servicediscovery.HealthCheckCustomConfig(FailureThreshold=1),
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        properties["ServiceRegistries"] = [ecs.ServiceRegistry(RegistryArn=GetAtt(registry, "Arn"))]
    resource = out.add(ecs.Service(title, **properties))
    out.export(ctx, STACK, name_output(name), GetAtt(resource, "Name"), f"Name of ECS service {name}.")
    if "scale" in service:
        _autoscaling(name, service, ctx, out, cluster, resource, target_group)


def _platform(service: dict[str, Any]) -> dict[str, Any]:
    """Fargate runs the architecture the spec asks for; on a fleet the instances' type and image decide."""
    if on_fleet(service) is not None:
        return {}
    architecture = "ARM64" if service["arm"] else "X86_64"
    return {"RuntimePlatform": ecs.RuntimePlatform(CpuArchitecture=architecture, OperatingSystemFamily="LINUX")}


def task_tier(spec: Spec, service: dict[str, Any]) -> str:
    """awsvpc tasks get their addresses in the app tier on Fargate, and in their fleet's tier on EC2 (their instances' zones)."""
    fleet = on_fleet(service)
    if fleet is None:
        return network.app_tier(spec["network"])
    return str(spec["fleets"][fleet].get("tier") or network.app_tier(spec["network"]))


def _placement(service: dict[str, Any]) -> dict[str, Any]:
    """On-demand Fargate, a strategy over Fargate and Fargate Spot by the spec's weights (base tasks on-demand), or
    the fleet's capacity provider."""
    capacity = service.get("capacity")
    if capacity is None:
        return {"LaunchType": "FARGATE"}
    if "fleet" in capacity:
        return {
            "CapacityProviderStrategy": [
                ecs.CapacityProviderStrategyItem(CapacityProvider=Ref(capacity_provider_title(capacity["fleet"])), Weight=1)
            ]
        }
    strategy = []
    if capacity.get("on_demand", 0) > 0:
        strategy.append(ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE", Weight=capacity["on_demand"], Base=capacity["base"]))
    if capacity.get("spot", 0) > 0:
        strategy.append(ecs.CapacityProviderStrategyItem(CapacityProvider="FARGATE_SPOT", Weight=capacity["spot"]))
    return {"CapacityProviderStrategy": strategy}


def _tracing(name: str, service: dict[str, Any], log_group: Any) -> list[ecs.ContainerDefinition]:
    """The X-Ray daemon beside the container when the service is traced: UDP 2000 on the task's localhost."""
    if not service["tracing"]:
        return []
    return [
        ecs.ContainerDefinition(
            Name="xray-daemon",
            Image=XRAY_IMAGE,
            Essential=False,
            Cpu=XRAY_CPU,
            MemoryReservation=XRAY_MEMORY,
            PortMappings=[ecs.PortMapping(ContainerPort=XRAY_PORT, Protocol="udp")],
            ReadonlyRootFilesystem=True,
            LogConfiguration=ecs.LogConfiguration(
                LogDriver="awslogs",
                Options={"awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region"), "awslogs-stream-prefix": f"{name}-xray"},
            ),
        )
    ]


def _backlog_policy(
    name: str, service: dict[str, Any], ctx: Context, cluster: ecs.Cluster, resource: ecs.Service, target: Any
) -> applicationautoscaling.ScalingPolicy:
    """Target tracking on messages waiting per running task: AWS's recommended way to scale queue workers. The messages
    waiting are the SQS queue's, or the depth the service's code publishes (queue_metric: the highest value any task
    published, since every worker reads the same broker)."""
    scale = service["scale"]

    def stat(namespace: str, metric: str, dimensions: list[tuple[str, Any]], statistic: str) -> Any:
        return applicationautoscaling.TargetTrackingMetricStat(
            Metric=applicationautoscaling.TargetTrackingMetric(
                Namespace=namespace,
                MetricName=metric,
                Dimensions=[applicationautoscaling.TargetTrackingMetricDimension(Name=k, Value=v) for k, v in dimensions],
            ),
            Stat=statistic,
        )

    published = queue_metric(service, ctx)
    if published is not None:
        namespace, metric, dimensions = published
        waiting = stat(namespace, metric, list(dimensions), "Maximum")
    else:
        queue = scale["queue"].split(".", 1)[1]
        waiting = stat(
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", [("QueueName", ctx.imported("data", f"Queue{camel(queue)}Name"))], "Sum"
        )
    return applicationautoscaling.ScalingPolicy(
        f"Service{camel(name)}ScaleOnBacklog",
        PolicyName=ctx.name(name, "backlog"),
        PolicyType="TargetTrackingScaling",
        ScalingTargetId=Ref(target),
        TargetTrackingScalingPolicyConfiguration=applicationautoscaling.TargetTrackingScalingPolicyConfiguration(
            TargetValue=float(scale["backlog_per_task"]),
            ScaleOutCooldown=scale["scale_out_cooldown"],
            ScaleInCooldown=scale["scale_in_cooldown"],
            CustomizedMetricSpecification=applicationautoscaling.CustomizedMetricSpecification(
                Metrics=[
                    applicationautoscaling.TargetTrackingMetricDataQuery(Id="waiting", MetricStat=waiting, ReturnData=False),
                    applicationautoscaling.TargetTrackingMetricDataQuery(
                        Id="tasks",
                        MetricStat=stat(
                            "ECS/ContainerInsights",
                            "RunningTaskCount",
                            [("ClusterName", Ref(cluster)), ("ServiceName", GetAtt(resource, "Name"))],
                            "Average",
                        ),
                        ReturnData=False,
                    ),
                    applicationautoscaling.TargetTrackingMetricDataQuery(
                        Id="backlog", Expression="waiting / tasks", Label="messages waiting per task", ReturnData=True
                    ),
                ]
            ),
        ),
    )


def _autoscaling(
    name: str,
    service: dict[str, Any],
    ctx: Context,
    out: Fragment,
    cluster: ecs.Cluster,
    resource: ecs.Service,
    target_group: str | None,
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
    if ("queue" in scale or "queue_metric" in scale) and "backlog_per_task" in scale:
        out.add(_backlog_policy(name, service, ctx, cluster, resource, target))
    for key, metric, label in metrics:
        if key not in scale:
            continue
        predefined: dict[str, Any] = {"PredefinedMetricType": metric}
        if key == "requests_per_target" and target_group is not None:
            predefined["ResourceLabel"] = Join(
                "/",
                [
                    GetAtt(load_balancer.balancer_title(ctx.spec, "services", name), "LoadBalancerFullName"),
                    GetAtt(target_group, "TargetGroupFullName"),
                ],
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


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

METRIC_NAMESPACE = "^(?!AWS/)[A-Za-z0-9_./#:-]{1,255}$"
USER_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$"

PROPERTIES: dict[str, Any] = {
    "services": {
        "description": "Containers on ECS Fargate, or on a fleet's instances. A service with `route:` sits behind the public "
        "load balancer; `uses:` derives its network access and IAM permissions.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/service"},
        "default": {},
        "examples": [{"web": {"image": "ecr:web:1.0.0", "port": 8000, "route": {"path": "/"}}}],
    },
}
DEFS: dict[str, Any] = {
    "service": {
        "description": "A container service on ECS Fargate.",
        "type": "object",
        "additionalProperties": False,
        "required": ["image"],
        "properties": {
            "image": {
                "description": "Container image: `ecr:<repository>:<tag>` for this account's ECR (pull rights scoped "
                "to that repository), or any public image reference.",
                "type": "string",
                "minLength": 1,
                "examples": ["ecr:socialflow-backend:latest", "public.ecr.aws/nginx/nginx:1.27"],
            },
            "log_group": {
                "description": "Name of the log group for the containers' logs (services may share one, each writing its "
                "own streams). Default: /<system>/<environment>/services/<name>.",
                "type": "string",
                "pattern": LOG_GROUP_PATTERN,
                "examples": ["/ecs/prod"],
            },
            "command": {
                "description": "Command to run instead of the image's default.",
                "type": "array",
                "items": {"type": "string"},
                "examples": [["celery", "-A", "app", "worker"]],
            },
            "port": {
                "description": "Port the container listens on.",
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
                "examples": [8000],
            },
            "size": {
                "description": "Fargate task size: CPU units and memory in MiB (a valid Fargate pair).",
                "type": "object",
                "additionalProperties": False,
                "default": {"cpu": 256, "memory": 512},
                "properties": {
                    "cpu": {"description": "CPU units.", "enum": [256, 512, 1024, 2048, 4096, 8192, 16384], "default": 256},
                    "memory": {"description": "Memory in MiB.", "type": "integer", "minimum": 512, "maximum": 122880, "default": 512},
                },
            },
            "arm": {"description": "Run on Graviton (ARM64) instead of x86_64.", "type": "boolean", "default": False},
            "count": {
                "description": "Tasks to run; with scale, the starting count.",
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
                "default": 1,
            },
            "environment": {
                "description": "Plain environment variables (never secrets).",
                "type": "object",
                "additionalProperties": {"type": ["string", "integer", "number", "boolean"]},
                "default": {},
            },
            "secrets": {
                "description": "Environment variables filled from secrets at start: VAR -> `secrets.<name>`.",
                "type": "object",
                "additionalProperties": {"type": "string", "pattern": "^secrets\\.[a-z][a-z0-9-]*$"},
                "default": {},
                "examples": [{"SECRET_KEY": "secrets.app-secret-key"}],
            },
            "uses": uses_property("service", ["databases.main", "buckets.media:read", "services.api"]),
            "capacity": {
                "description": "Where tasks run: weights over on-demand Fargate and Fargate Spot, and `base` tasks always "
                "on-demand. Without it, every task is on-demand. Spot tasks may be stopped with two minutes' notice.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "fleet": {
                        "description": "Run on this fleet's instances (ECS on EC2; the fleet has `ecs: true`) instead of Fargate.",
                        "type": "string",
                        "examples": ["ecs"],
                    },
                    "on_demand": {"description": "Weight of on-demand Fargate.", "type": "integer", "minimum": 0, "maximum": 1000},
                    "spot": {"description": "Weight of Fargate Spot.", "type": "integer", "minimum": 0, "maximum": 1000},
                    "base": {
                        "description": "Tasks that always run on on-demand Fargate before the weights apply.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 100000,
                        "default": 0,
                    },
                },
                "examples": [{"spot": 3, "on_demand": 1, "base": 1}, {"spot": 1}, {"fleet": "ecs"}],
            },
            "network_mode": {
                "description": "awsvpc: each task has its own address and security group (Fargate, or a fleet). bridge (on a "
                "fleet only): tasks share the instance's address on a port the instance picks, so more tasks fit an instance; "
                "the load balancer reaches them through the fleet's security group.",
                "enum": ["awsvpc", "bridge"],
                "default": "awsvpc",
            },
            "discovery": {
                "description": "Register in the environment's Cloud Map namespace (<service>.<environment>.<system>.internal) "
                "even when nothing in the spec uses this service. Services that something uses always register.",
                "type": "boolean",
                "default": False,
            },
            "tracing": {
                "description": "Run the AWS X-Ray daemon beside the container (UDP 2000, 32 CPU units, 256 MiB reserved) and let "
                "the task send traces.",
                "type": "boolean",
                "default": False,
            },
            "user": {
                "description": "User (and optionally group) the container runs as: a uid, uid:gid or a name the image knows. "
                "Default: 1000. Root (0 or root) needs a `root_reason`.",
                "type": "string",
                "pattern": USER_PATTERN,
                "default": "1000",
                "examples": ["1000", "1000:1000", "app"],
            },
            "root_reason": {
                "description": 'Why this service must run as root (with `user: "0"` or `root`).',
                "type": "string",
                "minLength": 10,
                "maxLength": 300,
                "examples": ["the vendor image binds port 80 as root and drops privileges itself"],
            },
            "readonly_root": {
                "description": "Run with a read-only root filesystem; /tmp is a writable scratch volume. `false` needs a "
                "`readonly_reason`.",
                "type": "boolean",
                "default": True,
            },
            "readonly_reason": {
                "description": "Why this service needs a writable root filesystem (with `readonly_root: false`).",
                "type": "string",
                "minLength": 10,
                "maxLength": 300,
                "examples": ["the vendor image writes its PID file under /var/run"],
            },
            "route": {"$ref": "#/$defs/route", "description": "Put the service behind the load balancer, on its port."},
            "health": {
                "description": "Container health check: a shell command that exits 0 when healthy.",
                "type": "object",
                "additionalProperties": False,
                "required": ["command"],
                "properties": {
                    "command": {
                        "description": "Shell command run inside the container.",
                        "type": "string",
                        "examples": ["curl -f http://localhost:8000/health || exit 1"],
                    },
                    "interval": {"description": "Seconds between checks.", "type": "integer", "minimum": 5, "maximum": 300, "default": 30},
                    "retries": {
                        "description": "Failures before the task is unhealthy.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 10,
                        "default": 3,
                    },
                    "start_period": {
                        "description": "Seconds of grace after start.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 300,
                        "default": 60,
                    },
                },
            },
            "scale": {
                "description": "Target-tracking autoscaling between min and max tasks.",
                "type": "object",
                "additionalProperties": False,
                "required": ["max"],
                "properties": {
                    "min": {"description": "Fewest tasks. Default: count.", "type": "integer", "minimum": 0},
                    "max": {"description": "Most tasks.", "type": "integer", "minimum": 1},
                    "cpu": {
                        "description": "Target average CPU utilisation, percent.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 100,
                        "examples": [70],
                    },
                    "memory": {
                        "description": "Target average memory utilisation, percent.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 100,
                        "examples": [75],
                    },
                    "requests_per_target": {
                        "description": "Target load-balancer requests per task (needs route).",
                        "type": "integer",
                        "minimum": 1,
                        "examples": [1000],
                    },
                    "queue": {
                        "description": "Scale on this queue's backlog (the Celery-worker pattern): queues.<name>, with backlog_per_task.",
                        "type": "string",
                        "pattern": "^queues\\.[a-z][a-z0-9-]*$",
                        "examples": ["queues.jobs"],
                    },
                    "queue_metric": {
                        "description": "Scale on a queue depth the service's own code publishes to CloudWatch each minute, for a "
                        "broker CloudWatch cannot see (Celery on Redis): the metric's namespace and name, with backlog_per_task. "
                        "The tasks may put data in that namespace only, and find it in QUEUE_METRIC_NAMESPACE, QUEUE_METRIC_NAME "
                        "and QUEUE_METRIC_DIMENSIONS (Environment=<environment>).",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["namespace", "name"],
                        "properties": {
                            "namespace": {
                                "description": "The metric's namespace, not AWS's own (AWS/...).",
                                "type": "string",
                                "pattern": METRIC_NAMESPACE,
                                "examples": ["SocialFlow/Celery"],
                            },
                            "name": {
                                "description": "The metric's name.",
                                "type": "string",
                                "pattern": "^[a-zA-Z0-9_.-]{1,100}$",
                                "examples": ["QueueLength"],
                            },
                        },
                    },
                    "backlog_per_task": {
                        "description": "Target messages waiting per running task, with queue or queue_metric.",
                        "type": "integer",
                        "minimum": 1,
                        "examples": [100],
                    },
                    "scale_out_cooldown": {
                        "description": "Seconds after scaling out before scaling out again.",
                        "type": "integer",
                        "minimum": 0,
                        "default": 60,
                    },
                    "scale_in_cooldown": {
                        "description": "Seconds after scaling in before scaling in again.",
                        "type": "integer",
                        "minimum": 0,
                        "default": 300,
                    },
                },
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "services": {"description": "Changes to services in this environment, merged over the spec's.", "type": ["object", "null"]},
}

SECTION = Section(
    "services",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    log_groups=named_log_groups,
    use=UseTarget(default="connect", port=_port, connect=connect),
    site=True,
)
