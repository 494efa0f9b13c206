"""File systems: Amazon EFS, encrypted with the environment key, mounted by what `uses:` them and nothing else.

A file system has a mount target in each of the environment's zones, in the data tier, behind a security group
that admits NFS (2049) only from the groups of the services and functions that use it. Each user gets an access
point of its own, which fixes the POSIX identity it writes as and the directory it sees (its own, or one shared
directory), and its role may mount the file system only through that access point. The file system's policy
refuses every connection without TLS and every mount that bypasses an access point; since a policy is in place,
EFS's default (full access for any anonymous client that reaches a mount target) no longer applies, so the only
way in is IAM. It is retained on delete and on replacement: the files may exist nowhere else.

What a mount looks like to a user (a task volume, a Lambda file system config, a line of user data) is made here
too, from the ``Mount`` a use yields, so every kind of user mounts the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from awacs import elasticfilesystem as efs_actions
from awacs.aws import Allow, Bool, Condition, Deny, Null, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Select, awslambda, ecs, efs, encode_to_dict

from .. import relations
from ..context import Context, Fragment, camel
from . import network, security
from .base import Connection, Mount, Problem, Section, Spec, Use, UseTarget, env_name
from .secrets import key_arn

STACK = "data"
KIND = "filesystems"
GROUP = "file-system"  # its security group: FileSystem<Name>SecurityGroup
PORT = 2049  # NFS
PERFORMANCE = {"general_purpose": "generalPurpose", "max_io": "maxIO"}
# Lambda mounts under /mnt/, one directory deep (its LocalMountPath pattern).
LAMBDA_MOUNT = re.compile(r"/mnt/[A-Za-z0-9_.-]+")
PER_USER = "per-user"


def _automatic(ctx: Context, name: str) -> bool:
    """EFS's own daily backups by default: in protected environments, unless a plan of `backups:` takes the file system."""
    from . import backups  # backups imports this module

    return ctx.protected and not backups.selects(ctx.spec, KIND, name)


def title(name: str) -> str:
    """Logical ID of a file system: ``FileSystemShared``."""
    return f"FileSystem{camel(name)}"


def access_point_title(name: str, kind: str, user: str) -> str:
    """Logical ID of a user's access point: ``FileSystemSharedAccessPointServiceWeb``."""
    return f"{title(name)}AccessPoint{camel(security.KIND[kind])}{camel(user)}"


def mount_path(filesystem: dict[str, Any], name: str) -> str:
    """Where users see the file system: its `mount_path`, or /mnt/<name>."""
    return str(filesystem.get("mount_path") or f"/mnt/{name}")


def root_directory(filesystem: dict[str, Any], kind: str, user: str) -> str:
    """The directory a user's access point is rooted at: /<section>/<name> of its own, or the one shared directory."""
    directory = filesystem["directory"]
    return f"/{kind}/{user}" if directory == PER_USER else str(directory)


def users_of(spec: Spec, name: str) -> list[tuple[str, str, Use]]:
    """(section, name, use) of everything that uses file system ``name``, sorted; the first use of each counts."""
    found: dict[tuple[str, str], Use] = {}
    for kind, user, item in relations.users(spec):
        for use in relations.uses(item):
            if use.kind == KIND and use.name == name:
                found.setdefault((kind, user), use)
    return [(kind, user, use) for (kind, user), use in sorted(found.items())]


# --- cross-field checks ---


def check(spec: Spec) -> Iterator[Problem]:
    net = spec.get("network")
    for name, filesystem in spec.get(KIND, {}).items():
        path = (KIND, name)
        if filesystem["performance"] == "max_io" and filesystem["throughput"] == "elastic":
            advice = "use general_purpose (elastic throughput scales without it), or throughput: bursting or provisioned"
            yield (*path, "performance"), f"filesystems.{name}: max_io does not work with elastic throughput; {advice}"
        if filesystem["throughput"] == "provisioned" and "provisioned_mibps" not in filesystem:
            yield (*path, "throughput"), f"filesystems.{name} has provisioned throughput; say how much in provisioned_mibps"
        if "provisioned_mibps" in filesystem and filesystem["throughput"] != "provisioned":
            has = filesystem["throughput"]
            yield (*path, "provisioned_mibps"), f"provisioned_mibps needs throughput: provisioned; filesystems.{name} has {has} throughput"
        tier = filesystem.get("tier")
        if tier is not None and net is not None:
            if tier not in net["tiers"]:
                yield (*path, "tier"), f"filesystems.{name}.tier {tier} is not a tier of the network ({', '.join(net['tiers'])})"
            elif tier == network.PUBLIC_TIER:
                yield (*path, "tier"), f"filesystems.{name}: mount targets never go in the public tier; name a private tier"
    yield from _check_users(spec)


