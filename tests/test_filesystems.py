"""filesystems: EFS encrypted, retained and reachable only by what `uses:` it, mounted by services and functions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from compiler.deploy.changes import risks
from conftest import FIXTURES, ivc, of_type, props, read_json

SPEC = FIXTURES / "good" / "filesystems.yaml"


def imported(env: str, stack: str, output: str) -> dict[str, str]:
    return {"Fn::ImportValue": f"filesystems-{env}-{stack}-{output}"}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("filesystems")
    result = ivc("compile", SPEC, "--out", folder, "--strict")  # cfn-lint runs on every template; warnings fail too
    assert result.exit_code == 0, result.output
    return folder


def stack(out: Path, env: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = read_json(out / "filesystems" / env / "eu-west-1" / f"{name}.json")
    return found


def statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    policy = props(template, role)["Policies"][0]["PolicyDocument"]
    return {s["Sid"]: s for s in policy["Statement"]}


def test_a_file_system_is_encrypted_with_the_environment_key_retained_and_backed_up_where_protected(out: Path) -> None:
    for env, backup in (("dev", "DISABLED"), ("prod", "ENABLED")):
        data = stack(out, env, "data")
        assert sorted(of_type(data, "AWS::EFS::FileSystem")) == ["FileSystemMedia", "FileSystemShared"]
        resource = data["Resources"]["FileSystemShared"]
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
        shared = resource["Properties"]
        assert shared["Encrypted"] is True
        assert shared["KmsKeyId"] == imported(env, "keys", "EnvironmentKeyArn")
        assert shared["BackupPolicy"] == {"Status": backup}  # prod is protected
        assert shared["PerformanceMode"] == "generalPurpose" and shared["ThroughputMode"] == "elastic"
        assert shared["LifecyclePolicies"] == [{"TransitionToIA": "AFTER_30_DAYS"}, {"TransitionToPrimaryStorageClass": "AFTER_1_ACCESS"}]
    assert props(stack(out, "dev", "data"), "FileSystemMedia")["ThroughputMode"] == "bursting"
    media = props(stack(out, "prod", "data"), "FileSystemMedia")  # prod's overlay provisions throughput
    assert media["ThroughputMode"] == "provisioned" and media["ProvisionedThroughputInMibps"] == 64
    assert media["LifecyclePolicies"][0] == {"TransitionToIA": "AFTER_7_DAYS"}


def test_the_policy_refuses_connections_without_tls_and_mounts_outside_access_points(out: Path) -> None:
    policy = props(stack(out, "dev", "data"), "FileSystemShared")["FileSystemPolicy"]
    tls, points = policy["Statement"]
    assert tls["Effect"] == "Deny" and tls["Action"] == ["elasticfilesystem:*"]
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert points["Effect"] == "Deny" and "elasticfilesystem:ClientMount" in points["Action"]
    assert points["Condition"] == {"Null": {"elasticfilesystem:AccessPointArn": "true"}}
    assert not [s for s in policy["Statement"] if s["Effect"] == "Allow"]  # who may mount is each user's own IAM


def test_a_mount_target_per_zone_in_the_data_tier_behind_the_file_systems_group(out: Path) -> None:
    data = stack(out, "dev", "data")
    targets = {k: v["Properties"] for k, v in of_type(data, "AWS::EFS::MountTarget").items() if k.startswith("FileSystemShared")}
    assert sorted(targets) == [f"FileSystemSharedMountTarget{zone}" for zone in (1, 2, 3)]  # the network has 3 zones
    subnets = {"Fn::Split": [",", imported("dev", "network", "DataSubnetIds")]}
    for zone, target in enumerate(targets.values()):
        assert target["SubnetId"] == {"Fn::Select": [zone, subnets]}
        assert target["SecurityGroups"] == [imported("dev", "security", "FileSystemSharedSecurityGroup")]


def test_nfs_is_admitted_only_from_the_groups_of_what_uses_the_file_system(out: Path) -> None:
    security = stack(out, "dev", "security")
    rules = of_type(security, "AWS::EC2::SecurityGroupIngress").values()
    admitted: dict[str, list[str]] = {}
    for rule in (r["Properties"] for r in rules):
        group = rule["GroupId"]["Fn::GetAtt"][0]
        if group.startswith("FileSystem"):
            assert rule["FromPort"] == rule["ToPort"] == 2049 and rule["IpProtocol"] == "tcp"
            assert "CidrIp" not in rule
            admitted.setdefault(group, []).append(rule["SourceSecurityGroupId"]["Fn::GetAtt"][0])
    assert {group: sorted(sources) for group, sources in admitted.items()} == {
        "FileSystemSharedSecurityGroup": ["FunctionThumbnailsSecurityGroup", "ServiceWebSecurityGroup", "ServiceWorkerSecurityGroup"],
        "FileSystemMediaSecurityGroup": ["ServiceWorkerSecurityGroup"],  # web does not use media
    }


def test_each_user_has_an_access_point_of_its_own(out: Path) -> None:
    data = stack(out, "dev", "data")
    points = {k: v["Properties"] for k, v in of_type(data, "AWS::EFS::AccessPoint").items()}
    assert sorted(points) == [
        "FileSystemMediaAccessPointServiceWorker",
        "FileSystemSharedAccessPointFunctionThumbnails",
        "FileSystemSharedAccessPointServiceWeb",
        "FileSystemSharedAccessPointServiceWorker",
    ]
    web = points["FileSystemSharedAccessPointServiceWeb"]
    assert web["FileSystemId"] == {"Ref": "FileSystemShared"}
    assert web["PosixUser"] == {"Uid": "1000", "Gid": "1000"}
    created = {"OwnerUid": "1000", "OwnerGid": "1000", "Permissions": "0750"}
    assert web["RootDirectory"] == {"Path": "/services/web", "CreationInfo": created}
    assert points["FileSystemSharedAccessPointFunctionThumbnails"]["RootDirectory"]["Path"] == "/functions/thumbnails"
    media = points["FileSystemMediaAccessPointServiceWorker"]  # directory: /published, posix 2000
    assert media["RootDirectory"]["Path"] == "/published" and media["PosixUser"] == {"Uid": "2000", "Gid": "2000"}
    outputs = data["Outputs"]
    assert outputs["FileSystemSharedId"]["Export"]["Name"] == "filesystems-dev-data-FileSystemSharedId"
    assert outputs["FileSystemSharedAccessPointServiceWebArn"]["Value"] == {"Fn::GetAtt": ["FileSystemSharedAccessPointServiceWeb", "Arn"]}


def test_a_service_may_mount_only_that_file_system_through_its_own_access_point(out: Path) -> None:
    granted = statements(stack(out, "dev", "app"), "ServiceWorkerTaskRole")
    shared, media = granted["MountFileSystemShared"], granted["MountFileSystemMedia"]
    assert shared["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert shared["Resource"] == [imported("dev", "data", "FileSystemSharedArn")]
    assert shared["Condition"] == {
        "StringEquals": {"elasticfilesystem:AccessPointArn": imported("dev", "data", "FileSystemSharedAccessPointServiceWorkerArn")}
    }
    assert media["Action"] == ["elasticfilesystem:ClientMount"]  # :read
    assert media["Resource"] == [imported("dev", "data", "FileSystemMediaArn")]
    web = statements(stack(out, "dev", "app"), "ServiceWebTaskRole")
    assert list(web) == ["MountFileSystemShared"]
    assert web["MountFileSystemShared"]["Condition"]["StringEquals"] == {
        "elasticfilesystem:AccessPointArn": imported("dev", "data", "FileSystemSharedAccessPointServiceWebArn")
    }


def test_a_service_mounts_through_a_task_volume_with_transit_encryption_and_iam(out: Path) -> None:
    definition = props(stack(out, "dev", "app"), "ServiceWorkerTaskDefinition")
    volumes = {v["Name"]: v for v in definition["Volumes"]}
    assert volumes["filesystems-shared"]["EFSVolumeConfiguration"] == {
        "FilesystemId": imported("dev", "data", "FileSystemSharedId"),
        "TransitEncryption": "ENABLED",
        "AuthorizationConfig": {"AccessPointId": imported("dev", "data", "FileSystemSharedAccessPointServiceWorkerId"), "IAM": "ENABLED"},
    }
    assert "tmp" in volumes  # the read-only root's scratch space stays
    container = definition["ContainerDefinitions"][0]
    mounts = {m["SourceVolume"]: m for m in container["MountPoints"]}
    assert mounts["filesystems-shared"] == {"SourceVolume": "filesystems-shared", "ContainerPath": "/mnt/shared", "ReadOnly": False}
    assert mounts["filesystems-media"] == {"SourceVolume": "filesystems-media", "ContainerPath": "/var/media", "ReadOnly": True}
    variables = {v["Name"]: v["Value"] for v in container["Environment"]}
    assert variables == {"FILE_SYSTEM_SHARED_PATH": "/mnt/shared", "FILE_SYSTEM_MEDIA_PATH": "/var/media"}


def test_a_function_mounts_through_its_access_point_from_the_vpc(out: Path) -> None:
    app = stack(out, "dev", "app")
    function = props(app, "FunctionThumbnails")
    assert function["FileSystemConfigs"] == [
        {"Arn": imported("dev", "data", "FileSystemSharedAccessPointFunctionThumbnailsArn"), "LocalMountPath": "/mnt/shared"}
    ]
    assert function["VpcConfig"]["SecurityGroupIds"] == [imported("dev", "security", "FunctionThumbnailsSecurityGroup")]
    granted = statements(app, "FunctionThumbnailsRole")["MountFileSystemShared"]
    assert granted["Action"] == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert granted["Condition"]["StringEquals"] == {
        "elasticfilesystem:AccessPointArn": imported("dev", "data", "FileSystemSharedAccessPointFunctionThumbnailsArn")
    }


def test_replacing_a_file_system_is_a_risk_deploy_refuses_without_allow_replace(out: Path) -> None:
    deployed = stack(out, "dev", "data")
    changed = copy.deepcopy(deployed)
    changed["Resources"]["FileSystemShared"]["Properties"]["PerformanceMode"] = "maxIO"  # create-only
    assert risks(deployed, changed, "eu-west-1") == ["REPLACE AWS::EFS::FileSystem FileSystemShared: PerformanceMode changes"]


def test_a_fleet_can_mount_the_same_use_with_one_fstab_line() -> None:
    from troposphere import encode_to_dict

    from compiler.context import Context
    from compiler.relations import mounts
    from compiler.sections.filesystems import fstab_line
    from compiler.validate import load_and_validate

    spec = next(e for e in load_and_validate(SPEC) if e.name == "dev").spec
    ctx = Context("filesystems", "dev", "eu-west-1", "primary", spec=spec)
    shared, media = mounts(ctx, "services", "worker", spec["services"]["worker"])
    assert encode_to_dict(fstab_line(media)) == {
        "Fn::Join": [
            "",
            [
                imported("dev", "data", "FileSystemMediaId"),
                ":/ /var/media efs _netdev,noresvport,ro,tls,iam,accesspoint=",
                imported("dev", "data", "FileSystemMediaAccessPointServiceWorkerId"),
                " 0 0",
            ],
        ]
    }
    assert not shared.read_only and shared.statements
