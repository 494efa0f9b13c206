"""A CDN whose primary region is not us-east-1: CloudFront's certificate, its web ACL, the distribution and the
records aliasing it are built in us-east-1's edge stack, and reach the primary region's origins by computed names,
never by exports (which do not cross regions)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.errors import SpecError
from compiler.validate import load_and_validate
from conftest import FIXTURES, GOLDEN, ivc, of_type, props, read_json, tree

FIXTURE = FIXTURES / "edge" / "apart.yaml"
PRIMARY, EDGE = "eu-west-1", "us-east-1"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted (for each template's own region) through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("apart")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    return folder / "apart" / "prod"


def template(out: Path, region: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / region / f"{stack}.json"))


def distribution(out: Path) -> dict[str, Any]:
    return dict(props(template(out, EDGE, "edge"), "Distribution")["DistributionConfig"])


def test_matches_golden(out: Path, update_golden: bool) -> None:
    golden = GOLDEN / "edge-apart"
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    assert tree(out) == tree(golden), "edge-apart: output differs from tests/golden; review, then run pytest --update-golden"


def test_us_east_1_joins_the_environment_with_its_key_and_the_edge_stack_only(out: Path) -> None:
    manifest = read_json(out / "manifest.json")
    assert manifest["regions"] == [{"name": PRIMARY, "role": "primary"}, {"name": EDGE, "role": "edge"}]
    assert sorted(p.name for p in (out / EDGE).iterdir()) == ["edge.json", "keys.json"]
    assert not (out / PRIMARY / "cdn.json").exists()
    assert "Distribution" not in template(out, PRIMARY, "edge")["Resources"]


def test_nothing_is_imported_across_regions_and_the_order_is_explicit(out: Path) -> None:
    stacks = read_json(out / "manifest.json")["stacks"]
    exported = {(s["region"], name) for s in stacks for name in s["exports"]}
    for stack in stacks:
        for name in stack["imports"]:
            assert (stack["region"], name) in exported, f"{stack['region']}/{stack['name']} imports {name} from another region"
    wave = {(s["region"], s["name"]): s["wave"] for s in stacks}
    # The distribution names the zone, the log bucket, the buckets, the load balancer and the API: they come first.
    for needed in ("dns", "data", "app"):
        assert wave[(PRIMARY, needed)] < wave[(EDGE, "edge")]
    # The origin secret's replica is encrypted with us-east-1's key.
    assert wave[(EDGE, "keys")] < wave[(PRIMARY, "data")]


def test_cloudfronts_certificate_is_requested_in_us_east_1_and_validated_by_the_primarys_records(out: Path) -> None:
    edge = template(out, EDGE, "edge")
    twin = props(template(out, PRIMARY, "dns"), "CertificateSite")
    own = props(edge, "CertificateSite")
    assert distribution(out)["ViewerCertificate"]["AcmCertificateArn"] == {"Ref": "CertificateSite"}
    assert (own["DomainName"], own["SubjectAlternativeNames"]) == (twin["DomainName"], twin["SubjectAlternativeNames"])
    assert own["ValidationMethod"] == "DNS"
    # No zone ID in us-east-1: the twin in the primary region writes the validation records, which ACM shares across regions.
    assert "DomainValidationOptions" not in own
    assert [o["HostedZoneId"] for o in twin["DomainValidationOptions"]] == [{"Ref": "HostedZone"}] * 2


def test_the_web_acl_is_cloudfronts_beside_the_distribution(out: Path) -> None:
    edge = template(out, EDGE, "edge")
    assert props(edge, "FirewallEdge")["Scope"] == "CLOUDFRONT"
    assert distribution(out)["WebACLId"] == {"Fn::GetAtt": ["FirewallEdge", "Arn"]}
    group = props(edge, "FirewallEdgeLogGroup")
    assert group["KmsKeyId"] == {"Fn::ImportValue": "apart-prod-keys-EnvironmentKeyArn"}  # us-east-1's own key


def test_origins_are_named_as_the_primary_region_names_them(out: Path) -> None:
    origins = {o["Id"]: o for o in distribution(out)["Origins"]}
    balancer = origins["load-balancer"]
    assert balancer["DomainName"] == "origin.example.org"  # its record, covered by certificates.origin
    assert balancer["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origins["api-public"]["DomainName"] == "api.example.org"  # the API's custom domain
    assert props(template(out, PRIMARY, "edge"), "RecordApiApiDomain")["DomainName"] == "api.example.org"
    # The bucket's regional domain, from the name the data stack gives it in the primary region.
    data = template(out, PRIMARY, "data")
    name = props(data, "BucketStatic")["BucketName"]["Fn::Sub"].replace("${AWS::Region}", PRIMARY)
    assert origins["bucket-static"]["DomainName"] == {"Fn::Sub": f"{name}.s3.{PRIMARY}.amazonaws.com"}
    logs = props(data, "AccessLogsBucket")["BucketName"]["Fn::Sub"].replace("${AWS::Region}", PRIMARY)
    assert distribution(out)["Logging"]["Bucket"] == {"Fn::Sub": f"{logs}.s3.amazonaws.com"}


def test_the_origin_secret_is_replicated_to_us_east_1_and_resolved_there_by_name(out: Path) -> None:
    secret = props(template(out, PRIMARY, "data"), "CdnOriginSecret")
    assert secret["ReplicaRegions"] == [{"Region": EDGE, "KmsKeyId": "alias/apart-prod"}]
    assert props(template(out, EDGE, "keys"), "EnvironmentKeyAlias")["AliasName"] == "alias/apart-prod"
    header = distribution(out)["Origins"][1]["OriginCustomHeaders"][0]
    assert header == {"HeaderName": "X-Origin-Verify", "HeaderValue": f"{{{{resolve:secretsmanager:{secret['Name']}:SecretString}}}}"}
    # The listener in the primary region still reads the original.
    app = template(out, PRIMARY, "app")
    assert "apart-prod-data-CdnOriginSecretArn" in str(app)


def test_records_to_the_cdn_are_beside_it_by_zone_name_and_the_rest_stay_in_the_primary(out: Path) -> None:
    edge = of_type(template(out, EDGE, "edge"), "AWS::Route53::RecordSet")
    assert sorted(edge) == ["RecordApexA", "RecordApexAaaa", "RecordWwwA", "RecordWwwAaaa"]
    assert {r["Properties"]["HostedZoneName"] for r in edge.values()} == {"example.org."}
    assert all("HostedZoneId" not in r["Properties"] for r in edge.values())
    primary = template(out, PRIMARY, "edge")
    records = of_type(primary, "AWS::Route53::RecordSet")
    assert sorted(records) == ["RecordApiA", "RecordOriginA"]
    assert {str(r["Properties"]["HostedZoneId"]) for r in records.values()} == {str({"Fn::ImportValue": "apart-prod-dns-HostedZoneId"})}
    assert list(of_type(primary, "AWS::Route53::HealthCheck")) == ["HealthCheckApi"]


def test_the_buckets_it_serves_admit_cloudfront_of_this_account_only_in_their_own_region(out: Path) -> None:
    statement = props(template(out, PRIMARY, "edge"), "BucketStaticPolicy")["PolicyDocument"]["Statement"][1]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"AWS:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/*"}},
    }
    assert not of_type(template(out, EDGE, "edge"), "AWS::S3::BucketPolicy")


HEAD = """\
ivc: 1
system: shop
regions: {primary: PRIMARY}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
services:
  web: {image: nginx, port: 80, route: {path: /}}
