"""AWS access for deploy, diff and destroy: clients with sane retries, and failures said in one line.

boto3 reads credentials and AWS_ENDPOINT_URL the usual way, so the same code
talks to AWS or to a local moto server.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# StackSets refuse a second operation while one runs; throttling is botocore's to retry, but not inside Stubber tests.
RETRYABLE = {
    "OperationInProgressException",
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "StaleRequestException",
}


class DeployError(Exception):
    """A failure to report in one line (exit 1)."""


def client(service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(region_name=region, retries={"mode": "adaptive", "max_attempts": 6}, connect_timeout=5, read_timeout=60)
    # A fresh session each time: credentials and endpoint are read from the environment as it is now.
    return boto3.session.Session().client(service, config=config)


def explain(exc: BaseException) -> DeployError:
    """Turn botocore's failures into one line naming what to do."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, NoRegionError, PartialCredentialsError

    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return DeployError("no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    if isinstance(exc, EndpointConnectionError):
        return DeployError(f"cannot reach the AWS endpoint {exc.kwargs.get('endpoint_url', '')}: check the network and AWS_ENDPOINT_URL")
    if isinstance(exc, NoRegionError):
        return DeployError("no AWS region: the spec's regions should set one; report this")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return DeployError(f"AWS refused {exc.operation_name}: {error.get('Code', 'Error')}: {error.get('Message', '')}")
    first_line = str(exc).splitlines()[0] if str(exc) else ""
    return DeployError(f"the AWS endpoint's answer could not be used ({type(exc).__name__}): {first_line}")


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
