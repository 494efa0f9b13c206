"""Access: how people reach an environment's instances and data stores for administration.

Session Manager is the way in by default: every instance ivc launches has AmazonSSMManagedInstanceCore and no SSH
key, so `aws ssm start-session` reaches a shell, and port forwarding reaches a database, with nothing open inbound.
This section adds, when the spec asks:

- a **bastion**: a one-instance Auto Scaling group (it replaces a failed instance by itself) from a launch template
  like a fleet's (IMDSv2 with one hop, encrypted gp3 root volume with the environment key, Session Manager and the
  CloudWatch agent, the patch group tag). Its security group admits SSH (22) from the `ssh_from` CIDRs only, never
  the internet (0.0.0.0/0, ::/0 and any public range wider than a /16 are refused), and from the Client VPN's group
  with `ssh_from: [vpn]`; an empty `ssh_from` opens nothing, and Session Manager's port forwarding is the way in.
  When SSH comes from public addresses it runs in the public tier with a public address; otherwise in the app tier,
  private, with no public address at all (Session Manager reaches it through NAT or the VPC's endpoints).
  `reach` lists what the bastion may reach: a fleet's group then admits 22, a database's or a cache's group its
  port, from the bastion's group only; the bastion's group may send to exactly those groups on those ports, plus
  HTTPS (Systems Manager, CloudWatch, package repositories).
- a **Client VPN endpoint**: a client CIDR (/12 to /22, outside the VPCs), a server certificate (`certificates.<n>`
  or an ACM ARN), mutual TLS and/or a SAML provider or a directory, split tunnel by default, connection logs to an
  encrypted log group, a security group of its own, a target network association per zone in a private tier, an
  authorization rule for the VPC's CIDR only. What its clients reach is again `reach` (or the bastion, when the
  bastion's `ssh_from` lists `vpn`): the VPN's group may send only there, and only there admits it.

Security groups and the rules between them go to the `security` stack, beside the groups they admit into (a rule
there names its target group directly, as the rules `uses:` derives do); the bastion's instances and the VPN
endpoint go to a stack of their own, `access`, which imports the groups. Network ACLs are stateless and deny what
they do not list: a `reach` whose traffic an ACL'd tier would drop is an error at its line, naming the rule to add.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Generator, Iterator
from typing import Any

from awacs import cloudwatch as cloudwatch_actions
from awacs import ssm as ssm_actions
from awacs import sts
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import Base64, GetAtt, Join, Ref, Select, Split, Sub, autoscaling, ec2, iam, ssm
from troposphere.policies import AutoScalingRollingUpdate, UpdatePolicy

from .. import offerings
from ..context import Context, Fragment, camel
from . import caches, databases, fleets, load_balancer, network, security
from .base import Problem, Section, Spec
from .keys import key_arn
from .logs import log_group
from .patching import PATCH_GROUP_TAG, patch_group

STACK = "access"
SECURITY_STACK = security.STACK
SSH = 22
EPHEMERAL = (1024, 65535)  # where replies go back to: what a stateless ACL must let out (and in) for them
WIDEST_PUBLIC_PREFIX = 16  # SSH from at most a /16 (65,536 addresses) of public addresses
PRIVATE_RANGES = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
VPN = "vpn"
SSM_ENDPOINTS = ("ssm", "ssmmessages", "ec2messages")  # what Session Manager needs without a way to the internet
BASTION_GROUP = "BastionSecurityGroup"
VPN_GROUP = "ClientVpnSecurityGroup"
REACH_PATTERN = "^(fleets|databases|caches)\\.[a-z][a-z0-9-]*$"
SAML_PATTERN = "^arn:aws[a-z-]*:iam::[0-9]{12}:saml-provider/[A-Za-z0-9_.-]{1,128}$"
DIRECTORY_PATTERN = "^d-[0-9a-f]{10}$"
ACM_PATTERN = "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$"


# --- what `reach` names -----------------------------------------------------------------------------------


def _target(spec: Spec, text: str) -> tuple[str, str, int, str]:
    """(section, name, port, tier) of a `reach` entry that exists: fleets get SSH, data stores their port."""
    kind, _, name = text.partition(".")
    net = spec["network"]
    if kind == "fleets":
        return kind, name, SSH, fleets.tier(spec, spec["fleets"][name])
    port = databases.port(spec, name) if kind == "databases" else caches.port(spec, name)
    return kind, name, port, network.data_tier(net)


def _group_title(kind: str, name: str) -> str:
    """The target's security group in the security stack: ``FleetWebSecurityGroup``, ``DatabaseMainSecurityGroup``."""
    return security.group_id(security.KIND[kind], name)


def from_internet(source: str) -> bool:
    """Whether an `ssh_from` entry is a range of public addresses, which reach the bastion only in the public tier."""
    if source == VPN or ssh_source_problem(source):
        return False
    return not any(ipaddress.IPv4Network(source).subnet_of(private) for private in PRIVATE_RANGES)


