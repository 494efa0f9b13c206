"""A DR region that holds the data: critical buckets replicated to replicas of the same purpose in regions.secondary."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ivc, read_json

FIXTURE = FIXTURES / "recovery" / "replicas.yaml"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted (both regions) through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("recovery")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "vault" / "prod"


def resources(out: Path, region: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / region / f"{stack}.json")["Resources"])


def test_the_replicas_are_deployed_before_the_replication_that_names_them(out: Path) -> None:
    waves = {(s["region"], s["name"]): s["wave"] for s in read_json(out / "manifest.json")["stacks"]}
    assert waves[("us-west-2", "data")] < waves[("us-east-1", "data")]


def test_each_marked_bucket_has_a_private_versioned_retained_replica_in_the_dr_region(out: Path) -> None:
    dr = resources(out, "us-west-2", "data")
    replicas = {t: r for t, r in dr.items() if r["Type"] == "AWS::S3::Bucket" and t.startswith("BucketReplica")}
    assert sorted(replicas) == ["BucketReplicaDocuments", "BucketReplicaLedger"]  # scratch is not marked
    for title, replica in replicas.items():
        properties = replica["Properties"]
        assert (replica["DeletionPolicy"], replica["UpdateReplacePolicy"]) == ("Retain", "Retain")
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert all(properties["PublicAccessBlockConfiguration"].values())
        # Server access logs stay in their region: the DR region has an access-logs bucket of its own.
        assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
        policy = dr[f"{title}Policy"]["Properties"]["PolicyDocument"]["Statement"]
        assert policy[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    documents = replicas["BucketReplicaDocuments"]["Properties"]
    assert documents["BucketName"] == {"Fn::Sub": "vault-prod-documents-${AWS::AccountId}-us-west-2"}
    assert [r["Id"] for r in documents["LifecycleConfiguration"]["Rules"]][:1] == ["abort-incomplete-uploads"]
    ledger = replicas["BucketReplicaLedger"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    # A KMS bucket's replica is encrypted with the DR region's own environment key.
    assert ledger["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {"Fn::ImportValue": "vault-prod-keys-EnvironmentKeyArn"}


def test_replication_with_time_control_where_asked_and_the_dr_key_for_kms_buckets(out: Path) -> None:
    data = resources(out, "us-east-1", "data")
    documents = data["BucketDocuments"]["Properties"]["ReplicationConfiguration"]
    rule = documents["Rules"][0]
    assert documents["Role"] == {"Fn::GetAtt": ["BucketReplicationRole", "Arn"]}
    assert rule["Destination"]["Bucket"] == {"Fn::Sub": "arn:${AWS::Partition}:s3:::vault-prod-documents-${AWS::AccountId}-us-west-2"}
    assert rule["Destination"]["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}}
    assert rule["DeleteMarkerReplication"] == {"Status": "Enabled"}
    ledger = data["BucketLedger"]["Properties"]["ReplicationConfiguration"]["Rules"][0]
    assert "ReplicationTime" not in ledger["Destination"]
    assert ledger["SourceSelectionCriteria"] == {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    assert ledger["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == {
        "Fn::Sub": "arn:${AWS::Partition}:kms:us-west-2:${AWS::AccountId}:alias/vault-prod"
    }
    assert "ReplicationConfiguration" not in data["BucketScratch"]["Properties"]


def test_the_replication_role_reads_the_sources_and_writes_the_replicas_only(out: Path) -> None:
    role = resources(out, "us-east-1", "data")["BucketReplicationRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "s3.amazonaws.com"}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    text = json.dumps(statements)
    assert "scratch" not in text and '"*"' not in text
    assert [r["Fn::Join"][1][0]["Fn::Sub"] for r in statements["WriteReplicas"]["Resource"]] == [
        "arn:${AWS::Partition}:s3:::vault-prod-documents-${AWS::AccountId}-us-west-2",
        "arn:${AWS::Partition}:s3:::vault-prod-ledger-${AWS::AccountId}-us-west-2",
    ]
    assert statements["EncryptReplicas"]["Condition"] == {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}


HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/21, tiers: [public, app], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
"""


def test_replication_needs_a_dr_region_and_versioning_said_at_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + textwrap.dedent(
            """\
            buckets:
              media: {replicate: {}}
              files: {replicate: {time_control: true}}
            environments:
              dev: {}
              prod:
                regions: {secondary: us-west-2}
                network: {secondary_cidr: 10.19.0.0/21}
                buckets: {files: {versioning: true}}
            """
        )
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "spec.yaml:6:22: error: buckets.media replicates to the DR region, but this environment has no regions.secondary (in dev)" in (
        result.stderr
    )
    assert "spec.yaml:6:22: error: buckets.media replicates, and S3 replicates only versioned buckets: set versioning: true (in prod)" in (
        result.stderr
    )
    assert "buckets.files replicates, and" not in result.stderr  # versioned in prod, so it replicates there