def _check_users(spec: Spec) -> Iterator[Problem]:
    """Each user mounts a file system once, at a path of its own, where its kind of compute can mount it."""
    filesystems = spec.get(KIND, {})
    for kind, user, item in relations.users(spec):
        mounted: dict[str, str] = {}  # file system -> where it is mounted
        for index, text in enumerate(item.get("uses", [])):
            use = relations.parse_use(text)
            if use.kind != KIND or use.name not in filesystems:
                continue
            where = (kind, user, "uses", index)
            at = mount_path(filesystems[use.name], use.name)
            if use.name in mounted:
                yield where, f"{kind}.{user} uses filesystems.{use.name} twice; keep one use, :mount or :read"
                continue
            clash = next((other for other, path in mounted.items() if path == at), None)
            if clash is not None:
                both = f"filesystems.{use.name} and filesystems.{clash} both mount at {at} in {kind}.{user}"
                yield where, f"{both}; give one of them another mount_path"
            if kind == "services" and item.get("readonly_root", True) and at == "/tmp":
                yield where, f"filesystems.{use.name} mounts at /tmp, services.{user}'s scratch space; choose another mount_path"
            if kind == "functions":
                if mounted:
                    first = next(iter(mounted))
                    yield where, f"Lambda mounts one file system per function; functions.{user} already uses filesystems.{first}"
                elif not LAMBDA_MOUNT.fullmatch(at):
                    fix = f"set its mount_path to /mnt/{use.name}, or leave mount_path out"
                    yield where, f"Lambda mounts file systems at /mnt/<directory> only; filesystems.{use.name} mounts at {at}: {fix}"
            mounted[use.name] = at


# --- what `uses: [filesystems.<n>[:mount|:read]]` means ---


def port(spec: Spec, name: str) -> int:
    return PORT


def connect(ctx: Context, use: Use) -> Connection:
    """Where the file system is mounted, so the code need not repeat the spec."""
    return Connection(variables={env_name("file_system", use.name, "path"): mount_path(ctx.spec[KIND][use.name], use.name)})


def mount(ctx: Context, use: Use, kind: str, user: str) -> Mount:
    """The user's mount: through its own access point, TLS and IAM, read-only for `:read`; the role may mount that only."""
    prefix = title(use.name)
    point = access_point_title(use.name, kind, user)
    point_arn = ctx.imported(STACK, f"{point}Arn")
    read_only = use.access == "read"
    actions = [efs_actions.ClientMount] if read_only else [efs_actions.ClientMount, efs_actions.ClientWrite]
    statement = Statement(
        Sid=f"Mount{prefix}",
        Effect=Allow,
        Action=actions,
        Resource=[ctx.imported(STACK, f"{prefix}Arn")],
        Condition=Condition(StringEquals({"elasticfilesystem:AccessPointArn": point_arn})),
    )
    return Mount(
        volume=f"{KIND}-{use.name}",
        file_system=ctx.imported(STACK, f"{prefix}Id"),
        access_point=ctx.imported(STACK, f"{point}Id"),
        access_point_arn=point_arn,
        path=mount_path(ctx.spec[KIND][use.name], use.name),
        read_only=read_only,
        statements=(statement,),
    )


def task_volume(mounted: Mount) -> ecs.Volume:
    """An ECS task volume: EFS through the access point, encrypted in transit, authorized by the task role."""
    return ecs.Volume(
        Name=mounted.volume,
        EFSVolumeConfiguration=ecs.EFSVolumeConfiguration(
            FilesystemId=mounted.file_system,
            TransitEncryption="ENABLED",
            AuthorizationConfig=ecs.AuthorizationConfig(AccessPointId=mounted.access_point, IAM="ENABLED"),
        ),
    )


def mount_point(mounted: Mount) -> ecs.MountPoint:
    """Where a container sees a task volume."""
    return ecs.MountPoint(SourceVolume=mounted.volume, ContainerPath=mounted.path, ReadOnly=mounted.read_only)


def function_config(mounted: Mount) -> awslambda.FileSystemConfig:
    """A Lambda file system config (Lambda always mounts with TLS and the function's role)."""
    return awslambda.FileSystemConfig(Arn=mounted.access_point_arn, LocalMountPath=mounted.path)