def bastion_tier(spec: Spec) -> str:
    """The tier the bastion runs in: as written; else public when SSH comes from the internet, where it needs a public
    address; else the app tier, private, with no public address (Session Manager reaches it through NAT)."""
    bastion = spec["access"]["bastion"]
    if "tier" in bastion:
        return str(bastion["tier"])
    if any(from_internet(source) for source in bastion["ssh_from"]):
        return network.PUBLIC_TIER
    return network.app_tier(spec["network"])


def vpn_tier(spec: Spec) -> str:
    return str(spec["access"]["vpn"].get("tier") or network.app_tier(spec["network"]))


# --- network ACLs: would a stateless ACL drop this traffic? ----------------------------------------------------


def _blocks(peer: str, plan: dict[str, list[network.Network]], cidr: str) -> list[network.Network]:
    if peer in plan:
        return list(plan[peer])
    if peer == "vpc":
        return [ipaddress.IPv4Network(cidr)]
    if peer == "anywhere":
        return [ipaddress.IPv4Network("0.0.0.0/0")]
    try:
        return [ipaddress.IPv4Network(peer, strict=False)]
    except ValueError:
        return []  # not a tier nor a CIDR: the network's own check tells this, and the rule matches nothing


def _verdict(
    rules: list[dict[str, Any]], peer_key: str, block: network.Network, ports: tuple[int, int], plan: dict[str, Any], cidr: str
) -> tuple[bool, int | None]:
    """Whether TCP on ``ports`` to or from every address of ``block`` passes these rules (in order, first match wins,
    then the implicit deny); on False the index of the deny rule that drops it, or None when nothing allows it."""
    uncovered = [ports]
    for index, rule in enumerate(rules):
        if rule["protocol"] not in ("tcp", "all"):
            continue
        low, high = network._port_range(rule["ports"]) if rule["protocol"] == "tcp" else (0, 65535)
        hit = [(max(a, low), min(b, high)) for a, b in uncovered if max(a, low) <= min(b, high)]
        if not hit:
            continue
        peers = _blocks(rule[peer_key], plan, cidr)
        if rule["action"] == "deny":
            if any(p.overlaps(block) for p in peers):
                return False, index
            continue
        if any(p.supernet_of(block) for p in peers):
            rest: list[tuple[int, int]] = []
            for a, b in uncovered:
                if a < low:
                    rest.append((a, min(b, low - 1)))
                if b > high:
                    rest.append((max(a, high + 1), b))
            uncovered = rest
            if not uncovered:
                return True, None
    return False, None


def _acl_problems(spec: Spec, who: str, source: str, source_tier: str | None, target: str, port: int, what: str) -> Iterator[str]:
    """Messages for each ACL rule missing between ``source`` (a tier, or a CIDR when ``source_tier`` is None) and the
    tier ``target`` on ``port``, with the replies on ephemeral ports: both tiers' ACLs are looked at, both ways."""
    net = spec["network"]
    try:
        plan = network.subnet_plan(net, net["cidr"])
    except ValueError:
        return  # the network's own check tells this
    acls = net["acls"]
    sources = plan[source_tier] if source_tier is not None else [ipaddress.IPv4Network(source)]
    steps = [(target, "inbound", "from", source, sources, (port, port)), (target, "outbound", "to", source, sources, EPHEMERAL)]
    if source_tier is not None:
        targets = plan[target]
        steps += [
            (source_tier, "outbound", "to", target, targets, (port, port)),
            (source_tier, "inbound", "from", target, targets, EPHEMERAL),
        ]
    for tier, direction, peer_key, peer, blocks, ports in steps:
        if tier not in acls or tier not in plan:
            continue
        rules = acls[tier][direction]
        for block in blocks:
            passes, denied = _verdict(rules, peer_key, block, ports, plan, net["cidr"])
            if passes:
                continue
            shown = str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"
            rule = f"{{{peer_key}: {peer}, ports: {shown}}}"
            purpose = f"port {port}" if ports[0] == ports[1] else f"the replies to port {port}"
            where = f"network.acls.{tier}.{direction}"
            advice = f"{where}[{denied}] denies it; put {rule} before that rule" if denied is not None else f"add {rule} to {where}"
            yield f"{who} reaches {what} on port {port}, but the {tier} tier's network ACL drops {purpose}: {advice}"
            break


# --- cross-field checks ---------------------------------------------------------------------------------------


def check(spec: Spec) -> Iterator[Problem]:
    access = spec.get("access")
    if not access:
        return
    net = spec.get("network")
    if net is None:
        yield ("access",), "access needs a network section: the bastion and the VPN live in its tiers"
        return
    if "bastion" in access:
        yield from _check_bastion(spec, access["bastion"])
    if "vpn" in access:
        yield from _check_vpn(spec, access["vpn"])


