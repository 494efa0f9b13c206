"""`ivc runbook`: the recovery steps the spec cannot automate, printed with the names the templates give the resources."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.runbook import runbook
from compiler.stacks import Stack, assemble
from compiler.validate import Environment, load_and_validate
from conftest import FIXTURES, ROOT, ivc

INDIVILLAGE = ROOT / "specs" / "indivillage"
STANDBY = {"fleets": {"web": {"min": 1, "max": 2, "desired": 1}}, "services": {"api": {"count": 1}}}


def environment(path: Path, name: str) -> Environment:
    [found] = load_and_validate(path / "spec.yaml" if path.is_dir() else path, name)
    return found


def with_standby(env: Environment, standby: dict[str, Any]) -> Environment:
    """The environment with another `recovery.standby` (services cannot stand by in the spec yet; the runbook is ready)."""
    spec = {**env.spec, "recovery": {**(env.spec.get("recovery") or {}), "standby": standby}}
    return dataclasses.replace(env, spec=spec)


def stack(stacks: list[Stack], region: str, name: str) -> dict[str, Any]:
    [found] = [s.template for s in stacks if (s.region, s.name) == (region, name)]
    return found


@pytest.fixture(scope="module")
def production() -> Environment:
    return environment(INDIVILLAGE, "production")


@pytest.fixture(scope="module")
def production_stacks(production: Environment) -> list[Stack]:
    return assemble(production)


def test_the_cli_prints_production_s_failover_with_the_standby_stack_s_replica_id(production_stacks: list[Stack]) -> None:
    result = ivc("runbook", INDIVILLAGE, "--env", "production")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Runbook: indivillage production: failover from us-east-1 to us-west-2\n")
    replica = stack(production_stacks, "us-west-2", "standby")["Resources"]["StandbyMain"]["Properties"]["DBInstanceIdentifier"]
    assert replica == "indivillage-production-main-dr"
    assert f"aws rds promote-read-replica --db-instance-identifier {replica} --backup-retention-period 30 --region us-west-2\n" in text
    assert f"aws rds wait db-instance-available --db-instance-identifier {replica} --region us-west-2\n" in text
    # The promise in words, from the spec.
    assert "from the loss of us-east-1: at most **15 minutes** of data lost (`recovery.rpo: 15m`)" in text
    assert result.stderr == ""


def test_the_data_step_names_the_replica_buckets_and_the_vault_the_templates_make(production_stacks: list[Stack]) -> None:
    text = ivc("runbook", INDIVILLAGE, "-e", "production").stdout
    dr_data = stack(production_stacks, "us-west-2", "data")["Resources"]
    replicas = [
        r["Properties"]["BucketName"]["Fn::Sub"]
        for t, r in sorted(dr_data.items())
        if t.startswith("BucketReplica") and r["Type"] == "AWS::S3::Bucket"
    ]
    assert len(replicas) == 3
    for name in replicas:
        assert f"`{name.replace('${AWS::AccountId}', '${ACCOUNT}')}` in us-west-2 holds everything written until 15 minutes" in text
    [vault] = [
        r["Properties"]["BackupVaultName"]
        for r in stack(production_stacks, "us-west-2", "backups")["Resources"].values()
        if r["Type"] == "AWS::Backup::BackupVault"
    ]
    assert f"aws backup list-recovery-points-by-backup-vault --backup-vault-name {vault} --by-resource-type EBS --region us-west-2" in text
    for expendable in ("buckets.uploads", "buckets.logs", "filesystems.shared"):
        assert f"- {expendable}: **lost**, declared expendable" in text
    assert "ACCOUNT=$(aws sts get-caller-identity --query Account --output text)" in text


def test_the_standby_is_scaled_to_the_primary_s_sizes_with_the_names_the_app_stack_gives(
    production: Environment, production_stacks: list[Stack]
) -> None:
    text = runbook(production)
    for fleet in ("Web", "App"):
        group = stack(production_stacks, "us-west-2", "app")["Resources"][f"Fleet{fleet}Group"]["Properties"]["AutoScalingGroupName"]
        assert (
            f"aws autoscaling update-auto-scaling-group --auto-scaling-group-name {group} --min-size 2 --max-size 10 "
            "--desired-capacity 4 --region us-west-2" in text
        )
    assert "# fleets.web (standby: min 1, desired 1)" in text
    assert "# fleets.containers (standby: min 1)" in text  # the services' ECS capacity stands by too
    assert "# services.api (standby: count 1)" in text
    assert "# services.worker (standby: count 1)" in text
    assert "Not in us-west-2 (no standby)" not in text
    # DNS: the record to a fleet standing by fails over on the alarm's health check; the cdn follows that name.
    assert (
        "- `origin.indivillage.com` (fleets.web): a Route 53 failover record answers with the load balancer in us-west-2 once "
        "its health check fails: no healthy fleets.web host behind the load balancer of us-east-1 for 3 minutes" in text
    )
    assert (
        "(cdn): CloudFront is global and keeps serving this name. It reaches fleets.web, services.api by the load balancer's "
        "name, which fails over to us-west-2 with it (below). It reads buckets.assets from the replica in us-west-2 when the "
        "bucket fails (an origin group)." in text
    )
    assert "the secret `/production/database/credentials` is replicated to us-west-2 under the same name" in text
    assert (
        "- `api.indivillage.com` (rest_apis.app): a Route 53 failover record answers with the API's custom domain in us-west-2 "
        "once its health check fails: no healthy fleets.app host behind the load balancer of us-east-1 for 3 minutes." in text
    )


def test_a_standby_service_is_scaled_with_the_names_the_app_stack_gives(production: Environment, production_stacks: list[Stack]) -> None:
    text = runbook(with_standby(production, STANDBY))
    app = stack(production_stacks, "us-east-1", "app")
    assert "# fleets.web (standby: min 1, max 2, desired 1)" in text
    export = app["Outputs"]["ServiceApiName"]["Export"]["Name"]
    cluster = app["Resources"]["Cluster"]["Properties"]["ClusterName"]
    assert f"SERVICE_API=$(aws cloudformation list-exports --region us-west-2 --query \"Exports[?Name=='{export}'].Value\"" in text
    assert f'aws ecs update-service --cluster {cluster} --service "$SERVICE_API" --desired-count 2 --region us-west-2' in text
    assert f'--resource-id "service/{cluster}/$SERVICE_API" --min-capacity 2 --max-capacity 10 --region us-west-2' in text
    assert "Not in us-west-2 (no standby): fleets.app, fleets.containers, services.worker." in text


def test_without_a_standby_the_runbook_says_nothing_serves_in_the_dr_region(production: Environment) -> None:
    text = runbook(with_standby(production, {}))
    assert "Nothing runs in us-west-2 (`recovery.standby` names no fleet or service)" in text
    assert "- `origin.indivillage.com` (fleets.web): stays on us-east-1" in text


def test_the_runbook_is_the_same_text_every_time(production: Environment) -> None:
    assert runbook(with_standby(production, STANDBY)) == runbook(with_standby(production, STANDBY))


def test_an_environment_without_a_dr_region_gets_the_zone_runbook() -> None:
    result = ivc("runbook", INDIVILLAGE, "--env", "staging")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("# Runbook: indivillage staging: loss of a zone or an instance in us-east-1\n")
    assert "promote-read-replica" not in text and "us-west-2" not in text
    assert "indivillage-staging-main`) is Multi-AZ: RDS fails over" in text
    assert "describe-events --source-type db-instance --source-identifier indivillage-staging-main" in text
    assert "--auto-scaling-group-names indivillage-staging-app indivillage-staging-containers indivillage-staging-web" in text
    assert "at most **12 hours** of data lost (`recovery.rpo: 12h`) and back in service within **2 hours**" in text


def test_a_single_az_database_is_restored_to_a_point_in_time_under_its_own_name() -> None:
    text = ivc("runbook", INDIVILLAGE, "--env", "development").stdout
    assert "`indivillage-development-main`) is single-AZ" in text
    assert (
        "aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier indivillage-development-main "
        "--target-db-instance-identifier indivillage-development-main-restored --use-latest-restorable-time" in text
    )
    # The replacement shares the old one's subnets, security groups and (TLS-only) parameters, read from it.
    assert '--vpc-security-group-ids $SECURITY_GROUPS --db-parameter-group-name "$PARAMETERS" --region us-east-1' in text
    assert "SECURITY_GROUPS=$(aws rds describe-db-instances --db-instance-identifier indivillage-development-main" in text
    assert (
        "aws rds modify-db-instance --db-instance-identifier indivillage-development-main-restored "
        "--new-db-instance-identifier indivillage-development-main --apply-immediately --region us-east-1" in text
    )


def test_what_has_no_copy_in_the_dr_region_is_said() -> None:
    text = runbook(environment(FIXTURES / "recovery" / "replicas.yaml", "prod"))
    assert "- buckets.scratch: **no copy in us-west-2**: unavailable until us-east-1 is back." in text
    assert "- buckets.ledger: its replica `vault-prod-ledger-${ACCOUNT}-us-west-2` in us-west-2 holds what replication had copied" in text
    assert "The spec has no `dns.records`" in text


def test_a_bad_spec_is_reported_at_its_lines_as_validate_does() -> None:
    bad = FIXTURES / "bad" / "fleets.yaml"
    result = ivc("runbook", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith(f"{bad.relative_to(ROOT)}:") for line in lines if ": error: " in line)
    assert set(lines) <= set(ivc("validate", bad).stderr.splitlines())


def test_an_unknown_environment_is_a_clear_error() -> None:
    result = ivc("runbook", INDIVILLAGE, "--env", "prod")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no environment 'prod' in this spec; it has development, staging, production" in result.stderr


def test_a_spec_with_several_environments_needs_env() -> None:
    result = ivc("runbook", INDIVILLAGE)
    assert result.exit_code == 2
    assert "choose one with --env" in result.stderr


@pytest.mark.parametrize("name", ["production", "staging", "development"])
def test_every_command_block_is_valid_shell(production: Environment, name: str) -> None:
    env = with_standby(production, STANDBY) if name == "production" else environment(INDIVILLAGE, name)
    blocks = re.findall(r"```sh\n(.*?)```", runbook(env), re.S)
    assert blocks
    for block in blocks:
        checked = subprocess.run(["bash", "-n"], input=textwrap.dedent(block), capture_output=True, text=True, check=False)
        assert checked.returncode == 0, (block, checked.stderr)
