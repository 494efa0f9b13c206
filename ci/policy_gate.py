"""Policy gate: checkov, a policy suite nobody here wrote, over every template in output/, offline.

It fails (exit 1) when a prod or production template (output/<system>/prod*/... or .../production/...)
has a failed check that policy/checkov-exceptions.yaml does not list with a reason, or when an exception
matches nothing (a stale exception hides nothing and must go). Other environments' findings are shown,
never fatal. checkov runs from its own virtual environment (it pins old dependencies) with every download
and version check off: no API key, --skip-download, BC_SKIP_MAPPING, CKV_SKIP_PACKAGE_UPDATE_CHECK.

    .venv/bin/python ci/policy_gate.py --checkov .venv/checkov/bin/checkov [--output output] [--exceptions FILE]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OFFLINE_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "True", "CHECKOV_NO_OUTPUT": "False"}
MIN_REASON = 20  # characters: a reason a reviewer can check, not "n/a"


@dataclass(frozen=True)
class Finding:
    check: str
    resource: str  # AWS::Type.LogicalId, as checkov names it
    template: str  # relative to output/: <system>/<env>/<region>/<stack>.json
    name: str


@dataclass(frozen=True)
class Exception_:
    check: str
    resource: str
    templates: str  # a glob relative to output/
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.check == self.check and finding.resource == self.resource and fnmatch.fnmatchcase(finding.template, self.templates)


def is_prod(template: str) -> bool:
    """output/*/prod*/**.json and output/*/production/**.json."""
    parts = PurePosixPath(template).parts
    return len(parts) >= 3 and parts[1].startswith("prod") and parts[-1].endswith(".json")


def load_exceptions(path: Path) -> list[Exception_]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for index, entry in enumerate(data.get("exceptions") or []):
        missing = [key for key in ("check", "resource", "templates", "reason") if not entry.get(key)]
        if missing:
            raise ValueError(f"{path}: exception {index + 1} lacks {', '.join(missing)}")
        if len(str(entry["reason"]).strip()) < MIN_REASON:
            raise ValueError(f"{path}: exception {index + 1} ({entry['check']}) needs a reason a reviewer can check")
        unknown = set(entry) - {"check", "resource", "templates", "reason"}
        if unknown:
            raise ValueError(f"{path}: exception {index + 1} has unknown keys: {', '.join(sorted(unknown))}")
        found.append(Exception_(str(entry["check"]), str(entry["resource"]), str(entry["templates"]), str(entry["reason"]).strip()))
    return found


def findings(report: Any) -> list[Finding]:
    """Failed checks from checkov's JSON (one report or a list of them), paths relative to output/."""
    reports = report if isinstance(report, list) else [report]
    found = []
    for one in reports:
        for failed in one.get("results", {}).get("failed_checks", []):
            template = failed["file_path"].lstrip("/")
            found.append(Finding(failed["check_id"], failed["resource"], template, failed.get("check_name", "")))
    return sorted(set(found), key=lambda f: (f.template, f.resource, f.check))


def judge(found: list[Finding], exceptions: list[Exception_]) -> tuple[list[Finding], list[Finding], list[Exception_]]:
    """(unjustified prod failures, excepted prod failures, exceptions that matched nothing)."""
    unjustified, excepted, used = [], [], set()
    for finding in found:
        if not is_prod(finding.template):
            continue
        covering = [e for e in exceptions if e.covers(finding)]
        if covering:
            excepted.append(finding)
            used.update(covering)
        else:
            unjustified.append(finding)
    return unjustified, excepted, [e for e in exceptions if e not in used]


def run_checkov(checkov: str, output: Path) -> Any:
    command = [checkov, "--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "-o", "json", "-d", str(output)]
    env = {**os.environ, **OFFLINE_ENV}
    env.pop("BC_API_KEY", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=False)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise RuntimeError(f"checkov failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkov", default=str(ROOT / ".venv" / "checkov" / "bin" / "checkov"))
    parser.add_argument("--output", type=Path, default=ROOT / "output")
    parser.add_argument("--exceptions", type=Path, default=ROOT / "policy" / "checkov-exceptions.yaml")
    parser.add_argument("--report", type=Path, help="read checkov's JSON from this file instead of running it")
    args = parser.parse_args(argv)
    try:
        exceptions = load_exceptions(args.exceptions)
        report = json.loads(args.report.read_text(encoding="utf-8")) if args.report else run_checkov(args.checkov, args.output)
    except (OSError, ValueError, RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"policy gate: error: {error}", file=sys.stderr)
        return 2
    found = findings(report)
    unjustified, excepted, stale = judge(found, exceptions)
    others = [f for f in found if not is_prod(f.template)]
    for finding in others:  # shown for reviewers, never fatal: dev may skip a web ACL to save cost
        print(f"output/{finding.template}: warning: {finding.check} {finding.resource}: {finding.name}")
    for finding in unjustified:
        print(f"output/{finding.template}: error: {finding.check} {finding.resource}: {finding.name}")
    for exception in stale:
        print(
            f"{args.exceptions}: error: exception {exception.check} {exception.resource} ({exception.templates}) matches nothing; remove it"
        )
    print(
        f"policy gate: {len(unjustified)} unjustified failure(s) on prod templates, {len(excepted)} excepted, "
        f"{len(stale)} stale exception(s); {len(others)} failure(s) on other environments (not gated)"
    )
    return 1 if unjustified or stale else 0


if __name__ == "__main__":
    sys.exit(main())