def _tier_problem(spec: Spec, path: tuple[Any, ...], tier: str, what: str, private: bool) -> Generator[Problem, None, bool]:
    """Problems with the tier ``what`` is placed in; returns whether the tier exists (so ACLs can be looked at).
    ``private``: the VPN, whose interfaces need no way out; the bastion (not private) must reach Session Manager."""
    net = spec["network"]
    if tier not in net["tiers"]:
        yield path, f"{what}: tier {tier} is not a tier of the network ({', '.join(net['tiers'])})"
        return False
    if private and tier == network.PUBLIC_TIER:
        yield path, f"{what} belongs in a private tier, not public"
    cut_off = tier in net["isolated"] or net["nat"] == "none"
    if not private and tier != network.PUBLIC_TIER and not set(SSM_ENDPOINTS) <= set(net["endpoints"]) and cut_off:
        way = "is isolated" if tier in net["isolated"] else "has no NAT (network.nat: none)"
        yield (
            path,
            f"{what}: tier {tier} {way}, so an instance there could not reach Session Manager; choose another tier or add "
            f"{', '.join(SSM_ENDPOINTS)} to network.endpoints",
        )
    return True


def _check_reach(spec: Spec, path: tuple[Any, ...], who: str, reach: list[str], source_tier: str | None) -> Iterator[Problem]:
    tier_ok = source_tier is not None
    for index, text in enumerate(reach):
        kind, _, name = text.partition(".")
        items = spec.get(kind, {})
        if name not in items:
            known = ", ".join(sorted(items)) or "none are declared"
            yield (*path, index), f"{who} reaches {text}, which does not exist ({kind}: {known})"
            continue
        _, _, port, tier = _target(spec, text)
        if tier_ok and tier in spec["network"]["tiers"]:
            assert source_tier is not None
            for message in _acl_problems(spec, who, source_tier, source_tier, tier, port, text):
                yield (*path, index), message


def ssh_source_problem(text: str) -> str | None:
    """Why ``text`` may not be a source of SSH, or None: a valid IPv4 CIDR, never the internet or a wide public range."""
    if ":" in text:
        try:
            six = ipaddress.IPv6Network(text, strict=False)
        except ValueError:
            return f"'{text}' is not a valid CIDR"
        if six.prefixlen == 0:
            return f"{text} is the whole IPv6 internet: SSH is never open to everyone; list your office's addresses or use Session Manager"
        return f"{text} is IPv6, but the VPC has no IPv6 addresses: give the IPv4 range you connect from"
    problem = network._cidr_problem(text)
    if problem:
        return problem
    block = ipaddress.IPv4Network(text)
    if block.prefixlen == 0:
        return (
            f"{text} is the whole internet: SSH is never open to everyone; list your office's addresses, or leave "
            "ssh_from empty and reach the bastion through Session Manager"
        )
    if any(block.subnet_of(private) for private in PRIVATE_RANGES):
        return None  # a private range reaches the bastion only over a private path (VPN, peering, Direct Connect)
    if block.prefixlen < WIDEST_PUBLIC_PREFIX:
        return (
            f"{text} holds {block.num_addresses:,} addresses; SSH from public addresses is admitted from at most a "
            f"/{WIDEST_PUBLIC_PREFIX} (give your office's range, or use Session Manager)"
        )
    return None


def _check_bastion(spec: Spec, bastion: dict[str, Any]) -> Iterator[Problem]:
    path = ("access", "bastion")
    for field, message in offerings.instance_problems(spec["regions"]["primary"], [bastion["instance"]]):
        yield (*path, *field), message
    tier = bastion_tier(spec)
    tier_at = (*path, "tier") if "tier" in bastion else path
    placed = yield from _tier_problem(spec, tier_at, tier, "access.bastion", private=False)
    public = [source for source in bastion["ssh_from"] if from_internet(source)]
    if public and tier != network.PUBLIC_TIER:
        yield (
            tier_at,
            f"access.bastion admits SSH from public addresses ({', '.join(public)}), which reach only the public tier, not {tier}",
        )
    for index, source in enumerate(bastion["ssh_from"]):
        at = (*path, "ssh_from", index)
        if source == VPN:
            if "vpn" not in spec["access"]:
                yield at, "access.bastion admits ssh_from: vpn, but there is no access.vpn"
            elif placed and vpn_tier(spec) in spec["network"]["tiers"]:
                for message in _acl_problems(spec, "access.vpn", vpn_tier(spec), vpn_tier(spec), tier, SSH, "the bastion"):
                    yield at, message
            continue
        problem = ssh_source_problem(source)
        if problem:
            yield at, f"access.bastion.ssh_from: {problem}"
        elif placed:
            for message in _acl_problems(spec, source, source, None, tier, SSH, "the bastion"):
                yield at, message
    yield from _check_reach(spec, (*path, "reach"), "access.bastion", bastion["reach"], tier if placed else None)


