"""Fleets: EC2 Auto Scaling groups of one launch template, for workloads that run on instances rather than tasks.

A fleet is a few lines of spec; everything else is derived:

- the launch template takes the AMI from an SSM parameter (resolved by EC2 at each launch, so scaling out picks
  up the newest image) or an explicit image ID, requires IMDSv2 (one hop: nothing on the instance may relay
  credentials), has no SSH key and no public address, and an encrypted gp3 root volume (the environment key);
- the instance role has Session Manager (AmazonSSMManagedInstanceCore, the way in: no SSH), the CloudWatch agent's
  two rights (memory and disk metrics in the CWAgent namespace, its configuration parameter), and from `uses:`
  exactly what services get: each used section's statements, the secrets it reads, the file systems it mounts;
- user data writes what `uses:` hands the code to ``/etc/ivc/<fleet>.env`` (names and ARNs, never a secret's
  value: a secret arrives as ``<NAME>_SECRET_ARN``, which the role may read), mounts file systems through their
  access points (amazon-efs-utils, TLS, IAM), starts the CloudWatch agent, then runs the spec's `user_data`. These
  steps use dnf: they assume an Amazon Linux 2023 image, as the default AMI is;
- the group spans the tier's subnets in every zone; with a `route` it registers in its target group on the load
  balancer and uses the load balancer's health checks; it scales on CPU and on requests per instance, follows
  scheduled actions (UTC), mixes Spot with on-demand when `spot` says so, and replaces instances in rolling
  batches whenever the launch template changes (UpdatePolicy), keeping `min` in service;
- every instance carries the environment's patch group tag, so `patching` reaches it.

A fleet with `ecs: true` is capacity for the environment's ECS cluster instead of a load balancer target: the
default image becomes the ECS-optimized Amazon Linux 2023, user data joins the cluster (``/etc/ecs/ecs.config``),
the role gets the ECS agent's rights on this cluster only, and the services section makes its capacity provider
(managed scaling, managed draining, no managed termination protection: deleting the stack never waits on it). Its
size is ECS's to set, so such a fleet takes no `route`, `port`, `scale`, `desired` or scheduled `desired`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from awacs import cloudwatch as cloudwatch_actions
from awacs import ecs as ecs_actions
from awacs import kms as kms_actions
from awacs import secretsmanager as secrets_actions
from awacs import ssm as ssm_actions
from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Base64, GetAtt, Join, Ref, Sub, autoscaling, ec2, iam, ssm
from troposphere.policies import AutoScalingRollingUpdate, UpdatePolicy

from .. import offerings, relations
from ..context import Context, Fragment, camel
from . import filesystems, load_balancer, network, security
from .base import Problem, Section, Spec, uses_property
from .patching import PATCH_GROUP_TAG, patch_group
from .secrets import key_arn

STACK = "app"
DEFAULT_IMAGE = "ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
ECS_IMAGE = "ssm:/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
ECS_CONFIG = "/etc/ecs/ecs.config"
AGENT_NAMESPACE = "CWAgent"
SCHEDULED_SIZES = {"min": "MinSize", "max": "MaxSize", "desired": "DesiredCapacity"}  # schedules[] key -> ScheduledAction
ENV_FOLDER = "/etc/ivc"
SSM_CORE = "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"


def group_name(ctx: Context, name: str) -> str:
    """The fleet's Auto Scaling group, the same name in every region it runs in (the runbook names it too)."""
    return ctx.name(name)


def title(name: str) -> str:
    return f"Fleet{camel(name)}"


def tier(spec: Spec, fleet: dict[str, Any]) -> str:
    return str(fleet.get("tier") or network.app_tier(spec["network"]))


