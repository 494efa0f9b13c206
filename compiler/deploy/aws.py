"""AWS access for deploy, diff and destroy: clients that wait a bounded time, retries, and failures said in one line.

boto3 reads credentials and AWS_ENDPOINT_URL the usual way, so the same code
talks to AWS or to a local moto server.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ..errors import DeployError

T = TypeVar("T")

# How long ivc waits for AWS. Set here, never left to botocore's defaults (a 60 s read timeout, tried up to
# 5 times) or to AWS_MAX_ATTEMPTS, so an endpoint that accepts connections and never answers ends a command
# within give_up_after() seconds (31 s with these values) instead of minutes of silence.
CONNECT_TIMEOUT = 5.0  # seconds to open a connection to an endpoint
READ_TIMEOUT = 10.0  # seconds to wait for the answer to one request: StackSets calls answer at once, operations are polled
ATTEMPTS = 2  # tries of one request when it times out, the connection fails or AWS answers 5xx (the first included)
BACKOFF = 1.0  # at most this many seconds of botocore's pauses between those tries
SLOW_AFTER = 3.0  # seconds without an answer before ivc says which call it is waiting for, and where

# StackSets refuse a second operation while one runs; throttling is botocore's to retry, but not inside Stubber tests.
RETRYABLE = {
    "OperationInProgressException",
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "StaleRequestException",
}


def give_up_after() -> float:
    """The longest one request to an unresponsive endpoint lasts: every try's connect and read timeouts, and the pauses."""
    return ATTEMPTS * (CONNECT_TIMEOUT + READ_TIMEOUT) + BACKOFF


def endpoint(url: str) -> str:
    """``scheme://host:port`` of a request's URL, without the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


class Watch:
    """Says which request is waiting, and where, once it has gone unanswered for SLOW_AFTER seconds.

    Hooked into a client's botocore events: a timer starts as each try is sent and stops when the try
    ends (answered or failed). A failed call is labelled with what it was, for ``explain``.
    """

    def __init__(self, service: str, say: Callable[[str], None]) -> None:
        self.service = service
        self.say = say
        self.attempt = 0
        self.timer: threading.Timer | None = None

    def install(self, events: Any) -> None:
        events.register("before-call.*.*", self._started)
        events.register("before-send.*.*", self._sent)
        events.register("needs-retry.*.*", self._answered)
        events.register("after-call-error.*.*", self._failed)

    def _started(self, **_: Any) -> None:
        self.attempt = 0

    def _sent(self, request: Any, event_name: str, **_: Any) -> None:
        self._stop()
        self.attempt += 1
        line = (
            f"waiting for {self.service} {event_name.rsplit('.', 1)[-1]} at {endpoint(request.url)} "
            f"(try {self.attempt} of {ATTEMPTS}; ivc gives up after {give_up_after():.0f} s)"
        )
        self.timer = threading.Timer(SLOW_AFTER, self.say, [line])
        self.timer.daemon = True
        self.timer.start()

    def _answered(self, **_: Any) -> None:
        self._stop()

    def _failed(self, exception: BaseException, event_name: str, **_: Any) -> None:
        self._stop()
        exception.ivc_call = f"{self.service} {event_name.rsplit('.', 1)[-1]}"  # type: ignore[attr-defined]

    def _stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def client(service: str, region: str, say: Callable[[str], None] | None = None) -> Any:
    """A boto3 client with ivc's timeouts and tries; ``say`` hears which request is slow."""
    import boto3
    from botocore.config import Config

    config = Config(
        region_name=region,
        retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )
    # A fresh session each time: credentials and endpoint are read from the environment as it is now.
    made = boto3.session.Session().client(service, config=config)
    if say is not None:
        Watch(made.meta.service_model.service_id, say).install(made.meta.events)
    return made


def explain(exc: BaseException) -> DeployError:
    """Turn botocore's failures into one line naming what to do."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    what = getattr(exc, "ivc_call", None)
    during = f" (during {what})" if what else ""
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return DeployError("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, ReadTimeoutError):
        return DeployError(
            f"no answer from the AWS endpoint {endpoint(exc.kwargs.get('endpoint_url', ''))}{f' to {what}' if what else ''} "
            f"in {ATTEMPTS} tries of {READ_TIMEOUT:g} s each: check the network and AWS_ENDPOINT_URL"
        )
    if isinstance(exc, ConnectionError):  # refused, unresolvable, or not connected within CONNECT_TIMEOUT
        return DeployError(
            f"cannot reach the AWS endpoint {endpoint(exc.kwargs.get('endpoint_url', ''))}{during}: check the network and AWS_ENDPOINT_URL"
        )
    if isinstance(exc, NoRegionError):
        return DeployError("no AWS region: the spec's regions should set one; report this")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return DeployError(f"AWS refused {exc.operation_name}: {error.get('Code', 'Error')}: {error.get('Message', '')}")
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return DeployError(f"the AWS endpoint's answer could not be used ({type(exc).__name__}){during}: {first_line}")


def code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def call(
    method: Callable[..., T],
    /,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = 8,
    base: float = 0.5,
    cap: float = 20.0,
    **params: Any,
) -> T:
    """Call an AWS API method with ``params``, retrying throttling and busy stack sets with full-jitter exponential backoff."""
    for attempt in range(attempts):
        try:
            return method(**params)
        except Exception as exc:
            if code(exc) not in RETRYABLE or attempt == attempts - 1:
                raise
            sleep(random.uniform(0, min(cap, base * 2**attempt)))
    raise AssertionError("unreachable")
