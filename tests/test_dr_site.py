"""The DR site: fleets standing by in regions.secondary at their standby sizes, on the DR copies of their data, behind a
load balancer that Route 53 fails over to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "recovery" / "site.yaml"
STANDBY = "  standby: {fleets: {web: {min: 1, desired: 1}}}\n"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted in both regions through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("site")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "harbor" / "prod"


def stack(out: Path, region: str, name: str) -> dict[str, Any]:
    return dict(read_json(out / region / f"{name}.json"))


def env_file(template: dict[str, Any], fleet: str) -> dict[str, Any]:
    """The settings a fleet's user data writes to its env file, NAME -> value (a string or an intrinsic)."""
    parts = props(template, f"Fleet{fleet}LaunchTemplate")["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Join"][1]
    settings, name = {}, None
    for part in parts:
        if isinstance(part, str) and part.endswith("=") and "\n" not in part:
            name = part[:-1]
        elif name is not None:
            settings[name], name = part, None
    return settings


def test_the_standby_fleet_runs_in_the_dr_region_at_its_standby_sizes_without_scheduled_scale_up(out: Path) -> None:
    primary = props(stack(out, "us-east-1", "app"), "FleetWebGroup")
    dr_app = stack(out, "us-west-2", "app")
    standby = props(dr_app, "FleetWebGroup")
    assert (primary["MinSize"], primary["MaxSize"], primary["DesiredCapacity"]) == ("2", "6", "3")
    assert (standby["MinSize"], standby["MaxSize"], standby["DesiredCapacity"]) == ("1", "6", "1")  # max: scales up on failover
    assert of_type(stack(out, "us-east-1", "app"), "AWS::AutoScaling::ScheduledAction")
    assert not of_type(dr_app, "AWS::AutoScaling::ScheduledAction")  # business hours would scale the standby up
    assert of_type(dr_app, "AWS::AutoScaling::ScalingPolicy")  # it follows load once traffic fails over
    assert props(dr_app, "LoadBalancer")["Scheme"] == "internet-facing"


def test_the_standby_uses_the_database_replica_and_the_credentials_secret_replicated_by_name(out: Path) -> None:
    settings = env_file(stack(out, "us-west-2", "app"), "Web")
    assert settings["DATABASE_MAIN_HOST"] == {"Fn::ImportValue": "harbor-prod-standby-StandbyMainAddress"}
    assert settings["DATABASE_MAIN_PORT"] == "5432"
    secret = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:/prod/db"
    assert settings["DATABASE_MAIN_USER_SECRET_ARN"] == {"Fn::Sub": secret}
    statements = props(stack(out, "us-west-2", "app"), "FleetWebRole")["Policies"][0]["PolicyDocument"]["Statement"]
    readable = next(s for s in statements if s["Sid"] == "ReadUsedSecrets")
    assert readable["Resource"] == [{"Fn::Sub": secret + "-??????"}]  # the replica's ARN suffix is the source's
    replicas = props(stack(out, "us-east-1", "data"), "DatabaseMainSecret")["ReplicaRegions"]
    assert replicas == [{"Region": "us-west-2", "KmsKeyId": "alias/harbor-prod"}]
    # The primary's fleet reads the primary's database and secret.
    primary = env_file(stack(out, "us-east-1", "app"), "Web")
    assert primary["DATABASE_MAIN_HOST"] == {"Fn::ImportValue": "harbor-prod-data-DatabaseMainAddress"}


def test_the_database_replica_admits_the_standby_fleet_only(out: Path) -> None:
    replica = props(stack(out, "us-west-2", "standby"), "StandbyMain")
    assert replica["VPCSecurityGroups"] == [{"Fn::ImportValue": "harbor-prod-security-DatabaseMainSecurityGroup"}]
    rule = props(stack(out, "us-west-2", "security"), "DatabaseMainIngressFromFleetWeb")
    assert (rule["FromPort"], rule["SourceSecurityGroupId"]) == (5432, {"Fn::GetAtt": ["FleetWebSecurityGroup", "GroupId"]})


