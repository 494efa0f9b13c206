"""Rayman Portfolio (seed 004): the compiled templates carry the document's numbers, read from the JSON as a reviewer would."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ROOT, of_type, props, read_json

OUT = ROOT / "output" / "rayman-portfolio"
ENVS = ("dev", "staging", "prod")


def stack(env: str, name: str) -> dict[str, Any]:
    return read_json(OUT / env / "us-east-1" / f"{name}.json")


@pytest.mark.parametrize(
    ("env", "cidr", "zones", "nats"), [("dev", "10.0.0.0/16", 2, 1), ("staging", "10.1.0.0/16", 3, 3), ("prod", "10.2.0.0/16", 3, 3)]
)
def test_network(env: str, cidr: str, zones: int, nats: int) -> None:
    network = stack(env, "network")
    assert props(network, "Vpc")["CidrBlock"] == cidr
    assert len(of_type(network, "AWS::EC2::Subnet")) == 2 * zones  # public + private per AZ
    assert len(of_type(network, "AWS::EC2::NatGateway")) == nats
    assert [props(network, k)["ServiceName"] for k in of_type(network, "AWS::EC2::VPCEndpoint")] == [
        {"Fn::Sub": "com.amazonaws.${AWS::Region}.s3"}
    ]
    assert of_type(network, "AWS::EC2::NetworkAcl")  # network ACLs for additional protection
    assert of_type(network, "AWS::EC2::FlowLog")


@pytest.mark.parametrize(
    ("env", "instance", "storage", "multi_az"),
    [("dev", "db.t3.micro", "20", False), ("staging", "db.t3.small", "50", True), ("prod", "db.t3.medium", "100", True)],
)
def test_database(env: str, instance: str, storage: str, multi_az: bool) -> None:
    db = props(stack(env, "data"), "DatabaseMain")
    assert (db["Engine"], db["EngineVersion"].split(".")[0]) == ("postgres", "15")
    assert (db["DBInstanceClass"], db["AllocatedStorage"], db["MultiAZ"]) == (instance, storage, multi_az)
    assert db["BackupRetentionPeriod"] == 7
    assert db["StorageEncrypted"] is True and db["PubliclyAccessible"] is False
    assert db["EnablePerformanceInsights"] is True


@pytest.mark.parametrize(
    ("env", "node", "nodes", "failover"),
    [("dev", "cache.t3.micro", 1, False), ("staging", "cache.t3.small", 2, True), ("prod", "cache.t3.medium", 3, True)],
)
def test_cache(env: str, node: str, nodes: int, failover: bool) -> None:
    cache = props(stack(env, "data"), "CacheMain")
    assert (cache["Engine"], cache["EngineVersion"]) == ("redis", "7.0")
    assert (cache["CacheNodeType"], cache["NumCacheClusters"], cache["AutomaticFailoverEnabled"]) == (node, nodes, failover)
    assert cache["TransitEncryptionEnabled"] is True and cache["AtRestEncryptionEnabled"] is True


@pytest.mark.parametrize("env", ENVS)
def test_buckets_and_the_logs_bucket(env: str) -> None:
    data = stack(env, "data")
    media = props(data, "BucketMedia")
    assert media["VersioningConfiguration"] == {"Status": "Enabled"}
    transitions = media["LifecycleConfiguration"]["Rules"][1]["Transitions"]
    assert [t["StorageClass"] for t in transitions] == ["STANDARD_IA", "GLACIER"]
    assert props(data, "BucketStatic")["VersioningConfiguration"] == {"Status": "Enabled"}
    logs = props(data, "AccessLogsBucket")
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30  # logs bucket: 30-day retention
    assert all("BucketEncryption" in props(data, k) for k in of_type(data, "AWS::S3::Bucket"))


@pytest.mark.parametrize("env", ENVS)
def test_messaging(env: str) -> None:
    data = stack(env, "data")
    for queue in ("Processing", "Email"):
        q = props(data, f"Queue{queue}")
        assert q["MessageRetentionPeriod"] == 4 * 86400 and q["ReceiveMessageWaitTimeSeconds"] == 20
        assert q["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [f"Queue{queue}DeadLetter", "Arn"]}
    assert props(data, "QueueProcessing")["VisibilityTimeout"] == 6 * 120  # six times the worker's timeout
    assert {props(data, k)["TopicName"] for k in of_type(data, "AWS::SNS::Topic")} == {
        f"rayman-portfolio-{env}-notifications",
        f"rayman-portfolio-{env}-alerts",
    }
    mapping = next(iter(of_type(stack(env, "app"), "AWS::Lambda::EventSourceMapping").values()))["Properties"]
    assert mapping["FunctionName"] == {"Ref": "FunctionWorker"} and mapping["BatchSize"] == 10


@pytest.mark.parametrize("env", ENVS)
def test_log_groups_are_the_documents_with_30_days(env: str) -> None:
    groups = of_type(stack(env, "app"), "AWS::Logs::LogGroup")
    assert sorted(g["Properties"]["LogGroupName"] for g in groups.values()) == [
        f"/aws/apigateway/{env}",
        f"/aws/lambda/{env}-api",
        f"/aws/lambda/{env}-worker",
        f"/ecs/{env}",
    ]
    assert {g["Properties"]["RetentionInDays"] for g in groups.values()} == {30}


@pytest.mark.parametrize("env", ENVS)
def test_functions_api_and_security_group_chain(env: str) -> None:
    app, security = stack(env, "app"), stack(env, "security")
    assert props(app, "ApiPublic")["ProtocolType"] == "HTTP"
    assert props(app, "ApiPublic")["CorsConfiguration"]["AllowOrigins"] == [
        "https://raymanportfolio.com",
        "https://www.raymanportfolio.com",
    ]
    for function in ("FunctionApi", "FunctionWorker"):
        assert "VpcConfig" in props(app, function)  # VPC-enabled for database access
    ingress = {k: v["Properties"] for k, v in of_type(security, "AWS::EC2::SecurityGroupIngress").items()}
    ports = {(p["FromPort"], k) for k, p in ingress.items()}
    for source in ("ServiceWeb", "FunctionApi", "FunctionWorker"):
        assert (5432, f"DatabaseMainIngressFrom{source}") in ports
        assert (6379, f"CacheMainIngressFrom{source}") in ports
    assert not any(p.get("CidrIp") == "0.0.0.0/0" and p["FromPort"] in (5432, 6379) for p in ingress.values())
    variables = props(app, "FunctionApi")["Environment"]["Variables"]
    assert "JWT_SECRET_SECRET_ARN" in variables and "JWT_SECRET" not in variables  # a secret's ARN, never its value


def test_cloudfront_disabled_in_dev_only() -> None:
    assert not of_type(stack("dev", "edge"), "AWS::CloudFront::Distribution")
    for env in ("staging", "prod"):
        distribution = next(iter(of_type(stack(env, "edge"), "AWS::CloudFront::Distribution").values()))["Properties"]["DistributionConfig"]
        assert distribution["DefaultCacheBehavior"]["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
        assert distribution["DefaultCacheBehavior"]["Compress"] is True
        assert {o["Id"] for o in distribution["Origins"]} == {"api-public", "bucket-static", "bucket-media"}


@pytest.mark.parametrize(("env", "zone"), [("staging", "staging.raymanportfolio.com"), ("prod", "raymanportfolio.com")])
def test_the_site_is_served_on_its_own_domain_over_tls_1_2_behind_a_firewall(env: str, zone: str) -> None:
    config = next(iter(of_type(stack(env, "edge"), "AWS::CloudFront::Distribution").values()))["Properties"]["DistributionConfig"]
    assert sorted(config["Aliases"]) == sorted([zone, f"www.{zone}"])  # the CORS origins the document names
    assert config["ViewerCertificate"]["MinimumProtocolVersion"].startswith("TLSv1.2")
    assert "CloudFrontDefaultCertificate" not in config["ViewerCertificate"]
    acl = next(iter(of_type(stack(env, "edge"), "AWS::WAFv2::WebACL").values()))["Properties"]
    assert acl["Scope"] == "CLOUDFRONT"
    managed = {r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "ManagedRuleGroupStatement" in r["Statement"]}
    assert managed == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"}
    assert config["WebACLId"]["Fn::GetAtt"][0] in of_type(stack(env, "edge"), "AWS::WAFv2::WebACL")
    records = {p["Properties"]["Name"] for p in of_type(stack(env, "edge"), "AWS::Route53::RecordSet").values()}
    assert {zone, f"www.{zone}"} <= records


def test_dev_reaches_the_api_by_name_without_a_cdn_or_firewall() -> None:
    edge = stack("dev", "edge")
    assert not of_type(edge, "AWS::WAFv2::WebACL")
    domain = next(iter(of_type(edge, "AWS::ApiGatewayV2::DomainName").values()))["Properties"]
    assert domain["DomainName"] == "dev.raymanportfolio.com"


def test_prod_functions_reserve_concurrency_and_alarm_near_it() -> None:
    app = stack("prod", "app")
    assert props(app, "FunctionApi")["ReservedConcurrentExecutions"] == 200
    assert props(app, "FunctionWorker")["ReservedConcurrentExecutions"] == 50
    alarms = {k: v["Properties"] for k, v in of_type(stack("prod", "monitoring"), "AWS::CloudWatch::Alarm").items()}
    assert alarms["AlarmFunctionsApiConcurrencyWarning"]["Threshold"] == 180
    assert alarms["AlarmFunctionsWorkerConcurrencyWarning"]["Threshold"] == 45
    assert alarms["AlarmFunctionsApiThrottlesWarning"]["MetricName"] == "Throttles"
    for env in ("dev", "staging"):  # the account's pool, unreserved: a dev account may have only 10
        assert "ReservedConcurrentExecutions" not in props(stack(env, "app"), "FunctionApi")


@pytest.mark.parametrize(("env", "free_gb"), [("dev", 2), ("staging", 5), ("prod", 10)])
def test_recommended_alarms(env: str, free_gb: int) -> None:
    alarms = {k: v["Properties"] for k, v in of_type(stack(env, "monitoring"), "AWS::CloudWatch::Alarm").items()}
    assert alarms["AlarmDatabasesMainCpuWarning"]["Threshold"] == 80
    assert alarms["AlarmDatabasesMainFreeStorageGbCritical"]["Threshold"] == free_gb * 1024**3
    assert alarms["AlarmApisPublicErrors5xxCritical"]["Threshold"] == 10
    assert alarms["AlarmApisPublicErrors5xxCritical"]["MetricName"] == "5xx"
    assert alarms["AlarmFunctionsApiConcurrencyWarning"]["MetricName"] == "ConcurrentExecutions"
    assert alarms["AlarmCachesMainEvictionsWarning"]["MetricName"] == "Evictions"
    assert alarms["AlarmDatabasesMainCpuWarning"]["AlarmActions"] == [{"Fn::ImportValue": f"rayman-portfolio-{env}-data-TopicAlertsArn"}]


@pytest.mark.parametrize(("env", "nats"), [("dev", 1), ("staging", 3), ("prod", 3)])
def test_dashboard_shows_apis_functions_queues_and_nat_gateways(env: str, nats: int) -> None:
    dashboard = next(iter(of_type(stack(env, "monitoring"), "AWS::CloudWatch::Dashboard").values()))["Properties"]
    body = dashboard["DashboardBody"]["Fn::Sub"][0]
    for title in ("API public", "function api", "function worker", "queue processing", "queue email", "NAT gateways"):
        assert f'"title":"{title}' in body, title
    assert body.count('"NatGatewayId"') == 2 * nats


def test_prod_copies_its_database_backups_to_us_west_2_and_keeps_a_place_to_restore_them() -> None:
    # 004 "Disaster Recovery": "Cross-region snapshot copy (for prod)".
    database = props(stack("prod", "data"), "DatabaseMain")
    assert database["AutomaticBackupReplicationRegion"] == "us-west-2"
    assert "AutomaticBackupReplicationRegion" not in props(stack("staging", "data"), "DatabaseMain")
    dr = OUT / "prod" / "us-west-2"
    group = props(read_json(dr / "standby.json"), "RestoreMainSubnetGroup")
    assert group["DBSubnetGroupName"] == "rayman-portfolio-prod-main-restore"
    assert not of_type(read_json(dr / "network.json"), "AWS::EC2::NatGateway")  # nothing runs there
    assert not (dr / "app.json").exists()


def test_the_prod_runbook_restores_into_that_subnet_group() -> None:
    from conftest import ivc

    result = ivc("runbook", ROOT / "specs" / "rayman-portfolio", "--env", "prod")
    assert result.exit_code == 0, result.output
    assert "--db-subnet-group-name rayman-portfolio-prod-main-restore --region us-west-2" in result.stdout
