"""Security groups and the rules between them, all derived from relationships.

The load balancer admits 80/443 from the internet, or only CloudFront when it is the cdn's origin (see
cdn_origin); a routed service admits its
port from the load balancer only; a database or cache admits its engine's port,
and a file system NFS (2049), from exactly the services and functions that use it
(a function gets a group of its own only when it uses something in the VPC). Nobody writes these rules by hand.
Security groups sit in their own stack, before data and app, so both can
import them without importing each other.
"""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, ec2

from .. import relations
from ..context import Context, Fragment, camel
from . import balancers, cdn_origin, services
from .base import Section

STACK = "security"
# Where the ECS agent maps bridge-mode containers' dynamic host ports (the Linux ephemeral range ECS uses).
EPHEMERAL_PORTS = (32768, 65535)
API_LINK = "api-link"  # the group of the HTTP APIs' VPC link to an internal load balancer


def group_id(kind: str, name: str = "") -> str:
    """Output (and logical ID) of a security group: ``LoadBalancerSecurityGroup``, ``DatabaseMainSecurityGroup``."""
    return f"{camel(kind)}{camel(name)}SecurityGroup"


KIND = {
    "databases": "database",
    "caches": "cache",
    "services": "service",
    "functions": "function",
    "filesystems": "file-system",
    "fleets": "fleet",
}


def vpc_functions(spec: dict[str, Any]) -> list[str]:
    """Functions that run in the VPC, behind a group of their own: those that use something there."""
    return sorted(name for name, function in spec.get("functions", {}).items() if relations.in_vpc(spec, function))


def needed(spec: dict[str, Any]) -> bool:
    return any(spec.get(kind) for kind in ("services", "databases", "caches", "filesystems", "fleets"))