def _check_vpn(spec: Spec, vpn: dict[str, Any]) -> Iterator[Problem]:
    path = ("access", "vpn")
    net = spec["network"]
    primary = spec["regions"]["primary"]
    problem = network._cidr_problem(vpn["client_cidr"])
    if problem:
        yield (*path, "client_cidr"), f"access.vpn.client_cidr {problem}"
    else:
        client = ipaddress.IPv4Network(vpn["client_cidr"])
        if not 12 <= client.prefixlen <= 22:
            yield (*path, "client_cidr"), f"access.vpn.client_cidr is /{client.prefixlen}; Client VPN takes /12 to /22"
        for key in ("cidr", "secondary_cidr"):
            if key in net and not network._cidr_problem(net[key]) and client.overlaps(ipaddress.IPv4Network(net[key])):
                yield (
                    (*path, "client_cidr"),
                    f"access.vpn.client_cidr {vpn['client_cidr']} overlaps network.{key} {net[key]}; "
                    "clients' addresses must be outside the VPC",
                )
    certificate = vpn["certificate"]
    if certificate.startswith(load_balancer.CERTIFICATE_PREFIX):
        wanted = certificate[len(load_balancer.CERTIFICATE_PREFIX) :]
        known = spec.get("certificates") or {}
        if wanted not in known:
            yield (
                (*path, "certificate"),
                f"access.vpn.certificate is {certificate}, which does not exist "
                f"(certificates: {', '.join(sorted(known)) or 'none are declared'})",
            )
    elif certificate.split(":")[3] != primary:
        yield (
            (*path, "certificate"),
            f"the VPN's server certificate must be in its region, {primary}; this one is in {certificate.split(':')[3]}",
        )
    auth = vpn["authentication"]
    if not auth:
        yield (*path, "authentication"), "access.vpn.authentication needs mutual_tls (a client root certificate), saml or directory"
    if "saml" in auth and "directory" in auth:
        yield (*path, "authentication", "directory"), "Client VPN takes one user-based authentication: saml or directory, not both"
    if "mutual_tls" in auth and auth["mutual_tls"].split(":")[3] != primary:
        yield (
            (*path, "authentication", "mutual_tls"),
            f"the client root certificate must be in ACM in {primary}, not {auth['mutual_tls'].split(':')[3]}",
        )
    if "access_group" in vpn and not ({"saml", "directory"} & set(auth)):
        yield (*path, "access_group"), "access_group needs saml or directory authentication: certificates carry no groups"
    tier = vpn_tier(spec)
    placed = yield from _tier_problem(spec, (*path, "tier") if "tier" in vpn else path, tier, "access.vpn", private=True)
    through_bastion = VPN in spec["access"].get("bastion", {}).get("ssh_from", [])
    if not vpn["reach"] and not through_bastion:
        yield path, "access.vpn reaches nothing: list what its clients may reach in reach, or add vpn to access.bastion.ssh_from"
    yield from _check_reach(spec, (*path, "reach"), "access.vpn", vpn["reach"], tier if placed else None)


# --- security groups and their rules (the security stack) -----------------------------------------------------


def needed_rules(spec: Spec) -> bool:
    return bool(spec.get("access")) and "network" in spec


