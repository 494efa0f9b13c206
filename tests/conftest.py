"""Shared test helpers. `pytest --update-golden` rewrites tests/golden from the compiler's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", help="Rewrite tests/golden from the compiler's output.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(autouse=True, scope="session")
def _private_lint_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The tests start with an empty lint cache of their own, so cfn-lint really runs on what they compile.
    import os

    os.environ["IVC_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(autouse=True)
def _run_from_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    # Paths in messages and manifests are relative to the working directory, as for a user in the repo.
    monkeypatch.chdir(ROOT)


def ivc(*args: str) -> Result:
    """Run the CLI in-process, as a user would from the repository root."""
    from cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def props(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    """A resource's Properties in a template."""
    found: dict[str, Any] = template["Resources"][logical_id]["Properties"]
    return found


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """A template's resources of one CloudFormation type, by logical ID."""
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every good fixture and bundled spec compiled (and linted) once for the session."""
    from compiler.pipeline import compile_specs

    out = tmp_path_factory.mktemp("out")
    report = compile_specs([*sorted((FIXTURES / "good").glob("*.yaml")), ROOT / "specs"], out)
    assert not report.failed(strict=True), [d.render() for d in report.diagnostics]
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoServer:
    """moto's AWS API server on 127.0.0.1, started and stopped by the tests themselves.

    It runs through tests/moto_fixed_server.py: moto's own server with the one translation moto 5.2.5 lacks
    to build a tagged KMS key from a template (see that module).
    """

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: Any = None

    def start(self) -> None:
        import subprocess
        import sys
        import time
        import urllib.request

        server = Path(__file__).resolve().parent / "moto_fixed_server.py"
        self.process = subprocess.Popen(
            [sys.executable, str(server), "-H", "127.0.0.1", "-p", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto's server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def reset(self) -> None:
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=5).close()


@pytest.fixture(scope="session")
def moto_server() -> Any:
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> MotoServer:
    """A clean moto server, reached by boto3 exactly as a real endpoint: AWS_ENDPOINT_URL and dummy credentials."""
    moto_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return moto_server
