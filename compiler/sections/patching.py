"""Patching: Systems Manager Patch Manager for the environment's instances, in a window or automatically.

Every instance ivc launches for the environment carries the tag ``Patch Group: <system>-<env>`` (PATCH_GROUP_TAG),
so the environment's patch baseline applies to it and its window targets it. The baseline approves the spec's
classifications and severities ``approve_after_days`` after release.

With ``window`` (the same ``ddd:hh:mm-ddd:hh:mm`` form, UTC, as a database's maintenance window), a maintenance
window opens then, every week or only in the listed ``weeks`` of the month, and runs AWS-RunPatchBaseline to
install, rebooting when a patch needs it, on ``concurrency`` of the instances at a time; new instances stop being
started an hour before the window ends. The command's output goes to an encrypted log group. Without ``window``,
patches are installed automatically: a State Manager association runs the same document daily, at any time. A
protected environment must name its window: patching it at any time is a choice written down, not a default.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from troposphere import Ref, ssm

from ..context import Context, Fragment, is_protected
from .base import WEEKLY_WINDOW, Problem, Section, Spec
from .logs import log_group

STACK = "operations"
PATCH_GROUP_TAG = "Patch Group"  # the tag key Patch Manager reads an instance's patch group from
DOCUMENT = "AWS-RunPatchBaseline"
OPERATING_SYSTEMS = {"amazon-linux-2023": "AMAZON_LINUX_2023", "amazon-linux-2": "AMAZON_LINUX_2"}
CLASSIFICATIONS = ["Security", "Bugfix", "Enhancement", "Recommended", "Newpackage"]
SEVERITIES = ["Critical", "Important", "Medium", "Low", "None"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


def patch_group(ctx: Context) -> str:
    """The patch group of the environment's instances: the value of their PATCH_GROUP_TAG tag."""
    return ctx.name()


def window_hours(window: str) -> tuple[str, int, int, int]:
    """``sun:02:00-sun:04:00`` -> (day, hour, minute, length in minutes); the window may end the next day."""
    start, end = window.split("-")
    day, hour, minute = start.split(":")
    end_day, end_hour, end_minute = end.split(":")
    opens = DAYS.index(day) * 1440 + int(hour) * 60 + int(minute)
    closes = DAYS.index(end_day) * 1440 + int(end_hour) * 60 + int(end_minute)
    return day, int(hour), int(minute), (closes - opens) % (7 * 1440)


def check(spec: Spec) -> Iterator[Problem]:
    patching = spec.get("patching")
    if not patching:
        return
    window = patching.get("window")
    if window:
        length = window_hours(window)[3]
        if length % 60 or not 60 <= length <= 24 * 60:
            yield (
                ("patching", "window"),
                f"a maintenance window lasts whole hours, 1 to 24; {window} lasts {length // 60} h {length % 60} min",
            )
    elif "weeks" in patching:
        yield ("patching", "weeks"), "weeks says in which weeks of the month the window opens: give patching.window too"


def environment_problems(environment: str, spec: Spec) -> Iterator[Problem]:
    """A protected environment is patched in a window it names, never at any time by default."""
    patching = spec.get("patching")
    if patching and not patching.get("window") and is_protected(environment, spec):
        yield (
            ("patching",),
            f"in {environment}, patches would be installed at any time, rebooting instances: give patching.window "
            "(such as sun:02:00-sun:04:00)",
        )


def _parameters(patching: dict[str, Any]) -> dict[str, list[str]]:
    return {"Operation": ["Install"], "RebootOption": ["RebootIfNeeded" if patching["reboot"] else "NoReboot"]}


