"""Deploy an environment's compiled stacks as CloudFormation StackSets: plan, apply, diff, destroy.

One StackSet per stack and region, named ``<system>-<env>-<stack>-<region>``, administered from the
environment's primary region, with one instance per target account in the stack's region. StackSets
fan out across accounts; ivc never loops CreateStack over accounts itself. Stacks go in the waves the
manifest gives, so every import exists before the stack that needs it.
"""

from __future__ import annotations

import difflib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .aws import DeployError, call, client, code, explain
from .stacks import Stack, assemble, minified
from .validate import Environment

INLINE_LIMIT = 51_200
S3_LIMIT = 1_048_576
DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
STATEFUL_TYPES = {
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::S3::Bucket",
    "AWS::EFS::FileSystem",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::SecretsManager::Secret",
}
# Properties whose change makes CloudFormation replace (delete and recreate) a stateful resource.
REPLACING = {
    "AWS::RDS::DBInstance": {
        "DBInstanceIdentifier",
        "DBName",
        "KmsKeyId",
        "StorageEncrypted",
        "MasterUsername",
        "DBSubnetGroupName",
        "AvailabilityZone",
        "CharacterSetName",
        "Timezone",
        "DBClusterIdentifier",
    },
    "AWS::RDS::DBCluster": {"DBClusterIdentifier", "DatabaseName", "KmsKeyId", "StorageEncrypted", "MasterUsername", "Engine"},
    "AWS::ElastiCache::ReplicationGroup": {
        "ReplicationGroupId",
        "AtRestEncryptionEnabled",
        "KmsKeyId",
        "CacheSubnetGroupName",
        "Port",
        "SnapshotArns",
        "SnapshotName",
        "NumNodeGroups",
        "PreferredCacheClusterAZs",
    },
    "AWS::S3::Bucket": {"BucketName", "ObjectLockEnabled"},
    "AWS::EFS::FileSystem": {"Encrypted", "KmsKeyId", "PerformanceMode", "AvailabilityZoneName"},
    "AWS::KMS::Key": {"KeySpec", "KeyUsage"},
    "AWS::DynamoDB::Table": {"TableName", "KeySchema"},
    "AWS::SecretsManager::Secret": {"Name"},
}


@dataclass
class Target:
    """One stack of the environment in one region: one StackSet."""

    stackset: str
    stack: str
    region: str
    wave: int
    template: dict[str, Any]
    accounts: list[str]
    preferences: dict[str, Any]

    @property
    def body(self) -> str:
        return minified(self.template)

    @property
    def stateful(self) -> bool:
        return any(r.get("Type") in STATEFUL_TYPES for r in self.template.get("Resources", {}).values())


@dataclass
class Step:
    """What deploying one target changes."""

    target: Target
    exists: bool = False
    template_changed: bool = False
    add: list[str] = field(default_factory=list)  # accounts (or OUs) to create instances for
    remove: list[str] = field(default_factory=list)
    deployed: dict[str, Any] | None = None
    risks: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        if not self.exists:
            return "create"
        return "update" if self.template_changed or self.add or self.remove else "unchanged"


@dataclass
class Settings:
    """The spec's deploy section, resolved for one environment."""

    system: str
    environment: str
    admin_region: str
    permission_model: str
    accounts: list[str]
    organizational_units: list[str]
    administration_role_arn: str | None
    execution_role_name: str
    auto_deployment: dict[str, Any]
    bucket: str | None
    protected: bool
    tags: dict[str, str]

    @property
    def service_managed(self) -> bool:
        return self.permission_model == "service-managed"


