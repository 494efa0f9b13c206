"""IndiVillage.com (seeds 000 and 001): the compiled templates carry the documents' facts, read from the JSON as a
reviewer would. specs/indivillage/README.md maps each fact to its source line."""

from __future__ import annotations

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
