"""IndiVillage.com (seeds 000 and 001): the compiled templates carry the documents' facts, read from the JSON as a
reviewer would. specs/indivillage/README.md maps each fact to its source line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import ROOT, of_type, props, read_json

OUT = ROOT / "output" / "indivillage"


def stack(env: str, name: str, region: str = "us-east-1") -> dict[str, Any]:
    return dict(read_json(OUT / env / region / f"{name}.json"))


@pytest.mark.parametrize(
    ("env", "cidr", "zones", "nats"),
    [("development", "10.0.0.0/16", 2, 1), ("staging", "10.1.0.0/16", 2, 1), ("production", "10.2.0.0/16", 3, 3)],
)
def test_network_cidr_zones_four_tiers_and_nat(env: str, cidr: str, zones: int, nats: int) -> None:
    network = stack(env, "network")
    assert props(network, "Vpc")["CidrBlock"] == cidr
    assert len(of_type(network, "AWS::EC2::Subnet")) == 4 * zones  # public, web, app, data in every zone
    assert len(of_type(network, "AWS::EC2::NatGateway")) == nats


def windows(env: str) -> list[tuple[str, int]]:
    found = of_type(stack(env, "operations"), "AWS::SSM::MaintenanceWindow").values()
    return [(w["Properties"]["Schedule"], w["Properties"]["Duration"]) for w in found]


def test_production_is_patched_bi_weekly_on_sundays_from_two_to_four_utc() -> None:
    assert windows("production") == [("cron(0 2 ? * SUN#1 *)", 2), ("cron(0 2 ? * SUN#3 *)", 2)]


def test_staging_is_patched_weekly_on_tuesdays_from_two_to_four_utc() -> None:
    assert windows("staging") == [("cron(0 2 ? * TUE *)", 2)]


def test_development_is_patched_any_time_automatically() -> None:
    assert windows("development") == []
    association = props(stack("development", "operations"), "PatchAssociation")
    assert (association["Name"], association["ScheduleExpression"]) == ("AWS-RunPatchBaseline", "rate(1 day)")
    assert association["Targets"] == [{"Key": "tag:Patch Group", "Values": ["indivillage-development"]}]


@pytest.mark.parametrize(
    ("env", "instance", "multi_az", "monitoring", "retention", "window"),
    [
        ("development", "db.t3.medium", False, None, 7, "wed:06:00-wed:07:00"),
        ("staging", "db.t3.large", True, 60, 7, "tue:05:00-tue:06:00"),
        ("production", "db.m5.large", True, 60, 30, "sun:05:00-sun:06:00"),
    ],
)
def test_postgresql_13_per_environment(
    env: str, instance: str, multi_az: bool, monitoring: int | None, retention: int, window: str
) -> None:
    database = props(stack(env, "data"), "DatabaseMain")
    assert (database["Engine"], database["EngineVersion"].split(".")[0]) == ("postgres", "13")
    assert database["EngineLifecycleSupport"] == "open-source-rds-extended-support"  # past standard support: paid, accepted
    assert (database["DBInstanceClass"], database["MultiAZ"]) == (instance, multi_az)
    assert database.get("MonitoringInterval") == monitoring
    assert database["BackupRetentionPeriod"] == retention
    assert database["PreferredMaintenanceWindow"] == window
    assert (database["StorageType"], database["StorageEncrypted"]) == ("gp3", True)
    assert database["MaxAllocatedStorage"] > int(database["AllocatedStorage"])  # storage autoscaling


@pytest.mark.parametrize(("env", "node", "failover"), [("development", "cache.t3.medium", False), ("production", "cache.m5.large", True)])
def test_redis_6_per_environment(env: str, node: str, failover: bool) -> None:
    cache = props(stack(env, "data"), "CacheMain")
    assert (cache["Engine"], cache["EngineVersion"], cache["CacheNodeType"]) == ("redis", "6.2", node)
    assert cache["AutomaticFailoverEnabled"] is failover and cache["MultiAZEnabled"] is failover


@pytest.mark.parametrize(
    ("env", "instance", "sizes", "spot"),
    [
        ("development", "t3.medium", ("1", "2", None), True),
        ("staging", "t3.large", ("1", "4", None), True),
        ("production", "m5.large", ("2", "10", "4"), False),
    ],
)
def test_web_and_app_tiers_are_auto_scaling_groups_of_the_documented_instances(
    env: str, instance: str, sizes: tuple[str, str, str | None], spot: bool
) -> None:
    app = stack(env, "app")
    for fleet, subnets in (("Web", "WebSubnetIds"), ("App", "AppSubnetIds")):
        data = props(app, f"Fleet{fleet}LaunchTemplate")["LaunchTemplateData"]
        assert data["InstanceType"] == instance
        group = props(app, f"Fleet{fleet}Group")
        assert (group["MinSize"], group["MaxSize"], group.get("DesiredCapacity")) == sizes
        assert group["VPCZoneIdentifier"]["Fn::Split"][1] == {"Fn::ImportValue": f"indivillage-{env}-network-{subnets}"}
        assert ("MixedInstancesPolicy" in group) is spot  # Spot for development and staging only
        cpu = props(app, f"Fleet{fleet}ScaleOnCpu")["TargetTrackingConfiguration"]
        assert cpu["PredefinedMetricSpecification"]["PredefinedMetricType"] == "ASGAverageCPUUtilization"
    # The web tier is behind the load balancer and also scales on request count.
    assert props(app, "FleetWebGroup")["TargetGroupARNs"] == [{"Ref": "FleetWebTargetGroup"}]
    assert "FleetWebScaleOnRequests" in app["Resources"]


@pytest.mark.parametrize(
    ("env", "price_class"), [("development", "PriceClass_100"), ("staging", "PriceClass_200"), ("production", "PriceClass_All")]
)
def test_cloudfront_with_waf_in_front_of_an_https_load_balancer_that_admits_only_cloudfront(env: str, price_class: str) -> None:
    edge = stack(env, "edge")
    config = props(edge, "Distribution")["DistributionConfig"]
    assert config["PriceClass"] == price_class  # 001 tfvars cdn_price_class
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["load-balancer"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert "bucket-assets" in origins
    assert config["ViewerCertificate"]["MinimumProtocolVersion"] == "TLSv1.2_2021"
    assert config["WebACLId"] == {"Fn::GetAtt": ["FirewallWeb", "Arn"]}
    firewall = props(edge, "FirewallWeb")
    assert firewall["Scope"] == "CLOUDFRONT"
    assert {"rate-limit", "common", "known-bad-inputs", "sql-injection", "ip-reputation"} <= {r["Name"] for r in firewall["Rules"]}
    app = stack(env, "app")
    assert props(app, "LoadBalancerHttpsListener")["Protocol"] == "HTTPS"
    ingress = of_type(stack(env, "security"), "AWS::EC2::SecurityGroupIngress")
    balancer = [
        r["Properties"] for r in ingress.values() if r["Properties"]["GroupId"] == {"Fn::GetAtt": ["LoadBalancerSecurityGroup", "GroupId"]}
    ]
    assert [(r["FromPort"], r["SourcePrefixListId"]) for r in balancer] == [(443, {"Ref": "CloudFrontOriginPrefixList"})]


def test_five_purpose_buckets_aes256_with_lifecycle() -> None:
    data = stack("production", "data")
    buckets = {k: v["Properties"] for k, v in of_type(data, "AWS::S3::Bucket").items() if k != "AccessLogsBucket"}
    assert sorted(buckets) == ["BucketAssets", "BucketBackups", "BucketLogs", "BucketProcessed", "BucketUploads"]
    for bucket in buckets.values():
        [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert bucket["VersioningConfiguration"]["Status"] == "Enabled"
    rules = {r["Id"]: r for r in buckets["BucketBackups"]["LifecycleConfiguration"]["Rules"]}
    transitions = rules["current-objects"]["Transitions"]
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in transitions] == [("STANDARD_IA", 30), ("GLACIER", 90)]
    assert rules["noncurrent-versions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}


@pytest.mark.parametrize(
    ("env", "cost_center"), [("development", "IT-development"), ("staging", "IT-staging"), ("production", "IT-production")]
)
def test_every_resource_carries_the_documented_tags(env: str, cost_center: str) -> None:
    tags = {t["Key"]: t["Value"] for t in props(stack(env, "network"), "Vpc")["Tags"]}
    assert tags.items() >= {"Project": "IndiVillage-Website", "Owner": "DevOps", "CostCenter": cost_center, "Environment": env}.items()


def test_lambda_processing_functions_triggered_by_uploads_with_the_documented_memory_and_timeouts() -> None:
    app = stack("production", "app")
    functions = {k: v["Properties"] for k, v in of_type(app, "AWS::Lambda::Function").items()}
    sizes = {k: (f["Runtime"], f["MemorySize"], f["Timeout"]) for k, f in functions.items()}
    assert sizes == {
        "FunctionFileProcessor": ("python3.11", 2048, 900),  # processing: 15 minutes
        "FunctionImageOptimizer": ("nodejs22.x", 1024, 900),
        "FunctionNotifications": ("nodejs22.x", 1024, 30),  # API-side: 30 seconds
        "FunctionRotateCredentials": ("python3.11", 1024, 30),  # the credentials' rotation: short, like API functions
    }
    for name in ("FunctionFileProcessor", "FunctionImageOptimizer"):
        dead_letter = {"Fn::ImportValue": "indivillage-production-data-QueueProcessingFailuresArn"}
        assert functions[name]["DeadLetterConfig"] == {"TargetArn": dead_letter}  # bucket events are asynchronous
        assert "VpcConfig" in functions[name]
    rules = [r["Properties"]["EventPattern"] for r in of_type(app, "AWS::Events::Rule").values()]
    assert any(
        p.get("detail", {}).get("bucket", {}).get("name") == [{"Fn::ImportValue": "indivillage-production-data-BucketUploadsName"}]
        for p in rules
    )


def test_standard_fifo_and_dead_letter_queues_and_filtered_topic_subscriptions() -> None:
    data = stack("production", "data")
    queues = {v["Properties"]["QueueName"]: v["Properties"] for v in of_type(data, "AWS::SQS::Queue").values()}
    assert queues["indivillage-production-form-submissions.fifo"]["FifoQueue"] is True
    assert "RedrivePolicy" in queues["indivillage-production-notifications"]
    subscriptions = [s["Properties"] for s in of_type(data, "AWS::SNS::Subscription").values()]
    assert {json.dumps(s["FilterPolicy"], sort_keys=True) for s in subscriptions} == {
        json.dumps({"kind": ["email", "sms"]}),
        json.dumps({"kind": ["file-uploaded"]}),
    }


def test_efs_general_purpose_bursting_encrypted_retained_in_every_zone_mounted_by_the_app_tier() -> None:
    data = stack("production", "data")
    system = data["Resources"]["FileSystemShared"]
    assert (system["Properties"]["PerformanceMode"], system["Properties"]["ThroughputMode"]) == ("generalPurpose", "bursting")
    assert system["Properties"]["Encrypted"] is True and system["DeletionPolicy"] == "Retain"
    assert len(of_type(data, "AWS::EFS::MountTarget")) == 3  # one per zone of production
    script = json.dumps(props(stack("production", "app"), "FleetAppLaunchTemplate")["LaunchTemplateData"]["UserData"])
    assert "efs _netdev,noresvport,tls,iam,accesspoint=" in script
    assert "FileSystemSharedIngressFromFleetApp" in stack("production", "security")["Resources"]


def test_ecr_repositories_scan_on_push_and_keep_the_latest_five_images() -> None:
    repositories = of_type(stack("production", "data"), "AWS::ECR::Repository")
    assert sorted(repositories) == ["RegistryApi", "RegistryWorker"]
    for repository in repositories.values():
        assert repository["Properties"]["ImageScanningConfiguration"] == {"ScanOnPush": True}
        rules = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])["rules"]
        assert {"countType": "imageCountMoreThan", "countNumber": 5} in [
            {k: r["selection"][k] for k in ("countType", "countNumber")} for r in rules
        ]


def test_ecs_services_run_on_the_ec2_launch_type_through_a_fleet_capacity_provider() -> None:
    app = stack("production", "app")
    [provider] = of_type(app, "AWS::ECS::CapacityProvider").values()
    scaling = provider["Properties"]["AutoScalingGroupProvider"]
    assert scaling["ManagedScaling"]["Status"] == "ENABLED" and scaling["ManagedTerminationProtection"] == "DISABLED"
    assert props(app, "FleetContainersLaunchTemplate")["LaunchTemplateData"]["InstanceType"] == "m5.large"
    for name in ("Api", "Worker"):
        definition = props(app, f"Service{name}TaskDefinition")
        assert definition["RequiresCompatibilities"] == ["EC2"]
        service = props(app, f"Service{name}")
        assert service["CapacityProviderStrategy"][0]["CapacityProvider"] == {"Ref": "FleetContainersCapacityProvider"}
    # The API scales on CPU and request count, the worker on its queue's depth.
    assert {"ServiceApiScaleOnCpu", "ServiceApiScaleOnRequests"} <= set(app["Resources"])
    assert any(k.startswith("ServiceWorker") and "Backlog" in k for k in app["Resources"])


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_a_parameter_store_hierarchy_per_environment(env: str) -> None:
    found = of_type(stack(env, "operations"), "AWS::SSM::Parameter").values()
    names = {p["Properties"]["Name"]: p["Properties"]["Value"] for p in found}
    assert names[f"/{env}/app/environment"] == env
    assert json.dumps(props(stack(env, "app"), "FleetAppRole")["Policies"]).count(f"parameter/{env}/app/*") == 1


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_the_rest_api_with_keys_validation_and_x_ray_reaches_the_app_tier_only_through_its_vpc_link(env: str) -> None:
    app = stack(env, "app")
    assert props(app, "LoadBalancer")["Scheme"] == "internet-facing"
    assert props(app, "InternalLoadBalancer")["Scheme"] == "internal"  # the app tier's, in the app subnets
    assert props(app, "InternalLoadBalancer")["Subnets"] == {
        "Fn::Split": [",", {"Fn::ImportValue": f"indivillage-{env}-network-AppSubnetIds"}]
    }
    method = props(app, "RestApiAppAnyProxyAll")
    assert method["ApiKeyRequired"] is True
    assert method["Integration"]["ConnectionType"] == "VPC_LINK"
    assert method["Integration"]["IntegrationTarget"] == {"Ref": "InternalLoadBalancer"}
    validator = props(app, "RestApiAppValidator")
    assert (validator["ValidateRequestBody"], validator["ValidateRequestParameters"]) == (True, True)
    assert props(app, "RestApiAppStage")["TracingEnabled"] is True
    assert sorted(of_type(app, "AWS::ApiGateway::ApiKey")) == ["RestApiAppKeyPartners", "RestApiAppKeyWeb"]
    # Partner systems reach it through AWS WAF (001's diagram); the app fleet admits the internal load balancer only.
    association = next(iter(of_type(stack(env, "app"), "AWS::WAFv2::WebACLAssociation").values()))["Properties"]
    assert "RestApiAppStage" in json.dumps(association["ResourceArn"])
    security = stack(env, "security")
    sources = [
        r["Properties"].get("SourceSecurityGroupId")
        for r in of_type(security, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": ["FleetAppSecurityGroup", "GroupId"]} and r["Properties"]["FromPort"] == 8080
    ]
    assert sources == [{"Fn::GetAtt": ["InternalLoadBalancerSecurityGroup", "GroupId"]}]


@pytest.mark.parametrize(("env", "replicas"), [("development", 0), ("staging", 0), ("production", 1)])
def test_database_credentials_at_the_documented_name_rotated_and_read_replicas_in_production(env: str, replicas: int) -> None:
    data = stack(env, "data")
    assert props(data, "DatabaseMainSecret")["Name"] == f"/{env}/database/credentials"
    rotation = props(stack(env, "app"), "DatabaseMainSecretRotation")
    assert rotation["RotationRules"] == {"AutomaticallyAfterDays": 30}
    found = [p["Properties"] for p in of_type(data, "AWS::RDS::DBInstance").values() if "SourceDBInstanceIdentifier" in p["Properties"]]
    assert len(found) == replicas
    assert all(r["DBInstanceClass"] == "db.m5.large" for r in found)


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_a_custom_event_bus_encrypted_with_an_archive_and_pattern_rules(env: str) -> None:
    bus = props(stack(env, "data"), "BusSystem")
    assert bus["Name"] == f"indivillage-{env}-system"
    assert bus["KmsKeyIdentifier"] == {"Fn::ImportValue": f"indivillage-{env}-keys-EnvironmentKeyArn"}
    assert props(stack(env, "data"), "BusSystemArchive")["RetentionDays"] == 30
    rules = {t: r["Properties"] for t, r in of_type(stack(env, "app"), "AWS::Events::Rule").items() if t.startswith("BusSystemRule")}
    assert sorted(rules) == ["BusSystemRuleNotificationRequested", "BusSystemRuleProcessingFailed"]
    assert all("EventPattern" in rule for rule in rules.values())


@pytest.mark.parametrize("env", ["development", "staging", "production"])
def test_origin_shield_an_edge_function_and_a_scheduled_task_on_the_ecs_fleet(env: str) -> None:
    distribution = props(stack(env, "edge"), "Distribution")["DistributionConfig"]
    shields = {o["Id"]: o["OriginShield"]["OriginShieldRegion"] for o in distribution["Origins"]}
    # us-east-1 for the origins there; production's assets replica (its origin group's second) is shielded in us-west-2.
    assert set(shields.values()) == ({"us-east-1", "us-west-2"} if env == "production" else {"us-east-1"})
    assert all(region == "us-west-2" for origin, region in shields.items() if origin.endswith("-dr")) and (
        any(origin.endswith("-dr") for origin in shields) == (env == "production")
    )
    assets = next(b for b in distribution["CacheBehaviors"] if b["PathPattern"] == "/assets/*")
    assert [a["EventType"] for a in assets["FunctionAssociations"]] == ["viewer-request"]
    schedule = props(stack(env, "app"), "ScheduleNightlyCleanup")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert "CapacityProviderStrategy" in schedule["Target"]["EcsParameters"]
    assert "LaunchType" not in schedule["Target"]["EcsParameters"]


@pytest.mark.parametrize(("env", "connections"), [("development", 360.0), ("staging", 720.0), ("production", 720.0)])
def test_alarms_by_severity_with_anomaly_detection_and_a_composite_site_down(env: str, connections: float) -> None:
    monitoring = stack(env, "monitoring")
    topics = {p["Properties"]["TopicName"] for p in of_type(monitoring, "AWS::SNS::Topic").values()}
    assert topics == {f"indivillage-{env}-alarms-{severity}" for severity in ("critical", "warning", "info")}
    assert len(of_type(monitoring, "AWS::CloudWatch::AnomalyDetector")) == 6  # latency and requests of three targets
    rule = props(monitoring, "AlarmCompositeSiteDown")["AlarmRule"]["Fn::Sub"]
    assert rule.count("ALARM(") == 3 and " OR " in rule
    assert props(monitoring, "AlarmDatabasesMainConnectionsWarning")["Threshold"] == connections
    # Fleets are watched through their CloudWatch agent metrics (memory, disk) and the group's instances in service.
    assert props(monitoring, "AlarmFleetsWebInServiceBelowCritical")["MetricName"] == "GroupInServiceInstances"
    assert props(monitoring, "AlarmFleetsAppMemoryWarning")["Namespace"] == "CWAgent"


def test_the_bastion_has_no_inbound_and_is_the_only_ssh_source_of_the_fleets() -> None:
    security = stack("production", "security")
    rules = [r["Properties"] for r in of_type(security, "AWS::EC2::SecurityGroupIngress").values()]
    ssh = [r for r in rules if r["FromPort"] == 22]
    assert {r["GroupId"]["Fn::GetAtt"][0] for r in ssh} == {"FleetWebSecurityGroup", "FleetAppSecurityGroup"}
    assert all(r.get("SourceSecurityGroupId") == {"Fn::GetAtt": ["BastionSecurityGroup", "GroupId"]} for r in ssh)
    assert not [r for r in rules if r["GroupId"] == {"Fn::GetAtt": ["BastionSecurityGroup", "GroupId"]}]


def test_production_keeps_its_data_in_us_west_2_a_standby_database_and_replicated_critical_buckets() -> None:
    standby = props(stack("production", "standby", "us-west-2"), "StandbyMain")
    assert standby["SourceDBInstanceIdentifier"]["Fn::Sub"].endswith(":rds:us-east-1:${AWS::AccountId}:db:indivillage-production-main")
    assert (standby["DBInstanceClass"], standby["MultiAZ"]) == ("db.m5.large", True)  # promoted, it serves as production
    data = stack("production", "data")
    replicated = {
        title: r["Properties"]["ReplicationConfiguration"]["Rules"][0]["Destination"]
        for title, r in of_type(data, "AWS::S3::Bucket").items()
        if "ReplicationConfiguration" in r["Properties"]
    }
    assert sorted(replicated) == ["BucketAssets", "BucketBackups", "BucketProcessed"]
    assert all(d["ReplicationTime"] == {"Status": "Enabled", "Time": {"Minutes": 15}} for d in replicated.values())
    replicas = of_type(stack("production", "data", "us-west-2"), "AWS::S3::Bucket")
    # The replicas, and the DR site's own (empty) uploads bucket: uploads are expendable (README).
    assert sorted(replicas) == [
        "AccessLogsBucket",
        "BucketReplicaAssets",
        "BucketReplicaBackups",
        "BucketReplicaProcessed",
        "BucketUploads",
    ]


def test_production_deploys_the_account_baseline_in_both_regions_and_shield_advanced_protections() -> None:
    baseline = stack("production", "baseline")
    trail = props(baseline, "Trail")
    assert (trail["IsMultiRegionTrail"], trail["EnableLogFileValidation"]) == (True, True)
    assert len(of_type(baseline, "AWS::GuardDuty::Detector")) == 1
    assert len(of_type(baseline, "AWS::Config::ConformancePack")) == 1
    assert len(of_type(stack("production", "baseline", "us-west-2"), "AWS::GuardDuty::Detector")) == 1
    assert of_type(stack("production", "app"), "AWS::Shield::Protection")
    assert of_type(stack("production", "edge"), "AWS::Shield::Protection")
    assert not (OUT / "development" / "us-east-1" / "baseline.json").exists()  # once per account: production's


@pytest.mark.parametrize(("env", "copied"), [("development", False), ("staging", False), ("production", True)])
def test_ebs_volumes_backed_up_daily_for_14_days_and_production_copies_in_us_west_2(env: str, copied: bool) -> None:
    backups = stack(env, "backups")
    rule = props(backups, "BackupPlanEbs")["BackupPlan"]["BackupPlanRule"][0]
    assert (rule["ScheduleExpression"], rule["Lifecycle"]) == ("cron(0 21 * * ? *)", {"DeleteAfterDays": 14})
    assert bool(rule.get("CopyActions")) is copied
    selections = of_type(backups, "AWS::Backup::BackupSelection")
    names = sorted(s["Properties"]["BackupSelection"]["Conditions"]["StringEquals"][0]["ConditionValue"] for s in selections.values())
    assert names == [f"indivillage-{env}-{fleet}" for fleet in ("app", "containers", "web")]
    database = props(stack(env, "data"), "DatabaseMain")
    assert database.get("AutomaticBackupReplicationRegion") == ("us-west-2" if copied else None)


def test_the_documented_recovery_objectives_are_stated_and_hold() -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "specs" / "indivillage" / "spec.yaml").read_text())
    promised = {env: spec["environments"][env]["recovery"] for env in ("development", "staging", "production")}
    assert promised == {
        "development": {"rpo": "24h", "rto": "4h"},
        "staging": {"rpo": "12h", "rto": "2h"},
        "production": {
            "rpo": "15m",
            "rto": "1h",
            "from": "region",
            "standby": {
                "fleets": {"web": {"min": 1, "desired": 1}, "app": {"min": 1, "desired": 1}, "containers": {"min": 1}},
                "services": {"api": {"count": 1}, "worker": {"count": 1}},
                "rest_apis": ["app"],
                "functions": {
                    "file-processor": {"bucket": "indivillage-artifacts-us-west-2"},
                    "image-optimizer": {"bucket": "indivillage-artifacts-us-west-2"},
                    "notifications": {"bucket": "indivillage-artifacts-us-west-2"},
                },
            },
        },
    }
    # The compiled output exists only for a spec that validated, promises included.
    assert (OUT / "production" / "manifest.json").exists()


def test_production_stands_its_web_and_app_tiers_by_in_us_west_2_patched_and_behind_a_failover_record() -> None:
    dr_app = stack("production", "app", "us-west-2")
    groups = {t: r["Properties"] for t, r in of_type(dr_app, "AWS::AutoScaling::AutoScalingGroup").items()}
    assert {t: (g["MinSize"], g["MaxSize"], g.get("DesiredCapacity")) for t, g in groups.items()} == {
        "FleetWebGroup": ("1", "10", "1"),
        "FleetAppGroup": ("1", "10", "1"),
        "FleetContainersGroup": ("1", "10", None),  # the ECS capacity: its capacity provider decides how many
    }
    # The standby instances are patched in the same windows as us-east-1's (the first and third Sunday, 02:00 UTC).
    windows = of_type(stack("production", "operations", "us-west-2"), "AWS::SSM::MaintenanceWindow")
    primary = of_type(stack("production", "operations"), "AWS::SSM::MaintenanceWindow")
    assert {t: w["Properties"]["Schedule"] for t, w in windows.items()} == {t: w["Properties"]["Schedule"] for t, w in primary.items()}
    record = props(stack("production", "edge", "us-west-2"), "RecordOriginA")
    assert (record["Name"], record["Failover"]) == ("origin.indivillage.com", "SECONDARY")


def test_production_stands_its_ecs_services_by_with_their_images_replicated() -> None:
    dr_app = stack("production", "app", "us-west-2")
    assert {name: dr_app["Resources"][f"Service{name}"]["Properties"]["DesiredCount"] for name in ("Api", "Worker")} == {
        "Api": 1,
        "Worker": 1,
    }
    replication = stack("production", "data", "us-east-1")["Resources"]["RegistryReplication"]["Properties"]
    filters = replication["ReplicationConfiguration"]["Rules"][0]["RepositoryFilters"]
    assert [f["Filter"] for f in filters] == ["api", "worker"]


def test_production_partners_api_fails_over_to_us_west_2_with_the_same_keys_and_firewall() -> None:
    primary, dr = stack("production", "app", "us-east-1"), stack("production", "app", "us-west-2")
    for key in ("Web", "Partners"):
        value = f"{{{{resolve:secretsmanager:indivillage/production/rest-apis/app/keys/{key.lower()}:SecretString}}}}"
        assert primary["Resources"][f"RestApiAppKey{key}"]["Properties"]["Value"] == value
        assert dr["Resources"][f"RestApiAppKey{key}"]["Properties"]["Value"] == value  # the replica, by the same name
        secret = primary["Resources"][f"RestApiAppKey{key}Secret"]
        assert secret["Properties"]["ReplicaRegions"] == [{"Region": "us-west-2", "KmsKeyId": "alias/indivillage-production"}]
        assert secret["DeletionPolicy"] == "Retain"
        assert f"RestApiAppKey{key}Secret" not in dr["Resources"]
    # The partners' web ACL protects the DR stage too; the cdn's stays with the distribution.
    association = dr["Resources"]["FirewallPartnersRestApiAppAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["FirewallPartners", "Arn"]}
    assert "FirewallWeb" not in dr["Resources"]
    # api.indivillage.com is a failover pair of the API's custom domains, checked on the app tier's healthy hosts.
    edges = {region: stack("production", "edge", region)["Resources"] for region in ("us-east-1", "us-west-2")}
    assert edges["us-east-1"]["RecordApiA"]["Properties"]["Failover"] == "PRIMARY"
    assert edges["us-west-2"]["RecordApiA"]["Properties"]["Failover"] == "SECONDARY"
    for edge in edges.values():
        assert edge["RecordApiApiDomain"]["Properties"]["DomainName"] == "api.indivillage.com"
        assert edge["RecordApiApiMapping"]["Properties"]["Stage"] == "production"
    dimensions = edges["us-east-1"]["RecordApiFailoverAlarm"]["Properties"]["Dimensions"]
    assert dimensions[1]["Value"] == {"Fn::ImportValue": "indivillage-production-app-FleetAppTargetGroupFullName"}
    assert "CertificateApi" in stack("production", "dns", "us-west-2")["Resources"]  # ACM is regional


def test_production_functions_stand_by_with_code_from_us_west_2_and_the_rotation_stays_in_us_east_1() -> None:
    dr = stack("production", "app", "us-west-2")
    functions = {title: r["Properties"] for title, r in of_type(dr, "AWS::Lambda::Function").items()}
    assert set(functions) == {"FunctionFileProcessor", "FunctionImageOptimizer", "FunctionNotifications"}
    for function in functions.values():
        assert function["Code"]["S3Bucket"] == "indivillage-artifacts-us-west-2"  # Lambda reads code in its own region
    # The same release key as us-east-1's, so one `ivc deploy --set` ships both regions.
    primary = stack("production", "app")["Resources"]["FunctionFileProcessor"]["Properties"]["Code"]
    assert functions["FunctionFileProcessor"]["Code"]["S3Key"] == primary["S3Key"] == {"Ref": "FunctionFileProcessorCodeKey"}
    # Uploads to us-west-2's own uploads bucket reach the processors there through EventBridge.
    uploads = stack("production", "data", "us-west-2")["Resources"]["BucketUploads"]["Properties"]
    assert uploads["NotificationConfiguration"] == {"EventBridgeConfiguration": {"EventBridgeEnabled": True}}
