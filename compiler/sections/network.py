"""The network section: a VPC with tiers of subnets across zones, gateways, endpoints, flow logs, ACLs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from awacs import logs as logs_actions
from awacs import sts
from awacs.aws import Allow, ArnLike, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, GetAZs, Join, Ref, Select, Sub, ec2, iam, logs

from ..context import Context, Fragment, camel
from ..regions import ZONES_PER_REGION
from . import site
from .base import SITES, Section
from .keys import key_arn

STACK = "network"
PUBLIC_TIER = "public"
TIER_SLOTS = 8  # the schema's maxItems for tiers: the default layout leaves room for all of them
GATEWAY_ENDPOINTS = ("s3", "dynamodb")
# Interface endpoint names in the spec -> the AWS service names they stand for.
INTERFACE_SERVICES = {"ecr": ("ecr.api", "ecr.dkr")}
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "all": -1}
Network = ipaddress.IPv4Network


# --- the plan both the checks and the builder use -----------------------------------------


def zone_slots(zones: int) -> int:
    """Subnet slots per tier: four, so a zone can be added later without moving any subnet."""
    return 4 if zones <= 4 else 8


def subnet_prefix(network: dict[str, Any], vpc: Network) -> int:
    if "subnet_prefix" in network:
        return int(network["subnet_prefix"])
    slots = TIER_SLOTS * zone_slots(network["zones"])
    return vpc.prefixlen + (slots - 1).bit_length()


def subnet_plan(network: dict[str, Any], cidr: str) -> dict[str, list[Network]]:
    """Subnets per tier, one per zone, at fixed slots: tier i, zone z -> slot i * zone_slots + z."""
    vpc = ipaddress.IPv4Network(cidr)
    prefix = subnet_prefix(network, vpc)
    slots = zone_slots(network["zones"])
    needed = len(network["tiers"]) * slots
    if prefix > 28:
        raise ValueError(
            f"{cidr} is too small for the default subnet layout (/{prefix} subnets, under AWS's /28 minimum); "
            f"set network.subnet_prefix to at most 28 or use a larger network.cidr"
        )
    if prefix < vpc.prefixlen or needed > 2 ** (prefix - vpc.prefixlen):
        room = 2 ** (prefix - vpc.prefixlen) if prefix >= vpc.prefixlen else 0
        raise ValueError(
            f"/{prefix} subnets: {cidr} holds {room}, but {len(network['tiers'])} tiers x {slots} zone slots need {needed}; "
            f"use a longer network.subnet_prefix or a larger network.cidr"
        )
    size = 2 ** (32 - prefix)
    base = int(vpc.network_address)
    return {
        tier: [ipaddress.IPv4Network((base + (index * slots + zone) * size, prefix)) for zone in range(network["zones"])]
        for index, tier in enumerate(network["tiers"])
    }


def private_tiers(network: dict[str, Any]) -> list[str]:
    return [tier for tier in network["tiers"] if tier != PUBLIC_TIER]


def endpoint_tier(network: dict[str, Any]) -> str | None:
    if "endpoint_tier" in network:
        return str(network["endpoint_tier"])
    private = private_tiers(network)
    routed = [tier for tier in private if tier not in network["isolated"]]
    candidates = routed or private
    return candidates[0] if candidates else None


def data_tier(network: dict[str, Any]) -> str:
    """Where databases and caches live: a tier named `data`, else the first isolated tier, else the first private one."""
    private = private_tiers(network)
    for tier in ("data", *network["isolated"], *private):
        if tier in private:
            return str(tier)
    return str(network["tiers"][0])


def app_tier(network: dict[str, Any]) -> str:
    """Where services run: a tier named `app`, else the first private tier with internet egress, else any private one."""
    private = private_tiers(network)
    routed = [tier for tier in private if tier not in network["isolated"]]
    for tier in ("app", *routed, *private):
        if tier in private:
            return str(tier)
    return str(network["tiers"][0])


def subnet_ids(ctx: Context, tier: str) -> Any:
    """A tier's subnet IDs, imported from the network stack as a list."""
    from troposphere import Split

    return Split(",", ctx.imported(STACK, f"{camel(tier)}SubnetIds"))