def build(patching: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    out.at = ("patching",)
    group = patch_group(ctx)
    out.add(
        ssm.PatchBaseline(
            "PatchBaseline",
            Name=ctx.name("patches"),
            Description=f"{group}: {', '.join(patching['classifications'])} patches of severity "
            f"{', '.join(patching['severities'])}, approved {patching['approve_after_days']} days after release",
            OperatingSystem=OPERATING_SYSTEMS[patching["os"]],
            PatchGroups=[group],
            ApprovalRules=ssm.RuleGroup(
                PatchRules=[
                    ssm.Rule(
                        ApproveAfterDays=patching["approve_after_days"],
                        ComplianceLevel="CRITICAL",
                        PatchFilterGroup=ssm.PatchFilterGroup(
                            PatchFilters=[
                                ssm.PatchFilter(Key="CLASSIFICATION", Values=patching["classifications"]),
                                ssm.PatchFilter(Key="SEVERITY", Values=patching["severities"]),
                            ]
                        ),
                    )
                ]
            ),
            Tags=ctx.resource_tags(ctx.name("patches")),
        )
    )
    instances = [ssm.Targets(Key=f"tag:{PATCH_GROUP_TAG}", Values=[group])]
    if not patching.get("window"):
        out.add(
            ssm.Association(
                "PatchAssociation",
                AssociationName=ctx.name("patches"),
                Name=DOCUMENT,
                Parameters=_parameters(patching),
                Targets=instances,
                ScheduleExpression="rate(1 day)",
                MaxConcurrency=patching["concurrency"],
                MaxErrors="1",
                ComplianceSeverity="CRITICAL",
            )
        )
        return out
    output = out.add(log_group("PatchLogGroup", ctx.log_group_name("patching"), ctx, "patching", STACK))
    day, hour, minute, length = window_hours(patching["window"])
    weeks = patching.get("weeks") or [None]
    for week in weeks:
        suffix = f"Week{week}" if week else ""
        on = f"{day.upper()}#{week}" if week else day.upper()
        window = out.add(
            ssm.MaintenanceWindow(
                f"PatchWindow{suffix}",
                Name=ctx.name("patches", *([f"week{week}"] if week else [])),
                Description=f"{group}: patches every {f'week {week} of the month' if week else 'week'}, {patching['window']} UTC",
                Schedule=f"cron({minute} {hour} ? * {on} *)",
                ScheduleTimezone="UTC",
                Duration=length // 60,
                Cutoff=1 if length > 60 else 0,  # no instance starts patching in the last hour
                AllowUnassociatedTargets=False,
                Tags=ctx.resource_tags(ctx.name("patches")),
            )
        )
        target = out.add(
            ssm.MaintenanceWindowTarget(
                f"PatchWindow{suffix}Target",
                WindowId=Ref(window),
                ResourceType="INSTANCE",
                Targets=instances,
                Name=ctx.name("patch-group"),
                Description=f"The instances of patch group {group}",
            )
        )
        out.add(
            ssm.MaintenanceWindowTask(
                f"PatchWindow{suffix}Task",
                WindowId=Ref(window),
                Name=ctx.name("install-patches"),
                Description=f"{DOCUMENT}: install approved patches, {'rebooting if needed' if patching['reboot'] else 'no reboot'}",
                TaskType="RUN_COMMAND",
                TaskArn=DOCUMENT,
                Priority=1,
                MaxConcurrency=patching["concurrency"],
                MaxErrors="1",
                Targets=[ssm.Targets(Key="WindowTargetIds", Values=[Ref(target)])],
                TaskInvocationParameters=ssm.TaskInvocationParameters(
                    MaintenanceWindowRunCommandParameters=ssm.MaintenanceWindowRunCommandParameters(
                        Parameters=_parameters(patching),
                        CloudWatchOutputConfig=ssm.CloudWatchOutputConfig(CloudWatchLogGroupName=Ref(output), CloudWatchOutputEnabled=True),
                    )
                ),
            )
        )
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "patching": {
        "$ref": "#/$defs/patching",
        "description": "Patch Manager for the environment's instances (tagged `Patch Group: <system>-<env>`): a baseline, "
        "and a maintenance window or automatic daily installs.",
    }
}
DEFS: dict[str, Any] = {
    "patching": {
        "description": "How the environment's instances are patched.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "os": {
                "description": "The instances' operating system, which the patch baseline is for.",
                "enum": sorted(OPERATING_SYSTEMS),
                "default": "amazon-linux-2023",
            },
            "window": {
                "description": "When patches are installed, UTC, ddd:hh:mm-ddd:hh:mm, whole hours (1 to 24). Without it "
                "patches are installed daily at any time (refused in a protected environment).",
                "type": "string",
                "pattern": WEEKLY_WINDOW,
                "examples": ["sun:02:00-sun:04:00"],
            },
            "weeks": {
                "description": "The weeks of the month (1 to 5) in which the window opens; without it, every week. "
                "[1, 3] opens it on the first and third occurrence of its day, about every two weeks.",
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": 5},
                "minItems": 1,
                "uniqueItems": True,
                "examples": [[1, 3]],
            },
            "approve_after_days": {
                "description": "Days after its release a patch is approved.",
                "type": "integer",
                "minimum": 0,
                "maximum": 360,
                "default": 7,
            },
            "classifications": {
                "description": "Patch classifications approved.",
                "type": "array",
                "items": {"enum": CLASSIFICATIONS},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["Security", "Bugfix"],
            },
            "severities": {
                "description": "Patch severities approved.",
                "type": "array",
                "items": {"enum": SEVERITIES},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["Critical", "Important"],
            },
            "reboot": {"description": "Reboot an instance when a patch needs it.", "type": "boolean", "default": True},
            "concurrency": {
                "description": "How many instances are patched at once: a number or a percentage.",
                "type": "string",
                "pattern": "^([1-9][0-9]{0,3}|[1-9][0-9]?%|100%)$",
                "default": "25%",
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "patching": {"description": "Changes to patching in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "patching", PROPERTIES, DEFS, OVERLAY, check=check, check_environment=environment_problems, build=build, stack=STACK, site=True
)