def settings(environment: Environment, caller_account: Callable[[], str]) -> Settings:
    deploy = environment.spec.get("deploy", {})
    spec = environment.spec
    accounts = list(deploy.get("accounts", []))
    model = deploy.get("permission_model", "self-managed")
    if not accounts and model == "self-managed":
        accounts = [caller_account()]
    tags = {**spec["tags"], "System": environment.system, "Environment": environment.name, "ManagedBy": "ivc"}
    return Settings(
        system=environment.system,
        environment=environment.name,
        admin_region=spec["regions"]["primary"],
        permission_model=model,
        accounts=accounts,
        organizational_units=list(deploy.get("organizational_units", [])),
        administration_role_arn=deploy.get("administration_role_arn"),
        execution_role_name=deploy.get("execution_role_name", "AWSCloudFormationStackSetExecutionRole"),
        auto_deployment=deploy.get("auto_deployment", {"enabled": True, "retain_stacks": True}),
        bucket=deploy.get("bucket"),
        protected=bool(deploy.get("protected")) or environment.name in ("prod", "production"),
        tags=dict(sorted(tags.items())),
    )


def preferences(spec: dict[str, Any], stack: str) -> dict[str, Any]:
    deploy = spec.get("deploy", {})
    chosen = {
        "max_concurrent": 1,
        "failure_tolerance": 0,
        **deploy.get("preferences", {}),
        **deploy.get("stacks", {}).get(stack, {}).get("preferences", {}),
    }
    result: dict[str, Any] = {"RegionConcurrencyType": "SEQUENTIAL"}
    for key, count, percent in (
        ("max_concurrent", "MaxConcurrentCount", "MaxConcurrentPercentage"),
        ("failure_tolerance", "FailureToleranceCount", "FailureTolerancePercentage"),
    ):
        value = chosen[key]
        if isinstance(value, str):
            result[percent] = int(value.rstrip("%"))
        else:
            result[count] = value
    return result


def targets(environment: Environment, out: Path, accounts: list[str], stack: str | None = None, region: str | None = None) -> list[Target]:
    """The environment's stacks from ``out``, refusing output that is not what the spec compiles to now."""
    folder = out / environment.system / environment.name
    fresh = {s.file: s for s in assemble(environment)}
    # Templates only: the manifest also names the spec's path, which depends on where ivc runs.
    wanted = {name: stack.body for name, stack in fresh.items()}
    stale = []
    for name, content in sorted(wanted.items()):
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            stale.append(str(path))
    if stale:
        raise DeployError(f"{', '.join(stale)} {'is' if len(stale) == 1 else 'are'} out of date with the spec: run `ivc compile` first")
    result = []
    for compiled in fresh.values():
        if (stack and compiled.name != stack) or (region and compiled.region != region):
            continue
        result.append(_target(environment, compiled, accounts))
    if not result:
        raise DeployError(f"no stack matches --stack {stack or '*'} --region {region or '*'} in {environment.name}")
    return result


def _target(environment: Environment, stack: Stack, accounts: list[str]) -> Target:
    return Target(
        stackset=f"{environment.system}-{environment.name}-{stack.name}-{stack.region}",
        stack=stack.name,
        region=stack.region,
        wave=stack.wave,
        template=stack.template,
        accounts=accounts,
        preferences=preferences(environment.spec, stack.name),
    )


def risks(deployed: dict[str, Any], local: dict[str, Any]) -> list[str]:
    """Changes that would replace or delete a stateful resource (database, cache, bucket, file system, key, secret)."""
    found = []
    before, after = deployed.get("Resources", {}), local.get("Resources", {})
    for logical_id, resource in sorted(before.items()):
        kind = resource.get("Type")
        if kind not in STATEFUL_TYPES:
            continue
        if logical_id not in after:
            found.append(f"DELETE {kind} {logical_id}: it is no longer in the template")
            continue
        if after[logical_id].get("Type") != kind:
            found.append(f"REPLACE {kind} {logical_id}: its type changes to {after[logical_id].get('Type')}")
            continue
        old, new = resource.get("Properties", {}), after[logical_id].get("Properties", {})
        changed = sorted(p for p in REPLACING.get(kind, set()) if old.get(p) != new.get(p))
        if changed:
            found.append(f"REPLACE {kind} {logical_id}: {', '.join(changed)} change{'s' if len(changed) == 1 else ''}")
    return found


