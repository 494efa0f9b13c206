"""The compile pipeline: load -> validate -> build -> assemble -> lint -> emit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import emit
from .errors import Diagnostic, SpecError
from .lint import lint_all
from .stacks import Stack, assemble
from .validate import Environment, load_and_validate

SPEC_FILE = "spec.yaml"


class UsageError(Exception):
    """The command line asked for something that does not exist (exit 2)."""


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


def discover(paths: list[Path]) -> list[Path]:
    """Spec files named by ``paths``: a file, a spec folder, or a folder of spec folders."""
    found: list[Path] = []
    for path in paths or [Path("specs")]:
        if path.is_file():
            found.append(path)
        elif (path / SPEC_FILE).is_file():
            found.append(path / SPEC_FILE)
        elif path.is_dir():
            inside = sorted(path.glob(f"*/{SPEC_FILE}"))
            if not inside:
                raise UsageError(f"{path}: no {SPEC_FILE} in it or in its subfolders")
            found.extend(inside)
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(dict.fromkeys(found))


def validate(paths: list[Path], env: str | None = None) -> Report:
    """Load and validate specs, collecting every problem."""
    report = Report()
    for path in discover(paths):
        report.specs += 1
        try:
            report.environments += len(load_and_validate(path, env))
        except SpecError as exc:
            report.diagnostics.extend(exc.diagnostics)
    return report


def compile_specs(
    paths: list[Path], out: Path, env: str | None = None, region: str | None = None, check: bool = False, strict: bool = False
) -> Report:
    """Compile specs into ``out``; with ``check``, only report how ``out`` differs."""
    report = Report()
    systems: list[tuple[str, list[tuple[Environment, list[Stack], list[Stack]]]]] = []
    for path in discover(paths):
        report.specs += 1
        try:
            environments = load_and_validate(path, env)
            built = [
                (e, stacks, [s for s in stacks if region is None or s.region == region]) for e in environments for stacks in [assemble(e)]
            ]
        except SpecError as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        if environments:
            systems.append((environments[0].system, built))
    if region is not None and not any(selected for _, built in systems for _, _, selected in built):
        raise UsageError(f"no spec declares region {region}")
    jobs = [(s.body, s.region, str(out / e.system / e.name / s.file)) for _, built in systems for e, _, selected in built for s in selected]
    findings = dict(zip([location for _, _, location in jobs], lint_all(jobs), strict=True))
    for system, built in systems:
        for environment, stacks, selected in built:
            folder = out / environment.system / environment.name
            found = [d for s in selected for d in findings[str(folder / s.file)]]
            report.diagnostics.extend(found)
            report.environments += 1
            report.stacks += len(selected)
            report.resources += sum(s.resource_count for s in selected)
            if any(d.severity == "error" or (strict and d.severity == "warning") for d in found):
                continue  # nothing with an error is written as good
            _emit(environment, stacks, selected, folder, region, check, report)
        if env is None and region is None:
            _prune_environments(out / system, {e.name for e, _, _ in built}, check, report)
    return report


def _emit(
    environment: Environment, stacks: list[Stack], selected: list[Stack], folder: Path, region: str | None, check: bool, report: Report
) -> None:
    files = emit.environment_files(environment, stacks)
    if region is not None:
        keep = {s.file for s in selected} | {emit.MANIFEST}
        files = {name: body for name, body in files.items() if name in keep}
        owned = emit.owned_files(folder / region) + [folder / emit.MANIFEST]
    else:
        owned = emit.owned_files(folder)
    changes = emit.plan(folder, files, owned)
    _record(changes.written, changes.removed, check, report)
    if not check:
        emit.apply({path: files[path.relative_to(folder).as_posix()] for path in changes.written}, changes.removed, folder.parent)


def _prune_environments(system_folder: Path, names: set[str], check: bool, report: Report) -> None:
    if not system_folder.is_dir():
        return
    stale = [p for child in sorted(system_folder.iterdir()) if child.is_dir() and child.name not in names for p in emit.owned_files(child)]
    _record([], stale, check, report)
    if not check:
        emit.apply({}, stale, system_folder.parent)


def _record(written: list[Path], removed: list[Path], check: bool, report: Report) -> None:
    for path in written:
        report.actions.append(("stale" if check and path.exists() else "missing" if check else "wrote", path))
    for path in removed:
        report.actions.append(("extra" if check else "removed", path))