"""


def _errors(tmp_path: Path, body: str, primary: str = PRIMARY) -> list[str]:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD.replace("PRIMARY", primary) + textwrap.dedent(body) + "environments:\n  dev: {}\n")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec_file)
    return [d.render().split(":", 1)[1] for d in exc.value.diagnostics]


WEB_ACL = "firewall: {edge: {attach: [cdn]}}\n"


def test_a_load_balancer_origin_without_a_record_is_refused_at_the_origin(tmp_path: Path) -> None:
    assert _errors(tmp_path, WEB_ACL + "cdn: {default: {origin: services.web}}\n") == [
        "8:25: error: the cdn is built in us-east-1 (CloudFront's region) and reaches the load balancer in eu-west-1 by name: "
        "add a dns record for it, such as `dns: {records: {origin: services.web}}`"
    ]


def test_an_api_origin_without_a_custom_domain_is_refused_at_the_origin(tmp_path: Path) -> None:
    body = """\
    functions:
      api: {runtime: python3.12, handler: app.handler, code: "s3:shop-artifacts/api.zip"}
    apis:
      public: {routes: {"GET /": functions.api}}
    dns: {zone: shop.example}
    certificates: {site: {domains: ["@"]}}
    cdn: {certificate: certificates.site, aliases: [shop.example], default: {origin: apis.public}}
    """
    assert _errors(tmp_path, body) == [
        "13:82: error: the cdn is built in us-east-1 (CloudFront's region) and reaches apis.public in eu-west-1 by its custom "
        "domain: add a dns record for it, such as `dns: {records: {api: apis.public}}`"
    ]


def test_a_cdn_needing_nothing_of_us_east_1_stays_with_the_primary_regions_stacks(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    body = "load_balancer: {certificate: arn:aws:acm:eu-west-1:123456789012:certificate/abc-123}\n"
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"
    body += f"cdn: {{certificate: {arn}, aliases: [a.example], default: {{origin: services.web}}}}\n"
    spec_file.write_text(HEAD.replace("PRIMARY", PRIMARY) + body + "environments:\n  dev: {}\n")
    [environment] = load_and_validate(spec_file)
    assert environment.regions == [(PRIMARY, "primary")]
    result = ivc("compile", spec_file, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    edge = read_json(tmp_path / "out" / "shop" / "dev" / PRIMARY / "edge.json")
    assert "Distribution" in edge["Resources"] and not (tmp_path / "out" / "shop" / "dev" / EDGE).exists()


BY_NAME = """\
load_balancer: {certificate: arn:aws:acm:eu-west-1:123456789012:certificate/abc-123}
dns:
  zone: shop.example
  existing: true
  records: {origin: services.web}
