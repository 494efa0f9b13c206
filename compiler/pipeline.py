"""The compile pipeline: load -> validate -> build -> assemble -> lint -> emit."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import emit, freshness, lint
from .discovery import UsageError, discover
from .errors import Diagnostic, SpecError
from .loader import find
from .stacks import Stack, assemble
from .validate import Environment, load_and_validate


@dataclass
class Report:
    """What a command found and did."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    actions: list[tuple[str, Path]] = field(default_factory=list)  # (wrote|removed|stale|missing|extra, path)
    specs: int = 0
    environments: int = 0
    stacks: int = 0
    resources: int = 0

    def failed(self, strict: bool = False) -> bool:
        bad = {"error", "warning"} if strict else {"error"}
        return any(d.severity in bad for d in self.diagnostics)


def one_environment(path: Path, env: str | None) -> Environment:
    """The one environment a command acts on: ``path`` must hold one spec, and ``env`` pick one of its environments."""
    specs = discover([path])
    if len(specs) != 1:
        raise UsageError(f"{path} holds {len(specs)} specs; name one")
    environments = load_and_validate(specs[0], env)
    if len(environments) != 1:
        raise UsageError(f"{path} has environments {', '.join(e.name for e in environments)}: choose one with --env")
    return environments[0]


def _refuse_out_among_specs(paths: list[Path], out: Path) -> None:
    """Compiling into a folder of specs would mix generated files with sources, and pruning could reach them."""
    target = out.resolve()
    for folder in [p for p in paths or [Path("specs")] if p.is_dir()]:
        if target == folder.resolve() or folder.resolve() in target.parents:
            raise UsageError(f"--out {out} is inside {folder}, where specs live; write outputs elsewhere (the default is output)")


def _same_system(environments: list[Environment], seen: dict[str, Environment]) -> Diagnostic | None:
    """Two specs naming the same system would write over each other's output."""
    if not environments:
        return None
    first = environments[0]
    other = seen.setdefault(first.system, first)
    if other is first:
        return None
    return Diagnostic(
        f"system '{first.system}' is also declared by {other.source.display}; each spec needs its own system name",
        first.mark(("system",)),
        code="semantic",
    )


def validate(paths: list[Path], env: str | None = None) -> Report:
    """Load and validate specs, collecting every problem."""
    report = Report()
    systems: dict[str, Environment] = {}
    for path in discover(paths):
        report.specs += 1
        try:
            environments = load_and_validate(path, env)
        except SpecError as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        report.environments += len(environments)
        clash = _same_system(environments, systems)
        if clash:
            report.diagnostics.append(clash)
        for environment in environments:
            # Building is pure and fast: what only the assembled stacks show (overrides, quotas, imports) is found here too.
            try:
                assemble(environment)
            except SpecError as exc:
                report.diagnostics.extend(exc.diagnostics)
    return report


def compile_specs(
    paths: list[Path],
    out: Path,
    env: str | None = None,
    region: str | None = None,
    check: bool = False,
    strict: bool = False,
    progress: Callable[[str, bool], None] | None = None,
    ready: lint.Prepared | None = None,
) -> Report:
    """Compile specs into ``out``; with ``check``, only report how ``out`` differs.

    ``progress(line, final)`` hears how far it got: passing lines while linting, then one final line per
    environment. ``ready`` is cfn-lint getting ready in another process (``lint.prepare``), started as early as
    the caller could; without it, one is started here.
    """
    ready = ready or lint.prepare()  # cfn-lint gets ready in another process while this one builds
    try:
        return _compile(paths, out, env, region, check, strict, progress, ready)
    finally:
        if ready:
            ready.close()


def _compile(
    paths: list[Path],
    out: Path,
    env: str | None,
    region: str | None,
    check: bool,
    strict: bool,
    progress: Callable[[str, bool], None] | None,
    ready: lint.Prepared | None,
) -> Report:
    said: list[str] = []

    def say(line: str, final: bool) -> None:
        if final:
            said.append(line)
        if progress:
            progress(line, final)

    report = Report()
    specs = discover(paths)
    _refuse_out_among_specs(paths, out)
    systems: list[tuple[str, list[tuple[Environment, list[Stack], list[Stack]]]]] = []
    seen: dict[str, Environment] = {}
    for path in specs:
        report.specs += 1
        try:
            environments = load_and_validate(path, env)
            built = [
                (e, stacks, [s for s in stacks if region is None or s.region == region]) for e in environments for stacks in [assemble(e)]
            ]
        except SpecError as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        clash = _same_system(environments, seen)
        if clash:
            report.diagnostics.append(clash)
            continue
        if environments:
            systems.append((environments[0].system, built))
    if region is not None and not any(selected for _, built in systems for _, _, selected in built):
        raise UsageError(f"no spec declares region {region}")
    jobs = [(s.body, s.region, str(out / e.system / e.name / s.file)) for _, built in systems for e, _, selected in built for s in selected]
    linted = lint.lint_all(jobs, lambda count, total: say(f"linting templates: {count}/{total}", False), ready)
    findings = dict(zip([location for _, _, location in jobs], linted, strict=True))
    for system, built in systems:
        for environment, stacks, selected in built:
            folder = out / environment.system / environment.name
            found = [_at_spec(d, s, environment, folder) for s in selected for d in findings[str(folder / s.file)]]
            found += _moved(environment, selected, folder)
            report.diagnostics.extend(found)
            report.environments += 1
            report.stacks += len(selected)
            report.resources += sum(s.resource_count for s in selected)
            failing = [d for d in found if d.severity == "error" or (strict and d.severity == "warning")]
            failed = bool(failing)
            reason = "lint found problems" if any(d.code != "moved" for d in failing) else "resources move between stacks"
            summary = (
                f"{environment.system}/{environment.name}: {len(selected)} template(s), {sum(s.resource_count for s in selected)} resources"
            )
            say(f"{summary}, not written: {reason}" if failed else summary, True)
            if failed:
                continue  # nothing with an error is written as good
            _emit(environment, stacks, selected, folder, region, check, report)
        if env is None and region is None:
            _prune_environments(out / system, {e.name for e, _, _ in built}, check, report)
    if not report.diagnostics and not (check and report.actions):
        # A clean compile: the next one with nothing changed is answered from this stamp (freshness.py).
        sources = {str(Path(path).resolve()): sha for _, built in systems for e, _, _ in built for path, sha in e.source.sources}
        clean = freshness.Fresh(said, report.specs, report.environments, report.stacks, report.resources)
        freshness.record(paths, out, env, region, sources, [out / system for system, _ in systems], clean)
    return report


