"""Bounded waiting: an AWS endpoint that accepts connections and never answers ends a command quickly, in one line.

The endpoint is a real socket server on 127.0.0.1; boto3 reaches it through AWS_ENDPOINT_URL exactly as it
would reach AWS, with ivc's own timeouts and tries.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from compiler.deploy import aws
from conftest import ivc

SPEC = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
buckets:
  media: {}
deploy:
  accounts: ["111111111111"]
environments:
  dev: {}
"""


@dataclass
class Silent:
    """A TCP server that accepts every connection and never sends a byte."""

    url: str
    accepted: list[socket.socket] = field(default_factory=list)


@pytest.fixture
def silent(monkeypatch: pytest.MonkeyPatch) -> Iterator[Silent]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    server = Silent(f"http://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            server.accepted.append(connection)  # held open, never answered

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    yield server
    stop.set()
    thread.join()
    for connection in server.accepted:
        connection.close()
    listener.close()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "specs" / "shop").mkdir(parents=True)
    (tmp_path / "specs" / "shop" / "spec.yaml").write_text(SPEC)
    result = ivc("compile", tmp_path / "specs", "--out", tmp_path / "output")
    assert result.exit_code == 0, result.output
    return tmp_path


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy"])
def test_silent_endpoint_gives_up_in_bounded_time_saying_what_it_waited_for(
    command: str, project: Path, silent: Silent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real mechanism with shorter numbers, so the test takes about a second: 2 tries of half a second each.
    monkeypatch.setattr(aws, "CONNECT_TIMEOUT", 0.5)
    monkeypatch.setattr(aws, "READ_TIMEOUT", 0.5)
    monkeypatch.setattr(aws, "SLOW_AFTER", 0.2)
    started = time.monotonic()
    confirm = [] if command == "diff" else ["--yes"]
    result = ivc(command, project / "specs" / "shop", "--env", "dev", "--out", project / "output", *confirm)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == (
        f"ivc: error: no answer from the AWS endpoint {silent.url} to CloudFormation DescribeStackSet "
        f"in {aws.ATTEMPTS} tries of 0.5 s each: check the network and AWS_ENDPOINT_URL"
    )
    assert lines[:-1] == [
        f"waiting for CloudFormation DescribeStackSet at {silent.url} (try {n} of {aws.ATTEMPTS}; ivc gives up after 3 s)"
        for n in range(1, aws.ATTEMPTS + 1)
    ]
    assert len(silent.accepted) == aws.ATTEMPTS
    assert aws.ATTEMPTS * aws.READ_TIMEOUT <= elapsed < aws.give_up_after()
    assert result.stdout == ""


def test_clients_use_the_documented_timeouts_and_tries() -> None:
    client = aws.client("cloudformation", "us-east-1", lambda _: None)
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (aws.CONNECT_TIMEOUT, aws.READ_TIMEOUT)
    assert config.retries == {"mode": "standard", "total_max_attempts": aws.ATTEMPTS}
    assert aws.give_up_after() == 31.0  # the number the README gives: well under a minute
