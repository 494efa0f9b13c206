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
  api:
    image: "ecr:shop-api:1.0.0"
    port: 8000
    route: {path: /}
    tracing: true
    capacity: {spot: 3, on_demand: 1, base: 1}
  worker:
    image: "ecr:shop-worker:1.0.0"
    uses: [services.api]
    capacity: {spot: 1}
    user: "1000:1000"
  legacy:
    image: vendor/legacy:2.1
    port: 9000
    readonly_root: false
    readonly_reason: the vendor image writes its PID file under /var/run
    user: root
    root_reason: the vendor image binds port 80 as root and drops privileges itself
functions:
  hook: {runtime: python3.12, handler: app.handler, code: s3:shop-artifacts/hook.zip, uses: [services.legacy]}
load_balancer:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
environments:
  dev: {}
"""


CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"


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
    key = {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}
    assert properties["EncryptionConfiguration"] == {"EncryptionType": "KMS", "KmsKey": key}
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
        "Resource": [{"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}],
        "Sid": "DecryptOwnImage",
    }
    worker = statements(app["ServiceWorkerExecutionRole"])
    assert "DecryptOwnImage" not in worker and worker["PullOwnImage"]["Resource"][0]["Fn::Sub"].endswith("repository/shop-worker")


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_services_find_each_other_in_a_private_namespace_and_only_callers_reach_them(templates: dict[str, Any]) -> None:
    app, security = templates["app"]["Resources"], templates["security"]["Resources"]
    namespace = app["DiscoveryNamespace"]["Properties"]
    assert namespace["Name"] == "dev.shop.internal"
    assert namespace["Vpc"] == {"Fn::ImportValue": "shop-dev-network-VpcId"}
    registered = {k for k, v in app.items() if v["Type"] == "AWS::ServiceDiscovery::Service"}
    assert registered == {"ServiceApiDiscovery", "ServiceLegacyDiscovery"}  # the worker has no port
    api = app["ServiceApiDiscovery"]["Properties"]
    assert api["Name"] == "api" and api["NamespaceId"] == {"Fn::GetAtt": ["DiscoveryNamespace", "Id"]}
    assert api["DnsConfig"] == {"DnsRecords": [{"TTL": 10, "Type": "A"}], "RoutingPolicy": "MULTIVALUE"}
    assert api["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert app["ServiceApi"]["Properties"]["ServiceRegistries"] == [{"RegistryArn": {"Fn::GetAtt": ["ServiceApiDiscovery", "Arn"]}}]
    assert "ServiceRegistries" not in app["ServiceWorker"]["Properties"]
    worker = app["ServiceWorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["Environment"]
    assert {"Name": "SERVICE_API_URL", "Value": "http://api.dev.shop.internal:8000"} in worker
    hook = app["FunctionHook"]["Properties"]
    assert hook["Environment"]["Variables"]["SERVICE_LEGACY_URL"] == "http://legacy.dev.shop.internal:9000"
    assert hook["VpcConfig"]["SecurityGroupIds"] == [{"Fn::ImportValue": "shop-dev-security-FunctionHookSecurityGroup"}]
    rules = {k: v["Properties"] for k, v in security.items() if v["Type"] == "AWS::EC2::SecurityGroupIngress"}
    assert rules["ServiceApiIngressFromServiceWorker"] == {
        "Description": "Port 8000 from service worker, which uses services.api",
        "FromPort": 8000,
        "GroupId": {"Fn::GetAtt": ["ServiceApiSecurityGroup", "GroupId"]},
        "IpProtocol": "tcp",
        "SourceSecurityGroupId": {"Fn::GetAtt": ["ServiceWorkerSecurityGroup", "GroupId"]},
        "ToPort": 8000,
    }
    assert rules["ServiceLegacyIngressFromFunctionHook"]["SourceSecurityGroupId"] == {
        "Fn::GetAtt": ["FunctionHookSecurityGroup", "GroupId"]
    }
    into_legacy = [rule for rule in rules.values() if rule["GroupId"] == {"Fn::GetAtt": ["ServiceLegacySecurityGroup", "GroupId"]}]
    assert len(into_legacy) == 1  # the function that uses it, nobody else


def test_no_namespace_when_no_service_is_used(tmp_path: Path) -> None:
    text = SPEC.replace("    uses: [services.api]\n", "").replace(", uses: [services.legacy]", "")
    app = compile_spec(tmp_path, text)["app"]["Resources"]
    assert not [k for k, v in app.items() if v["Type"].startswith("AWS::ServiceDiscovery::")]


def test_spot_weights_put_tasks_on_fargate_spot_and_the_rest_stay_on_demand(templates: dict[str, Any]) -> None:
    app = templates["app"]["Resources"]
    assert app["Cluster"]["Properties"]["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    api = app["ServiceApi"]["Properties"]
    assert "LaunchType" not in api
    assert api["CapacityProviderStrategy"] == [
        {"Base": 1, "CapacityProvider": "FARGATE", "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    assert app["ServiceWorker"]["Properties"]["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    legacy = app["ServiceLegacy"]["Properties"]
    assert legacy["LaunchType"] == "FARGATE" and "CapacityProviderStrategy" not in legacy


def test_tracing_adds_the_xray_daemon_and_exactly_the_trace_permissions(templates: dict[str, Any]) -> None:
    app = templates["app"]["Resources"]
    containers = app["ServiceApiTaskDefinition"]["Properties"]["ContainerDefinitions"]
    assert [c["Name"] for c in containers] == ["api", "xray-daemon"]
    daemon = containers[1]
    assert daemon["Image"].startswith("public.ecr.aws/xray/aws-xray-daemon:")
    assert (daemon["Cpu"], daemon["MemoryReservation"], daemon["Essential"]) == (32, 256, False)
    assert daemon["PortMappings"] == [{"ContainerPort": 2000, "Protocol": "udp"}]
    assert {"Name": "AWS_XRAY_DAEMON_ADDRESS", "Value": "127.0.0.1:2000"} in containers[0]["Environment"]
    assert statements(app["ServiceApiTaskRole"])["SendTraces"] == {
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"],
        "Effect": "Allow",
        "Resource": ["*"],
        "Sid": "SendTraces",
    }
    assert len(app["ServiceWorkerTaskDefinition"]["Properties"]["ContainerDefinitions"]) == 1
    assert "ServiceLegacyTaskRole" not in app  # untraced and using nothing: no task role at all


def test_containers_run_non_root_on_a_read_only_root_with_a_scratch_tmp_unless_a_reason_says_otherwise(templates: dict[str, Any]) -> None:
    app = templates["app"]["Resources"]
    api = app["ServiceApiTaskDefinition"]["Properties"]
    container = api["ContainerDefinitions"][0]
    assert (container["User"], container["ReadonlyRootFilesystem"]) == ("1000", True)
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]
    assert api["Volumes"] == [{"Name": "tmp"}]
    assert api["ContainerDefinitions"][1]["ReadonlyRootFilesystem"] is True  # the daemon too
    assert app["ServiceWorkerTaskDefinition"]["Properties"]["ContainerDefinitions"][0]["User"] == "1000:1000"
    legacy = app["ServiceLegacyTaskDefinition"]["Properties"]
    assert legacy["ContainerDefinitions"][0]["ReadonlyRootFilesystem"] is False and "Volumes" not in legacy
    assert legacy["ContainerDefinitions"][0]["User"] == "root"  # with its root_reason
    assert "MountPoints" not in legacy["ContainerDefinitions"][0]


def test_the_load_balancer_takes_a_certificate_of_the_spec_from_the_dns_stack(tmp_path: Path) -> None:
    text = SPEC.replace(f"certificate: {CERTIFICATE}", "certificate: certificates.web").replace(
        "environments:", 'dns: {zone: example.com}\ncertificates:\n  web: {domains: ["@"]}\nenvironments:'
    )
    templates = compile_spec(tmp_path, text)
    listener = templates["app"]["Resources"]["LoadBalancerHttpsListener"]["Properties"]
    assert listener["Certificates"] == [{"CertificateArn": {"Fn::ImportValue": "shop-dev-dns-CertificateWebArn"}}]
    assert templates["app"]["Resources"]["LoadBalancerHttpListener"]["Properties"]["DefaultActions"][0]["Type"] == "redirect"
    assert templates["dns"]["Outputs"]["CertificateWebArn"]["Export"] == {"Name": "shop-dev-dns-CertificateWebArn"}


def test_the_whole_thing_is_lint_clean_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = ivc("compile", tmp_path / "spec.yaml", "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("{keep: 10,", "{keep: 0,"), "registries.shop-worker.keep is 0; it must be at least 1"),
        (
            ("uses: [services.api]", "uses: [services.apy]"),
            "services.worker uses services.apy, which does not exist (services: api, legacy, worker)",
        ),
        (("uses: [services.api]", "uses: [services.worker]"), "services.worker uses itself"),
        (
            ("uses: [services.legacy]", "uses: [services.worker]"),
            "functions.hook uses services.worker, which has no port to be reached on; give services.worker a port",
        ),
        (
            ("capacity: {spot: 1}", "capacity: {spot: 0, on_demand: 0}"),
            "services.worker's capacity weights are all zero; give spot or on_demand a weight of at least 1",
        ),
        (
            ("capacity: {spot: 1}", "capacity: {spot: 1, base: 2}"),
            "capacity.base places its tasks on on-demand Fargate, which needs an on_demand weight of at least 1",
        ),
        (
            ("    readonly_reason: the vendor image writes its PID file under /var/run\n", ""),
            "services.legacy turns off the read-only root filesystem; say why in readonly_reason",
        ),
        (
            ("    root_reason: the vendor image binds port 80 as root and drops privileges itself\n", ""),
            "services.legacy runs as root (root); say why in root_reason",
        ),
        (
            ('user: "1000:1000"', 'user: "0:0"'),
            "services.worker runs as root (0:0); say why in root_reason, or run as another user",
        ),
        (
            (f"certificate: {CERTIFICATE}", "certificate: certificates.web"),
            "the load balancer's certificate is certificates.web, which does not exist (certificates: none are declared)",
        ),
    ],
)
def test_bad_specs_are_refused_at_their_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    text = SPEC.replace(*change)
    assert text != SPEC
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = ivc("validate", spec)
    assert result.exit_code == 1
    # a removed line is told at the field it belongs to
    needle = change[1] or ("user: root" if "root_reason" in change[0] else "readonly_root: false")
    assert result.stderr.startswith(f"{spec}:{line_of(text, needle)}:") and expected in result.stderr, result.stderr
