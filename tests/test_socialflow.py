"""Social Flow (seed 003): the compiled templates carry the document's numbers, read from the JSON as a reviewer would."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import ROOT, of_type, props, read_json

OUT = ROOT / "output" / "socialflow"
ENVS = ("dev", "staging", "prod")


def stack(env: str, name: str) -> dict[str, Any]:
    return read_json(OUT / env / "us-east-1" / f"{name}.json")


@pytest.mark.parametrize(("env", "nats"), [("dev", 1), ("staging", 3), ("prod", 3)])
def test_network_three_zones_and_nat_per_environment(env: str, nats: int) -> None:
    network = stack(env, "network")
    assert props(network, "Vpc")["CidrBlock"] == "10.0.0.0/16"
    assert len(of_type(network, "AWS::EC2::Subnet")) == 6  # 3 public + 3 private
    assert len(of_type(network, "AWS::EC2::NatGateway")) == nats
    assert props(network, "FlowLog")["TrafficType"] == "ALL"


@pytest.mark.parametrize(
    ("env", "instance", "multi_az", "backups", "storage", "protected"),
    [
        ("dev", "db.t3.small", False, 3, "20", False),
        ("staging", "db.t3.medium", True, 7, "50", False),
        ("prod", "db.r6g.xlarge", True, 30, "100", True),
    ],
)
def test_database(env: str, instance: str, multi_az: bool, backups: int, storage: str, protected: bool) -> None:
    data = stack(env, "data")
    db = data["Resources"]["DatabaseMain"]
    p = db["Properties"]
    assert (p["Engine"], p["EngineVersion"].split(".")[0]) == ("postgres", "15")
    assert (p["DBInstanceClass"], p["MultiAZ"], p["BackupRetentionPeriod"]) == (instance, multi_az, backups)
    assert (p["StorageType"], p["AllocatedStorage"], p["StorageEncrypted"]) == ("gp3", storage, True)
    assert p["MaxAllocatedStorage"] > int(storage)
    assert p["DeletionProtection"] is protected
    assert (db["DeletionPolicy"], db["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert (p["EnablePerformanceInsights"], p["MonitoringInterval"]) == (True, 60)
    assert p["EnableCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert p["ManageMasterUserPassword"] is True and "MasterUserPassword" not in p
    assert p["PubliclyAccessible"] is False
    assert p["EnableIAMDatabaseAuthentication"] is True  # ivc's default: IAM principals may sign in as rds_iam users
    parameters = props(data, "DatabaseMainParameterGroup")["Parameters"]
    assert parameters["shared_preload_libraries"] == "pg_stat_statements"
    assert parameters["log_min_duration_statement"] == "1000"  # slow queries over 1 s
    # "Optimized memory and connection settings": formulas of the instance's memory, so one line fits every class.
    assert parameters["effective_cache_size"] == "{DBInstanceClassMemory*3/32768}"  # 75% of memory in 8 kB pages
    assert parameters["work_mem"] == "16384"  # 16 MB
    assert parameters["maintenance_work_mem"] == "GREATEST({DBInstanceClassMemory/16384},65536)"
    assert parameters["idle_in_transaction_session_timeout"] == "300000"  # 5 minutes
    assert parameters["tcp_keepalives_idle"] == "300"
    assert "max_connections" not in parameters  # RDS's formula stays: the connection alarms are 80% of it


@pytest.mark.parametrize(
    ("env", "node", "nodes", "failover"),
    [("dev", "cache.t3.micro", 1, False), ("staging", "cache.t3.small", 2, True), ("prod", "cache.r6g.large", 3, True)],
)
def test_redis(env: str, node: str, nodes: int, failover: bool) -> None:
    data = stack(env, "data")
    p = props(data, "CacheMain")
    assert (p["Engine"], p["EngineVersion"], p["CacheNodeType"], p["NumCacheClusters"]) == ("redis", "7.0", node, nodes)
    assert (p["AutomaticFailoverEnabled"], p["MultiAZEnabled"]) == (failover, failover)
    assert p["AtRestEncryptionEnabled"] is True and p["TransitEncryptionEnabled"] is True
    assert p["AuthToken"] == {"Fn::Sub": "{{resolve:secretsmanager:${CacheMainAuthToken}}}"}
    assert props(data, "CacheMainParameterGroup")["Properties"] == {
        "maxmemory-policy": "allkeys-lru",
        "tcp-keepalive": "300",
        "timeout": "300",
    }
    assert sorted(c["LogType"] for c in p["LogDeliveryConfigurations"]) == ["engine-log", "slow-log"]


@pytest.mark.parametrize(
    ("env", "app", "worker", "app_count", "worker_count"),
    [
        ("dev", ("512", "1024"), ("256", "512"), 1, 1),
        ("staging", ("1024", "2048"), ("512", "1024"), 2, 2),
        ("prod", ("2048", "4096"), ("1024", "2048"), 3, 4),
    ],
)
def test_ecs_sizes_and_counts(env: str, app: tuple[str, str], worker: tuple[str, str], app_count: int, worker_count: int) -> None:
    template = stack(env, "app")
    for name, size, count in (("App", app, app_count), ("Worker", worker, worker_count)):
        definition = props(template, f"Service{name}TaskDefinition")
        assert (definition["Cpu"], definition["Memory"]) == size
        assert props(template, f"Service{name}")["DesiredCount"] == count
    beat = props(template, "ServiceBeatTaskDefinition")
    assert 256 <= int(beat["Cpu"]) <= 512 and 512 <= int(beat["Memory"]) <= 1024
    assert props(template, "ServiceBeat")["DesiredCount"] == 1
    assert props(template, "Cluster")["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    circuit = props(template, "ServiceApp")["DeploymentConfiguration"]["DeploymentCircuitBreaker"]
    assert circuit == {"Enable": True, "Rollback": True}


def test_load_balancer_health_stickiness_and_draining() -> None:
    group = props(stack("prod", "app"), "ServiceAppTargetGroup")
    assert (group["HealthCheckPath"], group["HealthCheckIntervalSeconds"], group["Port"]) == ("/health", 30, 8000)
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["stickiness.enabled"] == "true"
    assert attributes["deregistration_delay.timeout_seconds"] == "300"


def test_prod_app_autoscaling() -> None:
    template = stack("prod", "app")
    target = props(template, "ServiceAppScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 10)
    cpu = props(template, "ServiceAppScaleOnCpu")["TargetTrackingScalingPolicyConfiguration"]
    memory = props(template, "ServiceAppScaleOnMemory")["TargetTrackingScalingPolicyConfiguration"]
    assert (cpu["TargetValue"], memory["TargetValue"]) == (70.0, 75.0)
    assert (cpu["ScaleOutCooldown"], cpu["ScaleInCooldown"]) == (60, 300)
    assert "ServiceAppScaleOnRequests" in template["Resources"]
    assert not [k for k in stack("staging", "app")["Resources"] if "Scal" in k]


def test_security_group_chain_comes_from_relationships() -> None:
    rules = {
        (
            r["Properties"]["GroupId"]["Fn::GetAtt"][0],
            r["Properties"]["FromPort"],
            r["Properties"].get("CidrIp")
            or r["Properties"].get("SourcePrefixListId", {}).get("Ref")
            or r["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0],
        )
        for r in of_type(stack("prod", "security"), "AWS::EC2::SecurityGroupIngress").values()
    }
    assert rules == {
        # The load balancer is the cdn's origin: CloudFront's origin-facing prefix list, on HTTPS only.
        ("LoadBalancerSecurityGroup", 443, "CloudFrontOriginPrefixList"),
        ("ServiceAppSecurityGroup", 8000, "LoadBalancerSecurityGroup"),
        *{("DatabaseMainSecurityGroup", 5432, f"Service{s}SecurityGroup") for s in ("App", "Worker", "Beat")},
        *{("CacheMainSecurityGroup", 6379, f"Service{s}SecurityGroup") for s in ("App", "Worker", "Beat")},
    }
    assert all(r["Properties"]["Description"] for r in of_type(stack("prod", "security"), "AWS::EC2::SecurityGroupIngress").values())


def test_iam_is_scoped_to_what_each_service_uses() -> None:
    template = stack("prod", "app")
    beat = props(template, "ServiceBeatExecutionRole")["Policies"][0]["PolicyDocument"]["Statement"]
    secrets = next(s for s in beat if s["Sid"] == "ReadInjectedSecrets")["Resource"]
    assert [r.get("Fn::ImportValue") for r in secrets] == [
        "socialflow-prod-data-DatabaseMainSecretArn",
        "socialflow-prod-data-CacheMainAuthTokenArn",
        "socialflow-prod-data-SecretSecretKeyArn",
    ]
    assert "ServiceBeatTaskRole" not in template["Resources"]  # beat uses no bucket: no task permissions at all
    worker = props(template, "ServiceWorkerTaskRole")["Policies"][0]["PolicyDocument"]["Statement"]
    buckets = {r["Fn::Join"][1][0]["Fn::ImportValue"] for s in worker for r in s["Resource"] if "Fn::Join" in r}
    assert buckets == {"socialflow-prod-data-BucketVideosArn", "socialflow-prod-data-BucketUploadsArn"}


@pytest.mark.parametrize(("env", "versioned"), [("dev", False), ("staging", True), ("prod", True)])
def test_buckets(env: str, versioned: bool) -> None:
    data = stack(env, "data")
    videos = data["Resources"]["BucketVideos"]
    assert ("VersioningConfiguration" in videos["Properties"]) is versioned
    uploads = props(data, "BucketUploads")  # "all buckets: versioning for data protection", but temporary: 7 days for every version
    assert ("VersioningConfiguration" in uploads) is versioned
    assert {"Id": "noncurrent-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 7}} in uploads[
        "LifecycleConfiguration"
    ]["Rules"]
    rules = {r["Id"]: r for r in videos["Properties"]["LifecycleConfiguration"]["Rules"]}
    assert rules["current-objects"]["Transitions"] == [{"StorageClass": "GLACIER", "TransitionInDays": 90}]
    assert rules["current-objects"]["ExpirationInDays"] == 730
    assert props(data, "BucketUploads")["LifecycleConfiguration"]["Rules"][1]["ExpirationInDays"] == 7
    assert "VersioningConfiguration" in props(data, "BucketStatic")
    for name, bucket in of_type(data, "AWS::S3::Bucket").items():
        p = bucket["Properties"]
        assert p["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        assert p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert bucket["DeletionPolicy"] == "Retain", name


@pytest.mark.parametrize(("env", "price_class"), [("dev", "PriceClass_100"), ("staging", "PriceClass_200"), ("prod", "PriceClass_All")])
def test_cloudfront(env: str, price_class: str) -> None:
    edge = stack(env, "edge")
    config = props(edge, "Distribution")["DistributionConfig"]
    assert config["PriceClass"] == price_class
    ttls = {b["PathPattern"]: props(edge, b["CachePolicyId"]["Ref"])["CachePolicyConfig"]["DefaultTTL"] for b in config["CacheBehaviors"]}
    assert ttls == {"/static/*": 86400, "/videos/*": 3600}  # 24 hours, 1 hour
    api = props(edge, config["DefaultCacheBehavior"]["CachePolicyId"]["Ref"])["CachePolicyConfig"]
    assert api["DefaultTTL"] == 0
    assert api["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert all(b["ViewerProtocolPolicy"] == "redirect-to-https" and b["Compress"] for b in config["CacheBehaviors"])
    reads = props(edge, "BucketStaticPolicy")["PolicyDocument"]["Statement"]
    assert {s["Sid"] for s in reads} == {"DenyInsecureTransport", "CloudFrontReadsThroughOriginAccessControl"}
    acls = of_type(edge, "AWS::WAFv2::WebACL")
    assert bool(acls) is (env != "dev")  # a web ACL in front of staging and prod (dev: cost)
    if acls:
        assert config["WebACLId"] == {"Fn::GetAtt": [next(iter(acls)), "Arn"]}


def test_alarm_thresholds() -> None:
    alarms = {k: v["Properties"] for k, v in of_type(stack("prod", "monitoring"), "AWS::CloudWatch::Alarm").items()}
    expected = {
        "AlarmServicesAppCpuWarning": 75,
        "AlarmServicesAppMemoryWarning": 80,
        "AlarmDatabasesMainCpuCritical": 90,
        "AlarmCachesMainMemoryWarning": 80,
        "AlarmCachesMainMemoryCritical": 95,
        "AlarmLoadBalancerAppErrors5xxWarning": 100,
        "AlarmLoadBalancerAppErrors5xxCritical": 500,
        "AlarmLoadBalancerAppLatencyWarning": 2,
    }
    assert {k: alarms[k]["Threshold"] for k in expected} == {k: float(v) for k, v in expected.items()}
    critical = alarms["AlarmDatabasesMainCpuCritical"]["AlarmActions"]
    assert critical == [{"Ref": "AlarmTopicCritical"}]


def test_environment_key_rotates_and_everything_is_retained() -> None:
    data = stack("prod", "data")
    key = stack("prod", "keys")["Resources"]["EnvironmentKey"]
    assert key["Properties"]["EnableKeyRotation"] is True and key["DeletionPolicy"] == "Retain"
    for name, resource in data["Resources"].items():
        if resource["Type"] in (
            "AWS::RDS::DBInstance",
            "AWS::ElastiCache::ReplicationGroup",
            "AWS::S3::Bucket",
            "AWS::KMS::Key",
            "AWS::SecretsManager::Secret",
        ):
            assert resource.get("DeletionPolicy") in ("Retain", "Snapshot"), name
            assert resource.get("UpdateReplacePolicy") in ("Retain", "Snapshot"), name


def _topic_policy(template: dict[str, Any], severity: str) -> dict[str, Any]:
    statements = props(template, f"AlarmTopic{severity}Policy")["PolicyDocument"]["Statement"]
    return {s["Sid"]: s for s in statements}


@pytest.mark.parametrize("env", ENVS)
def test_operational_events_reach_the_info_and_warning_topics(env: str) -> None:
    """Informational (e-mail): deployment completed, auto-scaling events, backup completed; ECS task failures: warning."""
    monitoring = stack(env, "monitoring")
    rules = {k: v["Properties"] for k, v in of_type(monitoring, "AWS::Events::Rule").items()}
    targets = {k: [t["Arn"]["Ref"] for t in p["Targets"]] for k, p in rules.items()}
    assert targets == {
        "EventRuleDeployments": ["AlarmTopicInfo"],
        "EventRuleScaling": ["AlarmTopicInfo"],
        "EventRuleBackups": ["AlarmTopicInfo"],
        "EventRuleDeploymentFailures": ["AlarmTopicWarning"],
        "EventRuleTaskFailures": ["AlarmTopicWarning"],
    }
    assert all("EventBusName" not in p for p in rules.values())  # the default bus, where AWS services report
    cluster = {"Fn::ImportValue": f"socialflow-{env}-app-ClusterName"}
    deployed = rules["EventRuleDeployments"]["EventPattern"]
    assert (deployed["source"], deployed["detail-type"]) == (["aws.ecs"], ["ECS Deployment State Change"])
    assert deployed["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]}
    assert deployed["resources"][0]["prefix"]["Fn::Sub"][1] == {"Cluster": cluster}  # this environment's services only
    assert rules["EventRuleDeploymentFailures"]["EventPattern"]["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}
    failures = rules["EventRuleTaskFailures"]["EventPattern"]
    assert failures["detail-type"] == ["ECS Task State Change"]
    assert failures["detail"]["lastStatus"] == ["STOPPED"] and failures["detail"]["group"] == [{"prefix": "service:"}]
    assert failures["detail"]["$or"][0] == {"stopCode": ["EssentialContainerExited", "TaskFailedToStart"]}
    assert failures["detail"]["clusterArn"][0]["Fn::Sub"][1] == {"Cluster": cluster}
    scaling = rules["EventRuleScaling"]["EventPattern"]["$or"]
    assert scaling[0]["detail"] == {"eventName": ["SERVICE_DESIRED_COUNT_UPDATED"]}
    assert scaling[1]["source"] == ["aws.application-autoscaling"] and scaling[1]["detail"]["serviceNamespace"] == ["ecs"]
    backups = rules["EventRuleBackups"]["EventPattern"]
    assert (backups["source"], backups["detail"]) == (["aws.rds"], {"EventID": ["RDS-EVENT-0002"]})
    assert backups["resources"][0]["Fn::Sub"][1] == {"Database": {"Fn::ImportValue": f"socialflow-{env}-data-DatabaseMainId"}}
    # Each topic admits exactly the rules that deliver to it, besides CloudWatch's alarms, and never plain HTTP.
    info = _topic_policy(monitoring, "Info")
    assert info["EventRulesPublish"]["Principal"] == {"Service": "events.amazonaws.com"}
    assert info["EventRulesPublish"]["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Fn::GetAtt": [rule, "Arn"]} for rule in ("EventRuleBackups", "EventRuleDeployments", "EventRuleScaling")
    ]
    assert info["AlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert info["DenyInsecureTransport"]["Effect"] == "Deny"
    warning = _topic_policy(monitoring, "Warning")["EventRulesPublish"]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert warning == [{"Fn::GetAtt": [rule, "Arn"]} for rule in ("EventRuleDeploymentFailures", "EventRuleTaskFailures")]
    assert "AlarmTopicCriticalPolicy" not in monitoring["Resources"]
    # The topics are encrypted with the environment key: EventBridge may use it for this account.
    key = {s["Sid"]: s for s in props(stack(env, "keys"), "EnvironmentKey")["KeyPolicy"]["Statement"]}
    events_key = key["EventBridgeUsesKeyForThisAccount"]
    assert events_key["Principal"] == {"Service": "events.amazonaws.com"}
    assert {"kms:GenerateDataKey", "kms:Decrypt"} <= set(events_key["Action"])


def _widgets(template: dict[str, Any], logical_id: str) -> dict[str, list[list[Any]]]:
    body = props(template, logical_id)["DashboardBody"]
    text = body["Fn::Sub"][0] if isinstance(body, dict) else body
    return {w["properties"]["title"]: w["properties"]["metrics"] for w in json.loads(text)["widgets"]}


def test_dashboards_show_what_the_document_lists() -> None:
    """ECS task count; RDS IOPS and latency; Redis connections and hit rate; ALB target health and latency; cost."""
    monitoring = stack("prod", "monitoring")
    widgets = _widgets(monitoring, "Dashboard")
    names = {title: {m[1] for m in metrics if isinstance(m[0], str)} for title, metrics in widgets.items()}
    for service in ("app", "worker", "beat"):
        assert names[f"service {service}: running and desired tasks"] == {"RunningTaskCount", "DesiredTaskCount"}
    assert names["database main: read and write IOPS"] == {"ReadIOPS", "WriteIOPS"}
    assert names["database main: read and write latency (s)"] == {"ReadLatency", "WriteLatency"}
    assert names["cache main: connections and hit rate %"] == {"CurrConnections", "CacheHitRate"}
    target = "service app behind the load balancer: healthy and unhealthy targets, response time (s)"
    assert names[target] == {"HealthyHostCount", "UnHealthyHostCount", "TargetResponseTime"}
    cost = props(monitoring, "DashboardCost")
    assert cost["DashboardName"] == "socialflow-prod-cost"
    body = json.loads(cost["DashboardBody"])
    assert {w["properties"]["region"] for w in body["widgets"]} == {"us-east-1"}  # billing metrics live there only
    metrics = [m for w in body["widgets"] for m in w["properties"]["metrics"]]
    assert ["AWS/Billing", "EstimatedCharges", "Currency", "USD"] in metrics
    assert any("ServiceName" in str(m) and "SEARCH" in str(m) for m in metrics)  # per AWS service


def test_prod_celery_workers_scale_on_queue_depth() -> None:
    """Celery workers scale on queue depth: the broker is the Redis cache, so the worker publishes the depth."""
    template = stack("prod", "app")
    target = props(template, "ServiceWorkerScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (4, 12)  # production: 4 workers
    policy = props(template, "ServiceWorkerScaleOnBacklog")["TargetTrackingScalingPolicyConfiguration"]
    assert policy["TargetValue"] == 20.0
    queries = {q["Id"]: q for q in policy["CustomizedMetricSpecification"]["Metrics"]}
    depth = queries["waiting"]["MetricStat"]["Metric"]
    assert (depth["Namespace"], depth["MetricName"]) == ("SocialFlow/Celery", "QueueLength")
    assert depth["Dimensions"] == [{"Name": "Environment", "Value": "prod"}]
    assert queries["backlog"]["Expression"] == "waiting / tasks"
    container = props(template, "ServiceWorkerTaskDefinition")["ContainerDefinitions"][0]
    variables = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert (variables["QUEUE_METRIC_NAMESPACE"], variables["QUEUE_METRIC_NAME"]) == ("SocialFlow/Celery", "QueueLength")
    assert variables["QUEUE_METRIC_DIMENSIONS"] == "Environment=prod"
    statements = {s["Sid"]: s for s in props(template, "ServiceWorkerTaskRole")["Policies"][0]["PolicyDocument"]["Statement"]}
    publish = statements["PublishQueueDepth"]
    assert publish["Action"] == ["cloudwatch:PutMetricData"]
    assert publish["Condition"] == {"StringEquals": {"cloudwatch:namespace": "SocialFlow/Celery"}}
    for env in ("dev", "staging"):  # fixed counts: 1 and 2 workers
        assert "ServiceWorkerScalableTarget" not in stack(env, "app")["Resources"]


def test_prod_keeps_copies_of_its_data_in_another_region_and_a_budget_of_2500() -> None:
    database = props(stack("prod", "data"), "DatabaseMain")
    assert (database["AutomaticBackupReplicationRegion"], database["BackupRetentionPeriod"]) == ("us-west-2", 30)
    data = stack("prod", "data")
    replicated = sorted(t for t, r in of_type(data, "AWS::S3::Bucket").items() if "ReplicationConfiguration" in r["Properties"])
    assert replicated == ["BucketStatic", "BucketVideos"]
    dr = read_json(OUT / "prod" / "us-west-2" / "data.json")["Resources"]
    assert sorted(t for t in dr if t.startswith("BucketReplica") and not t.endswith("Policy")) == [
        "BucketReplicaStatic",
        "BucketReplicaVideos",
    ]
    dr_network = read_json(OUT / "prod" / "us-west-2" / "network.json")["Resources"]
    assert not [t for t, r in dr_network.items() if r["Type"] == "AWS::EC2::NatGateway"]  # nothing idles there
    budget = next(iter(of_type(stack("prod", "baseline"), "AWS::Budgets::Budget").values()))["Properties"]["Budget"]
    assert budget["BudgetLimit"] == {"Amount": 2500, "Unit": "USD"}
