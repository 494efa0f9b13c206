"""Containers, more: ECR registries, service discovery and service-to-service uses, Fargate Spot, X-Ray, non-root and
read-only containers, and the load balancer's certificate from `certificates:`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
registries:
  shop-api: {}
  shop-worker: {keep: 10, mutable_tags: true, encryption: AES256, scan_on_push: false}
services:
  api: {image: "ecr:shop-api:1.0.0", port: 8000}
  worker: {image: "ecr:shop-worker:1.0.0"}
environments:
  dev: {}
"""


def compile_spec(folder: Path, text: str) -> dict[str, Any]:
    (folder / "spec.yaml").write_text(text)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out")
    assert result.exit_code == 0, result.output
    region = folder / "out" / "shop" / "dev" / "us-east-1"
    return {path.stem: read_json(path) for path in region.glob("*.json")}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compile_spec(tmp_path_factory.mktemp("containers"), SPEC)


def statements(resource: dict[str, Any]) -> dict[str, Any]:
    return {s["Sid"]: s for s in resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]}


def test_a_registry_is_scanned_immutable_pruned_encrypted_and_retained(templates: dict[str, Any]) -> None:
    data = templates["data"]
    api = data["Resources"]["RegistryShopApi"]
    assert (api["DeletionPolicy"], api["UpdateReplacePolicy"]) == ("Retain", "Retain")
    properties = api["Properties"]
    assert properties["RepositoryName"] == "shop-api"  # as written: `image: ecr:shop-api:<tag>` names it
    assert properties["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert properties["ImageTagMutability"] == "IMMUTABLE"
    assert properties["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": {"Fn::GetAtt": ["EnvironmentKey", "Arn"]}}
    rules = json.loads(properties["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
    assert [r["selection"] for r in rules] == [
        {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
        {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
    ]
    worker = data["Resources"]["RegistryShopWorker"]["Properties"]
    assert worker["ImageTagMutability"] == "MUTABLE" and worker["ImageScanningConfiguration"] == {"ScanOnPush": False}
    assert worker["EncryptionConfiguration"] == {"EncryptionType": "AES256"}
    assert json.loads(worker["LifecyclePolicy"]["LifecyclePolicyText"])["rules"][1]["selection"]["countNumber"] == 10
    assert data["Outputs"]["RegistryShopApiUri"]["Value"] == {
        "Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/shop-api"
    }
    assert data["Outputs"]["RegistryShopApiArn"]["Export"] == {"Name": "shop-dev-data-RegistryShopApiArn"}


def test_a_service_pulls_from_its_own_registry_only_and_decrypts_only_when_it_is_kms_encrypted(templates: dict[str, Any]) -> None:
    app = templates["app"]["Resources"]
    api = statements(app["ServiceApiExecutionRole"])
    assert api["PullOwnImage"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/shop-api"}
    ]
    assert api["DecryptOwnImage"] == {
        "Action": ["kms:Decrypt"],
        "Effect": "Allow",
        "Resource": [{"Fn::ImportValue": "shop-dev-data-EnvironmentKeyArn"}],
        "Sid": "DecryptOwnImage",
    }
    worker = statements(app["ServiceWorkerExecutionRole"])
    assert "DecryptOwnImage" not in worker and worker["PullOwnImage"]["Resource"][0]["Fn::Sub"].endswith("repository/shop-worker")


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("{keep: 10,", "{keep: 0,"), "registries.shop-worker.keep is 0; it must be at least 1"),
    ],
)
def test_bad_specs_are_refused_at_their_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = SPEC.replace(*change)
    assert text != SPEC
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{spec}:{line_of(text, change[1])}:") and expected in result.stderr, result.stderr
