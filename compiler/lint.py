"""Lint templates in-process with cfn-lint, each for its own region.

Results are cached by template bytes, region and both tools' versions, so an
unchanged template is not linted twice: the cache holds cfn-lint's own
findings and cannot go stale, because any change to its key is a miss.

cfn-lint's rules are built once per process and reused for every template.
``cfnlint.api.lint`` builds a new ``Runner`` per call, which re-executes some
400 rule modules and re-parses ~9 MB of rule schemas (about 0.5 s, and more in
lost per-rule state): that was half the lint time of the bundled templates.
The rules do not depend on the region (only ``append_rules``/``custom_rules``,
left at their defaults, choose them); which rules *run* (W and E, no
experimental) is decided per template from the region's config, as before.
The rules are built in the parent before the worker processes fork, so the
workers inherit them; with another start method each worker builds its own.
cfn-lint itself runs without its bookkeeping waste (lint_speedups.py).

A compile starts a ``Prepared`` process first (``prepare``): it imports
cfn-lint and builds the rules while the compile loads, validates and builds,
then lints the batch with its own workers. It only ever saves time: if it
cannot start or dies, the compile lints in its own process.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from . import __version__
from .errors import Diagnostic

SEVERITY = {"error": "error", "warning": "warning", "informational": "info"}
FORMAT = "2"  # of cached findings: part of the cache key, so a new format is a miss
SHORT = 200  # characters of cfn-lint's message in the one-line form; the rest is in ``detail``


@cache
def _config(region: str) -> Any:
    """cfn-lint's configuration for one region: what ``cfnlint.api.lint(config=ManualArgs(regions=[region]))`` builds."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn

    return ConfigMixIn(**ManualArgs(regions=[region]))


_dedicated = False  # set in the prepared process, which only lints: cfn-lint may import sympy light there


@cache
def _rules() -> Any:
    """cfn-lint's rules, built once per process (the region of the config does not choose them)."""
    from . import lint_speedups

    lint_speedups.install(dedicated=_dedicated)  # before cfn-lint is imported
    from cfnlint.runner import Runner

    rules = Runner(_config("us-east-1")).rules
    lint_speedups.tune(rules)
    return rules


def cfn_lint_matches(body: str, region: str) -> list[Any]:
    """cfn-lint's matches for one template: ``cfnlint.api.lint``'s steps, with the rules built once."""
    rules = _rules()  # first: it imports cfn-lint
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner.template import run_template_by_data

    template, errors = decode_str(body)
    if errors:
        return list(errors)
    if template is None:
        return []
    return list(run_template_by_data(template, _config(region), rules))


def lint(body: str, region: str, location: str) -> list[Diagnostic]:
    """cfn-lint's findings for one template, as diagnostics naming stack, resource and rule."""
    return to_diagnostics(cfn_lint_matches(body, region), location)


def to_diagnostics(matches: list[Any], location: str) -> list[Diagnostic]:
    """cfn-lint's matches as diagnostics naming stack, resource and rule."""
    findings = []
    for match in matches:
        path = [str(step) for step in (getattr(match, "path", None) or [])]  # a decode error has none
        resource = path[1] if len(path) > 1 and path[0] in ("Resources", "Outputs") else None
        if resource and path[0] == "Outputs":
            resource = f"Outputs/{resource}"
        where = "/".join(path)
        text = " ".join(str(match.message).split())
        short = text if len(text) <= SHORT else text[: SHORT - 1] + "…"
        findings.append(
            Diagnostic(
                f"{match.rule.id}" + (f" resource {path[1]}" if resource else "") + f": {short}",
                severity=SEVERITY.get(match.rule.severity.lower(), "warning"),
                code=f"cfn-lint/{match.rule.id}",
                location=location,
                resource=resource,
                detail=f"{text} (at {where})" if where else text,
            )
        )
    return findings


@cache
def cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")


def cache_dir() -> Path | None:
    """Where lint results are kept: $IVC_CACHE_DIR, else ~/.cache/ivc; IVC_CACHE_DIR=off disables it."""
    configured = os.environ.get("IVC_CACHE_DIR")
    if configured == "off":
        return None
    base = Path(configured) if configured else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ivc"
    return base / "lint"


def _key(body: str, region: str) -> str:
    import hashlib

    return hashlib.sha256(f"{__version__}\0{FORMAT}\0{cfn_lint_version()}\0{region}\0{body}".encode()).hexdigest()


def _lint_job(job: tuple[str, str, str]) -> list[Diagnostic]:
    return lint(*job)


def lint_all(
    jobs: list[tuple[str, str, str]], done: Callable[[int, int], None] | None = None, ready: Prepared | None = None
) -> list[list[Diagnostic]]:
    """Lint (body, region, location) jobs, from the cache where possible, the rest in parallel over the cores.

    With ``ready`` (see ``prepare``), the rest is linted by the process it got ready.
    """
    import json

    folder = cache_dir()
    results: list[list[Diagnostic] | None] = [None] * len(jobs)
    for index, (body, region, location) in enumerate(jobs):
        if folder is not None:
            try:
                cached = json.loads((folder / f"{_key(body, region)}.json").read_text(encoding="utf-8"))
                results[index] = [Diagnostic(**{**item, "location": location}) for item in cached]
            except (OSError, ValueError, TypeError):
                pass
    todo = [index for index, result in enumerate(results) if result is None]
    if todo:
        fresh = (ready.lint_fresh if ready else lint_fresh)([jobs[index] for index in todo], done)
        for index, found in zip(todo, fresh, strict=True):
            results[index] = found
            if folder is not None:
                _store(folder / f"{_key(jobs[index][0], jobs[index][1])}.json", found)
    return [result or [] for result in results]