def _moved(environment: Environment, stacks: list[Stack], folder: Path) -> list[Diagnostic]:
    """A warning for each resource that this compile puts in another stack of its region than the output folder has.

    CloudFormation cannot move a resource between stacks: the old stack's update deletes it (or leaves it behind,
    retained) and the new one creates it again. A layer split into parts (split.py) can move items when the spec
    grows or shrinks; a builder change can too.
    """
    before = emit.placed(folder)
    moved = []
    for stack in stacks:
        for logical in stack.template.get("Resources", {}):
            old = before.get((stack.region, logical))
            if old is None or old == stack.name:
                continue
            node = find(environment.tree, stack.origins.get(logical, ()))
            moved.append(
                Diagnostic(
                    f"{logical} moves from stack {stack.region}/{old} to {stack.region}/{stack.name}: CloudFormation deletes it "
                    f"from the one (or leaves it behind, retained) and creates it anew in the other, without its data; "
                    "`ivc diff` shows both, and `ivc deploy` refuses it for a stateful resource without --allow-replace",
                    node.key_mark or node.mark,
                    severity="warning",
                    code="moved",
                    resource=logical,
                )
            )
    return moved


def _at_spec(finding: Diagnostic, stack: Stack, environment: Environment, folder: Path) -> Diagnostic:
    """A cfn-lint finding about a resource, told at the spec line that made the resource."""
    if finding.resource is None:
        return finding
    path = stack.origins.get(finding.resource, ())
    node = find(environment.tree, path)
    rule = finding.code.split("/", 1)[-1]
    message = finding.message.split(": ", 1)[-1]
    return dataclasses.replace(
        finding,
        message=f"{message} (template {folder / stack.file}, {finding.resource}, rule {rule})",
        mark=node.key_mark or node.mark,
    )


def _emit(
    environment: Environment, stacks: list[Stack], selected: list[Stack], folder: Path, region: str | None, check: bool, report: Report
) -> None:
    files = emit.environment_files(environment, stacks)
    if region is not None:
        keep = {s.file for s in selected} | {emit.MANIFEST}
        files = {name: body for name, body in files.items() if name in keep}
        owned = [p for p in emit.owned_files(folder) if p == folder / emit.MANIFEST or folder / region in p.parents]
    else:
        owned = emit.owned_files(folder)
    changes = emit.plan(folder, files, owned)
    _record(changes.written, changes.removed, check, report)
    if not check:
        _write(report, {path: files[path.relative_to(folder).as_posix()] for path in changes.written}, changes.removed, folder.parent)


def _write(report: Report, files: dict[Path, str], removed: list[Path], root: Path) -> None:
    """Apply changes to the output folder; a file-system problem is one located error, not a crash."""
    try:
        emit.apply(files, removed, root)
    except OSError as exc:
        where = exc.filename or root
        reason = exc.strerror or str(exc)
        report.diagnostics.append(
            Diagnostic(
                f"cannot write the output: {reason}; check that {where} is a writable folder with free space",
                location=str(where),
                code="io",
            )
        )


def _prune_environments(system_folder: Path, names: set[str], check: bool, report: Report) -> None:
    """Remove the files of environments the spec no longer has: only those their own manifest lists."""
    stale = [p for child in emit.environment_folders(system_folder) if child.name not in names for p in emit.owned_files(child)]
    _record([], stale, check, report)
    if not check:
        _write(report, {}, stale, system_folder.parent)


def _record(written: list[Path], removed: list[Path], check: bool, report: Report) -> None:
    for path in written:
        report.actions.append(("stale" if check and path.exists() else "missing" if check else "wrote", path))
    for path in removed:
        report.actions.append(("extra" if check else "removed", path))
