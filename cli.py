"""ivc's command line: parse options, call the compiler, print. Heavy imports wait for the command that needs them."""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from compiler import __version__

FORMATS = click.Choice(["text", "json", "sarif"])
SPEC_PATHS = click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
ENV = click.option("--env", "-e", "env", metavar="ENV", help="Only this environment.")
FORMAT = click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="text",
    show_default=True,
    help="How to print problems: text on stderr, or json / sarif on stdout for CI annotations.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show a traceback when something unexpected fails.")
@click.version_option(__version__, prog_name="ivc")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Compile concise YAML environment specs into linted AWS CloudFormation.

    PATHS are spec files, spec folders, or folders of spec folders (default: specs).
    Exit status: 0 success, 1 problems found, 2 usage error.
    """
    ctx.obj = {"debug": debug}


def _run(ctx: click.Context, work: Callable[[], int]) -> NoReturn:
    """Run a command, turning known failures into messages and exit codes."""
    from compiler.discovery import UsageError
    from compiler.errors import DeployError, SpecError
    from compiler.report import text

    try:
        code = work()
    except DeployError as exc:
        click.echo(f"ivc: error: {exc}", err=True)
        code = 1
    except SpecError as exc:
        click.echo(text(exc.diagnostics), err=True, nl=False)
        code = 1
    except UsageError as exc:
        click.echo(f"ivc: error: {exc}", err=True)
        code = 2
    except BrokenPipeError:
        _quiet_stdout()  # the reader (`| head`) has gone: nothing more to say, and nothing to report
        code = 1
    except Exception as exc:
        if ctx.obj["debug"]:
            raise
        click.echo(f"ivc: internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", err=True)
        code = 1
    if _own_process:
        # The interpreter ends here: its last garbage collection, over everything a compile built, took 0.1 s.
        gc.freeze()
    sys.exit(code)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _show(report: Any, fmt: str, strict: bool = False) -> bool:
    """Print a report's problems and actions; True when it failed."""
    from compiler import report as render

    failed: bool = report.failed(strict)
    actions = [(action, str(path)) for action, path in report.actions]
    if fmt == "json":
        click.echo(render.as_json(report.diagnostics, actions, not failed), nl=False)
    elif fmt == "sarif":
        click.echo(render.as_sarif(report.diagnostics), nl=False)
    else:
        debug = bool(click.get_current_context().find_root().obj.get("debug"))
        click.echo(render.text(report.diagnostics, detail=debug), err=True, nl=False)
    if fmt != "json":
        for action, path in actions:
            click.echo(f"{action} {path}")
    return failed


@main.command()
@SPEC_PATHS
@ENV
@FORMAT
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], env: str | None, fmt: str) -> None:
    """Check specs against the schema and cross-field rules; report every problem at file:line:col."""

    def work() -> int:
        from compiler.pipeline import validate as run

        report = run(list(paths), env)
        failed = _show(report, fmt)
        if not failed:
            click.echo(f"ivc: {report.specs} spec(s) valid, {report.environments} environment(s)", err=True)
        return 1 if failed else 0

    _run(ctx, work)


@main.command(name="compile")
@SPEC_PATHS
@ENV
@click.option("--region", "-r", metavar="REGION", help="Only templates for this region (the manifest stays complete).")
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("output"),
    show_default=True,
    help="Output folder: <out>/<system>/<env>/<region>/<stack>.json and <out>/<system>/<env>/manifest.json.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 listing files that are stale, missing or extra.")
