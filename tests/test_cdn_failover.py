"""The cdn fails over to the DR region: a bucket it serves that is replicated to regions.secondary is served through an
origin group, the bucket first and its replica second, and the replica admits CloudFront."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.stacks import assemble
from compiler.validate import load_and_validate
from conftest import FIXTURES, ivc, read_json

FIXTURE = FIXTURES / "edge" / "failover.yaml"
PRIMARY, SECONDARY = "us-east-1", "us-west-2"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted (cfn-lint, every template of both regions) through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("failover")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "relay" / "prod"


def template(out: Path, region: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / region / f"{stack}.json"))


def distribution(out: Path) -> dict[str, Any]:
    config: dict[str, Any] = template(out, PRIMARY, "edge")["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    return config


def test_every_template_is_linted_and_both_regions_are_compiled(out: Path) -> None:
    stacks = {(s["region"], s["name"]) for s in read_json(out / "manifest.json")["stacks"]}
    assert {(PRIMARY, "edge"), (PRIMARY, "data"), (SECONDARY, "data")} <= stacks  # --strict: cfn-lint passed on each


def test_the_replicated_bucket_is_served_through_an_origin_group_that_fails_over_to_its_replica(out: Path) -> None:
    config = distribution(out)
    (group,) = config["OriginGroups"]["Items"]
    assert config["OriginGroups"]["Quantity"] == 1
    assert group["Id"] == "bucket-site-failover"
    # The primary-region bucket first, the DR replica second.
    assert group["Members"] == {"Quantity": 2, "Items": [{"OriginId": "bucket-site"}, {"OriginId": "bucket-site-dr"}]}
    codes = group["FailoverCriteria"]["StatusCodes"]
    assert sorted(codes["Items"]) == [403, 404, 500, 502, 503, 504] and codes["Quantity"] == 6
    origins = {o["Id"]: o for o in config["Origins"]}
    replica = origins["bucket-site-dr"]
    # Computed, never imported: exports do not cross regions.
    assert replica["DomainName"] == {"Fn::Sub": f"relay-prod-site-${{AWS::AccountId}}-{SECONDARY}.s3.{SECONDARY}.amazonaws.com"}
    # Through the same Origin Access Control as the primary bucket.
    assert (
        replica["OriginAccessControlId"] == origins["bucket-site"]["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
    )
    assert replica["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    # origin_shield: true shields each origin in the region AWS names for its own region.
    assert origins["bucket-site"]["OriginShield"]["OriginShieldRegion"] == PRIMARY
    assert replica["OriginShield"]["OriginShieldRegion"] == SECONDARY


def test_the_behavior_targets_the_group_and_allows_only_what_a_group_may(out: Path) -> None:
    config = distribution(out)
    default = config["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "bucket-site-failover"
    assert set(default["AllowedMethods"]) <= {"GET", "HEAD", "OPTIONS"}


def test_the_bucket_that_is_not_replicated_is_not_grouped(out: Path) -> None:
    config = distribution(out)
    (media,) = [b for b in config["CacheBehaviors"] if b["PathPattern"] == "/media/*"]
    assert media["TargetOriginId"] == "bucket-media"
    origin_ids = {o["Id"] for o in config["Origins"]}
    assert origin_ids == {"bucket-site", "bucket-site-dr", "bucket-media"}
    assert all(m["OriginId"] != "bucket-media" for g in config["OriginGroups"]["Items"] for m in g["Members"]["Items"])


def test_the_replica_admits_cloudfront_only_for_the_accounts_distributions_and_only_over_tls(out: Path) -> None:
    dr = template(out, SECONDARY, "data")["Resources"]
    statements = {s["Sid"]: s for s in dr["BucketReplicaSitePolicy"]["Properties"]["PolicyDocument"]["Statement"]}
    assert sorted(statements) == ["CloudFrontReadsThroughOriginAccessControl", "DenyInsecureTransport"]
    tls = statements["DenyInsecureTransport"]
    assert (tls["Effect"], tls["Principal"], tls["Condition"]) == ("Deny", "*", {"Bool": {"aws:SecureTransport": "false"}})
    read = statements["CloudFrontReadsThroughOriginAccessControl"]
    assert read["Effect"] == "Allow"
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert read["Action"] == ["s3:GetObject"]
    assert read["Resource"] == [{"Fn::Join": ["", [{"Fn::GetAtt": ["BucketReplicaSite", "Arn"]}, "/*"]]}]
    # The distribution's ID is generated in another region: CloudFront, on behalf of a distribution of this account.
    assert read["Condition"] == {
        "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"AWS:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}},
    }
    # The replica stays SSE-S3 (the cdn serves no KMS bucket): no key for CloudFront to decrypt with.
    encryption = dr["BucketReplicaSite"]["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_the_distribution_deploys_after_the_dr_data_stack(out: Path) -> None:
    waves = {(s["region"], s["name"]): s["wave"] for s in read_json(out / "manifest.json")["stacks"]}
    assert waves[(SECONDARY, "data")] < waves[(PRIMARY, "edge")]
    (environment,) = load_and_validate(FIXTURE)
    (edge,) = [s for s in assemble(environment) if s.key == f"{PRIMARY}/edge"]
    assert f"{SECONDARY}/data" in edge.after


def test_built_in_the_dr_region_itself_the_distribution_imports_the_replica_and_is_ordered_by_it(tmp_path: Path) -> None:
    """Primary eu-west-1, DR us-east-1, and a web ACL that puts the distribution in us-east-1: the DR region's."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        textwrap.dedent(
            """\
            ivc: 1
            system: relay
            regions: {primary: eu-west-1, secondary: us-east-1}
            network: {cidr: 10.90.0.0/16, secondary_cidr: 10.91.0.0/16, tiers: [public, app], nat: single, flow_logs: {enabled: false}}
            buckets:
              site: {versioning: true, replicate: {}}
            firewall:
              edge: {attach: [cdn], rules: [common]}
            cdn:
              default: {origin: buckets.site}
            environments:
              prod: {}
            """
        ),
        encoding="utf-8",
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out" / "relay" / "prod"
    config = template(out, "us-east-1", "edge")["Resources"]["Distribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o["DomainName"] for o in config["Origins"]}
    assert origins["bucket-site-dr"] == {"Fn::ImportValue": "relay-prod-data-BucketSiteDomainName"}
    assert origins["bucket-site"] == {"Fn::Sub": "relay-prod-site-${AWS::AccountId}-eu-west-1.s3.eu-west-1.amazonaws.com"}
    dr = template(out, "us-east-1", "data")
    assert dr["Outputs"]["BucketSiteDomainName"]["Value"] == {"Fn::GetAtt": ["BucketReplicaSite", "RegionalDomainName"]}
    waves = {(s["region"], s["name"]): s["wave"] for s in read_json(out / "manifest.json")["stacks"]}
    assert waves[("us-east-1", "data")] < waves[("us-east-1", "edge")]