def build_rules(spec: Spec, ctx: Context) -> Fragment:
    """The bastion's and the VPN's groups, what they may send to, and what admits them: beside the targets' groups."""
    out = Fragment()
    access = spec["access"]
    vpc = ctx.imported("network", "VpcId")
    if "vpn" in access:
        out.at = ("access", "vpn")
        vpn = access["vpn"]
        egress = [_egress_to(spec, text, "access.vpn") for text in vpn["reach"]]
        if VPN in access.get("bastion", {}).get("ssh_from", []):
            egress.append(
                ec2.SecurityGroupRule(
                    IpProtocol="tcp",
                    FromPort=SSH,
                    ToPort=SSH,
                    DestinationSecurityGroupId=GetAtt(BASTION_GROUP, "GroupId"),
                    Description="SSH to the bastion",
                )
            )
        group = out.add(
            ec2.SecurityGroup(
                VPN_GROUP,
                GroupDescription=f"{ctx.name('client-vpn')}: the Client VPN endpoint; its clients reach only what access.vpn names",
                VpcId=vpc,
                SecurityGroupEgress=egress,
                Tags=ctx.resource_tags(ctx.name("client-vpn")),
            )
        )
        out.export(ctx, SECURITY_STACK, VPN_GROUP, GetAtt(group, "GroupId"), "Security group: the Client VPN endpoint.")
        for index, text in enumerate(vpn["reach"]):
            out.at = ("access", "vpn", "reach", index)
            out.add(_ingress_from(spec, text, VPN_GROUP, "ClientVpn", "the Client VPN's clients", "access.vpn"))
    if "bastion" in access:
        out.at = ("access", "bastion")
        bastion = access["bastion"]
        egress = [
            # Systems Manager, CloudWatch and the package repositories, over the internet gateway.
            ec2.SecurityGroupRule(
                IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="0.0.0.0/0", Description="HTTPS: Session Manager, CloudWatch, packages"
            )
        ]
        egress += [_egress_to(spec, text, "access.bastion") for text in bastion["reach"]]
        group = out.add(
            ec2.SecurityGroup(
                BASTION_GROUP,
                GroupDescription=f"{ctx.name('bastion')}: the bastion; SSH only from access.bastion.ssh_from, never the internet",
                VpcId=vpc,
                SecurityGroupEgress=egress,
                Tags=ctx.resource_tags(ctx.name("bastion")),
            )
        )
        out.export(ctx, SECURITY_STACK, BASTION_GROUP, GetAtt(group, "GroupId"), "Security group: the bastion.")
        for index, source in enumerate(bastion["ssh_from"]):
            out.at = ("access", "bastion", "ssh_from", index)
            rule: dict[str, Any] = dict(GroupId=GetAtt(group, "GroupId"), IpProtocol="tcp", FromPort=SSH, ToPort=SSH)
            if source == VPN:
                out.add(
                    ec2.SecurityGroupIngress(
                        "BastionIngressSshFromClientVpn",
                        SourceSecurityGroupId=GetAtt(VPN_GROUP, "GroupId"),
                        Description="SSH from the Client VPN's clients",
                        **rule,
                    )
                )
            else:
                out.add(
                    ec2.SecurityGroupIngress(
                        f"BastionIngressSsh{index + 1}", CidrIp=source, Description=f"SSH from {source} (access.bastion.ssh_from)", **rule
                    )
                )
        for index, text in enumerate(bastion["reach"]):
            out.at = ("access", "bastion", "reach", index)
            out.add(_ingress_from(spec, text, BASTION_GROUP, "Bastion", "the bastion", "access.bastion"))
    return out


def _egress_to(spec: Spec, text: str, who: str) -> ec2.SecurityGroupRule:
    kind, name, port, _ = _target(spec, text)
    return ec2.SecurityGroupRule(
        IpProtocol="tcp",
        FromPort=port,
        ToPort=port,
        DestinationSecurityGroupId=GetAtt(_group_title(kind, name), "GroupId"),
        Description=f"Port {port} to {text} ({who}.reach)",
    )


def _ingress_from(spec: Spec, text: str, source_group: str, source_title: str, who: str, field: str) -> ec2.SecurityGroupIngress:
    kind, name, port, _ = _target(spec, text)
    title = _group_title(kind, name).removesuffix("SecurityGroup")
    return ec2.SecurityGroupIngress(
        f"{title}IngressFrom{source_title}",
        GroupId=GetAtt(_group_title(kind, name), "GroupId"),
        IpProtocol="tcp",
        FromPort=port,
        ToPort=port,
        SourceSecurityGroupId=GetAtt(source_group, "GroupId"),
        Description=f"Port {port} from {who} only ({field}.reach)",
    )


# --- the bastion and the VPN endpoint (the access stack) -----------------------------------------------------


def agent_parameter(ctx: Context) -> str:
    return f"/{ctx.system}/{ctx.environment}/access/bastion/cloudwatch-agent"