def check(spec: Spec) -> Iterator[Problem]:
    region = spec["regions"]["primary"]
    net = spec.get("network")
    for name, fleet in spec.get("fleets", {}).items():
        path = ("fleets", name)
        if net is None:
            continue  # core's check says a network is needed
        for field, message in offerings.instance_problems(region, [fleet["instance"], *fleet.get("spot", {}).get("types", [])]):
            yield (*path, *field), message
        placed = fleet.get("tier")
        if placed is not None and placed not in net["tiers"]:
            yield (*path, "tier"), f"fleets.{name}.tier {placed} is not a tier of the network ({', '.join(net['tiers'])})"
        elif placed == network.PUBLIC_TIER:
            yield (*path, "tier"), f"fleets.{name}: instances never go in the public tier (they would need public addresses)"
        if fleet["min"] > fleet["max"]:
            yield (*path, "max"), f"fleets.{name}.max {fleet['max']} is below its min {fleet['min']}"
        desired = fleet.get("desired")
        if desired is not None and not fleet["min"] <= desired <= fleet["max"]:
            yield (*path, "desired"), f"fleets.{name}.desired {desired} is outside min {fleet['min']} to max {fleet['max']}"
        yield from _check_ecs(spec, name, fleet)
        if "route" in fleet and "port" not in fleet:
            yield (*path, "route"), f"fleets.{name} has a route but no port for the load balancer to reach"
        if "requests_per_instance" in fleet.get("scale", {}) and "route" not in fleet:
            yield (*path, "scale", "requests_per_instance"), "requests_per_instance needs the fleet to have a route"
        for variable, value in fleet["environment"].items():
            if any(c in str(value) for c in "\n\r"):
                yield (*path, "environment", variable), f"{variable} holds a line break; a settings file takes one line per setting"
        for index, action in enumerate(fleet["schedules"]):
            if action.get("min", fleet["min"]) > action.get("max", fleet["max"]):
                yield (*path, "schedules", index), "this scheduled action's min is above its max"


def _check_ecs(spec: Spec, name: str, fleet: dict[str, Any]) -> Iterator[Problem]:
    path = ("fleets", name)
    if not fleet.get("ecs"):
        if "target_capacity" in fleet:
            yield (*path, "target_capacity"), f"target_capacity is for ECS capacity; fleets.{name} has no ecs: true"
        return
    # ECS places tasks and sets the group's size through its capacity provider: nothing else may.
    for key, why in (
        ("route", "its tasks are the load balancer's targets; give the service the route"),
        ("port", "its tasks have the ports; give the service the port"),
        ("scale", "the capacity provider's managed scaling sizes it (target_capacity)"),
        ("desired", "the capacity provider's managed scaling sets the desired count"),
    ):
        if key in fleet:
            yield (*path, key), f"fleets.{name} is ECS capacity (ecs: true), so it takes no {key}: {why}"
    for index, action in enumerate(fleet["schedules"]):
        if "desired" in action:
            yield (*path, "schedules", index, "desired"), "an ECS fleet's desired count is managed scaling's; schedule min and max only"
    riders = [s for s, service in spec.get("services", {}).items() if service.get("capacity", {}).get("fleet") == name]
    if not riders:
        yield (*path, "ecs"), f"fleets.{name} is ECS capacity but no service runs on it (services.<name>.capacity.fleet: {name})"


def _connections(name: str, fleet: dict[str, Any], ctx: Context) -> tuple[list[tuple[str, Any]], list[Any]]:
    """(variable, value) pairs for the env file, and the secret ARNs the role may read."""
    connection = relations.connections(fleet, ctx)
    pairs = sorted(connection.variables.items())
    # A secret's value never goes into user data: its ARN does (and the JSON key, for one field of a secret), and the
    # role may read it. ECS's "<arn>:<key>::" references become <NAME>_SECRET_ARN and <NAME>_SECRET_KEY.
    for variable, reference in sorted(connection.injected.items()):
        joined = reference.to_dict().get("Fn::Join") if isinstance(reference, Join) else None
        if joined and len(joined[1]) == 2 and isinstance(joined[1][1], str) and joined[1][1].endswith("::"):
            pairs += [(f"{variable}_SECRET_ARN", joined[1][0]), (f"{variable}_SECRET_KEY", joined[1][1].strip(":"))]
        else:
            pairs.append((f"{variable}_SECRET_ARN", reference))
    return pairs, connection.readable


