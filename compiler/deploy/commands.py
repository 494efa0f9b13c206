"""The deploy, diff and destroy commands, as cli.py calls them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DeployError
from .aws import client, explain
from .changes import KINDS
from .output import compiled
from .plan import Step, Target, located_failures, settings, targets, template_diff
from .releases import missing, requested
from .stacksets import StackSets
from .supplied import managed_prefix_list

if TYPE_CHECKING:
    from ..validate import Environment


@dataclass
class Outcome:
    """How a deploy, diff or destroy ended (its plan and findings went to ``show`` as they came); ``failed`` makes the exit code 1."""

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
    sets: Sequence[str] = (),
    resets: Sequence[str] = (),
) -> tuple[Environment, StackSets, list[Target], dict[str, str | None]]:
    from ..pipeline import one_environment

    environment = one_environment(path, env)
    stacks = compiled(environment, out)  # before any AWS call
    where = f"{environment.system} {environment.name}"
    wanted = requested(sets, resets, [s.template for s in stacks], where)  # so are the releases asked for
    narrowed = [s.template for s in stacks if stack in (None, s.name, s.layer) and region in (None, s.region)]
    missing(wanted, narrowed, f"the stack sets chosen by --stack {stack or '*'} --region {region or '*'}")
    try:
        resolved = settings(
            environment, lambda: str(client("sts", environment.spec["regions"]["primary"], say).get_caller_identity()["Account"])
        )
        engine = StackSets(
            client("cloudformation", resolved.admin_region, say),
            resolved,
            say,
            s3=client("s3", resolved.admin_region, say) if resolved.bucket else None,
            tick=tick,
            prefix_list=lambda where, name: managed_prefix_list(client("ec2", where, say), name, where),
        )
    except DeployError:
        raise
    except Exception as exc:
        raise explain(exc) from exc
    return environment, engine, targets(environment, stacks, resolved.accounts, stack, region), wanted


def _releases(step: Step) -> list[str]:
    """The plan's release lines of one stack set, and the parameters looked up for it that change."""
    lines = [line for release in step.releases if (line := release.line())]
    return lines + [line for value in step.supplied if (line := value.line(step.target.stackset, step.target.region))]


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
    *,
    show: Callable[[str], None],
    stack: str | None = None,
    region: str | None = None,
    dry_run: bool = False,
    allow_replace: bool = False,
    tick: Callable[[str], None] = lambda _: None,
    sets: Sequence[str] = (),
    resets: Sequence[str] = (),
) -> Outcome:
    """Deploy the environment; ``sets`` (``NAME=VALUE``) and ``resets`` (``NAME``) are releases (see releases)."""
    environment, engine, chosen, wanted = _session(path, env, out, stack, region, say, tick, sets, resets)

    def run() -> Outcome:
        outcome = Outcome()
        steps = engine.plan(chosen, wanted)
        for step in steps:
            where = f"{step.target.stackset} ({step.target.region})"
            detail = []
            if step.template_changed:
                detail.append("template")
            if step.releases_changed:
                detail.append("release")
            if step.supplied_changed:
                detail.append("parameters")
            detail += [f"+{a}" for a in step.add] + [f"-{a}" for a in step.remove]
            show(
                f"{step.action:<9} {where}"
                + (f": {' '.join(detail)}" if detail and step.exists else f": instances in {', '.join(step.add)}" if detail else "")
            )
            for line in _releases(step):
                show(f"  {line}")
            if step.deployed_anywhere:  # what changes in what is running, resource by resource (a create adds them all)
                for change in step.changes:
                    show(f"  {change.line()}")
            for risk in step.risks:
                show(f"  !! {risk}")
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
        for line in located_failures(environment, chosen, outcome.rows):
            say(line)
        return outcome

    return _guard(run)


def diff(
    path: Path,
    env: str | None,
    out: Path,
    say: Callable[[str], None],
    *,
    show: Callable[[str], None],
    stack: str | None = None,
    region: str | None = None,
    sets: Sequence[str] = (),
    resets: Sequence[str] = (),
) -> Outcome:
    _, engine, chosen, wanted = _session(path, env, out, stack, region, say, sets=sets, resets=resets)

    def run() -> Outcome:
        outcome = Outcome()
        for step in engine.plan(chosen, wanted):
            target = step.target
            text = template_diff(step.deployed, target.template, f"{target.stackset}.json") if step.deployed_anywhere else ""
            counts = Counter(change.kind for change in step.changes)
            if not step.deployed_anywhere:
                summary = f"not deployed; a deploy creates its {len(step.changes)} resource(s)"
            elif step.changes:
                summary = ", ".join(f"{counts[kind]} {kind}" for kind in KINDS if counts[kind])
            else:
                summary = "no resource changes" if text else "no template changes"
            released = sum(release.changed for release in step.releases) if step.exists else 0
            if released:
                summary += f"; {released} release{'s' if released > 1 else ''}"
            show(f"{target.stackset} ({target.region}): {summary}")
            for line in _releases(step):
                show(f"  {line}")
            for change in step.changes:
                show(f"  {change.line()}")
            for risk in step.risks:
                show(f"!! {target.stackset}: {risk}")
            if step.risks:
                outcome.failed.append(target.stackset)
            if text:
                show(text)
        return outcome

    return _guard(run)


def destroy(
    path: Path,
    env: str | None,
    out: Path,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
    *,
    show: Callable[[str], None],
    stack: str | None = None,
    region: str | None = None,
    include_stateful: bool = False,
    dry_run: bool = False,
    tick: Callable[[str], None] = lambda _: None,
) -> Outcome:
    environment, engine, chosen, _ = _session(path, env, out, stack, region, say, tick)

    def keep(target: Target) -> str | None:
        if target.stateful and engine.settings.protected and not include_stateful:
            return "stateful stack of a protected environment: add --include-stateful to remove it; retained data stays anyway"
        if target.deletion_protected:
            # CloudFormation would delete the services first and then fail on the load balancer, leaving a broken stack.
            return (
                "its load balancer has deletion protection (on by default in protected environments): set "
                "load_balancer.deletion_protection: false for this environment, compile and deploy, then destroy"
            )
        return None

    def run() -> Outcome:
        outcome = Outcome()
        present = [t for t in chosen if engine.describe(t.stackset) is not None]
        for target in sorted(present, key=lambda t: -t.wave):
            reason = keep(target)
            show(f"{'keep' if reason else 'destroy':<9} {target.stackset}" + (f": {reason}" if reason else ""))
        if not present:
            say(f"nothing of {environment.system} {environment.name} is deployed: nothing to destroy")
        if dry_run or not present:
            return outcome
        # Every environment asks (not only protected ones): nothing undoes a destroy.
        if not confirm(f"Destroy {environment.system} {environment.name}?"):
            raise DeployError(f"the destroy of {environment.name} was not confirmed (use --yes in pipelines)")
        outcome.failed = engine.destroy(present, keep)
        say("resources with a Retain or Snapshot deletion policy (databases, caches, buckets, keys, secrets) are kept")
        return outcome

    return _guard(run)
