"""The runbook `ivc runbook` prints: the recovery steps a spec cannot automate, for one environment, as Markdown.

For an environment with `regions.secondary` it is the failover to the DR region: declare the incident against the
spec's promise (`recovery`), what DNS does by itself, promoting each `dr_replica`, scaling the DR site from its
standby sizes (`recovery.standby`) to the primary's, where the data is (replica buckets, backup copies, what is
expendable), and failing back. Without a DR region it is the loss of a zone or an instance: what fails over by itself
and how to restore the rest.

Every name comes from the function the builder uses for it (``standby_identifier``, ``replica_name``, ``vault_name``,
``group_name``...), so the runbook and the templates cannot disagree. Pure: an environment in, text out, no I/O.
Values only AWS knows at run time (the account, a recovery point's ARN) are shell variables or placeholders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from troposphere import Sub

from .context import Context
from .sections import backups, bucket_replicas, buckets, cdn, cdn_origin, databases, dns, failover, fleets, keys, services, site, standby
from .sections.recovery import PROMOTE_MINUTES, RESTORE_MINUTES, minutes
from .stacks import region_context

if TYPE_CHECKING:
    from .validate import Environment

ACCOUNT = "ACCOUNT=$(aws sts get-caller-identity --query Account --output text)"
RESOURCE_TYPES = {"databases": "RDS", "filesystems": "EFS", "fleets": "EBS"}  # AWS Backup's names of what a plan selects


def runbook(environment: Environment) -> str:
    """The environment's runbook as Markdown, the same text for the same spec."""
    spec = environment.spec
    primary = _context(environment, "primary")
    if spec["regions"].get("secondary"):
        dr = _context(environment, "secondary")
        parts = _region_runbook(spec, primary, dr)
    else:
        parts = _zone_runbook(spec, primary, heading="##", numbered=True)
    return "\n".join(parts).rstrip("\n") + "\n"


def _context(environment: Environment, role: str) -> Context:
    """The context the builders see in the region of ``role``."""
    return region_context(environment, environment.spec["regions"][role], role)


def _sh(*lines: str) -> list[str]:
    return ["```sh", *lines, "```", ""]


def _shell(value: Any, region: str = "") -> str:
    """A computed name as the shell sees it: ``${AWS::AccountId}`` is the ACCOUNT variable set at the top."""
    text = value.to_dict()["Fn::Sub"] if isinstance(value, Sub) else str(value)
    text = text.replace("${AWS::AccountId}", "${ACCOUNT}").replace("${AWS::Partition}", "aws")
    return text.replace("${AWS::Region}", region) if region else text


def _words(duration: str) -> str:
    value = minutes(duration)
    for unit, size in (("day", 1440), ("hour", 60)):
        if value % size == 0:
            count = value // size
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{value} minutes"


def _standby(spec: dict[str, Any]) -> dict[str, Any]:
    """What runs in the DR region, and at what size: `recovery.standby`."""
    return dict((spec.get("recovery") or {}).get("standby") or {})


def _promise(spec: dict[str, Any], lost: str) -> list[str]:
    recovery = spec.get("recovery") or {}
    said = []
    if "rpo" in recovery:
        said.append(f"at most **{_words(recovery['rpo'])}** of data lost (`recovery.rpo: {recovery['rpo']}`)")
    if "rto" in recovery:
        said.append(f"back in service within **{_words(recovery['rto'])}** (`recovery.rto: {recovery['rto']}`)")
    if not said:
        return [f"The spec promises nothing about {lost} (no `recovery.rpo` or `recovery.rto`).", ""]
    return [f"The spec promises, from {lost}: {' and '.join(said)}.", ""]


# --- the loss of the primary region ---