def interface_endpoints(network: dict[str, Any]) -> list[str]:
    return [name for name in network["endpoints"] if name not in GATEWAY_ENDPOINTS]


# --- cross-field checks ---------------------------------------------------------------------


def check(spec: dict[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Problems the schema cannot see, as (spec path, message)."""
    network = spec.get("network")
    if network is None:
        return
    regions = spec["regions"]
    cidrs: dict[str, Network] = {}
    for key in ("cidr", "secondary_cidr"):
        if key in network:
            problem = _cidr_problem(network[key])
            if problem:
                yield ("network", key), f"network.{key} {problem}"
            else:
                cidrs[key] = ipaddress.IPv4Network(network[key])
                if not 16 <= cidrs[key].prefixlen <= 24:
                    yield ("network", key), f"network.{key} is /{cidrs[key].prefixlen}; AWS VPCs ivc lays out are /16 to /24"
    if "secondary" in regions and "secondary_cidr" not in network:
        yield (
            ("regions", "secondary"),
            (f"a secondary region ({regions['secondary']}) needs network.secondary_cidr, a VPC CIDR that does not overlap network.cidr"),
        )
    if "secondary_cidr" in network and "secondary" not in regions:
        yield ("network", "secondary_cidr"), "network.secondary_cidr is set but regions.secondary is not; remove one"
    if len(cidrs) == 2 and cidrs["cidr"].overlaps(cidrs["secondary_cidr"]):
        yield (
            ("network", "secondary_cidr"),
            f"network.secondary_cidr {network['secondary_cidr']} overlaps network.cidr {network['cidr']}; "
            "the regions' VPCs must not overlap",
        )
    for role in ("primary", "secondary"):
        region = regions.get(role)
        if region and network["zones"] > ZONES_PER_REGION[region]:
            yield (
                ("network", "zones"),
                (f"network.zones is {network['zones']} but {region} has {ZONES_PER_REGION[region]} Availability Zones"),
            )
    tiers = network["tiers"]
    for index, tier in enumerate(network["isolated"]):
        if tier not in tiers:
            yield ("network", "isolated", index), f"isolated tier '{tier}' is not in network.tiers ({', '.join(tiers)})"
        elif tier == PUBLIC_TIER:
            yield ("network", "isolated", index), "the public tier cannot be isolated"
    if "endpoint_tier" in network:
        if network["endpoint_tier"] not in tiers:
            yield ("network", "endpoint_tier"), f"endpoint_tier '{network['endpoint_tier']}' is not in network.tiers ({', '.join(tiers)})"
        elif network["endpoint_tier"] == PUBLIC_TIER:
            yield ("network", "endpoint_tier"), "endpoint_tier must be a private tier, not public"
    if network["nat"] != "none" and PUBLIC_TIER not in tiers:
        yield ("network", "nat"), f"nat: {network['nat']} needs a tier named '{PUBLIC_TIER}' to put the NAT gateways in"
    if network["nat"] != "none" and not [t for t in private_tiers(network) if t not in network["isolated"]]:
        yield ("network", "nat"), f"nat: {network['nat']} has no private tier to serve (all are isolated); use nat: none"
    if interface_endpoints(network) and not private_tiers(network):
        yield ("network", "endpoints"), "interface endpoints need a private tier to live in; add one to network.tiers"
    yield from _check_acls(network, tiers)
    if "cidr" in cidrs:
        try:
            subnet_plan(network, network["cidr"])
        except ValueError as exc:
            yield ("network", "subnet_prefix" if "subnet_prefix" in network else "cidr"), f"network: {exc}"


def _cidr_problem(text: str) -> str | None:
    try:
        ipaddress.IPv4Network(text)
    except ValueError:
        try:
            loose = ipaddress.IPv4Network(text, strict=False)
        except ValueError:
            return f"'{text}' is not a valid IPv4 CIDR"
        return f"'{text}' has host bits set; did you mean {loose}?"
    return None


def _check_acls(network: dict[str, Any], tiers: list[str]) -> Iterator[tuple[tuple[Any, ...], str]]:
    for tier, acl in network["acls"].items():
        if tier not in tiers:
            yield ("network", "acls", tier), f"network.acls names tier '{tier}', which is not in network.tiers ({', '.join(tiers)})"
        for direction, peer_key in (("inbound", "from"), ("outbound", "to")):
            for index, rule in enumerate(acl[direction]):
                path = ("network", "acls", tier, direction, index)
                peer = rule[peer_key]
                if peer not in tiers and peer not in ("vpc", "anywhere") and _cidr_problem(peer):
                    yield (
                        path + (peer_key,),
                        f"{peer_key}: '{peer}' is neither a tier ({', '.join(tiers)}), vpc, anywhere, nor a valid CIDR",
                    )
                ports = rule["ports"]
                if isinstance(ports, str) and ports != "all":
                    low, high = (int(p) for p in ports.split("-"))
                    if not low <= high <= 65535:
                        yield path + ("ports",), f"port range '{ports}' must run from low to high, at most 65535"


# --- the builder ------------------------------------------------------------------------------


def build(network: dict[str, Any], ctx: Context) -> Fragment:
    """Resources and exports of the network stack for one environment in one region."""
    cidr = network["cidr"] if ctx.role == "primary" else network["secondary_cidr"]
    plan = subnet_plan(network, cidr)
    out = Fragment()
    vpc = out.add(ec2.VPC("Vpc", CidrBlock=cidr, EnableDnsSupport=True, EnableDnsHostnames=True, Tags=ctx.resource_tags(ctx.name("vpc"))))
    _export(out, ctx, "VpcId", Ref(vpc), "The VPC's ID.")
    _export(out, ctx, "VpcCidr", GetAtt(vpc, "CidrBlock"), "The VPC's IPv4 CIDR block.")

    attachment = None
    if PUBLIC_TIER in plan:
        gateway = out.add(ec2.InternetGateway("InternetGateway", Tags=ctx.resource_tags(ctx.name("igw"))))
        attachment = out.add(ec2.VPCGatewayAttachment("InternetGatewayAttachment", VpcId=Ref(vpc), InternetGatewayId=Ref(gateway)))

    subnets: dict[str, list[ec2.Subnet]] = {}
    route_tables: dict[str, list[ec2.RouteTable]] = {}
    for tier, blocks in plan.items():
        subnets[tier], route_tables[tier] = [], []
        for zone, block in enumerate(blocks, start=1):
            title = f"Subnet{camel(tier)}{zone}"
            subnet = out.add(
                ec2.Subnet(
                    title,
                    VpcId=Ref(vpc),
                    CidrBlock=str(block),
                    AvailabilityZone=Select(zone - 1, GetAZs("")),
                    MapPublicIpOnLaunch=False,
                    Tags=ctx.resource_tags(ctx.name(tier, str(zone))),
                )
            )
            table = out.add(
                ec2.RouteTable(f"RouteTable{camel(tier)}{zone}", VpcId=Ref(vpc), Tags=ctx.resource_tags(ctx.name(tier, str(zone))))
            )
            out.add(ec2.SubnetRouteTableAssociation(f"{title}RouteTableAssociation", SubnetId=Ref(subnet), RouteTableId=Ref(table)))
            subnets[tier].append(subnet)
            route_tables[tier].append(table)
        _export(
            out,
            ctx,
            f"{camel(tier)}SubnetIds",
            Join(",", [Ref(s) for s in subnets[tier]]),
            f"The {tier} tier's subnet IDs, one per zone, comma-separated.",
        )
        _export(
            out, ctx, f"{camel(tier)}RouteTableIds", Join(",", [Ref(t) for t in route_tables[tier]]), f"The {tier} tier's route table IDs."
        )

    if attachment is not None:
        for zone, table in enumerate(route_tables[PUBLIC_TIER], start=1):
            out.add(
                ec2.Route(
                    f"RouteTablePublic{zone}InternetRoute",
                    RouteTableId=Ref(table),
                    DestinationCidrBlock="0.0.0.0/0",
                    GatewayId=Ref("InternetGateway"),
                    DependsOn=attachment.title,
                )
            )
        nats = []
        for zone in range(1, site_nat_count(network, ctx) + 1):
            eip = out.add(
                ec2.EIP(
                    f"NatGateway{zone}Eip", Domain="vpc", DependsOn=attachment.title, Tags=ctx.resource_tags(ctx.name("nat", str(zone)))
                )
            )
            nats.append(
                out.add(
                    ec2.NatGateway(
                        f"NatGateway{zone}",
                        AllocationId=GetAtt(eip, "AllocationId"),
                        SubnetId=Ref(subnets[PUBLIC_TIER][zone - 1]),
                        Tags=ctx.resource_tags(ctx.name("nat", str(zone))),
                    )
                )
            )
            _export(out, ctx, f"NatGateway{zone}Id", Ref(nats[-1]), f"NAT gateway {zone} (for metrics).")
        if nats:
            for tier in private_tiers(network):
                if tier in network["isolated"]:
                    continue
                for zone, table in enumerate(route_tables[tier], start=1):
                    nat = nats[zone - 1] if len(nats) > 1 else nats[0]
                    out.add(
                        ec2.Route(
                            f"RouteTable{camel(tier)}{zone}NatRoute",
                            RouteTableId=Ref(table),
                            DestinationCidrBlock="0.0.0.0/0",
                            NatGatewayId=Ref(nat),
                        )
                    )

    _endpoints(network, ctx, out, vpc, subnets, route_tables)
    if network["flow_logs"]["enabled"]:
        _flow_logs(network["flow_logs"], ctx, out, vpc)
    for tier, acl in sorted(network["acls"].items()):
        _acl(tier, acl, ctx, out, vpc, plan, cidr)
    return out


def nat_count(network: dict[str, Any]) -> int:
    """NAT gateways the network has: none, one, or one per zone."""
    return {"none": 0, "single": 1, "per-zone": int(network["zones"])}[network["nat"]]


def computes_here(ctx: Context) -> bool:
    """Whether ivc runs code in this region: always in the primary; in the DR region only when a standby runs there
    (site.py). Until then its databases' standbys and replica buckets need no egress, so NAT gateways and interface
    endpoints there would only idle and bill."""
    return ctx.role != "secondary" or site.runs(ctx.spec)


def site_nat_count(network: dict[str, Any], ctx: Context) -> int:
    """NAT gateways in this region: the network's, where code runs (see computes_here)."""
    return nat_count(network) if computes_here(ctx) else 0


def _export(out: Fragment, ctx: Context, name: str, value: Any, description: str) -> None:
    out.export(ctx, STACK, name, value, description)


def _endpoints(
    network: dict[str, Any],
    ctx: Context,
    out: Fragment,
    vpc: ec2.VPC,
    subnets: dict[str, list[ec2.Subnet]],
    route_tables: dict[str, list[ec2.RouteTable]],
) -> None:
    all_tables = [Ref(table) for tier in network["tiers"] for table in route_tables[tier]]
    for name in network["endpoints"]:
        if name in GATEWAY_ENDPOINTS:
            out.add(
                ec2.VPCEndpoint(
                    f"Endpoint{camel(name)}",
                    VpcId=Ref(vpc),
                    VpcEndpointType="Gateway",
                    ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{name}"),
                    RouteTableIds=all_tables,
                    Tags=ctx.resource_tags(ctx.name("endpoint", name)),
                )
            )
    interface = interface_endpoints(network) if computes_here(ctx) else []
    tier = endpoint_tier(network)
    if not interface or tier is None:
        return
    group = out.add(
        ec2.SecurityGroup(
            "EndpointSecurityGroup",
            GroupDescription=f"{ctx.name('endpoints')}: HTTPS from the VPC to AWS service endpoints",
            VpcId=Ref(vpc),
            SecurityGroupIngress=[
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=443,
                    ToPort=443,
                    CidrIp=GetAtt(vpc, "CidrBlock"),
                    Description="HTTPS from anywhere in the VPC",
                )
            ],
            # Endpoint interfaces only answer; a rule that matches nothing replaces the default allow-all egress.
            SecurityGroupEgress=[
                ec2.SecurityGroupRule(
                    IpProtocol="icmp",
                    FromPort=252,
                    ToPort=86,
                    CidrIp="255.255.255.255/32",
                    Description="No egress: endpoint interfaces only answer",
                )
            ],
            Tags=ctx.resource_tags(ctx.name("endpoints")),
        )
    )
    _export(out, ctx, "EndpointSecurityGroupId", Ref(group), "Security group of the interface endpoints.")
    for name in interface:
        for service in INTERFACE_SERVICES.get(name, (name,)):
            out.add(
                ec2.VPCEndpoint(
                    f"Endpoint{camel(service)}",
                    VpcId=Ref(vpc),
                    VpcEndpointType="Interface",
                    ServiceName=Sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                    PrivateDnsEnabled=True,
                    SubnetIds=[Ref(s) for s in subnets[tier]],
                    SecurityGroupIds=[Ref(group)],
                    Tags=ctx.resource_tags(ctx.name("endpoint", service.replace(".", "-"))),
                )
            )


def _flow_logs(settings: dict[str, Any], ctx: Context, out: Fragment, vpc: ec2.VPC) -> None:
    # Named under the environment's prefix, which the key's policy lets CloudWatch Logs encrypt. Logs encrypts
    # what the role delivers with its own key permission, so the role needs no KMS rights.
    group = out.add(
        logs.LogGroup(
            "FlowLogGroup",
            LogGroupName=ctx.log_group_name("network", "flow-logs"),
            RetentionInDays=settings["retention"],
            KmsKeyId=key_arn(ctx),
            Tags=ctx.resource_tags(ctx.name("flow-logs")),
            # Kept where every log group is (protected environments); elsewhere it goes with its stack, so a
            # destroyed dev environment can be deployed again under the same fixed name.
            **({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"} if ctx.protected else {}),
        )
    )
    trust = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Principal=Principal("Service", "vpc-flow-logs.amazonaws.com"),
                Action=[sts.AssumeRole],
                Condition=Condition(
                    [
                        StringEquals({"aws:SourceAccount": Ref("AWS::AccountId")}),
                        ArnLike({"aws:SourceArn": Sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:vpc-flow-log/*")}),
                    ]
                ),
            )
        ],
    )
    write = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Effect=Allow,
                Action=[logs_actions.CreateLogStream, logs_actions.PutLogEvents, logs_actions.DescribeLogStreams],
                Resource=[GetAtt(group, "Arn")],
            )
        ],
    )
    role = out.add(
        iam.Role(
            "FlowLogRole",
            Description=f"{ctx.name('vpc')}: deliver flow logs to their log group only",
            AssumeRolePolicyDocument=trust,
            Policies=[iam.Policy(PolicyName="write-flow-logs", PolicyDocument=write)],
            Tags=ctx.resource_tags(ctx.name("flow-logs")),
        )
    )
    out.add(
        ec2.FlowLog(
            "FlowLog",
            ResourceId=Ref(vpc),
            ResourceType="VPC",
            TrafficType=settings["traffic"],
            LogDestinationType="cloud-watch-logs",
            LogGroupName=Ref(group),
            DeliverLogsPermissionArn=GetAtt(role, "Arn"),
            Tags=ctx.resource_tags(ctx.name("flow-logs")),
        )
    )


def _acl(tier: str, acl: dict[str, Any], ctx: Context, out: Fragment, vpc: ec2.VPC, plan: dict[str, list[Network]], cidr: str) -> None:
    title = f"NetworkAcl{camel(tier)}"
    nacl = out.add(ec2.NetworkAcl(title, VpcId=Ref(vpc), Tags=ctx.resource_tags(ctx.name(tier, "acl"))))
    for zone in range(1, len(plan[tier]) + 1):
        out.add(
            ec2.SubnetNetworkAclAssociation(
                f"{title}Subnet{zone}Association", NetworkAclId=Ref(nacl), SubnetId=Ref(f"Subnet{camel(tier)}{zone}")
            )
        )
    for direction, peer_key in (("inbound", "from"), ("outbound", "to")):
        for index, rule in enumerate(acl[direction]):
            peer = rule[peer_key]
            blocks = (
                [str(b) for b in plan[peer]]
                if peer in plan
                else [cidr]
                if peer == "vpc"
                else ["0.0.0.0/0"]
                if peer == "anywhere"
                else [peer]
            )
            for offset, block in enumerate(blocks):
                number = 100 + index * 10 + offset
                entry: dict[str, Any] = dict(
                    NetworkAclId=Ref(nacl),
                    RuleNumber=number,
                    Egress=direction == "outbound",
                    Protocol=PROTOCOL_NUMBERS[rule["protocol"]],
                    RuleAction=rule["action"],
                    CidrBlock=block,
                )
                if rule["protocol"] == "icmp":
                    entry["Icmp"] = ec2.ICMP(Code=-1, Type=-1)
                elif rule["protocol"] != "all":
                    low, high = _port_range(rule["ports"])
                    entry["PortRange"] = ec2.PortRange(From=low, To=high)
                out.add(ec2.NetworkAclEntry(f"{title}{camel(direction)}{number}", **entry))


def _port_range(ports: int | str) -> tuple[int, int]:
    if isinstance(ports, int):
        return ports, ports
    if ports == "all":
        return 0, 65535
    low, high = ports.split("-")
    return int(low), int(high)


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "network": {
        "$ref": "#/$defs/network",
        "description": "The environment's VPC: subnet tiers across zones, internet and NAT gateways, endpoints, flow logs and network "
        "ACLs.",
    }
}
DEFS: dict[str, Any] = {
    "cidr": {"description": "An IPv4 CIDR block.", "type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$"},
    "tierName": {"description": "A subnet tier's name.", "type": "string", "pattern": "^[a-z][a-z0-9]{0,15}$"},
    "network": {
        "description": "The environment's VPC: subnet tiers across zones, internet and NAT gateways, endpoints, flow logs and network "
        "ACLs.",
        "type": "object",
        "additionalProperties": False,
        "required": ["cidr"],
        "properties": {
            "cidr": {
                "$ref": "#/$defs/cidr",
                "description": "VPC CIDR in the primary region, /16 to /24. Subnets are carved from it automatically.",
                "examples": ["10.0.0.0/16"],
            },
            "secondary_cidr": {
                "$ref": "#/$defs/cidr",
                "description": "VPC CIDR in the secondary (disaster-recovery) region; must not overlap cidr so the two can be peered.",
                "examples": ["10.100.0.0/16"],
            },
            "zones": {
                "description": "How many Availability Zones the subnets span; the region must have that many.",
                "type": "integer",
                "minimum": 1,
                "maximum": 6,
                "default": 2,
                "examples": [3],
            },
            "tiers": {
                "description": "Subnet tiers, each with one subnet per zone. The tier named `public` routes to the "
                "internet gateway; every other tier is private.",
                "type": "array",
                "items": {"$ref": "#/$defs/tierName"},
                "minItems": 1,
                "maxItems": 8,
                "uniqueItems": True,
                "default": ["public", "private"],
                "examples": [["public", "app", "data"]],
            },
            "isolated": {
                "description": "Private tiers with no route to the NAT gateways (no internet egress at all), such as a data tier.",
                "type": "array",
                "items": {"$ref": "#/$defs/tierName"},
                "uniqueItems": True,
                "default": [],
                "examples": [["data"]],
            },
            "subnet_prefix": {
                "description": "Prefix length of every subnet. By default ivc picks the largest size that "
                "leaves room for four zones per tier, so adding a zone later moves no subnet.",
                "type": "integer",
                "minimum": 16,
                "maximum": 28,
                "examples": [20],
            },
            "nat": {
                "description": "NAT gateways for private egress: none, one shared (cheap, one zone's failure cuts "
                "egress) or one per zone (highly available).",
                "enum": ["none", "single", "per-zone"],
                "default": "single",
                "examples": ["per-zone"],
            },
            "endpoints": {
                "description": "VPC endpoints: s3 and dynamodb are gateway endpoints (free); the rest are "
                "interface endpoints in endpoint_tier, reachable on 443 from the VPC.",
                "type": "array",
                "items": {
                    "enum": [
                        "s3",
                        "dynamodb",
                        "ecr",
                        "ecs",
                        "events",
                        "execute-api",
                        "kms",
                        "lambda",
                        "logs",
                        "monitoring",
                        "secretsmanager",
                        "sns",
                        "sqs",
                        "ssm",
                        "ssmmessages",
                        "ec2messages",
                        "states",
                        "sts",
                    ]
                },
                "uniqueItems": True,
                "default": [],
                "examples": [["s3", "ecr", "logs", "secretsmanager"]],
            },
            "endpoint_tier": {
                "description": "Private tier whose subnets hold the interface endpoints. Default: the first private, non-isolated tier.",
                "$ref": "#/$defs/tierName",
                "examples": ["app"],
            },
            "flow_logs": {
                "description": "VPC flow logs to a CloudWatch Logs group, delivered by a role that can write only to that group.",
                "type": "object",
                "additionalProperties": False,
                "default": {"enabled": True, "retention": 30, "traffic": "ALL"},
                "properties": {
                    "enabled": {"description": "Record flow logs. On by default.", "type": "boolean", "default": True},
                    "retention": {
                        "description": "Days CloudWatch keeps flow log records (one of the values CloudWatch allows).",
                        "enum": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
                        "default": 30,
                        "examples": [90],
                    },
                    "traffic": {"description": "Which traffic to record.", "enum": ["ALL", "ACCEPT", "REJECT"], "default": "ALL"},
                },
            },
            "acls": {
                "description": "Network ACLs per tier. A tier listed here denies everything its rules do not allow; "
                "ACLs are stateless, so allow the return traffic (ephemeral ports 1024-65535) too.",
                "type": "object",
                "propertyNames": {"$ref": "#/$defs/tierName"},
                "additionalProperties": {"$ref": "#/$defs/acl"},
                "default": {},
                "examples": [{"data": {"inbound": [{"from": "app", "ports": 5432}], "outbound": [{"to": "app", "ports": "1024-65535"}]}}],
            },
        },
    },
    "acl": {
        "description": "One tier's network ACL rules, numbered in the order written.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "inbound": {
                "description": "Rules for traffic entering the tier.",
                "type": "array",
                "items": {"$ref": "#/$defs/aclInbound"},
                "maxItems": 20,
                "default": [],
            },
            "outbound": {
                "description": "Rules for traffic leaving the tier.",
                "type": "array",
                "items": {"$ref": "#/$defs/aclOutbound"},
                "maxItems": 20,
                "default": [],
            },
        },
    },
    "aclPeer": {
        "description": "A tier name (all its subnets), `vpc`, `anywhere`, or a CIDR.",
        "type": "string",
        "examples": ["app", "vpc", "anywhere", "192.168.0.0/16"],
    },
    "aclPorts": {
        "description": "A port, a range `from-to`, or `all`.",
        "oneOf": [{"type": "integer", "minimum": 0, "maximum": 65535}, {"type": "string", "pattern": "^([0-9]{1,5}-[0-9]{1,5}|all)$"}],
        "default": "all",
        "examples": [443, "1024-65535"],
    },
    "aclProtocol": {"description": "IP protocol the rule matches.", "enum": ["tcp", "udp", "icmp", "all"], "default": "tcp"},
    "aclAction": {"description": "Whether matching traffic is allowed or denied.", "enum": ["allow", "deny"], "default": "allow"},
    "aclInbound": {
        "description": "An inbound network ACL rule.",
        "type": "object",
        "additionalProperties": False,
        "required": ["from"],
        "properties": {
            "from": {"$ref": "#/$defs/aclPeer", "description": "Where the traffic comes from: a tier name, `vpc`, `anywhere` or a CIDR."},
            "ports": {"$ref": "#/$defs/aclPorts", "description": "A port, a range `from-to`, or `all`."},
            "protocol": {"$ref": "#/$defs/aclProtocol", "description": "IP protocol the rule matches."},
            "action": {"$ref": "#/$defs/aclAction", "description": "Whether matching traffic is allowed or denied."},
        },
    },
    "aclOutbound": {
        "description": "An outbound network ACL rule.",
        "type": "object",
        "additionalProperties": False,
        "required": ["to"],
        "properties": {
            "to": {"$ref": "#/$defs/aclPeer", "description": "Where the traffic goes: a tier name, `vpc`, `anywhere` or a CIDR."},
            "ports": {"$ref": "#/$defs/aclPorts", "description": "A port, a range `from-to`, or `all`."},
            "protocol": {"$ref": "#/$defs/aclProtocol", "description": "IP protocol the rule matches."},
            "action": {"$ref": "#/$defs/aclAction", "description": "Whether matching traffic is allowed or denied."},
        },
    },
}
OVERLAY: dict[str, Any] = {
    "network": {"description": "Network settings merged over the spec's network section.", "type": ["object", "null"]}
}

SECTION = Section("network", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, regions=SITES)