def test_a_replicated_bucket_is_its_replica_there_and_an_expendable_one_is_a_new_empty_bucket(out: Path) -> None:
    dr_data = stack(out, "us-west-2", "data")
    assert "BucketDocuments" not in dr_data["Resources"]  # not built twice: the replica stands in for it
    outputs = dr_data["Outputs"]
    assert outputs["BucketDocumentsName"]["Value"] == {"Ref": "BucketReplicaDocuments"}
    assert outputs["BucketDocumentsArn"]["Value"] == {"Fn::GetAtt": ["BucketReplicaDocuments", "Arn"]}
    scratch = props(dr_data, "BucketScratch")
    assert scratch["BucketName"] == {"Fn::Sub": "harbor-prod-scratch-${AWS::AccountId}-${AWS::Region}"}
    settings = env_file(stack(out, "us-west-2", "app"), "Web")
    assert settings["BUCKET_DOCUMENTS"] == {"Fn::ImportValue": "harbor-prod-data-BucketDocumentsName"}
    # The DR load balancer logs to the DR region's access-logs bucket, which admits ELB's log delivery there.
    policy = props(dr_data, "AccessLogsBucketPolicy")["PolicyDocument"]["Statement"]
    assert "LoadBalancerAccessLogsDelivery" in [s.get("Sid") for s in policy]


def test_route_53_fails_over_from_the_primary_load_balancer_on_its_health_check(out: Path) -> None:
    edge = stack(out, "us-east-1", "edge")
    record = props(edge, "RecordWwwA")
    assert (record["Failover"], record["SetIdentifier"]) == ("PRIMARY", "primary-us-east-1")
    assert record["HealthCheckId"] == {"Ref": "RecordWwwHealthCheck"}
    assert record["AliasTarget"]["EvaluateTargetHealth"] is True
    check = props(edge, "RecordWwwHealthCheck")["HealthCheckConfig"]
    assert check["Type"] == "CLOUDWATCH_METRIC"  # Route 53's checkers need not reach the load balancer
    assert check["AlarmIdentifier"] == {"Name": {"Ref": "RecordWwwFailoverAlarm"}, "Region": "us-east-1"}
    alarm = props(edge, "RecordWwwFailoverAlarm")
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == ("HealthyHostCount", 1, "LessThanThreshold")
    assert alarm["Period"] * alarm["EvaluationPeriods"] == 180
    assert alarm["TreatMissingData"] == "breaching"
    secondary = props(stack(out, "us-west-2", "edge"), "RecordWwwA")
    assert (secondary["Failover"], secondary["SetIdentifier"]) == ("SECONDARY", "secondary-us-west-2")
    assert secondary["HostedZoneName"] == "harbor.example.com."  # the zone's ID is exported in us-east-1 only
    assert secondary["AliasTarget"]["DNSName"] == {"Fn::ImportValue": "harbor-prod-app-LoadBalancerDnsName"}
    assert "HealthCheckId" not in secondary


def test_the_dr_load_balancer_has_its_own_certificate_validated_by_the_primarys_records(out: Path) -> None:
    certificate = props(stack(out, "us-west-2", "dns"), "CertificateSite")
    assert certificate["DomainName"] == "www.harbor.example.com"
    assert "DomainValidationOptions" not in certificate
    listener = props(stack(out, "us-west-2", "app"), "LoadBalancerHttpsListener")
    assert listener["Certificates"] == [{"CertificateArn": {"Fn::ImportValue": "harbor-prod-dns-CertificateSiteArn"}}]


def test_the_dr_network_has_nat_once_code_runs_there(out: Path) -> None:
    network = stack(out, "us-west-2", "network")
    assert list(of_type(network, "AWS::EC2::NatGateway")) == ["NatGateway1"]  # nat: single, as the primary's


def test_deploy_order_sources_before_the_standby_and_the_site_before_its_record(out: Path) -> None:
    waves = {(s["region"], s["name"]): s["wave"] for s in read_json(out / "manifest.json")["stacks"]}
    assert waves[("us-west-2", "dns")] > waves[("us-east-1", "dns")]  # its certificate's validation records exist
    assert waves[("us-west-2", "standby")] > waves[("us-east-1", "data")]
    assert waves[("us-west-2", "app")] > waves[("us-west-2", "standby")]
    assert waves[("us-west-2", "edge")] > waves[("us-west-2", "app")]
    assert waves[("us-east-1", "data")] > waves[("us-west-2", "keys")]  # the secret's replica key