@click.option("--strict", is_flag=True, help="Treat cfn-lint warnings as errors.")
@FORMAT
@click.pass_context
def compile_command(
    ctx: click.Context, paths: tuple[Path, ...], env: str | None, region: str | None, out: Path, check: bool, strict: bool, fmt: str
) -> None:
    """Compile specs into CloudFormation templates, linted with cfn-lint for their regions."""

    def work() -> int:
        from compiler import lint

        started = time.perf_counter()
        ready = lint.prepare()  # first: cfn-lint gets ready while the stamp is read and the spec built
        from compiler import freshness

        fresh = freshness.lookup(list(paths), out, env, region)
        if fresh is not None:
            if ready:
                ready.close()
            return _unchanged(fresh, fmt, started)
        from compiler.pipeline import compile_specs

        def progress(line: str, final: bool) -> None:
            if final:
                _say(f"ivc: {line}")
            else:
                _tick(f"ivc: {line}")

        report = compile_specs(list(paths), out, env=env, region=region, check=check, strict=strict, progress=progress, ready=ready)
        failed = _show(report, fmt, strict)
        drift = check and bool(report.actions)
        seconds = time.perf_counter() - started
        counts = (
            f"{report.specs} spec(s), {report.environments} environment(s), {report.stacks} template(s), "
            f"{report.resources} resources in {seconds:.1f}s"
        )
        problems = sum(d.severity == "error" or (strict and d.severity == "warning") for d in report.diagnostics)
        if failed:
            summary = f"ivc: compile FAILED with {problems} problem(s); nothing with a problem was written ({counts})"
        else:
            summary = f"ivc: {counts}"
        if drift:
            summary += f"; {len(report.actions)} file(s) out of date: run `ivc compile` and commit {out}"
        click.echo(summary, err=True)
        return 1 if failed or drift else 0

    _run(ctx, work)


def _unchanged(fresh: Any, fmt: str, started: float) -> int:
    """What a compile says when nothing it read or wrote changed since the last clean one (compiler/freshness.py)."""
    if fmt == "json":
        from compiler import report as render

        click.echo(render.as_json([], [], True), nl=False)
    elif fmt == "sarif":
        from compiler import report as render

        click.echo(render.as_sarif([]), nl=False)
    for line in fresh.environments:
        _say(f"ivc: {line}")
    seconds = time.perf_counter() - started
    click.echo(
        f"ivc: {fresh.specs} spec(s), {fresh.environment_count} environment(s), {fresh.stacks} template(s), {fresh.resources} "
        f"resources in {seconds:.1f}s; up to date: nothing changed since the last clean compile",
        err=True,
    )
    return 0


SPEC = click.argument("spec", type=click.Path(path_type=Path))
STACK = click.option(
    "--stack",
    "-s",
    metavar="STACK",
    help="Only this stack (network, security, data, app, edge, monitoring); a layer split into parts "
    "(data, data-2, ...) is chosen whole by its name, one part by the part's.",
)
REGION = click.option("--region", "-r", metavar="REGION", help="Only stacks in this region.")
OUT = click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("output"),
    show_default=True,
    help="Where the compiled templates are (what `ivc compile` wrote).",
)


