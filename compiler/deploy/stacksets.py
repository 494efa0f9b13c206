"""The StackSets engine: reads what is deployed, applies a plan wave by wave, waits, destroys."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

from ..errors import DeployError
from . import releases, supplied
from .aws import call, code
from .changes import changes
from .plan import Settings, Step, Target

INLINE_LIMIT = 51_200
S3_LIMIT = 1_048_576
DONE = {"SUCCEEDED", "FAILED", "STOPPED"}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


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
        prefix_list: Callable[[str, str], str] | None = None,
    ) -> None:
        self.tick = tick  # a live status line while waiting, on terminals
        self.prefix_list = prefix_list  # (region, name) -> the ID of an AWS-managed prefix list there
        self._prefix_lists: dict[tuple[str, str], str] = {}
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

    def plan(self, all_targets: list[Target], released: dict[str, str | None] | None = None) -> list[Step]:
        """What a deploy would do, from read-only calls; ``released`` are the releases asked for (see releases.requested)."""
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
                have = {i["Account"] for i in self.instances(target.stackset) if i["Region"] == target.region}
                step.instances = sorted(have)
                if self.settings.service_managed:
                    step.add = list(wanted) if not have else []
                else:
                    step.add = [a for a in wanted if a not in have]
                    step.remove = sorted(a for a in have if a not in wanted)
            # Against what the instances run: a stack set without instances has nothing deployed to change.
            step.changes = changes(step.deployed if step.deployed_anywhere else None, target.template, target.region)
            current = releases.values(existing) if existing is not None else None
            step.releases = releases.plan(target.stackset, target.template, step.deployed, current, released or {})
            step.supplied = supplied.resolve(target.template, target.region, self._lookup, current)
            steps.append(step)
        return steps

    def _lookup(self, region: str, name: str) -> str:
        """A managed prefix list's ID in ``region``, looked up once per deploy."""
        if self.prefix_list is None:
            raise DeployError(f"the templates need the ID of the prefix list {name} in {region}, and nothing can look it up")
        if (region, name) not in self._prefix_lists:
            self._prefix_lists[(region, name)] = self.prefix_list(region, name)
        return self._prefix_lists[(region, name)]

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
            self._create(target, self._parameters(step))
        elif step.template_changed or step.releases_changed or step.supplied_changed:
            released = [f"{r.releasable.path} {r.value}" for r in step.releases if r.changed]
            released += [f"{v.parameter} {v.value}" for v in step.supplied if v.changed]
            if step.template_changed:
                self.say(f"{label}: updating template of every instance" + (f", releasing {', '.join(released)}" if released else ""))
                template = self._template_args(target)
            else:  # parameters alone: the stack set keeps its template, and only its parameters change
                self.say(f"{label}: releasing {', '.join(released)} to every instance")
                template = {"StackSetName": target.stackset, "UsePreviousTemplate": True, "Capabilities": CAPABILITIES}
            operation = self._call(
                self.cf.update_stack_set,
                **template,
                **self._parameters(step),
                **self._roles(),
                OperationPreferences=target.preferences,
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

    @staticmethod
    def _parameters(step: Step) -> dict[str, Any]:
        """The stack set's Parameters: every release parameter of the template, its value set, reset or kept (see releases),
        and every parameter looked up in the region (see supplied)."""
        entries = [release.parameter() for release in step.releases] + [value.entry() for value in step.supplied]
        return {"Parameters": entries} if entries else {}

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
            "Capabilities": CAPABILITIES,
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

    def _create(self, target: Target, parameters: dict[str, Any] | None = None) -> None:
        model: dict[str, Any] = {"PermissionModel": "SERVICE_MANAGED" if self.settings.service_managed else "SELF_MANAGED"}
        if self.settings.service_managed:
            model["AutoDeployment"] = {
                "Enabled": self.settings.auto_deployment["enabled"],
                "RetainStacksOnAccountRemoval": self.settings.auto_deployment["retain_stacks"],
            }
        try:
            self._call(
                self.cf.create_stack_set,
                **self._template_args(target),
                **(parameters or {}),
                **self._roles(),
                **model,
                ManagedExecution={"Active": True},
            )
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