def _validate(tmp_path: Path, text: str) -> tuple[int, str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = ivc("validate", spec)
    return result.exit_code, result.stderr


def test_without_a_standby_the_dr_region_has_data_only(tmp_path: Path) -> None:
    text = FIXTURE.read_text().replace(STANDBY, "").replace("  rto: 1h\n", "")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    dr = tmp_path / "out" / "harbor" / "prod" / "us-west-2"
    assert not (dr / "app.json").exists() and not (dr / "edge.json").exists()
    assert not of_type(read_json(dr / "network.json"), "AWS::EC2::NatGateway")
    record = props(read_json(tmp_path / "out" / "harbor" / "prod" / "us-east-1" / "edge.json"), "RecordWwwA")
    assert "Failover" not in record


def test_an_rto_from_the_loss_of_the_region_needs_the_standby(tmp_path: Path) -> None:
    code, said = _validate(tmp_path, FIXTURE.read_text().replace(STANDBY, ""))
    assert code == 1
    assert "recovery.rto 1h from the loss of us-east-1 needs every way in to serve in us-west-2, and fleets.web would not" in said


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("web: {min: 1, desired: 1}", "api: {min: 1}"), "fleets.api does not exist (fleets: web)"),
        (("web: {min: 1, desired: 1}", "web: {min: 7}"), "the standby of fleets.web has min 7 over max 6"),
        (("web: {min: 1, desired: 1}", "web: {min: 1, desired: 9}"), "desired 9 is outside the standby's min 1 and max 6"),
        (
            ("  expendable: [buckets.scratch]\n", ""),
            "fleets.web stands by in us-west-2 and uses buckets.scratch, which would be empty there: replicate it "
            "(buckets.scratch.replicate), or list it in recovery.expendable",
        ),
        (
            (", dr_replica: {}", ""),
            "fleets.web stands by in us-west-2 and uses databases.main, which has no copy there: add databases.main.dr_replica",
        ),
        (
            (', secret: {name: "/{environment}/db"}', ""),
            "fleets.web stands by in us-west-2 and reads databases.main's credentials, which RDS manages in us-east-1 only: "
            "name the secret (databases.main.secret) so ivc replicates it",
        ),
        (
            (
                "buckets.scratch:readwrite]",
                "buckets.scratch:readwrite, secrets.token]\nsecrets: {token: {}}",
            ),
            "fleets.web stands by in us-west-2, where secrets.token is not: the DR site has databases, buckets, file systems, "
            "caches, parameters, queues, topics, buses and standing-by services and functions only",
        ),
    ],
)
def test_what_a_standby_needs_and_the_dr_region_lacks_is_told(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = FIXTURE.read_text()
    assert change[0] in text
    code, said = _validate(tmp_path, text.replace(*change))
    assert code == 1
    assert f"error: {message}" in said, said


def test_a_standby_without_a_dr_region_is_told_at_its_line(tmp_path: Path) -> None:
    text = FIXTURE.read_text().replace(", secondary: us-west-2}", "}").replace(", secondary_cidr: 10.83.0.0/16", "")
    text = text.replace(", dr_replica: {}", "").replace(", replicate: {time_control: true}", "").replace("  rto: 1h\n", "")
    code, said = _validate(tmp_path, text.replace("  rpo: 15m\n", "  from: zone\n"))
    assert code == 1
    line = 1 + text.splitlines().index(STANDBY.rstrip("\n"))
    assert f"spec.yaml:{line}:12: error: a standby runs in regions.secondary, which this environment does not have; add it" in said


def test_the_manifest_names_both_sites(out: Path) -> None:
    manifest = read_json(out / "manifest.json")
    assert [r["role"] for r in manifest["regions"]] == ["primary", "secondary"]
    assert json.dumps(manifest).count("us-west-2/app") >= 1


# What `ivc destroy` leaves behind: it deletes stacks, and CloudFormation keeps what a stack retains.
KEPT_IN_THE_DR_REGION = (
    "AWS::S3::Bucket",
    "AWS::RDS::DBInstance",
    "AWS::Backup::BackupVault",
    "AWS::SecretsManager::Secret",
    "AWS::KMS::Key",
)


@pytest.mark.parametrize("manifest", sorted((FIXTURES.parent.parent / "output").glob("*/*/manifest.json")), ids=lambda p: p.parent.name)
def test_destroy_never_deletes_a_replica_or_a_vault_of_a_bundled_environment(manifest: Path) -> None:
    """Replicas in the DR region and every backup vault may hold the only copy of some data (once the primary is lost,
    or a promoted standby): each is retained, so a destroy of its stack leaves it."""
    for entry in read_json(manifest)["stacks"]:
        template = read_json(manifest.parent / entry["file"])
        for title, resource in template["Resources"].items():
            kept = resource["Type"] == "AWS::Backup::BackupVault" or (
                entry["role"] == "secondary" and resource["Type"] in KEPT_IN_THE_DR_REGION
            )
            if kept:
                assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == ("Retain", "Retain"), (
                    f"{entry['file']} {title}"
                )


def test_the_dr_site_is_watched_by_its_own_alarms_to_topics_of_its_own(out: Path) -> None:
    monitoring = stack(out, "us-west-2", "monitoring")
    alarms = sorted(of_type(monitoring, "AWS::CloudWatch::Alarm"))
    # What stands by is watched there; the database's alarms stay with the primary (the standby is not it yet).
    assert alarms == ["AlarmFleetsWebCpuCritical", "AlarmLoadBalancerFleetWebHealthyBelowCritical"]
    topic = props(monitoring, "AlarmTopicCriticalSubscription1")
    assert (topic["Endpoint"], topic["TopicArn"]) == ("ops@harbor.example.com", {"Ref": "AlarmTopicCritical"})
    assert props(monitoring, "AlarmFleetsWebCpuCritical")["AlarmActions"] == [{"Ref": "AlarmTopicCritical"}]
    # A composite whose members all stand by is there too; one about the database is not.
    assert sorted(of_type(monitoring, "AWS::CloudWatch::CompositeAlarm")) == ["AlarmCompositeDown"]
    assert sorted(of_type(stack(out, "us-east-1", "monitoring"), "AWS::CloudWatch::CompositeAlarm")) == [
        "AlarmCompositeDatabase",
        "AlarmCompositeDown",
    ]


def test_a_standby_behind_a_load_balancer_with_a_primary_region_certificate_arn_is_refused(tmp_path: Path) -> None:
    arn = "arn:aws:acm:us-east-1:111111111111:certificate/0b8c5a4e-1d2f-4a3b-9c8d-7e6f5a4b3c2d"
    code, said = _validate(tmp_path, FIXTURE.read_text().replace("certificate: certificates.site", f"certificate: {arn}"))
    assert code == 1
    assert (
        "error: fleets.web stands by behind a load balancer whose certificate is an ARN of us-east-1; use certificates.<n>, "
        "which ivc requests in us-west-2 too" in said
    )


def test_an_rto_needs_the_cdn_to_reach_the_load_balancer_by_a_name_that_fails_over(tmp_path: Path) -> None:
    # Over HTTP the cdn names its load-balancer origin by the load balancer's own DNS name, which does not fail over.
    text = FIXTURE.read_text().replace("load_balancer: {certificate: certificates.site}\n", "")
    text = text.replace("records: {www: fleets.web}", 'records: {www: fleets.web, "@": cdn}')
    text = text.replace("certificates: {site: {domains: [www]}}", 'certificates: {site: {domains: [www]}, edge: {domains: ["@"]}}')
    code, said = _validate(tmp_path, text + "cdn: {certificate: certificates.edge, default: {origin: fleets.web}}\n")
    assert code == 1, said
    assert (
        "needs traffic to reach us-west-2 after a failover, but the cdn reaches the load balancer by its own DNS name (HTTP), "
        "which does not fail over" in said
    )


def test_the_dr_load_balancer_takes_the_primarys_regional_web_acl(tmp_path: Path) -> None:
    spec = tmp_path / "harbor.yaml"
    spec.write_text(FIXTURE.read_text() + "firewall: {web: {attach: [load_balancer], rules: [common]}}\n")
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    for region in ("us-east-1", "us-west-2"):
        app = dict(read_json(tmp_path / "out" / "harbor" / "prod" / region / "app.json"))
        association = props(app, "FirewallWebLoadBalancerAssociation")
        assert association == {"ResourceArn": {"Ref": "LoadBalancer"}, "WebACLArn": {"Fn::GetAtt": ["FirewallWeb", "Arn"]}}