def template_diff(deployed: dict[str, Any] | None, local: dict[str, Any], name: str) -> str:
    before = json.dumps(deployed, indent=2, sort_keys=True).splitlines() if deployed is not None else []
    after = json.dumps(local, indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(before, after, f"deployed/{name}", f"output/{name}", lineterm=""))


class StackSets:
    """Drives CloudFormation StackSets for one environment."""

    def __init__(
        self,
        cloudformation: Any,
        settings: Settings,
        say: Callable[[str], None],
        s3: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        poll_cap: float = 15.0,
        tick: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.tick = tick  # a live status line while waiting, on terminals
        self.cf = cloudformation
        self.settings = settings
        self.say = say
        self.s3 = s3
        self.sleep = sleep
        self.poll_cap = poll_cap

    def _call(self, method: Callable[..., Any], /, **params: Any) -> Any:
        return call(method, sleep=self.sleep, **params)

    # --- reading --------------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            stackset: dict[str, Any] = self._call(self.cf.describe_stack_set, StackSetName=name)["StackSet"]
        except Exception as exc:
            if code(exc) == "StackSetNotFoundException":
                return None
            raise
        return stackset if stackset.get("Status") != "DELETED" else None

    def instances(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._call(self.cf.list_stack_instances, StackSetName=name, **({"NextToken": token} if token else {}))
            found.extend(page.get("Summaries", []))
            token = page.get("NextToken")
            if not token:
                return found

    def plan(self, all_targets: list[Target]) -> list[Step]:
        """What a deploy would do, from read-only calls."""
        steps = []
        for target in all_targets:
            step = Step(target)
            existing = self.describe(target.stackset)
            wanted = self.settings.organizational_units if self.settings.service_managed else target.accounts
            if existing is None:
                step.add = list(wanted)
            else:
                step.exists = True
                step.deployed = json.loads(existing.get("TemplateBody") or "{}")
                tags = {t["Key"]: t["Value"] for t in existing.get("Tags", [])}
                step.template_changed = step.deployed != target.template or tags != self.settings.tags
                step.risks = risks(step.deployed, target.template)
                have = {i["Account"] for i in self.instances(target.stackset) if i["Region"] == target.region}
                if self.settings.service_managed:
                    step.add = list(wanted) if not have else []
                else:
                    step.add = [a for a in wanted if a not in have]
                    step.remove = sorted(a for a in have if a not in wanted)
            steps.append(step)
        return steps

    # --- changing -------------------------------------------------------------------------------

    def apply(self, steps: list[Step]) -> list[str]:
        """Carry out a plan, wave by wave; returns the IDs of failed operations' stack sets."""
        failed = []
        waves = sorted({s.target.wave for s in steps})
        for wave in waves:
            for step in [s for s in steps if s.target.wave == wave]:
                label = f"[wave {waves.index(wave) + 1}/{len(waves)}] {step.target.stackset}"
                if step.action == "unchanged":
                    self.say(f"{label}: unchanged")
                    continue
                if not self._step(step, label):
                    failed.append(step.target.stackset)
        return failed

    def _step(self, step: Step, label: str) -> bool:
        target = step.target
        ok = True
        if step.exists:
            self.wait_idle(target, label)
        if not step.exists:
            self.say(f"{label}: creating stack set")
            self._create(target)
        elif step.template_changed:
            self.say(f"{label}: updating template of every instance")
            operation = self._call(
                self.cf.update_stack_set, **self._template_args(target), **self._roles(), OperationPreferences=target.preferences
            )
            ok = self.wait(target, operation["OperationId"], label) and ok
        if step.add:
            self.say(f"{label}: adding instances {', '.join(step.add)} in {target.region}")
            accounts = (
                {"DeploymentTargets": {"OrganizationalUnitIds": step.add}} if self.settings.service_managed else {"Accounts": step.add}
            )
            operation = self._call(
                self.cf.create_stack_instances,
                StackSetName=target.stackset,
                Regions=[target.region],
                OperationPreferences=target.preferences,
                **accounts,
            )
            ok = self.wait(target, operation["OperationId"], label) and ok
        if step.remove:
            self.say(
                f"{label}: removing instances {', '.join(step.remove)} in {target.region}"
                + (" (keeping their stacks: stateful)" if target.stateful else "")
            )
            operation = self._call(
                self.cf.delete_stack_instances,
                StackSetName=target.stackset,
                Accounts=step.remove,
                Regions=[target.region],
                RetainStacks=target.stateful,
                OperationPreferences=target.preferences,
            )
            ok = self.wait(target, operation["OperationId"], label) and ok
        return ok

    def _roles(self) -> dict[str, Any]:
        if self.settings.service_managed:
            return {}
        roles = {"ExecutionRoleName": self.settings.execution_role_name}
        if self.settings.administration_role_arn:
            roles["AdministrationRoleARN"] = self.settings.administration_role_arn
        return roles

    def _template_args(self, target: Target) -> dict[str, Any]:
        body = target.body
        args: dict[str, Any] = {
            "StackSetName": target.stackset,
            "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
            "Tags": [{"Key": k, "Value": v} for k, v in self.settings.tags.items()],
        }
        if target.template.get("Description"):  # the API refuses an empty description
            args["Description"] = str(target.template["Description"])[:1024]
        size = len(body.encode())
        if size <= INLINE_LIMIT:
            args["TemplateBody"] = body
            return args
        if size > S3_LIMIT or not self.settings.bucket or self.s3 is None:
            raise DeployError(
                f"{target.stackset}: template is {size} bytes, over the {INLINE_LIMIT}-byte inline limit; set deploy.bucket"
                if size <= S3_LIMIT
                else f"{target.stackset}: template is {size} bytes, over CloudFormation's 1 MB limit"
            )
        key = f"ivc/{self.settings.system}/{self.settings.environment}/{target.region}/{target.stack}.json"
        self._call(self.s3.put_object, Bucket=self.settings.bucket, Key=key, Body=body.encode(), ContentType="application/json")
        args["TemplateURL"] = f"https://{self.settings.bucket}.s3.{self.settings.admin_region}.amazonaws.com/{key}"
        return args

    def _create(self, target: Target) -> None:
        model: dict[str, Any] = {"PermissionModel": "SERVICE_MANAGED" if self.settings.service_managed else "SELF_MANAGED"}
        if self.settings.service_managed:
            model["AutoDeployment"] = {
                "Enabled": self.settings.auto_deployment["enabled"],
                "RetainStacksOnAccountRemoval": self.settings.auto_deployment["retain_stacks"],
            }
        try:
            self._call(self.cf.create_stack_set, **self._template_args(target), **self._roles(), **model, ManagedExecution={"Active": True})
        except Exception as exc:
            if code(exc) != "NameAlreadyExistsException":  # an interrupted run created it: carry on
                raise

    def wait(self, target: Target, operation_id: str, label: str) -> bool:
        """Poll an operation with jittered backoff until it ends; True when it succeeded."""
        delay, last, started = 1.0, "", time.monotonic()
        while True:
            operation = self._call(self.cf.describe_stack_set_operation, StackSetName=target.stackset, OperationId=operation_id)[
                "StackSetOperation"
            ]
            status = operation["Status"]
            if status != last:
                self.say(f"{label}: {operation.get('Action', 'operation').lower()} {status}")
                last = status
            if status in DONE:
                return bool(status == "SUCCEEDED")
            self.tick(f"{label}: {status.lower()} for {time.monotonic() - started:.0f}s")
            self.sleep(random.uniform(delay / 2, delay))
            delay = min(self.poll_cap, delay * 2)

    def wait_idle(self, target: Target, label: str) -> None:
        """Let a still-running operation (from an interrupted run) finish before starting another."""
        try:
            summaries = self._call(self.cf.list_stack_set_operations, StackSetName=target.stackset)["Summaries"]
        except Exception as exc:
            if code(exc) == "StackSetNotFoundException":
                return
            raise
        for summary in summaries:
            if summary.get("Status") in ("RUNNING", "QUEUED", "STOPPING"):
                self.say(f"{label}: waiting for operation {summary['OperationId']} left running by an earlier run")
                self.wait(target, summary["OperationId"], label)

    def status_rows(self, all_targets: list[Target]) -> list[tuple[str, str, str, str, str]]:
        rows = []
        for target in all_targets:
            if self.describe(target.stackset) is None:
                continue
            for instance in self.instances(target.stackset):
                detailed = instance.get("StackInstanceStatus", {}).get("DetailedStatus", "")
                rows.append(
                    (
                        target.stackset,
                        instance["Account"],
                        instance["Region"],
                        instance.get("Status", ""),
                        instance.get("StatusReason") or detailed,
                    )
                )
        return rows

    def destroy(self, all_targets: list[Target], keep: Callable[[Target], str | None]) -> list[str]:
        """Remove instances, then stack sets, last wave first; ``keep`` names why a target must stay."""
        failed = []
        for target in sorted(all_targets, key=lambda t: -t.wave):
            label = target.stackset
            reason = keep(target)
            if reason:
                self.say(f"{label}: kept ({reason})")
                continue
            if self.describe(target.stackset) is None:
                self.say(f"{label}: not deployed")
                continue
            self.wait_idle(target, label)
            present = self.instances(target.stackset)
            if present:
                accounts = sorted({i["Account"] for i in present})
                regions = sorted({i["Region"] for i in present})
                self.say(f"{label}: removing {len(present)} instance(s)")
                args: dict[str, Any] = (
                    {"DeploymentTargets": {"OrganizationalUnitIds": self.settings.organizational_units}}
                    if self.settings.service_managed
                    else {"Accounts": accounts}
                )
                operation = self._call(
                    self.cf.delete_stack_instances,
                    StackSetName=target.stackset,
                    Regions=regions,
                    RetainStacks=False,
                    OperationPreferences=target.preferences,
                    **args,
                )
                if not self.wait(target, operation["OperationId"], label):
                    failed.append(target.stackset)
                    continue
            self._call(self.cf.delete_stack_set, StackSetName=target.stackset)
            self.say(f"{label}: stack set deleted")
        return failed


# --- the commands, for cli.py ------------------------------------------------------------------


@dataclass
class Outcome:
    """What a deploy, diff or destroy found; ``failed`` makes the exit code 1."""

    lines: list[str] = field(default_factory=list)  # data for stdout
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _session(
    path: Path,
    env: str | None,
    out: Path,
    stack: str | None,
    region: str | None,
    say: Callable[[str], None],
    tick: Callable[[str], None] = lambda _: None,
) -> tuple[Environment, StackSets, list[Target]]:
    from .pipeline import UsageError, discover
    from .validate import load_and_validate

    specs = discover([path])
    if len(specs) != 1:
        raise UsageError(f"{path} holds {len(specs)} specs; name one")
    environments = load_and_validate(specs[0], env)
    if len(environments) != 1:
        raise UsageError(f"{path} has environments {', '.join(e.name for e in environments)}: choose one with --env")
    environment = environments[0]
    try:
        resolved = settings(
            environment, lambda: str(client("sts", environment.spec["regions"]["primary"]).get_caller_identity()["Account"])
        )
        engine = StackSets(
            client("cloudformation", resolved.admin_region),
            resolved,
            say,
            s3=client("s3", resolved.admin_region) if resolved.bucket else None,
            tick=tick,
        )
    except DeployError:
        raise
    except Exception as exc:
        raise explain(exc) from exc
    return environment, engine, targets(environment, out, resolved.accounts, stack, region)


def _guard(action: Callable[[], Outcome]) -> Outcome:
    try:
        return action()
    except DeployError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith("botocore"):  # every botocore failure, including unparsable answers
            raise explain(exc) from exc
        raise


def deploy(
    path: Path,
    env: str | None,
    out: Path,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
    stack: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    allow_replace: bool = False,
    tick: Callable[[str], None] = lambda _: None,
) -> Outcome:
    environment, engine, chosen = _session(path, env, out, stack, region, say, tick)

    def run() -> Outcome:
        outcome = Outcome()
        steps = engine.plan(chosen)
        for step in steps:
            where = f"{step.target.stackset} ({step.target.region})"
            detail = []
            if step.template_changed:
                detail.append("template")
            detail += [f"+{a}" for a in step.add] + [f"-{a}" for a in step.remove]
            outcome.lines.append(
                f"{step.action:<9} {where}"
                + (f": {' '.join(detail)}" if detail and step.exists else f": instances in {', '.join(step.add)}" if detail else "")
            )
            outcome.lines.extend(f"  !! {risk}" for risk in step.risks)
        dangerous = [(s.target.stackset, r) for s in steps for r in s.risks]
        if dry_run:
            return outcome
        if dangerous and not allow_replace:
            raise DeployError(
                f"refusing to deploy: {len(dangerous)} change(s) would replace or delete stateful resources "
                f"({'; '.join(f'{n}: {r}' for n, r in dangerous)}); review `ivc diff`, then rerun with --allow-replace"
            )
        if all(s.action == "unchanged" for s in steps):
            say("nothing to change")
        elif engine.settings.protected and not confirm(f"Deploy {environment.system} {environment.name}?"):
            raise DeployError(f"{environment.name} is protected and the deploy was not confirmed (use --yes in pipelines)")
        else:
            outcome.failed = engine.apply(steps)
        outcome.rows = engine.status_rows(chosen)
        outcome.failed += sorted({r[0] for r in outcome.rows if r[3] != "CURRENT"} - set(outcome.failed))
        return outcome

    return _guard(run)


def diff(
    path: Path, env: str | None, out: Path, say: Callable[[str], None], stack: str | None = None, region: str | None = None
) -> Outcome:
    _, engine, chosen = _session(path, env, out, stack, region, say)

    def run() -> Outcome:
        outcome = Outcome()
        for step in engine.plan(chosen):
            name = f"{step.target.stackset}.json"
            text = template_diff(step.deployed, step.target.template, name)
            if step.risks:
                outcome.lines.extend(f"!! {step.target.stackset}: {risk}" for risk in step.risks)
                outcome.failed.append(step.target.stackset)
            if text:
                outcome.lines.append(text)
            elif step.exists:
                outcome.lines.append(f"{step.target.stackset}: no template changes")
        return outcome

    return _guard(run)


def destroy(
    path: Path,
    env: str | None,
    out: Path,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
    stack: str | None = None,
    region: str | None = None,
    include_stateful: bool = False,
    dry_run: bool = False,
    tick: Callable[[str], None] = lambda _: None,
) -> Outcome:
    environment, engine, chosen = _session(path, env, out, stack, region, say, tick)

    def keep(target: Target) -> str | None:
        if target.stateful and engine.settings.protected and not include_stateful:
            return "stateful stack of a protected environment: add --include-stateful to remove it; retained data stays anyway"
        return None

    def run() -> Outcome:
        outcome = Outcome()
        present = [t for t in chosen if engine.describe(t.stackset) is not None]
        for target in sorted(present, key=lambda t: -t.wave):
            reason = keep(target)
            outcome.lines.append(f"{'keep' if reason else 'destroy':<9} {target.stackset}" + (f": {reason}" if reason else ""))
        if dry_run or not present:
            return outcome
        if engine.settings.protected and not confirm(f"Destroy {environment.system} {environment.name}?"):
            raise DeployError(f"{environment.name} is protected and the destroy was not confirmed")
        outcome.failed = engine.destroy(present, keep)
        say("resources with a Retain or Snapshot deletion policy (databases, caches, buckets, keys, secrets) are kept")
        return outcome

    return _guard(run)