def build(spec: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    vpc = ctx.imported("network", "VpcId")
    groups: dict[tuple[str, str], ec2.SecurityGroup] = {}

    def group(kind: str, name: str, description: str) -> ec2.SecurityGroup:
        title = group_id(kind, name)
        resource = out.add(
            ec2.SecurityGroup(
                title,
                GroupDescription=f"{ctx.name(kind, name) if name else ctx.name(kind)}: {description}",
                VpcId=vpc,
                # Outbound stays open: workloads reach AWS APIs and the internet through NAT or endpoints.
                SecurityGroupEgress=[ec2.SecurityGroupRule(IpProtocol="-1", CidrIp="0.0.0.0/0", Description="All outbound traffic")],
                Tags=ctx.resource_tags(ctx.name(kind, name) if name else ctx.name(kind)),
            )
        )
        out.export(ctx, STACK, title, GetAtt(resource, "GroupId"), f"Security group: {description}.")
        groups[(kind, name)] = resource
        return resource

    for balancer in balancers.balancers(spec):
        _balancer_group(balancer, spec, ctx, out, group, groups)
    for kind in ("databases", "caches", "filesystems", "services", "fleets"):
        for name in spec.get(kind, {}):
            group(KIND[kind], name, f"{KIND[kind]} {name}")
    bridged = services.bridged(spec)  # their tasks share their fleet's instances, address and group
    bridged_behind = {
        (fleet, on.title): on for service, fleet in bridged.items() if (on := balancers.balancer_of(spec, "services", service)) is not None
    }
    for (fleet, _), balancer in sorted(bridged_behind.items(), key=lambda pair: pair[0]):
        out.at = ("fleets", fleet)
        low, high = EPHEMERAL_PORTS
        out.add(
            ec2.SecurityGroupIngress(
                f"Fleet{camel(fleet)}IngressFrom{balancer.title}ToTasks",
                GroupId=GetAtt(groups[("fleet", fleet)], "GroupId"),
                IpProtocol="tcp",
                FromPort=low,
                ToPort=high,
                SourceSecurityGroupId=GetAtt(groups[(balancer.group, "")], "GroupId"),
                Description=f"Bridge-mode tasks' host ports {low}-{high} from {balancer.words} only",
            )
        )
    in_vpc = vpc_functions(spec)
    for name in in_vpc:
        out.at = ("functions", name)
        group("function", name, f"function {name}")
    for kind, name, item in relations.users(spec):
        if kind == "functions" and name not in in_vpc:
            continue
        out.at = (kind, name)  # problems with these rules are told at the item whose uses made them
        user = KIND[kind]
        source = groups[("fleet", bridged[name])] if kind == "services" and name in bridged else groups[(user, name)]
        behind = balancers.balancer_of(spec, kind, name) if kind in ("services", "fleets") else None
        if behind is not None and not (kind == "services" and name in bridged):
            out.add(
                ec2.SecurityGroupIngress(
                    f"{camel(user)}{camel(name)}IngressFrom{behind.title}",
                    GroupId=GetAtt(source, "GroupId"),
                    IpProtocol="tcp",
                    FromPort=item["port"],
                    ToPort=item["port"],
                    SourceSecurityGroupId=GetAtt(groups[(behind.group, "")], "GroupId"),
                    Description=f"Port {item['port']} from {behind.words} only",
                )
            )
        for use in relations.uses(item):
            admitted = relations.port(spec, use)
            if admitted is None:
                continue
            target = groups[(KIND[use.kind], use.name)]
            out.add(
                ec2.SecurityGroupIngress(
                    f"{camel(KIND[use.kind])}{camel(use.name)}IngressFrom{camel(user)}{camel(name)}",
                    GroupId=GetAtt(target, "GroupId"),
                    IpProtocol="tcp",
                    FromPort=admitted,
                    ToPort=admitted,
                    SourceSecurityGroupId=GetAtt(source, "GroupId"),
                    Description=f"Port {admitted} from {user} {name}, which uses {use.kind}.{use.name}"
                    + (f" (bridge mode: from fleet {bridged[name]}'s instances)" if kind == "services" and name in bridged else ""),
                )
            )
    return out


def _balancer_group(
    balancer: balancers.Balancer, spec: dict[str, Any], ctx: Context, out: Fragment, group: Any, groups: dict[Any, Any]
) -> None:
    """A load balancer's group: open to CloudFront only (the cdn's origin), to the APIs' VPC link only (internal),
    or to the internet on 80 and 443."""
    port = balancer.port
    if balancer.guarded:
        resource = group(balancer.group, "", "the load balancer, origin of the CloudFront distribution")
        out.at = ("cdn",)
        prefix_list = out.parameter(cdn_origin.prefix_list_parameter())
        protocol = "HTTPS" if port == 443 else "HTTP"
        # One port only: the prefix list counts as its size (about 55) against the group's 60 inbound rules.
        out.add(
            ec2.SecurityGroupIngress(
                f"LoadBalancerIngressCloudFront{protocol}",
                GroupId=GetAtt(resource, "GroupId"),
                IpProtocol="tcp",
                FromPort=port,
                ToPort=port,
                SourcePrefixListId=Ref(prefix_list),
                Description=f"{protocol} from the CloudFront origin-facing servers only",
                Metadata=cdn_origin.supplied_metadata(),
            )
        )
        out.at = ()
    elif balancer.internal:
        second = balancer.title == balancers.INTERNAL
        out.at = ("load_balancer", "internal") if second else ()
        resource = group(
            balancer.group,
            "",
            "the internal load balancer of the app tier, reached only through the VPC link of the APIs"
            if second
            else "the internal load balancer, reached only through HTTP APIs",
        )
        link = groups.get((API_LINK, "")) or group(API_LINK, "", "the VPC link HTTP APIs reach the internal load balancer through")
        out.at = ("load_balancer", "internal") if second else ("apis",)
        out.add(
            ec2.SecurityGroupIngress(
                f"{balancer.title}IngressFromApiVpcLink",
                GroupId=GetAtt(resource, "GroupId"),
                IpProtocol="tcp",
                FromPort=port,
                ToPort=port,
                SourceSecurityGroupId=GetAtt(link, "GroupId"),
                Description=f"Port {port} from the VPC link of the {'APIs' if second else 'HTTP APIs'} only",
            )
        )
        out.at = ()
    else:
        resource = group(balancer.group, "", "the public load balancer")
        for public_port, protocol in ((80, "HTTP"), (443, "HTTPS")):
            out.add(
                ec2.SecurityGroupIngress(
                    f"LoadBalancerIngress{protocol}",
                    GroupId=GetAtt(resource, "GroupId"),
                    IpProtocol="tcp",
                    FromPort=public_port,
                    ToPort=public_port,
                    CidrIp="0.0.0.0/0",
                    Description=f"{protocol} from the internet",
                )
            )


def imported(ctx: Context, kind: str, name: str = "") -> Any:
    return ctx.imported(STACK, group_id(kind, name))


# Derived from relationships: no key of its own in the spec.
SECTION = Section("security", build=build, stack=STACK, needed=needed, whole_spec=True, site=True)
