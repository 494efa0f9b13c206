"""databases: read replicas handed to users, and the credentials secret at a name the spec gives, rotated by a function
of the spec. Compiled with cfn-lint for real (--strict: warnings fail too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, of_type, props, read_json

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, app, data], isolated: [data], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
databases:
  main:
    instance: db.t3.medium
    replicas: 2
    replica_instance: db.t3.large
    secret:
      name: /{environment}/database/credentials
      rotation_days: 30
      rotation_function: functions.rotate-credentials
  reports:
    instance: db.t3.medium
functions:
  rotate-credentials:
    runtime: python3.12
    handler: lambda_function.lambda_handler
    code: s3:shop-artifacts/postgresql-single-user-rotation.zip
    timeout: 30
    uses: [databases.main]
  reader:
    runtime: python3.12
    handler: app.handler
    code: s3:shop-artifacts/reader.zip
    uses: [databases.main]
services:
  api:
    image: shop/api:1.0.0
    uses: [databases.main, databases.reports]
environments:
  dev: {}
  prod: {}
"""


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("replicas")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    result = ivc("compile", spec, "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return folder / "out" / "shop"


def stacks(output: Path, environment: str) -> dict[str, Any]:
    return {stack: read_json(output / environment / "us-east-1" / f"{stack}.json") for stack in ("data", "app")}


def test_replicas_follow_their_source_and_inherit_its_encryption(output: Path) -> None:
    data = stacks(output, "prod")["data"]
    source = props(data, "DatabaseMain")
    replicas = {k: v for k, v in of_type(data, "AWS::RDS::DBInstance").items() if "Replica" in k}
    assert sorted(replicas) == ["DatabaseMainReplica1", "DatabaseMainReplica2"]
    replica = replicas["DatabaseMainReplica1"]
    settings = replica["Properties"]
    assert settings["SourceDBInstanceIdentifier"] == {"Ref": "DatabaseMain"}
    assert settings["DBInstanceIdentifier"] == "shop-prod-main-replica-1"
    assert settings["DBInstanceClass"] == "db.t3.large"  # replica_instance; the source keeps its own
    assert source["DBInstanceClass"] == "db.t3.medium" and source["StorageEncrypted"] is True
    # Encryption and its key come from the source: a replica that named them would be refused or differ.
    assert "StorageEncrypted" not in settings and "KmsKeyId" not in settings
    for same in ("DBSubnetGroupName", "VPCSecurityGroups", "DBParameterGroupName", "MonitoringRoleArn", "PerformanceInsightsKMSKeyId"):
        assert settings[same] == source[same], same
    assert settings["DeletionProtection"] is True and settings["PubliclyAccessible"] is False
    assert settings["MultiAZ"] is source["MultiAZ"] is False  # a standby of the replica only when the source has one
    # RDS takes no final snapshot of a read replica; the source's Snapshot policy keeps the data.
    assert replica["DeletionPolicy"] == replica["UpdateReplacePolicy"] == "Delete"
    assert data["Resources"]["DatabaseMain"]["DeletionPolicy"] == "Snapshot"
    logs = props(data, "DatabaseMainReplica1LogPostgresql")
    assert logs["LogGroupName"] == "/aws/rds/instance/shop-prod-main-replica-1/postgresql" and "KmsKeyId" in logs


def test_users_get_the_replicas_hosts(output: Path) -> None:
    app = stacks(output, "dev")["app"]
    container = props(app, "ServiceApiTaskDefinition")["ContainerDefinitions"][0]
    variables = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert variables["DATABASE_MAIN_READ_HOSTS"] == {"Fn::ImportValue": "shop-dev-data-DatabaseMainReadAddresses"}
    assert "DATABASE_REPORTS_READ_HOSTS" not in variables  # no replicas, no setting
    exported = stacks(output, "dev")["data"]["Outputs"]["DatabaseMainReadAddresses"]["Value"]
    assert exported == {
        "Fn::Join": [
            ",",
            [{"Fn::GetAtt": ["DatabaseMainReplica1", "Endpoint.Address"]}, {"Fn::GetAtt": ["DatabaseMainReplica2", "Endpoint.Address"]}],
        ]
    }
    function = props(app, "FunctionReader")["Environment"]["Variables"]
    assert function["DATABASE_MAIN_READ_HOSTS"] == {"Fn::ImportValue": "shop-dev-data-DatabaseMainReadAddresses"}


def test_the_named_secret_holds_the_password_the_instance_resolves_at_deploy_time(output: Path) -> None:
    data = stacks(output, "dev")["data"]
    secret = data["Resources"]["DatabaseMainSecret"]
    assert secret["Properties"]["Name"] == "/dev/database/credentials"  # the operations README's name, per environment
    assert secret["Properties"]["KmsKeyId"] == {"Fn::ImportValue": "shop-dev-keys-EnvironmentKeyArn"}
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["GenerateStringKey"] == "password" and json.loads(generated["SecretStringTemplate"]) == {"username": "dbadmin"}
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    source = props(data, "DatabaseMain")
    assert source["MasterUserPassword"] == {"Fn::Sub": "{{resolve:secretsmanager:${DatabaseMainSecret}:SecretString:password}}"}
    assert "ManageMasterUserPassword" not in source
    attachment = props(data, "DatabaseMainSecretAttachment")
    assert attachment == {
        "SecretId": {"Ref": "DatabaseMainSecret"},
        "TargetId": {"Ref": "DatabaseMain"},
        "TargetType": "AWS::RDS::DBInstance",
    }
    assert data["Outputs"]["DatabaseMainSecretArn"]["Value"] == {"Ref": "DatabaseMainSecretAttachment"}
    # Without `secret`, RDS manages the password as before.
    assert props(data, "DatabaseReports")["ManageMasterUserPassword"] is True
    prod = stacks(output, "prod")["data"]
    assert props(prod, "DatabaseMainSecret")["Name"] == "/prod/database/credentials"


def test_rotation_is_scheduled_beside_its_function_which_may_rotate_that_secret_only(output: Path) -> None:
    app = stacks(output, "dev")["app"]
    arn = {"Fn::ImportValue": "shop-dev-data-DatabaseMainSecretArn"}
    schedule = props(app, "DatabaseMainSecretRotation")
    assert schedule == {
        "SecretId": arn,
        "RotationLambdaARN": {"Fn::GetAtt": ["FunctionRotateCredentials", "Arn"]},
        "RotationRules": {"AutomaticallyAfterDays": 30},
    }
    permission = props(app, "DatabaseMainSecretRotationPermission")
    assert permission["Principal"] == "secretsmanager.amazonaws.com" and permission["SourceArn"] == arn
    statements = {s["Sid"]: s for s in props(app, "FunctionRotateCredentialsRole")["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["RotateDatabaseSecrets"]["Resource"] == [arn]
    assert "secretsmanager:PutSecretValue" in statements["RotateDatabaseSecrets"]["Action"]
    assert statements["KeyForRotatedSecrets"]["Condition"] == {
        "StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}
    }
    reader = json.dumps(props(app, "FunctionReaderRole"))
    assert "PutSecretValue" not in reader  # only the rotation function rotates


def test_users_read_exactly_that_secret_and_get_its_name(output: Path) -> None:
    app = stacks(output, "dev")["app"]
    statements = props(app, "ServiceApiExecutionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    reads = next(s for s in statements if s["Action"] == ["secretsmanager:GetSecretValue"])
    assert {"Fn::ImportValue": "shop-dev-data-DatabaseMainSecretArn"} in reads["Resource"]
    assert all("*" not in json.dumps(resource) for resource in reads["Resource"])
    container = props(app, "ServiceApiTaskDefinition")["ContainerDefinitions"][0]
    assert {"Name": "DATABASE_MAIN_CREDENTIALS", "Value": "/dev/database/credentials"} in container["Environment"]


def test_no_secret_value_is_in_any_template(output: Path) -> None:
    for template in output.rglob("*.json"):
        text = template.read_text()
        assert 'MasterUserPassword": "' not in text  # only the dynamic reference, never a literal
        assert 'SecretString": "' not in text
