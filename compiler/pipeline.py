"""The compile pipeline: load -> validate -> build -> assemble -> lint -> emit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import emit
from .errors import Diagnostic, SpecError
from .lint import lint
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


def compile_specs(paths: list[Path], out: Path, env: str | None = None, region: str | None = None,
                  check: bool = False, strict: bool = False) -> Report:
    """Compile specs into ``out``; with ``check``, only report how ``out`` differs."""
    report = Report()
    matched_region = region is None
    for path in discover(paths):
        report.specs += 1
        try:
            environments = load_and_validate(path, env)
            built = [(environment, assemble(environment)) for environment in environments]
        except SpecError as exc:
            report.diagnostics.extend(exc.diagnostics)
            continue
        for environment, stacks in built:
            selected = [s for s in stacks if region is None or s.region == region]
            matched_region = matched_region or bool(selected)
            folder = out / environment.system / environment.name
            findings = _lint(selected, folder)
            report.diagnostics.extend(findings)
            report.environments += 1
            report.stacks += len(selected)
            report.resources += sum(s.resource_count for s in selected)
            if any(d.severity == "error" or (strict and d.severity == "warning") for d in findings):
                continue  # nothing with an error is written as good
            _emit(environment, stacks, selected, folder, region, check, report)
        if env is None and region is None and environments:
            _prune_environments(out / environments[0].system, {e.name for e in environments}, check, report)
    if not matched_region:
        raise UsageError(f"no spec declares region {region}")
    return report


def _lint(stacks: list[Stack], folder: Path) -> list[Diagnostic]:
    findings = []
    for stack in stacks:
        findings.extend(lint(stack.body, stack.region, str(folder / stack.file)))
    return findings


def _emit(environment: Environment, stacks: list[Stack], selected: list[Stack], folder: Path,
          region: str | None, check: bool, report: Report) -> None:
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
    stale = [p for child in sorted(system_folder.iterdir()) if child.is_dir() and child.name not in names
             for p in emit.owned_files(child)]
    _record([], stale, check, report)
    if not check:
        emit.apply({}, stale, system_folder.parent)


def _record(written: list[Path], removed: list[Path], check: bool, report: Report) -> None:
    for path in written:
        report.actions.append(("stale" if check and path.exists() else "missing" if check else "wrote", path))
    for path in removed:
        report.actions.append(("extra" if check else "removed", path))