def fstab_line(mounted: Mount) -> Join:
    """An /etc/fstab line for an instance with amazon-efs-utils: TLS, the instance role, the access point."""
    options = "_netdev,noresvport,tls,iam,accesspoint=" if not mounted.read_only else "_netdev,noresvport,ro,tls,iam,accesspoint="
    return Join("", [mounted.file_system, f":/ {mounted.path} efs {options}", mounted.access_point, " 0 0"])


# --- the builder ---


def build(filesystems: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    for name, filesystem in sorted(filesystems.items()):
        out.at = (KIND, name)
        _filesystem(name, filesystem, ctx, out)
        for kind, user, _ in users_of(spec, name):
            out.at = (kind, user)  # a problem with a user's access point is told at that user
            _access_point(name, filesystem, kind, user, ctx, out)
    return out


def _policy() -> dict[str, Any]:
    """TLS always, and mounts through access points only; who may mount is each user's own IAM."""
    everyone = Principal("AWS", "*")
    document = PolicyDocument(
        Version="2012-10-17",
        Statement=[
            Statement(
                Sid="DenyInsecureTransport",
                Effect=Deny,
                Principal=everyone,
                Action=[efs_actions.Action("*")],
                Condition=Condition(Bool({"aws:SecureTransport": "false"})),
            ),
            Statement(
                Sid="DenyMountOutsideAccessPoints",
                Effect=Deny,
                Principal=everyone,
                Action=[efs_actions.ClientMount, efs_actions.ClientWrite, efs_actions.ClientRootAccess],
                Condition=Condition(Null({"elasticfilesystem:AccessPointArn": "true"})),
            ),
        ],
    )
    policy: dict[str, Any] = encode_to_dict(document)
    return policy


def _filesystem(name: str, filesystem: dict[str, Any], ctx: Context, out: Fragment) -> None:
    prefix = title(name)
    properties: dict[str, Any] = {
        "Encrypted": True,
        "KmsKeyId": key_arn(ctx),
        "PerformanceMode": PERFORMANCE[filesystem["performance"]],
        "ThroughputMode": filesystem["throughput"],
        "BackupPolicy": efs.BackupPolicy(Status="ENABLED" if filesystem.get("backup", _automatic(ctx, name)) else "DISABLED"),
        "FileSystemPolicy": _policy(),
        "FileSystemTags": ctx.resource_tags(ctx.name(name)),
    }
    if filesystem["throughput"] == "provisioned":
        properties["ProvisionedThroughputInMibps"] = float(filesystem["provisioned_mibps"])
    days = filesystem["infrequent_access_after"]
    if days:
        properties["LifecyclePolicies"] = [
            efs.LifecyclePolicy(TransitionToIA=f"AFTER_{days}_DAY{'S' if days > 1 else ''}"),
            efs.LifecyclePolicy(TransitionToPrimaryStorageClass="AFTER_1_ACCESS"),
        ]
    resource = out.add(efs.FileSystem(prefix, DeletionPolicy="Retain", UpdateReplacePolicy="Retain", **properties))
    net = ctx.spec["network"]
    tier = filesystem.get("tier") or network.data_tier(net)
    subnets = network.subnet_ids(ctx, tier)
    for zone in range(1, net["zones"] + 1):
        out.add(
            efs.MountTarget(
                f"{prefix}MountTarget{zone}",
                FileSystemId=Ref(resource),
                SubnetId=Select(zone - 1, subnets),
                SecurityGroups=[security.imported(ctx, GROUP, name)],
            )
        )
    out.export(ctx, STACK, f"{prefix}Id", Ref(resource), f"ID of file system {name}.")
    out.export(ctx, STACK, f"{prefix}Arn", GetAtt(resource, "Arn"), f"ARN of file system {name}.")


def _access_point(name: str, filesystem: dict[str, Any], kind: str, user: str, ctx: Context, out: Fragment) -> None:
    logical = access_point_title(name, kind, user)
    posix = filesystem["posix"]
    uid, gid = str(posix["uid"]), str(posix["gid"])
    point = out.add(
        efs.AccessPoint(
            logical,
            FileSystemId=Ref(title(name)),
            PosixUser=efs.PosixUser(Uid=uid, Gid=gid),
            RootDirectory=efs.RootDirectory(
                Path=root_directory(filesystem, kind, user),
                CreationInfo=efs.CreationInfo(OwnerUid=uid, OwnerGid=gid, Permissions=posix["permissions"]),
            ),
            AccessPointTags=ctx.resource_tags(ctx.name(name, security.KIND[kind], user)),
        )
    )
    out.export(ctx, STACK, f"{logical}Id", Ref(point), f"Access point of {kind}.{user} to file system {name}.")
    out.export(ctx, STACK, f"{logical}Arn", GetAtt(point, "Arn"), f"ARN of the access point of {kind}.{user} to file system {name}.")


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_PATH = "(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}){1,8}"
PROPERTIES: dict[str, Any] = {
    KIND: {
        "description": "Shared file systems (Amazon EFS), encrypted with the environment key, with a mount target per zone in the data "
        "tier. Services and functions mount them with `uses: [filesystems.<n>]`, each through an access point of its own.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/filesystem"},
        "default": {},
        "examples": [{"shared": {}}, {"media": {"throughput": "bursting", "infrequent_access_after": 7, "mount_path": "/mnt/media"}}],
    }
}
DEFS: dict[str, Any] = {
    "filesystem": {
        "description": "An EFS file system, retained on delete and on replacement.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "performance": {
                "description": "Performance mode. Default general_purpose: the lowest latency, and what AWS advises for nearly "
                "every workload; max_io trades latency for more operations per second (not with elastic throughput).",
                "enum": ["general_purpose", "max_io"],
                "default": "general_purpose",
            },
            "throughput": {
                "description": "Throughput mode. Default elastic: scales with the work and is paid per use. bursting earns "
                "credits in proportion to the data stored (a small file system gets little); provisioned pays for "
                "`provisioned_mibps` all the time.",
                "enum": ["elastic", "bursting", "provisioned"],
                "default": "elastic",
            },
            "provisioned_mibps": {
                "description": "Throughput in MiB/s, with `throughput: provisioned` only.",
                "type": "integer",
                "minimum": 1,
                "maximum": 3414,
                "examples": [64],
            },
            "infrequent_access_after": {
                "description": "Days without access after which a file moves to the Infrequent Access storage class (far "
                "cheaper per GB, charged per read); it moves back on its first access. 0 keeps every file in Standard. "
                "Default 30.",
                "enum": [0, 1, 7, 14, 30, 60, 90, 180, 270, 365],
                "default": 30,
            },
            "backup": {
                "description": "AWS Backup's daily backups of the file system (kept 35 days). Default: on in protected "
                "environments (prod, production, deploy.protected), off elsewhere and when a plan of `backups:` selects it.",
                "type": "boolean",
            },
            "tier": {
                "description": "The private tier whose subnets hold the mount targets, one per zone. Default: the data tier, "
                "where databases and caches live.",
                "$ref": "#/$defs/tierName",
                "examples": ["data"],
            },
            "mount_path": {
                "description": "Where services and functions see the file system; a function's must be /mnt/<directory>. "
                "Default /mnt/<name>.",
                "type": "string",
                "pattern": f"^{_PATH}$",
                "examples": ["/mnt/shared", "/var/www/uploads"],
            },
            "directory": {
                "description": "Where each user's access point is rooted. Default per-user: every service or function has "
                "a directory of its own, /<section>/<name> (such as /services/web), and sees nothing else. A path such as "
                "/shared roots every user at that one directory, to share files.",
                "type": "string",
                "pattern": f"^({PER_USER}|{_PATH})$",
                "default": PER_USER,
                "examples": ["/shared"],
            },
            "posix": {
                "description": "The POSIX identity every access point imposes (whatever user the code runs as), and the "
                "owner and permissions of the directory it creates. Default uid and gid 1000, the containers' default user.",
                "type": "object",
                "additionalProperties": False,
                "default": {"uid": 1000, "gid": 1000, "permissions": "0750"},
                "properties": {
                    "uid": {
                        "description": "User ID; never 0 (root).",
                        "type": "integer",
                        "minimum": 1,
                        "maximum": 4294967295,
                        "default": 1000,
                    },
                    "gid": {"description": "Group ID.", "type": "integer", "minimum": 0, "maximum": 4294967295, "default": 1000},
                    "permissions": {
                        "description": "Octal permissions of a directory the access point creates, quoted.",
                        "type": "string",
                        "pattern": "^0?[0-7]{3}$",
                        "default": "0750",
                        "examples": ["0750", "0770"],
                    },
                },
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    KIND: {"description": "Changes to file systems in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    KIND,
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build,
    stack=STACK,
    site=True,
    use=UseTarget(default="mount", accesses=("mount", "read"), port=port, connect=connect, mount=mount),
)