def _region_runbook(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    here, there = primary.region, dr.region
    recovery = spec.get("recovery") or {}
    lines = [
        f"# Runbook: {primary.system} {primary.environment}: failover from {here} to {there}",
        "",
        f"Printed by `ivc runbook` from the spec: the steps CloudFormation cannot take when {here} (the primary region) is "
        f"lost. Every name below is the one ivc gives the resource; regenerate this text after changing the spec.",
        "",
        "Run the commands in a shell with credentials for the environment's account, after setting:",
        "",
        *_sh(ACCOUNT),
        "## 1. Declare the incident and decide to fail over",
        "",
        *_promise(spec, f"the loss of {here}" if recovery.get("from", "region") == "region" else "the loss of a zone or an instance"),
        f"Fail over when {here} cannot be back in time to keep that promise. Failing over is one-way until step 6: "
        f"once a database is promoted in {there}, writes go there and {here} falls behind.",
        "",
        "## 2. Traffic: what fails over by itself",
        "",
        *_traffic(spec, primary, dr),
        "## 3. Promote the standby databases",
        "",
        *_promote(spec, primary, dr),
        f"## 4. Scale {there} up to production sizes",
        "",
        *_scale_up(spec, primary, dr),
        "## 5. Data",
        "",
        *_data(spec, primary, dr),
        "## 6. Fail back",
        "",
        *_fail_back(spec, primary, dr),
        f"## Loss of a zone or an instance in {here} (no failover)",
        "",
        *_zone_runbook(spec, primary, heading="###", numbered=False)[2:],
    ]
    return lines


def _runs_there(spec: dict[str, Any], target: str) -> bool:
    """Whether `fleets.<n>`, `services.<n>` or `rest_apis.<n>` also runs in the DR region."""
    return target in site.standing(spec)


def _traffic(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    here, there = primary.region, dr.region
    records = (spec.get("dns") or {}).get("records", {})
    if not records:
        return [f"The spec has no `dns.records`: point clients at the load balancer in {there} yourself.", ""]
    detect = failover.PERIOD * failover.PERIODS // 60
    lines = []
    for relative, target in records.items():
        name = f"`{dns.fqdn(spec, relative)}` ({target})"
        if target == "cdn":
            moving = [o for o in cdn_origin.origins(spec) if _runs_there(spec, o)]
            staying = [o for o in cdn_origin.origins(spec) if not _runs_there(spec, o)]
            said = f"- {name}: CloudFront is global and keeps serving this name."
            if moving:
                said += f" It reaches {', '.join(moving)} by the load balancer's name, which fails over to {there} with it (below)."
            grouped = [f"buckets.{name}" for name in cdn.failover_buckets(spec)]
            if grouped:
                said += f" It reads {', '.join(grouped)} from the replica in {there} when the bucket fails (an origin group)."
            if staying:
                verb = "has" if len(staying) == 1 else "have"
                said += f" {', '.join(staying)} {verb} no standby in {there}: those requests fail until {here} is back."
            lines.append(said)
        elif _runs_there(spec, target) and target.startswith("rest_apis."):
            watched = site.api_watched(spec["rest_apis"][target.split(".", 1)[1]])
            lines.append(
                f"- {name}: a Route 53 failover record answers with the API's custom domain in {there} once its health "
                f"check fails: no healthy {watched} host behind the load balancer of {here} for {detect} minutes. Callers' "
                "keys work there: their values are the same in both regions."
            )
        elif _runs_there(spec, target):
            lines.append(
                f"- {name}: a Route 53 failover record answers with the load balancer in {there} once its health check "
                f"fails: no healthy {target} host behind the load balancer of {here} for {detect} minutes (a CloudWatch "
                "alarm), plus up to a minute for resolvers' caches."
            )
        else:
            lines.append(f"- {name}: stays on {here}: nothing serves it in {there} (not in `recovery.standby`).")
    for kind in ("apis", "rest_apis"):
        for api in sorted(spec.get(kind, {})):
            if _runs_there(spec, f"{kind}.{api}"):
                continue
            lines.append(
                f"- {kind}.{api}: API Gateway's own URL in {here}: it does not fail over, and its callers wait until {here} "
                "is back (APIs do not stand by yet)."
            )
    checks = [dns.fqdn(spec, relative) for relative in records]
    lines += ["", "Check what the names answer now:", "", *_sh(*(f"dig +short {name}" for name in checks))]
    return lines


def _promote(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    there = dr.region
    lines: list[str] = []
    for name in standby.standing_by(spec):
        db = spec["databases"][name]
        replica = standby.standby_identifier(dr, name)
        lines += [
            f"### databases.{name}",
            "",
            f"`{replica}` in {there} is a read replica of `{databases.identifier(primary, name)}`, seconds behind it. Promoting "
            f"it makes it a standalone, writable database (about {PROMOTE_MINUTES} minutes); its automated backups are "
            f"kept {db['backups']['retention']} days, as the primary's:",
            "",
            *_sh(
                f"aws rds promote-read-replica --db-instance-identifier {replica} "
                f"--backup-retention-period {db['backups']['retention']} --region {there}",
                f"aws rds wait db-instance-available --db-instance-identifier {replica} --region {there}",
            ),
            f"Code running in {there} already reads this database's address (the standby stack's export "
            f"`{dr.export_name(standby.STACK, standby.address_output(name))}`): nothing to repoint. Anything else "
            "that connects to the database must use:",
            "",
            *_sh(
                f"aws rds describe-db-instances --db-instance-identifier {replica} --region {there} "
                "--query 'DBInstances[0].Endpoint.Address' --output text"
            ),
        ]
        secret = databases.secret_name(spec, primary.environment, name)
        if secret:
            lines += [
                f"The promoted database keeps the primary's master user and password: the secret `{secret}` is replicated "
                f"to {there} under the same name.",
                "",
            ]
    for name in standby.restorable(spec):
        source = databases.identifier(primary, name)
        lines += [
            f"### databases.{name}",
            "",
            f"No standby: restore it in {there} from its replicated automated backups (about {RESTORE_MINUTES // 60} hours), "
            f"into the subnet group ivc keeps ready in the DR network's data tier:",
            "",
            *_sh(
                f"BACKUPS=$(aws rds describe-db-instance-automated-backups --db-instance-identifier {source} --region {there} "
                "--query 'DBInstanceAutomatedBackups[0].DBInstanceAutomatedBackupsArn' --output text)",
                f'aws rds restore-db-instance-to-point-in-time --source-db-instance-automated-backups-arn "$BACKUPS" '
                f"--target-db-instance-identifier {source} --use-latest-restorable-time "
                f"--db-subnet-group-name {standby.restore_subnet_group(dr, name)} --region {there}",
                f"aws rds wait db-instance-available --db-instance-identifier {source} --region {there}",
            ),
        ]
    if not lines:
        lines = [f"No database has a standby (`dr_replica`) or replicated backups in {there}: see step 5.", ""]
    return lines


def _scale_up(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    there = dr.region
    standing = _standby(spec)
    lines: list[str] = []
    fleet_lines, service_lines = [], []
    for name in sorted(standing.get("fleets", {})):
        fleet = spec["fleets"][name]
        now = standing["fleets"][name] or {}
        sizes = f"--min-size {fleet['min']} --max-size {fleet['max']}"
        if "desired" in fleet:
            sizes += f" --desired-capacity {fleet['desired']}"
        was = ", ".join(f"{key} {now[key]}" for key in ("min", "max", "desired") if key in now)
        fleet_lines.append(f"# fleets.{name}{f' (standby: {was})' if was else ''}")
        group = fleets.group_name(dr, name)
        fleet_lines.append(f"aws autoscaling update-auto-scaling-group --auto-scaling-group-name {group} {sizes} --region {there}")
    cluster = services.cluster_name(dr)
    for name in sorted(standing.get("services", {})):
        service = spec["services"][name]
        now = standing["services"][name] or {}
        variable = f"SERVICE_{name.upper().replace('-', '_')}"
        export = dr.export_name(services.STACK, services.name_output(name))
        service_lines += [
            f"# services.{name}" + (f" (standby: count {now['count']})" if "count" in now else ""),
            f"{variable}=$(aws cloudformation list-exports --region {there} --query \"Exports[?Name=='{export}'].Value\" --output text)",
            f'aws ecs update-service --cluster {cluster} --service "${variable}" --desired-count {service["count"]} --region {there}',
        ]
        if "scale" in service:
            scale = service["scale"]
            service_lines.append(
                f"aws application-autoscaling register-scalable-target --service-namespace ecs "
                f'--scalable-dimension ecs:service:DesiredCount --resource-id "service/{cluster}/${variable}" '
                f"--min-capacity {scale.get('min', service['count'])} --max-capacity {scale['max']} --region {there}"
            )
        service_lines.append(f'aws ecs wait services-stable --cluster {cluster} --services "${variable}" --region {there}')
    if not fleet_lines and not service_lines:
        return [
            f"Nothing runs in {there} (`recovery.standby` names no fleet or service): there is no DR site to scale up, "
            f"and service resumes only when {primary.region} is back.",
            "",
        ]
    lines.append("The standby runs at the sizes of `recovery.standby`; give it the primary's (`fleets`, `services`):")
    lines.append("")
    if fleet_lines:
        lines += _sh(*fleet_lines)
    if service_lines:
        lines += _sh(*service_lines)
    missing = [
        f"{kind}.{name}" for kind in ("fleets", "services") for name in sorted(spec.get(kind, {})) if name not in standing.get(kind, {})
    ]
    if missing:
        lines += [f"Not in {there} (no standby): {', '.join(missing)}.", ""]
    return lines


def _restore(vault: str, region: str, types: list[str]) -> list[str]:
    """Restoring a recovery point of ``vault``: list them (of each resource type in ``types``), read one's metadata, start the job."""
    listing = f"aws backup list-recovery-points-by-backup-vault --backup-vault-name {vault}"
    point = '--recovery-point-arn "<recovery point ARN>"'
    role = '--iam-role-arn "<the environment\'s backup role ARN>"'
    return _sh(
        *([f"{listing} --by-resource-type {kind} --region {region}" for kind in types] or [f"{listing} --region {region}"]),
        f"aws backup get-recovery-point-restore-metadata --backup-vault-name {vault} {point} --region {region}",
        f"aws backup start-restore-job {point} {role} --metadata file://metadata.json --region {region}",
    )


# What a database made by hand must share with the one it replaces: its subnets, security groups and parameters (TLS only).
SETTINGS = '--db-subnet-group-name "$SUBNETS" --vpc-security-group-ids $SECURITY_GROUPS --db-parameter-group-name "$PARAMETERS"'


def _settings(source: str, region: str) -> list[str]:
    """Shell lines reading ``source``'s subnet group, security groups and parameter group (CloudFormation named them)."""
    queries = {
        "SUBNETS": "DBSubnetGroup.DBSubnetGroupName",
        "SECURITY_GROUPS": "VpcSecurityGroups[].VpcSecurityGroupId",
        "PARAMETERS": "DBParameterGroups[0].DBParameterGroupName",
    }
    return [
        f"{variable}=$(aws rds describe-db-instances --db-instance-identifier {source} --region {region} "
        f"--query 'DBInstances[0].{query}' --output text)"
        for variable, query in queries.items()
    ]


def _rename(old: str, new: str, region: str) -> str:
    """Renaming an RDS instance: its address follows its name, so the app and the stack find a replacement under the old one."""
    return (
        f"aws rds modify-db-instance --db-instance-identifier {old} --new-db-instance-identifier {new} --apply-immediately "
        f"--region {region}"
    )


def _copies(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Backup plans that copy to the DR region."""
    return [(n, p) for n, p in sorted((spec.get("backups") or {}).get("plans", {}).items()) if p.get("copy_to") == "secondary"]


def _data(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    here, there = primary.region, dr.region
    recovery = spec.get("recovery") or {}
    expendable = list(recovery.get("expendable", []))
    lines: list[str] = []
    replicated = bucket_replicas.replicated(spec)
    for name in replicated:
        promise = (
            "everything written until 15 minutes before the loss (S3 Replication Time Control)"
            if spec["buckets"][name]["replicate"]["time_control"]
            else "what replication had copied (no time is promised)"
        )
        lines.append(f"- buckets.{name}: its replica `{_shell(bucket_replicas.replica_name(dr, name))}` in {there} holds {promise}.")
    for name in standby.standing_by(spec):
        lines.append(f"- databases.{name}: promoted in step 3 (seconds of writes lost).")
    copied: dict[str, list[str]] = {}
    for plan_name, plan in _copies(spec):
        for reference in plan["select"]:
            copied.setdefault(reference, []).append(plan_name)
    for reference, plans in sorted(copied.items()):
        lines.append(f"- {reference}: copies in the vault `{backups.vault_name(dr)}` of {there} (plan {', '.join(plans)}).")
    for reference in expendable:
        lines.append(f"- {reference}: **lost**, declared expendable (`recovery.expendable`).")
    covered = {f"buckets.{n}" for n in replicated} | {f"databases.{n}" for n in standby.standing_by(spec)} | set(copied) | set(expendable)
    for name, db in sorted(spec.get("databases", {}).items()):
        if db["backups"].get("replicate_to") == "secondary":
            covered.add(f"databases.{name}")
    for kind in ("databases", "buckets", "filesystems"):
        for name in sorted(spec.get(kind, {})):
            if f"{kind}.{name}" not in covered:
                lines.append(f"- {kind}.{name}: **no copy in {there}**: unavailable until {here} is back.")
    for name in sorted(spec.get("caches", {})):
        lines.append(f"- caches.{name}: not replicated; it is rebuilt from the database wherever the app runs.")
    lines.append("")
    if copied:
        lines += [
            f"To restore a copy from the vault in {there}: list its recovery points, read one's restore metadata, and start the job:",
            "",
        ]
        lines += _restore(backups.vault_name(dr), there, sorted({RESOURCE_TYPES[reference.partition(".")[0]] for reference in copied}))
    others = [
        (n, p["copy_to"])
        for n, p in sorted((spec.get("backups") or {}).get("plans", {}).items())
        if str(p.get("copy_to", "")).startswith("arn:")
    ]
    for plan_name, vault_arn in others:
        lines += [f"Plan {plan_name} also copies to `{vault_arn}` (another account): restore from there the same way.", ""]
    return lines


def _fail_back(spec: dict[str, Any], primary: Context, dr: Context) -> list[str]:
    here, there = primary.region, dr.region
    lines = [f"When {here} is healthy again, reverse the failover, data first, traffic last:", ""]
    step = 1
    for name in standby.standing_by(spec):
        replica = standby.standby_identifier(dr, name)
        source = databases.identifier(primary, name)
        lines += [
            f"{step}. databases.{name}: replicate the promoted `{replica}` back to {here} as a new read replica, wait until "
            f"it has caught up, stop writes, promote it, and make it `{source}` (rename the old instance out of the way "
            f"first: `{_rename(source, f'{source}-old', here)}`):",
            "",
            *(
                "   " + line if line else line
                for line in _sh(
                    *_settings(source, here),
                    f"aws rds create-db-instance-read-replica --db-instance-identifier {source}-failback "
                    f"--source-db-instance-identifier arn:aws:rds:{there}:${{ACCOUNT}}:db:{replica} --source-region {there} "
                    f"--kms-key-id {keys.key_alias(primary)} {SETTINGS} --region {here}",
                )
            ),
        ]
        step += 1
    for name in bucket_replicas.replicated(spec):
        lines += [
            f"{step}. buckets.{name}: replication runs one way; copy back what was written in {there}:",
            "",
            *(
                "   " + line if line else line
                for line in _sh(
                    f"aws s3 sync s3://{_shell(bucket_replicas.replica_name(dr, name))} "
                    f"s3://{_shell(buckets.bucket_name(primary, name), here)} "
                    f"--source-region {there} --region {here}"
                )
            ),
        ]
        step += 1
    lines += [
        f"{step}. Traffic: the failover records send traffic back to {here} by themselves as soon as its health checks "
        f"pass, so bring its app up only once its database is the writable one again.",
        f"{step + 1}. Scale {there} back to its standby sizes (`recovery.standby`), and run `ivc deploy` for this environment "
        f"so the standby stack makes fresh replicas of {here}'s databases (delete or rename the promoted ones first).",
        "",
    ]
    return lines


# --- the loss of a zone or an instance ---


def _zone_runbook(spec: dict[str, Any], primary: Context, heading: str, numbered: bool) -> list[str]:
    here = primary.region
    zones = spec["network"]["zones"]
    step = iter(range(1, 10))

    def title(text: str) -> str:
        return f"{heading} {f'{next(step)}. ' if numbered else ''}{text}"

    lines = [
        f"# Runbook: {primary.system} {primary.environment}: loss of a zone or an instance in {here}",
        "",
    ]
    if numbered:
        lines += [
            "Printed by `ivc runbook` from the spec. The environment has no DR region (`regions.secondary`): this is what "
            "to do when a zone or an instance is lost. Every name below is the one ivc gives the resource.",
            "",
            title("Declare the incident"),
            "",
            *_promise(spec, "the loss of a zone or an instance"),
        ]
    lines += [title("Databases"), ""]
    for name, db in sorted(spec.get("databases", {}).items()):
        source = databases.identifier(primary, name)
        if db["multi_az"]:
            lines += [
                f"- databases.{name} (`{source}`) is Multi-AZ: RDS fails over to its standby in another zone by itself in "
                f"minutes, at the same address, losing nothing. Confirm:",
                "",
                *(
                    "  " + line if line else line
                    for line in _sh(
                        f"aws rds describe-events --source-type db-instance --source-identifier {source} --duration 120 --region {here}"
                    )
                ),
            ]
        else:
            lines += [
                f"- databases.{name} (`{source}`) is single-AZ: restore it to its latest restorable time (about 5 minutes of "
                f"writes lost, {RESTORE_MINUTES // 60} hours or so), then give the restored instance the old one's name, so "
                f"its address and the stack's identifier stay the same:",
                "",
                *(
                    "  " + line if line else line
                    for line in _sh(
                        *_settings(source, here),
                        f"aws rds restore-db-instance-to-point-in-time --source-db-instance-identifier {source} "
                        f"--target-db-instance-identifier {source}-restored --use-latest-restorable-time {SETTINGS} --region {here}",
                        f"aws rds wait db-instance-available --db-instance-identifier {source}-restored --region {here}",
                        _rename(source, f"{source}-old", here),
                        _rename(f"{source}-restored", source, here),
                    )
                ),
                "  Or from a snapshot (the newest of `aws rds describe-db-snapshots --db-instance-identifier "
                f"{source} --region {here}`), with `aws rds restore-db-instance-from-db-snapshot`.",
                "",
            ]
        for number in range(1, db.get("replicas", 0) + 1):
            lines += [
                f"- Its read replica `{databases.replica_identifier(primary, name, number)}` is in one zone: if that zone is lost, "
                f"send reads to `{source}` until it is back.",
                "",
            ]
    if not spec.get("databases"):
        lines += ["No databases.", ""]
    lines += [title("Compute"), ""]
    spread = {1: "its one zone (`network.zones: 1`: nowhere else to go)", 2: "the other zone"}.get(zones, f"the other {zones - 1} zones")
    groups = [fleets.group_name(primary, name) for name in sorted(spec.get("fleets", {}))]
    if groups:
        lines += [
            f"Auto Scaling replaces the lost instances in {spread}; check the groups:",
            "",
            *_sh(f"aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names {' '.join(groups)} --region {here}"),
        ]
    if spec.get("services"):
        lines += [f"ECS starts the lost tasks again in {spread} (cluster `{services.cluster_name(primary)}`).", ""]
    if not groups and not spec.get("services"):
        lines += ["No fleets or services.", ""]
    lines += [title("Data"), ""]
    for name, cache in sorted(spec.get("caches", {}).items()):
        if cache.get("replicas", 0) > 0:
            lines.append(f"- caches.{name}: a replica in another zone takes over by itself.")
        else:
            lines.append(f"- caches.{name}: no replica: rebuilt from the database when its node comes back.")
    if spec.get("buckets") or spec.get("filesystems"):
        lines.append("- Buckets and file systems keep every object and file in several zones: nothing to do.")
    plans = (spec.get("backups") or {}).get("plans", {})
    if plans:
        vault = backups.vault_name(primary)
        lines += [
            "",
            f"Backups of the plans ({', '.join(sorted(plans))}) are in the vault `{vault}` of {here}; to restore one:",
            "",
            *_restore(vault, here, []),
        ]
    else:
        lines.append("")
    return lines