def instance_statements(name: str, fleet: dict[str, Any], ctx: Context) -> list[Statement]:
    """What the instances may do besides Session Manager: the agent's metrics and configuration, and their uses."""
    statements = [
        Statement(
            Sid="PublishAgentMetrics",  # PutMetricData takes no resource: the namespace condition narrows it
            Effect=Allow,
            Action=[cloudwatch_actions.PutMetricData],
            Resource=["*"],
            Condition=Condition(StringEquals({"cloudwatch:namespace": AGENT_NAMESPACE})),
        ),
        Statement(
            Sid="ReadAgentConfiguration",
            Effect=Allow,
            Action=[ssm_actions.GetParameter],
            Resource=[Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{agent_parameter(ctx, name)}")],
        ),
    ]
    if fleet.get("ecs"):
        statements += ecs_agent_statements(ctx)
    for use in relations.uses(fleet):
        meaning = relations.target(use.kind)
        if meaning is not None and meaning.statements is not None:
            statements += meaning.statements(ctx, use)
    for mounted in relations.mounts(ctx, "fleets", name, fleet):
        statements += mounted.statements
    readable = _connections(name, fleet, ctx)[1]
    if readable:
        unique = list({str(r.to_dict()) if hasattr(r, "to_dict") else str(r): r for r in readable}.values())
        statements += [
            Statement(Sid="ReadUsedSecrets", Effect=Allow, Action=[secrets_actions.GetSecretValue], Resource=unique),
            Statement(
                Sid="DecryptUsedSecrets",
                Effect=Allow,
                Action=[kms_actions.Decrypt],
                Resource=[key_arn(ctx)],
                Condition=Condition(StringEquals({"kms:ViaService": Sub("secretsmanager.${AWS::Region}.amazonaws.com")})),
            ),
        ]
    return statements


def ecs_agent_statements(ctx: Context) -> list[Statement]:
    """The ECS agent's rights, on this environment's cluster and its container instances only: what
    AmazonEC2ContainerServiceforEC2Role grants the agent, without its account-wide ECR and Logs rights (each task's
    execution role pulls its image and writes its logs) and without CreateCluster."""
    arn = "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}"
    cluster = Sub(f"{arn}:cluster/{ctx.name()}")
    instances = Sub(f"{arn}:container-instance/{ctx.name()}/*")
    return [
        Statement(
            Sid="JoinCluster",
            Effect=Allow,
            Action=[
                ecs_actions.RegisterContainerInstance,
                ecs_actions.DeregisterContainerInstance,
                ecs_actions.SubmitContainerStateChange,
                ecs_actions.SubmitTaskStateChange,
                ecs_actions.SubmitAttachmentStateChanges,
            ],
            Resource=[cluster],
        ),
        Statement(
            Sid="ServeCluster",
            Effect=Allow,
            Action=[
                ecs_actions.Poll,
                ecs_actions.StartTelemetrySession,
                ecs_actions.UpdateContainerInstancesState,
                ecs_actions.PutSystemLogEvents,
            ],
            Resource=[instances],
        ),
        Statement(
            Sid="TagOwnRegistration",
            Effect=Allow,
            Action=[ecs_actions.TagResource],
            Resource=[instances],
            Condition=Condition(StringEquals({"ecs:CreateAction": "RegisterContainerInstance"})),
        ),
        Statement(Sid="FindPollEndpoint", Effect=Allow, Action=[ecs_actions.DiscoverPollEndpoint], Resource=["*"]),  # no resource type
    ]


def agent_parameter(ctx: Context, name: str) -> str:
    return f"/{ctx.system}/{ctx.environment}/fleets/{name}/cloudwatch-agent"


def agent_configuration() -> str:
    """The CloudWatch agent's configuration: memory and disk use per instance, aggregated per group."""
    return json.dumps(
        {
            "agent": {"metrics_collection_interval": 60},
            "metrics": {
                "namespace": AGENT_NAMESPACE,
                "append_dimensions": {"AutoScalingGroupName": "${aws:AutoScalingGroupName}", "InstanceId": "${aws:InstanceId}"},
                "aggregation_dimensions": [["AutoScalingGroupName"]],
                "metrics_collected": {
                    "mem": {"measurement": ["mem_used_percent"]},
                    "disk": {"measurement": ["used_percent"], "resources": ["/"]},
                },
            },
        },
        sort_keys=True,
    )


def _user_data(name: str, fleet: dict[str, Any], ctx: Context) -> Any:
    pairs, _ = _connections(name, fleet, ctx)
    mounts = relations.mounts(ctx, "fleets", name, fleet)
    lines: list[Any] = [
        "#!/bin/bash\n",
        "set -euo pipefail\n",
        f"# ivc: fleets.{name} of {ctx.name()}\n",
        *_ecs_config(fleet),
        f"install -d -m 0755 {ENV_FOLDER}\n",
        f"cat > {ENV_FOLDER}/{name}.env <<'IVC_ENV'\n",
    ]
    for variable, value in pairs:
        lines += [f"{variable}=", value, "\n"]
    lines += ["IVC_ENV\n", f"chmod 0644 {ENV_FOLDER}/{name}.env\n"]
    if mounts:
        lines.append("dnf install -y amazon-efs-utils\n")
        for mounted in mounts:
            lines += [f"install -d {mounted.path}\n", "echo '", filesystems.fstab_line(mounted), "' >> /etc/fstab\n"]
        lines.append("mount -a -t efs\n")
    lines += [
        "dnf install -y amazon-cloudwatch-agent\n",
        f"/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c ssm:{agent_parameter(ctx, name)}\n",
    ]
    if fleet.get("user_data"):
        lines += [f"# fleets.{name}.user_data\n", fleet["user_data"].rstrip("\n") + "\n"]
    return Base64(Join("", lines))


def _ecs_config(fleet: dict[str, Any]) -> list[Any]:
    """Join the cluster before the agent starts (it starts after cloud-init). The cluster is a Ref, not its name
    written out: the launch template then depends on the cluster, so deleting the stack removes the instances
    before the cluster, which cannot be deleted while instances are registered. Tasks get credentials from their
    task role through the agent, and tasks in awsvpc mode are kept from the instance's metadata service."""
    if not fleet.get("ecs"):
        return []
    return [
        f"cat >> {ECS_CONFIG} <<'IVC_ECS'\n",
        "ECS_CLUSTER=",
        Ref("Cluster"),
        "\nECS_ENABLE_TASK_IAM_ROLE=true\nECS_AWSVPC_BLOCK_IMDS=true\nIVC_ECS\n",
    ]


def _role_trust() -> PolicyDocument:
    return PolicyDocument(
        Version="2012-10-17",
        Statement=[Statement(Effect=Allow, Principal=Principal("Service", "ec2.amazonaws.com"), Action=[sts.AssumeRole])],
    )


def _image(fleet: dict[str, Any]) -> str:
    image = str(fleet["image"])
    if fleet.get("ecs") and image == DEFAULT_IMAGE:  # ECS capacity boots the ECS-optimized image unless told otherwise
        image = ECS_IMAGE
    # EC2 resolves "resolve:ssm:<parameter>" at each launch: no template change when the parameter moves.
    return f"resolve:ssm:{image[len('ssm:') :]}" if image.startswith("ssm:") else image


def build(fleets: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    patching = bool(spec.get("patching"))
    for name, fleet in sorted(fleets.items()):
        out.at = ("fleets", name)
        prefix = title(name)
        statements = instance_statements(name, fleet, ctx)
        role = out.add(
            iam.Role(
                f"{prefix}Role",
                Description=f"{ctx.name(name)}: instances of fleet {name}: Session Manager, the CloudWatch agent, and their uses",
                AssumeRolePolicyDocument=_role_trust(),
                ManagedPolicyArns=[Sub(SSM_CORE)],
                Policies=[iam.Policy(PolicyName="uses", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
                Tags=ctx.resource_tags(ctx.name(name, "instance")),
            )
        )
        profile = out.add(iam.InstanceProfile(f"{prefix}InstanceProfile", Roles=[Ref(role)]))
        out.add(
            ssm.Parameter(
                f"{prefix}AgentConfiguration",
                Name=agent_parameter(ctx, name),
                Type="String",
                Tier="Standard",
                Description=f"{ctx.name(name)}: CloudWatch agent configuration (memory and disk use)",
                Value=agent_configuration(),
                Tags={**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc"},
            )
        )
        tags = {**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc", "Name": ctx.name(name)}
        if patching:
            tags[PATCH_GROUP_TAG] = patch_group(ctx)
        tag_list = [ec2.Tag(Key=k, Value=v) for k, v in sorted(tags.items())]
        volume = fleet["volume"]
        template = out.add(
            ec2.LaunchTemplate(
                f"{prefix}LaunchTemplate",
                LaunchTemplateName=ctx.name(name),
                LaunchTemplateData=ec2.LaunchTemplateData(
                    ImageId=_image(fleet),
                    InstanceType=fleet["instance"],
                    IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
                    SecurityGroupIds=[security.imported(ctx, "fleet", name)],
                    MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=1),
                    Monitoring=ec2.Monitoring(Enabled=True),
                    EbsOptimized=True,
                    BlockDeviceMappings=[
                        ec2.LaunchTemplateBlockDeviceMapping(
                            DeviceName=volume["device"],
                            Ebs=ec2.EBSBlockDevice(
                                VolumeType="gp3",
                                VolumeSize=volume["size"],
                                Encrypted=True,
                                KmsKeyId=key_arn(ctx),
                                DeleteOnTermination=True,
                            ),
                        )
                    ],
                    UserData=_user_data(name, fleet, ctx),
                    TagSpecifications=[
                        ec2.TagSpecifications(ResourceType="instance", Tags=tag_list),
                        ec2.TagSpecifications(ResourceType="volume", Tags=tag_list),
                    ],
                ),
                TagSpecifications=[ec2.TagSpecifications(ResourceType="launch-template", Tags=tag_list)],
            )
        )
        version = GetAtt(template, "LatestVersionNumber")
        group_properties: dict[str, Any] = {
            "AutoScalingGroupName": group_name(ctx, name),
            "MinSize": str(fleet["min"]),
            "MaxSize": str(fleet["max"]),
            "VPCZoneIdentifier": network.subnet_ids(ctx, tier(spec, fleet)),
            "HealthCheckType": "ELB" if "route" in fleet else "EC2",
            "HealthCheckGracePeriod": fleet["health_check_grace"],
            "MetricsCollection": [autoscaling.MetricsCollection(Granularity="1Minute")],
            "Tags": [autoscaling.Tag(k, v, False) for k, v in sorted(tags.items())],  # the launch template tags instances
        }
        if "desired" in fleet:
            group_properties["DesiredCapacity"] = str(fleet["desired"])
        if "spot" in fleet:
            spot = fleet["spot"]
            group_properties["MixedInstancesPolicy"] = autoscaling.MixedInstancesPolicy(
                LaunchTemplate=autoscaling.LaunchTemplate(
                    LaunchTemplateSpecification=autoscaling.LaunchTemplateSpecification(LaunchTemplateId=Ref(template), Version=version),
                    Overrides=[autoscaling.LaunchTemplateOverrides(InstanceType=t) for t in [fleet["instance"], *spot["types"]]],
                ),
                InstancesDistribution=autoscaling.InstancesDistribution(
                    OnDemandBaseCapacity=spot["on_demand_base"],
                    OnDemandPercentageAboveBaseCapacity=spot["on_demand_percent"],
                    SpotAllocationStrategy="price-capacity-optimized",
                ),
            )
            group_properties["CapacityRebalance"] = True
        else:
            group_properties["LaunchTemplate"] = autoscaling.LaunchTemplateSpecification(LaunchTemplateId=Ref(template), Version=version)
        if "route" in fleet:
            group_properties["TargetGroupARNs"] = [Ref(load_balancer.target_group_title("fleets", name))]
        keep = fleet["min"] if fleet["min"] < fleet["max"] else fleet["max"] - 1
        group = out.add(
            autoscaling.AutoScalingGroup(
                f"{prefix}Group",
                # A new launch template version replaces instances in batches of one, keeping `min` in service. On
                # ECS capacity this does not fight the capacity provider: the group sets no DesiredCapacity (managed
                # scaling owns it) and managed draining's lifecycle hook moves the tasks off each instance first.
                UpdatePolicy=UpdatePolicy(
                    AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                        MinInstancesInService=str(max(keep, 0)), MaxBatchSize="1", PauseTime="PT5M", WaitOnResourceSignals=False
                    )
                ),
                **group_properties,
            )
        )
        out.export(ctx, STACK, f"{prefix}GroupName", Ref(group), f"Auto Scaling group of fleet {name}.")
        _scaling(name, fleet, ctx, out, group)
    return out


def _scaling(name: str, fleet: dict[str, Any], ctx: Context, out: Fragment, group: autoscaling.AutoScalingGroup) -> None:
    prefix = title(name)
    scale = fleet.get("scale", {})
    if "cpu" in scale:
        out.add(
            autoscaling.ScalingPolicy(
                f"{prefix}ScaleOnCpu",
                AutoScalingGroupName=Ref(group),
                PolicyType="TargetTrackingScaling",
                EstimatedInstanceWarmup=fleet["health_check_grace"],
                TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                    PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                        PredefinedMetricType="ASGAverageCPUUtilization"
                    ),
                    TargetValue=float(scale["cpu"]),
                ),
            )
        )
    if "requests_per_instance" in scale:
        target_group = load_balancer.target_group_title("fleets", name)
        out.add(
            autoscaling.ScalingPolicy(
                f"{prefix}ScaleOnRequests",
                AutoScalingGroupName=Ref(group),
                PolicyType="TargetTrackingScaling",
                EstimatedInstanceWarmup=fleet["health_check_grace"],
                TargetTrackingConfiguration=autoscaling.TargetTrackingConfiguration(
                    PredefinedMetricSpecification=autoscaling.PredefinedMetricSpecification(
                        PredefinedMetricType="ALBRequestCountPerTarget",
                        ResourceLabel=Join(
                            "/",
                            [
                                GetAtt(load_balancer.balancer_title(ctx.spec, "fleets", name), "LoadBalancerFullName"),
                                GetAtt(target_group, "TargetGroupFullName"),
                            ],
                        ),
                    ),
                    TargetValue=float(scale["requests_per_instance"]),
                ),
            )
        )
    for index, action in enumerate(fleet["schedules"]):
        out.at = ("fleets", name, "schedules", index)
        out.add(
            autoscaling.ScheduledAction(
                f"{prefix}Schedule{index + 1}",
                AutoScalingGroupName=Ref(group),
                Recurrence=action["cron"],
                TimeZone="Etc/UTC",
                **{field: str(action[key]) for key, field in SCHEDULED_SIZES.items() if key in action},
            )
        )
    out.at = ("fleets", name)


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

INSTANCE_PATTERN = "^[a-z][a-z0-9-]*\\.[a-z0-9]+$"
PROPERTIES: dict[str, Any] = {
    "fleets": {
        "description": "EC2 Auto Scaling groups: instances from one launch template, in a tier across the zones, behind the load "
        "balancer with `route:`. `uses:` derives their network access and IAM permissions, as for services.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/fleet"},
        "default": {},
        "examples": [{"web": {"instance": "m5.large", "min": 2, "max": 10, "port": 80, "route": {"path": "/"}, "scale": {"cpu": 60}}}],
    }
}
DEFS: dict[str, Any] = {
    "fleet": {
        "description": "One Auto Scaling group of EC2 instances.",
        "type": "object",
        "additionalProperties": False,
        "required": ["instance", "max"],
        "properties": {
            "instance": {"description": "EC2 instance type.", "type": "string", "pattern": INSTANCE_PATTERN, "examples": ["m5.large"]},
            "image": {
                "description": "The AMI: `ssm:<parameter>` (resolved at each launch; default: the latest Amazon Linux 2023) or "
                "an image ID such as a hardened one, `ami-...`.",
                "type": "string",
                "pattern": "^(ssm:/[A-Za-z0-9_./-]+|ami-[0-9a-f]{8}([0-9a-f]{9})?)$",
                "default": DEFAULT_IMAGE,
                "examples": ["ami-0123456789abcdef0"],
            },
            "tier": {
                "description": "The network tier the instances run in, across every zone. Default: the app tier.",
                "type": "string",
                "examples": ["web"],
            },
            "min": {"description": "Fewest instances.", "type": "integer", "minimum": 0, "maximum": 1000, "default": 1},
            "max": {"description": "Most instances.", "type": "integer", "minimum": 1, "maximum": 1000},
            "desired": {
                "description": "Instances to start with; later the scaling policies decide. Default: min.",
                "type": "integer",
                "minimum": 0,
                "maximum": 1000,
            },
            "port": {
                "description": "The port the load balancer reaches the instances on.",
                "type": "integer",
                "minimum": 1,
                "maximum": 65535,
            },
            "route": {"$ref": "#/$defs/route", "description": "Put the fleet behind the load balancer, on its port."},
            "volume": {
                "description": "The root volume: gp3, encrypted with the environment key.",
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "size": {"description": "GiB.", "type": "integer", "minimum": 8, "maximum": 16384, "default": 30},
                    "device": {
                        "description": "The root device name of the image.",
                        "type": "string",
                        "pattern": "^/dev/[a-z0-9]+$",
                        "default": "/dev/xvda",
                    },
                },
            },
            "scale": {
                "description": "Target tracking: average CPU percent, and requests per instance (needs a route).",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "cpu": {
                        "description": "Average CPU percent to keep.",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 100,
                        "examples": [60],
                    },
                    "requests_per_instance": {
                        "description": "Requests per instance per minute to keep (ALBRequestCountPerTarget).",
                        "type": "integer",
                        "minimum": 1,
                        "examples": [1000],
                    },
                },
            },
            "schedules": {
                "description": "Scheduled size changes, UTC.",
                "type": "array",
                "default": [],
                "items": {
                    "description": "One scheduled action: when, and the sizes it sets.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["cron"],
                    "minProperties": 2,
                    "properties": {
                        "cron": {
                            "description": "When, as five cron fields (minute hour day month weekday), UTC.",
                            "type": "string",
                            "pattern": "^\\S+ \\S+ \\S+ \\S+ \\S+$",
                            "examples": ["0 20 * * 1-5"],
                        },
                        "min": {"description": "Fewest instances from then on.", "type": "integer", "minimum": 0, "maximum": 1000},
                        "max": {"description": "Most instances from then on.", "type": "integer", "minimum": 0, "maximum": 1000},
                        "desired": {"description": "Instances right then.", "type": "integer", "minimum": 0, "maximum": 1000},
                    },
                },
            },
            "spot": {
                "description": "Mix Spot instances in: `on_demand_base` instances always on-demand, then "
                "`on_demand_percent` of the rest; Spot picks among `instance` and `types` (price-capacity-optimized).",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "on_demand_base": {
                        "description": "Instances always on-demand.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 1000,
                        "default": 0,
                    },
                    "on_demand_percent": {
                        "description": "Percent of the instances above the base that are on-demand.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 100,
                        "default": 0,
                    },
                    "types": {
                        "description": "Other instance types Spot may use.",
                        "type": "array",
                        "items": {"type": "string", "pattern": INSTANCE_PATTERN},
                        "uniqueItems": True,
                        "default": [],
                    },
                },
            },
            "health_check_grace": {
                "description": "Seconds a new instance has to boot before health checks count.",
                "type": "integer",
                "minimum": 0,
                "maximum": 7200,
                "default": 300,
            },
            "user_data": {
                "description": "A shell script run at boot after ivc's own steps (settings file, mounts, CloudWatch agent).",
                "type": "string",
                "maxLength": 12000,
            },
            "ecs": {
                "description": "Make the fleet capacity for the environment's ECS cluster: services run on it with "
                "`capacity: {fleet: <name>}`. Default image: the ECS-optimized Amazon Linux 2023. Its size is then managed "
                "scaling's, so it takes no route, port, scale or desired.",
                "type": "boolean",
                "default": False,
            },
            "target_capacity": {
                "description": "With `ecs`, the percent of the fleet managed scaling keeps in use by tasks; below 100 "
                "leaves spare instances for tasks to start on at once.",
                "type": "integer",
                "minimum": 1,
                "maximum": 100,
                "examples": [90],
            },
            "uses": uses_property("fleet", ["databases.main", "buckets.uploads:readwrite", "filesystems.shared"]),
            "environment": {
                "description": "Plain settings written to /etc/ivc/<fleet>.env with those from `uses:`.",
                "type": "object",
                "additionalProperties": {"type": ["string", "number", "boolean"]},
                "default": {},
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "fleets": {"description": "Changes to fleets in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("fleets", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, site=True)