def _bastion(spec: Spec, ctx: Context, out: Fragment) -> None:
    bastion = spec["access"]["bastion"]
    out.at = ("access", "bastion")
    tier = bastion_tier(spec)
    statements = [
        Statement(
            Sid="PublishAgentMetrics",
            Effect=Allow,
            Action=[cloudwatch_actions.PutMetricData],
            Resource=["*"],  # PutMetricData takes no resource: the namespace condition narrows it
            Condition=Condition(StringEquals({"cloudwatch:namespace": fleets.AGENT_NAMESPACE})),
        ),
        Statement(
            Sid="ReadAgentConfiguration",
            Effect=Allow,
            Action=[ssm_actions.GetParameter],
            Resource=[Sub(f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter{agent_parameter(ctx)}")],
        ),
    ]
    role = out.add(
        iam.Role(
            "BastionRole",
            Description=f"{ctx.name('bastion')}: Session Manager and the CloudWatch agent, nothing else",
            AssumeRolePolicyDocument=PolicyDocument(
                Version="2012-10-17",
                Statement=[Statement(Effect=Allow, Principal=Principal("Service", "ec2.amazonaws.com"), Action=[sts.AssumeRole])],
            ),
            ManagedPolicyArns=[Sub(fleets.SSM_CORE)],
            Policies=[iam.Policy(PolicyName="agent", PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=statements))],
            Tags=ctx.resource_tags(ctx.name("bastion")),
        )
    )
    profile = out.add(iam.InstanceProfile("BastionInstanceProfile", Roles=[Ref(role)]))
    out.add(
        ssm.Parameter(
            "BastionAgentConfiguration",
            Name=agent_parameter(ctx),
            Type="String",
            Tier="Standard",
            Description=f"{ctx.name('bastion')}: CloudWatch agent configuration (memory and disk use)",
            Value=fleets.agent_configuration(),
            Tags={**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc"},
        )
    )
    tags = {**dict(ctx.tags), "System": ctx.system, "Environment": ctx.environment, "ManagedBy": "ivc", "Name": ctx.name("bastion")}
    if spec.get("patching"):
        tags[PATCH_GROUP_TAG] = patch_group(ctx)
    tag_list = [ec2.Tag(Key=k, Value=v) for k, v in sorted(tags.items())]
    image = str(bastion["image"])
    data: dict[str, Any] = dict(
        ImageId=f"resolve:ssm:{image[len('ssm:') :]}" if image.startswith("ssm:") else image,
        InstanceType=bastion["instance"],
        IamInstanceProfile=ec2.IamInstanceProfile(Arn=GetAtt(profile, "Arn")),
        NetworkInterfaces=[
            ec2.NetworkInterfaces(
                DeviceIndex=0,
                # In the public tier it reaches Systems Manager through the internet gateway, so it needs an address.
                AssociatePublicIpAddress=tier == network.PUBLIC_TIER,
                Groups=[ctx.imported(SECURITY_STACK, BASTION_GROUP)],
                DeleteOnTermination=True,
            )
        ],
        MetadataOptions=ec2.MetadataOptions(HttpTokens="required", HttpEndpoint="enabled", HttpPutResponseHopLimit=1),
        Monitoring=ec2.Monitoring(Enabled=True),
        EbsOptimized=True,
        BlockDeviceMappings=[
            ec2.LaunchTemplateBlockDeviceMapping(
                DeviceName=bastion["volume"]["device"],
                Ebs=ec2.EBSBlockDevice(
                    VolumeType="gp3", VolumeSize=bastion["volume"]["size"], Encrypted=True, KmsKeyId=key_arn(ctx), DeleteOnTermination=True
                ),
            )
        ],
        UserData=Base64(
            Join(
                "",
                [
                    "#!/bin/bash\n",
                    "set -euo pipefail\n",
                    f"# ivc: access.bastion of {ctx.name()}\n",
                    "dnf install -y amazon-cloudwatch-agent\n",
                    "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s ",
                    f"-c ssm:{agent_parameter(ctx)}\n",
                ],
            )
        ),
        TagSpecifications=[
            ec2.TagSpecifications(ResourceType="instance", Tags=tag_list),
            ec2.TagSpecifications(ResourceType="volume", Tags=tag_list),
        ],
    )
    if "key_pair" in bastion:
        data["KeyName"] = bastion["key_pair"]
    template = out.add(
        ec2.LaunchTemplate(
            "BastionLaunchTemplate",
            LaunchTemplateName=ctx.name("bastion"),
            LaunchTemplateData=ec2.LaunchTemplateData(**data),
            TagSpecifications=[ec2.TagSpecifications(ResourceType="launch-template", Tags=tag_list)],
        )
    )
    group = out.add(
        autoscaling.AutoScalingGroup(
            "BastionGroup",
            AutoScalingGroupName=ctx.name("bastion"),
            MinSize="1",
            MaxSize="1",
            DesiredCapacity="1",
            VPCZoneIdentifier=network.subnet_ids(ctx, tier),
            LaunchTemplate=autoscaling.LaunchTemplateSpecification(
                LaunchTemplateId=Ref(template), Version=GetAtt(template, "LatestVersionNumber")
            ),
            HealthCheckType="EC2",
            HealthCheckGracePeriod=300,
            MetricsCollection=[autoscaling.MetricsCollection(Granularity="1Minute")],
            Tags=[autoscaling.Tag(k, v, False) for k, v in sorted(tags.items())],
            # One instance: a new launch template version replaces it (nothing to keep in service).
            UpdatePolicy=UpdatePolicy(
                AutoScalingRollingUpdate=AutoScalingRollingUpdate(
                    MinInstancesInService="0", MaxBatchSize="1", PauseTime="PT5M", WaitOnResourceSignals=False
                )
            ),
        )
    )
    out.export(ctx, STACK, "BastionGroupName", Ref(group), "Auto Scaling group of the bastion (its one instance).")


def _vpn(spec: Spec, ctx: Context, out: Fragment) -> None:
    vpn = spec["access"]["vpn"]
    out.at = ("access", "vpn")
    cidr = spec["network"]["cidr"]
    logs = out.add(log_group("ClientVpnLogGroup", ctx.log_group_name("access", "vpn"), ctx, "client-vpn", STACK))
    auth = vpn["authentication"]
    options = []
    if "mutual_tls" in auth:
        options.append(
            ec2.ClientAuthenticationRequest(
                Type="certificate-authentication",
                MutualAuthentication=ec2.CertificateAuthenticationRequest(ClientRootCertificateChainArn=auth["mutual_tls"]),
            )
        )
    if "saml" in auth:
        options.append(
            ec2.ClientAuthenticationRequest(
                Type="federated-authentication", FederatedAuthentication=ec2.FederatedAuthenticationRequest(SAMLProviderArn=auth["saml"])
            )
        )
    if "directory" in auth:
        options.append(
            ec2.ClientAuthenticationRequest(
                Type="directory-service-authentication",
                ActiveDirectory=ec2.DirectoryServiceAuthenticationRequest(DirectoryId=auth["directory"]),
            )
        )
    resolver = str(ipaddress.IPv4Network(cidr).network_address + 2)  # the VPC's DNS resolver: private names resolve
    endpoint = out.add(
        ec2.ClientVpnEndpoint(
            "ClientVpnEndpoint",
            Description=f"{ctx.name('client-vpn')}: remote access to the VPC",
            ClientCidrBlock=vpn["client_cidr"],
            ServerCertificateArn=load_balancer.certificate_arn(ctx, vpn["certificate"]),
            AuthenticationOptions=options,
            ConnectionLogOptions=ec2.ConnectionLogOptions(Enabled=True, CloudwatchLogGroup=Ref(logs)),
            SplitTunnel=vpn["split_tunnel"],
            SessionTimeoutHours=vpn["session_timeout"],
            DisconnectOnSessionTimeout=True,
            TransportProtocol=vpn["transport"],
            VpnPort=vpn["port"],
            DnsServers=[resolver],
            VpcId=ctx.imported("network", "VpcId"),
            SecurityGroupIds=[ctx.imported(SECURITY_STACK, VPN_GROUP)],
            TagSpecifications=[ec2.TagSpecifications(ResourceType="client-vpn-endpoint", Tags=ctx.resource_tags(ctx.name("client-vpn")))],
        )
    )
    tier = vpn_tier(spec)
    subnets = Split(",", ctx.imported("network", f"{camel(tier)}SubnetIds"))
    for zone in range(1, spec["network"]["zones"] + 1):
        out.add(
            ec2.ClientVpnTargetNetworkAssociation(
                f"ClientVpnAssociation{zone}", ClientVpnEndpointId=Ref(endpoint), SubnetId=Select(zone - 1, subnets)
            )
        )
    rule: dict[str, Any] = {"AccessGroupId": vpn["access_group"]} if "access_group" in vpn else {"AuthorizeAllGroups": True}
    out.add(
        ec2.ClientVpnAuthorizationRule(
            "ClientVpnAuthorizeVpc",
            ClientVpnEndpointId=Ref(endpoint),
            TargetNetworkCidr=cidr,
            Description="The VPC only: what clients reach is then up to the security groups",
            **rule,
        )
    )
    out.export(ctx, STACK, "ClientVpnEndpointId", Ref(endpoint), "The Client VPN endpoint's ID (download its client configuration by it).")


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    if "bastion" in spec["access"]:
        _bastion(spec, ctx, out)
    if "vpn" in spec["access"]:
        _vpn(spec, ctx, out)
    return out


def needed(spec: Spec) -> bool:
    return bool(spec.get("access"))


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_REACH = {
    "type": "array",
    "items": {"type": "string", "pattern": REACH_PATTERN},
    "uniqueItems": True,
    "default": [],
}
PROPERTIES: dict[str, Any] = {
    "access": {
        "$ref": "#/$defs/access",
        "description": "Administrative access beyond Session Manager (always on): an optional bastion host and an optional "
        "Client VPN endpoint, each reaching only what it lists.",
    }
}
DEFS: dict[str, Any] = {
    "access": {
        "description": "Administrative access beyond Session Manager (always on): an optional bastion host and an optional Client "
        "VPN endpoint.",
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "bastion": {"$ref": "#/$defs/bastion", "description": "A bastion host: one self-healing instance reaching only what it lists."},
            "vpn": {"$ref": "#/$defs/clientVpn", "description": "A Client VPN endpoint into the VPC, reaching only what it lists."},
        },
        "examples": [{"bastion": {"reach": ["fleets.web", "databases.main"]}}],
    },
    "bastion": {
        "description": "A bastion host: one self-healing instance (IMDSv2, encrypted gp3, Session Manager, CloudWatch agent). "
        "SSH reaches it only from `ssh_from`; it reaches only what `reach` lists.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "instance": {
                "description": "EC2 instance type.",
                "type": "string",
                "pattern": fleets.INSTANCE_PATTERN,
                "default": "t3.micro",
                "examples": ["t3.micro"],
            },
            "image": {
                "description": "The AMI: `ssm:<parameter>` (default: the latest Amazon Linux 2023) or `ami-...`.",
                "type": "string",
                "pattern": "^(ssm:/[A-Za-z0-9_./-]+|ami-[0-9a-f]{8}([0-9a-f]{9})?)$",
                "default": fleets.DEFAULT_IMAGE,
            },
            "tier": {
                "description": "The tier it runs in. Default: `public` (with a public address) when `ssh_from` lists public "
                "addresses, else the app tier (private, no public address; Session Manager reaches it through NAT).",
                "type": "string",
                "examples": ["public"],
            },
            "ssh_from": {
                "description": "Who may SSH (port 22) to it: IPv4 CIDRs (public ones at most a /16; never 0.0.0.0/0) and `vpn` "
                "(the Client VPN's clients). Empty (the default, and recommended): no inbound at all; use Session Manager, "
                "with port forwarding to what it reaches.",
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 64},
                "uniqueItems": True,
                "maxItems": 50,
                "default": [],
                "examples": [["203.0.113.0/24"], ["vpn"]],
            },
            "reach": {
                **_REACH,
                "description": "What it reaches: `fleets.<n>` (SSH, 22), `databases.<n>` and `caches.<n>` (their port). Each "
                "target's security group then admits that port from the bastion's group only.",
                "examples": [["fleets.web", "fleets.app", "databases.main"]],
            },
            "key_pair": {
                "description": "The name of an existing EC2 key pair to install. Default: none (EC2 Instance Connect or Session "
                "Manager give short-lived access instead).",
                "type": "string",
                "pattern": "^[a-zA-Z0-9_.-]{1,100}$",
            },
            "volume": {
                "description": "The root volume: gp3, encrypted with the environment key.",
                "type": "object",
                "additionalProperties": False,
                "default": {},
                "properties": {
                    "size": {"description": "GiB.", "type": "integer", "minimum": 8, "maximum": 16384, "default": 8},
                    "device": {
                        "description": "The root device name of the image.",
                        "type": "string",
                        "pattern": "^/dev/[a-z0-9]+$",
                        "default": "/dev/xvda",
                    },
                },
            },
        },
    },
    "clientVpn": {
        "description": "An AWS Client VPN endpoint into the VPC: split tunnel, connection logs, authorized for the VPC's CIDR only, "
        "its clients reaching only what `reach` lists (and the bastion with `ssh_from: [vpn]`).",
        "type": "object",
        "additionalProperties": False,
        "required": ["client_cidr", "certificate", "authentication"],
        "properties": {
            "client_cidr": {
                "$ref": "#/$defs/cidr",
                "description": "Addresses given to clients, /12 to /22, outside the VPC.",
                "examples": ["172.31.0.0/22"],
            },
            "certificate": {
                "description": "The server certificate: `certificates.<name>` of this spec, or an ACM certificate ARN in the "
                "primary region.",
                "type": "string",
                "pattern": load_balancer.CERTIFICATE_PATTERN,
                "examples": ["certificates.vpn"],
            },
            "authentication": {
                "description": "How clients authenticate: `mutual_tls` (client certificates), `saml` or `directory`, or mutual_tls "
                "with one of the other two (then both are required).",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "mutual_tls": {
                        "description": "The ACM ARN of the certificate authority that signed the clients' certificates.",
                        "type": "string",
                        "pattern": ACM_PATTERN,
                    },
                    "saml": {
                        "description": "The ARN of an IAM SAML identity provider (federated sign-in).",
                        "type": "string",
                        "pattern": SAML_PATTERN,
                        "examples": ["arn:aws:iam::123456789012:saml-provider/okta"],
                    },
                    "directory": {
                        "description": "The ID of an AWS Directory Service directory.",
                        "type": "string",
                        "pattern": DIRECTORY_PATTERN,
                        "examples": ["d-1234567890"],
                    },
                },
            },
            "access_group": {
                "description": "With saml or directory: only this group (its ID in the directory or the SAML group attribute) is "
                "authorized. Default: every authenticated user.",
                "type": "string",
                "minLength": 1,
                "maxLength": 255,
            },
            "tier": {
                "description": "The private tier whose subnets, one per zone, the endpoint is associated with. Default: the app tier.",
                "type": "string",
                "examples": ["app"],
            },
            "reach": {
                **_REACH,
                "description": "What clients reach directly: `fleets.<n>` (SSH, 22), `databases.<n>` and `caches.<n>` (their port).",
                "examples": [["databases.main"]],
            },
            "split_tunnel": {
                "description": "Send only the VPC's traffic through the VPN (on by default); false sends everything and, with "
                "nothing but the VPC authorized, cuts clients off the internet while connected.",
                "type": "boolean",
                "default": True,
            },
            "session_timeout": {
                "description": "Hours a session lasts before clients must sign in again.",
                "enum": [8, 10, 12, 24],
                "default": 8,
            },
            "transport": {"description": "The tunnel's transport protocol.", "enum": ["udp", "tcp"], "default": "udp"},
            "port": {"description": "The port clients connect to.", "enum": [443, 1194], "default": 443},
        },
    },
}
OVERLAY: dict[str, Any] = {
    "access": {"description": "Changes to access in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("access", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, needed=needed, whole_spec=True)