def test_the_database_has_a_promotable_encrypted_standby_in_the_dr_region_after_its_source(out: Path) -> None:
    waves = {(s["region"], s["name"]): s["wave"] for s in read_json(out / "manifest.json")["stacks"]}
    assert waves[("us-west-2", "standby")] > waves[("us-east-1", "data")]
    standby = resources(out, "us-west-2", "standby")
    replica = standby["StandbyMain"]
    properties = replica["Properties"]
    assert (replica["DeletionPolicy"], replica["UpdateReplacePolicy"]) == ("Retain", "Retain")  # promoted, it is the data
    assert properties["SourceDBInstanceIdentifier"] == {
        "Fn::Sub": "arn:${AWS::Partition}:rds:us-east-1:${AWS::AccountId}:db:vault-prod-main"
    }
    assert properties["KmsKeyId"] == {"Fn::ImportValue": "vault-prod-keys-EnvironmentKeyArn"}  # the DR region's own key
    assert properties["DBInstanceClass"] == "db.t3.large"
    assert properties["PubliclyAccessible"] is False
    assert properties["DBSubnetGroupName"] == {"Ref": "StandbyMainSubnetGroup"}
    subnets = standby["StandbyMainSubnetGroup"]["Properties"]["SubnetIds"]
    assert subnets == {"Fn::Split": [",", {"Fn::ImportValue": "vault-prod-network-DataSubnetIds"}]}
    assert "SecurityGroupIngress" not in standby["StandbyMainSecurityGroup"]["Properties"]  # nobody until promotion
    # The one cfn-lint rule that cannot hold for a cross-region replica is silenced on it alone, with its reason.
    assert replica["Metadata"]["cfn-lint"]["config"]["ignore_checks"] == ["E3720"]
    assert "cross-region read replica" in replica["Metadata"]["ivc"]["lint_exception"]


def test_a_standby_needs_a_dr_region(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "databases:\n  main: {version: '16.10', instance: db.t3.medium, dr_replica: {}}\nenvironments:\n  dev: {}\n")
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "error: databases.main.dr_replica is a replica in the DR region, but this environment has no regions.secondary" in (
        result.stderr
    )


PROMISING = """\
ivc: 1
system: shop
regions: {primary: us-east-1, secondary: us-west-2}
network: {cidr: 10.9.0.0/21, secondary_cidr: 10.19.0.0/21, tiers: [public, app, data], nat: single, subnet_prefix: 26,
  flow_logs: {enabled: false}}
databases:
  main: {version: '16.10', instance: db.t3.medium}
buckets:
  media: {versioning: true, replicate: {}}
  scratch: {}
environments:
  prod: {}
"""


def _problems(tmp_path: Path, text: str) -> str:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = ivc("validate", spec)
    assert result.exit_code in (0, 1), result.output
    return result.stderr


def test_an_rpo_the_spec_cannot_meet_is_refused_at_its_line_naming_what_is_missing(tmp_path: Path) -> None:
    said = _problems(tmp_path, PROMISING + "recovery: {rpo: 15m}\n")
    lines = [line.split("error: ", 1)[1] for line in said.splitlines() if "error: " in line]
    assert all(":13:" in line for line in said.splitlines() if "error: " in line)  # the rpo's line
    assert sorted(lines) == sorted(
        [
            "recovery.rpo 15m from the loss of us-east-1: databases.main could lose all of its data; add "
            "databases.main.dr_replica (or backups.replicate_to: secondary), or list it in recovery.expendable",
            "recovery.rpo 15m from the loss of us-east-1: buckets.media could lose all of its data; set "
            "buckets.media.replicate.time_control: plain replication promises no time, or list it in recovery.expendable",
            "recovery.rpo 15m from the loss of us-east-1: buckets.scratch could lose all of its data; add "
            "buckets.scratch.replicate, or list it in recovery.expendable",
        ]
    )


def test_a_kept_promise_validates_and_an_rto_of_a_region_needs_every_way_in_to_stand_by(tmp_path: Path) -> None:
    kept = PROMISING.replace("instance: db.t3.medium}", "instance: db.t3.medium, dr_replica: {}}").replace(
        "replicate: {}", "replicate: {time_control: true}"
    )
    assert "error" not in _problems(tmp_path, kept + "recovery: {rpo: 15m, expendable: [buckets.scratch]}\n")
    # Nothing serves from outside: the data alone decides (the replica is promoted in minutes).
    assert "error" not in _problems(tmp_path, kept + "recovery: {rpo: 15m, rto: 1h, expendable: [buckets.scratch]}\n")
    fleet = "fleets:\n  web: {instance: t3.small, tier: app, min: 1, max: 2, port: 80, route: {path: /}}\n"
    said = _problems(tmp_path, kept + fleet + "recovery: {rpo: 15m, rto: 1h, expendable: [buckets.scratch]}\n")
    assert (
        "recovery.rto 1h from the loss of us-east-1 needs every way in to serve in us-west-2, and fleets.web would not: stand its "
        "fleets by (recovery.standby" in said
    )
    standby = "recovery: {rpo: 15m, rto: 1h, expendable: [buckets.scratch], standby: {fleets: {web: {min: 1}}}}\n"
    # Standing by is not enough: traffic reaches the DR load balancer only by a name Route 53 fails over.
    said = _problems(tmp_path, kept + fleet + standby)
    assert (
        "recovery.rto 1h from the loss of us-east-1 needs traffic to reach us-west-2 after a failover, but no dns record "
        "points at a standing-by fleet, so no name fails over to it" in said
    )
    record = "dns: {zone: shop.example.com, records: {www: fleets.web}}\n"
    assert "error" not in _problems(tmp_path, kept + fleet + record + standby)


def test_a_single_region_environment_cannot_promise_the_loss_of_its_region(tmp_path: Path) -> None:
    single = HEAD + "databases:\n  main: {version: '16.10', instance: db.t3.medium}\n"
    said = _problems(tmp_path, single + "recovery: {rpo: 1h, from: region}\nenvironments:\n  dev: {}\n")
    assert "a single-region environment cannot promise recovery from the loss of its region" in said
    # From the loss of a zone: single-AZ loses minutes (point-in-time restore) and takes hours to restore.
    said = _problems(tmp_path, single + "recovery: {rpo: 1h, rto: 30m}\nenvironments:\n  dev: {}\n")
    assert (
        "recovery.rto 30m from the loss of a zone: databases.main takes about 120 minutes to bring back; set databases.main.multi_az: true"
        in said
    )
    assert "recovery.rpo" not in said