def lint_fresh(jobs: list[tuple[str, str, str]], done: Callable[[int, int], None] | None = None) -> list[list[Diagnostic]]:
    """Lint every job with cfn-lint, in parallel over the cores; results in job order."""
    from concurrent.futures import ProcessPoolExecutor

    # largest first, so that the longest templates do not start last and leave a core idle at the end
    order = sorted(range(len(jobs)), key=lambda i: -len(jobs[i][0]))
    workers = min(os.cpu_count() or 1, len(jobs))
    context = _pool_context()
    if workers <= 1 or context.get_start_method() == "fork":
        _rules()  # here, so that forked workers start with the rules (and cfn-lint imported)
    found: list[list[Diagnostic]] = [[] for _ in jobs]
    if workers <= 1:
        for count, index in enumerate(order, start=1):
            found[index] = _lint_job(jobs[index])
            if done:
                done(count, len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for count, (index, diagnostics) in enumerate(zip(order, pool.map(_lint_job, [jobs[i] for i in order]), strict=True), start=1):
                found[index] = diagnostics
                if done:
                    done(count, len(jobs))
    return found


_prepared_here = False


def prepare() -> Prepared | None:
    """Start getting cfn-lint ready in another process, while this one loads, validates and builds.

    Importing cfn-lint and building its rules takes about half a second, longer than everything before linting
    does for a spec like Social Flow; in a forked process the two overlap. Once per process: a process that
    compiles again (a test run, a library user) builds the rules itself the next time and keeps them. None
    where processes do not fork.
    """
    global _prepared_here
    if _prepared_here or _pool_context().get_start_method() != "fork" or _rules.cache_info().currsize:
        return None
    _prepared_here = True
    try:
        return Prepared()
    except OSError:  # no process to spare (a process limit, no memory): lint here, only slower
        return None


class Prepared:
    """A forked process that imports cfn-lint and builds its rules at once, then lints what it is sent.

    It forks its own workers, which inherit the rules; they form a process group of their own, which ``close``
    ends whole. If the process is gone before or while it works (killed, out of memory), the work is done here
    instead: it only ever saves time. If this process dies first, the prepared one reads the end of its pipe
    and ends too.
    """

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs, self._connection), name="ivc-lint")
        self._process.start()
        self._pid: int = self._process.pid or 0
        with contextlib.suppress(OSError):  # its own group (it sets it too: whichever runs first)
            os.setpgid(self._pid, self._pid)
        theirs.close()
        atexit.register(self.close)  # before multiprocessing's own exit handler would wait for it forever

    def lint_fresh(self, jobs: list[tuple[str, str, str]], done: Callable[[int, int], None] | None = None) -> list[list[Diagnostic]]:
        from multiprocessing.connection import wait

        try:
            self._connection.send(jobs)
            while True:
                # Its workers hold its end of the pipe (and its sentinel) too: its death shows only by asking.
                if not wait([self._connection], timeout=0.25):
                    if self._process.is_alive():
                        continue
                    break
                kind, *rest = self._connection.recv()
                if kind == "progress" and done:
                    done(*rest)
                elif kind == "done":
                    found: list[list[Diagnostic]] = rest[0]
                    return found
                elif kind == "failed":
                    break
        except (EOFError, OSError):
            pass
        self.close()
        return lint_fresh(jobs, done)

    def close(self) -> None:
        """Stop the process and its workers, finished or not (unused, it is only getting ready)."""
        import signal

        with contextlib.suppress(OSError):
            os.killpg(self._pid, signal.SIGKILL)
        if self._process.is_alive():
            self._process.kill()
        self._process.join()
        self._connection.close()
        atexit.unregister(self.close)


def _serve(connection: Any, parents: Any) -> None:
    """The prepared process: get ready, lint one batch of jobs, report; Ctrl-C is the parent's to handle."""
    import signal

    global _dedicated
    parents.close()  # so that the parent's death is the end of this pipe
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _dedicated = True
    try:
        _rules()
        import gc

        # The rules live as long as this process (one compile): no collection need traverse them, nor copy them into
        # the workers it forks. What building them left unreachable is freed when the process ends.
        gc.freeze()
        jobs = connection.recv()
        found = lint_fresh(jobs, lambda count, total: connection.send(("progress", count, total)))
        connection.send(("done", found))
    except EOFError:
        pass  # the parent needed nothing
    except Exception:  # the parent lints instead, and reports what that finds
        with contextlib.suppress(OSError):
            connection.send(("failed",))


def _pool_context() -> Any:
    """Fork on Linux (also on Python 3.14+, whose default is forkserver), so that workers inherit the rules.

    Elsewhere the platform's default (spawn on macOS and Windows, where fork is unsafe): each worker then
    imports cfn-lint and builds its own rules once, on its first template.
    """
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


def _store(path: Path, findings: list[Diagnostic]) -> None:
    import json
    from dataclasses import asdict

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps([asdict(d) | {"location": None} for d in findings]), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time