"""


def test_an_existing_zone_found_by_name_is_named_by_every_record_and_never_created(tmp_path: Path) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD.replace("PRIMARY", PRIMARY) + BY_NAME + "environments:\n  dev: {}\n")
    result = ivc("compile", spec_file, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    region = tmp_path / "out" / "shop" / "dev" / PRIMARY
    assert not (region / "dns.json").exists()  # nothing to create: no zone, no certificates
    record = props(read_json(region / "edge.json"), "RecordOriginA")
    assert record["HostedZoneName"] == "shop.example." and "HostedZoneId" not in record


def test_certificates_need_the_zones_id_not_its_name(tmp_path: Path) -> None:
    body = BY_NAME + "certificates: {site: {domains: [origin]}}\n"
    assert _errors(tmp_path, body) == [
        "10:13: error: certificates: are validated by records CloudFormation writes into the zone, which it finds by ID only: "
        "give dns.existing the zone's ID (Z...) rather than true, or use certificate ARNs"
    ]


def test_deploy_builds_both_keys_and_the_buckets_under_the_names_us_east_1_computes(out: Path, aws: Any) -> None:
    """Deployed to moto through StackSets, read back through KMS and S3.

    moto does not build AWS::SecretsManager::Secret from a template at all (its CloudFormation skips the type), so the
    origin secret's replica is proven by the template tests above, not here.
    """
    import boto3

    for layer in ("keys", "network", "data"):
        result = ivc("deploy", FIXTURE, "--env", "prod", "--out", out.parent.parent, "--stack", layer, "--yes")
        assert result.exit_code == 0, result.output
    for region in (PRIMARY, EDGE):
        key = boto3.client("kms", region_name=region).describe_key(KeyId="alias/apart-prod")["KeyMetadata"]
        assert key["Arn"].startswith(f"arn:aws:kms:{region}:") and key["Enabled"]
    account = boto3.client("sts", region_name=PRIMARY).get_caller_identity()["Account"]
    s3 = boto3.client("s3", region_name=PRIMARY)
    config = distribution(out)
    computed = [o["DomainName"]["Fn::Sub"] for o in config["Origins"] if o["Id"] == "bucket-static"]
    computed.append(config["Logging"]["Bucket"]["Fn::Sub"])
    for domain in computed:
        bucket = domain.replace("${AWS::AccountId}", account).split(".s3.", 1)[0]
        assert s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] == PRIMARY