def deploy_target(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options every AWS-facing command shares: which spec, environment, stacks and compiled output."""
    target_env = click.option("--env", "-e", "env", metavar="ENV", help="The environment to act on (needed when the spec has several).")
    for option in reversed((SPEC, target_env, STACK, REGION, OUT)):
        command = option(command)
    return command


RELEASE_SET = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=VALUE",
    help="Release: deploy VALUE (an image tag, or a function's S3 code key) for service or function NAME "
    "(web, services.web, functions.api) instead of the spec's value, without recompiling. Repeatable; kept by later deploys.",
)
RELEASE_RESET = click.option(
    "--reset",
    "resets",
    multiple=True,
    metavar="NAME",
    help="Deploy the spec's own value again for service or function NAME, dropping an earlier --set. Repeatable.",
)


def _live() -> bool:
    """A live status line only on a terminal; CI logs get plain lines."""
    import os

    return sys.stderr.isatty() and not os.environ.get("CI")


def _say(line: str) -> None:
    if _live():
        click.echo("\r\x1b[K", err=True, nl=False)  # clear the live status line first
    click.echo(line, err=True)


def _tick(line: str) -> None:
    if _live():
        click.echo(f"\r\x1b[K{line}", err=True, nl=False)


def _confirm(question: str) -> bool:
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:
        return False


def _table(rows: list[tuple[str, str, str, str, str]]) -> None:
    if not rows:
        return
    header = ("STACK SET", "ACCOUNT", "REGION", "STATUS", "REASON")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + str(row[4]))


def _finish(outcome: Any) -> int:
    """Print a deploy or destroy outcome's closing table on stdout; exit 1 when anything failed."""
    _table(outcome.rows)
    return 1 if outcome.failed else 0


@main.command()
@deploy_target
@click.option("--dry-run", is_flag=True, help="Print what would be created, updated or removed; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation (protected environments such as prod ask).")
@click.option("--allow-replace", is_flag=True, help="Go ahead even when a change replaces or deletes a stateful resource.")
@RELEASE_SET
@RELEASE_RESET
@click.pass_context
def deploy(
    ctx: click.Context,
    spec: Path,
    env: str | None,
    stack: str | None,
    region: str | None,
    out: Path,
    dry_run: bool,
    yes: bool,
    allow_replace: bool,
    sets: tuple[str, ...],
    resets: tuple[str, ...],
) -> None:
    """Deploy an environment's compiled stacks as CloudFormation StackSets, wave by wave."""

    def work() -> int:
        from compiler import deploy as stacksets

        outcome = stacksets.deploy(
            spec,
            env,
            out,
            _say,
            (lambda _: True) if yes else _confirm,
            show=click.echo,
            stack=stack,
            region=region,
            dry_run=dry_run,
            allow_replace=allow_replace,
            tick=_tick,
            sets=sets,
            resets=resets,
        )
        if outcome.failed:
            _say(f"ivc: {len(outcome.failed)} stack set(s) did not reach CURRENT: {', '.join(outcome.failed)}")
        return _finish(outcome)

    _run(ctx, work)


@main.command()
@deploy_target
@RELEASE_SET
@RELEASE_RESET
@click.pass_context
def diff(
    ctx: click.Context,
    spec: Path,
    env: str | None,
    stack: str | None,
    region: str | None,
    out: Path,
    sets: tuple[str, ...],
    resets: tuple[str, ...],
) -> None:
    """Show how output/ and any release differ from what is deployed; exit 1 when a stateful resource would be replaced or deleted."""

    def work() -> int:
        from compiler import deploy as stacksets

        return _finish(stacksets.diff(spec, env, out, _say, show=click.echo, stack=stack, region=region, sets=sets, resets=resets))

    _run(ctx, work)


@main.command()
@deploy_target
@click.option("--dry-run", is_flag=True, help="Print what would be removed; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask before destroying (every environment asks otherwise).")
@click.option("--include-stateful", is_flag=True, help="Also remove a protected environment's stateful stacks (retained data stays).")
@click.pass_context
def destroy(
    ctx: click.Context,
    spec: Path,
    env: str | None,
    stack: str | None,
    region: str | None,
    out: Path,
    dry_run: bool,
    yes: bool,
    include_stateful: bool,
) -> None:
    """Remove an environment's stack instances, then its stack sets, last wave first."""

    def work() -> int:
        from compiler import deploy as stacksets

        outcome = stacksets.destroy(
            spec,
            env,
            out,
            _say,
            (lambda _: True) if yes else _confirm,
            show=click.echo,
            stack=stack,
            region=region,
            include_stateful=include_stateful,
            dry_run=dry_run,
            tick=_tick,
        )
        return _finish(outcome)

    _run(ctx, work)


@main.command()
@SPEC
@click.option("--env", "-e", "env", metavar="ENV", help="The environment (needed when the spec has several).")
@click.pass_context
def runbook(ctx: click.Context, spec: Path, env: str | None) -> None:
    """Print an environment's recovery runbook (Markdown): the steps the spec cannot automate, with the real names."""

    def work() -> int:
        from compiler.pipeline import one_environment
        from compiler.runbook import runbook as write

        click.echo(write(one_environment(spec, env)), nl=False)
        return 0

    _run(ctx, work)


@main.command()
@click.option("--write", is_flag=True, help="Regenerate schemas/ivc.schema.json from the sections' pieces instead of printing it.")
def schema(write: bool) -> None:
    """Print the spec language's JSON Schema (draft 2020-12), assembled from the sections' pieces."""
    from compiler import schema as language

    if not write:
        click.echo(language.render(language.assemble()), nl=False)
        return
    changed = language.write()
    click.echo(f"{'wrote' if changed else 'unchanged'} {language.PUBLISHED}", err=True)


_own_process = False  # set by entry(): this interpreter runs ivc and ends with it (not so under a test runner)


def entry() -> None:
    """The ``ivc`` command: ``main`` in an interpreter of its own."""
    global _own_process
    _own_process = True
    main()


if __name__ == "__main__":
    entry()
