"""The command line stays quick to start and honest about its exit codes."""

from __future__ import annotations

import subprocess
import sys

from compiler import __version__
from conftest import ROOT, ivc

HEAVY = ("troposphere", "awacs", "cfnlint", "jsonschema", "yaml", "boto3")


def test_help_imports_no_heavy_library() -> None:
    # `ivc --help` must answer at once: the compiler's heavy libraries load only in the commands that use them.
    code = (
        "import sys; from cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_compile_starts_getting_cfn_lint_ready_before_it_imports_a_heavy_library() -> None:
    # The prepared process (compiler/lint.py) imports cfn-lint while this one imports and builds: the earlier it
    # forks, the less of the compile waits for it.
    code = (
        "import sys; from compiler import lint; from cli import main\n"
        "def prepare():\n"
        f"    print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
        "    raise SystemExit(0)\n"
        "lint.prepare = prepare\n"
        "main(['compile', 'specs/socialflow', '--env', 'prod'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_help_lists_commands() -> None:
    result = ivc("--help")
    assert result.exit_code == 0
    for command in ("compile", "validate", "schema"):
        assert command in result.stdout


def test_version() -> None:
    assert ivc("--version").stdout == f"ivc, version {__version__}\n"


def test_every_compiler_package_is_installed_by_setup_cfg() -> None:
    import configparser

    from conftest import ROOT

    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    listed = {name.strip() for name in config["options"]["packages"].split(",")}
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "compiler").rglob("__init__.py")}
    assert found <= listed, f"setup.cfg [options] packages misses {sorted(found - listed)}: wheels would leave them out"
