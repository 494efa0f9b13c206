"""The spec's sections: each one's cross-field checks, and the layer (stack) its builder feeds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from . import network
from .context import RESERVED_TAGS, Context, Fragment

Problem = tuple[tuple[Any, ...], str]

# Spec section -> (stack it lands in, builder). Order is the order stacks deploy in.
BUILDERS: dict[str, tuple[str, Callable[[dict[str, Any], Context], Fragment]]] = {
    "network": (network.STACK, network.build),
}


def check(spec: dict[str, Any]) -> Iterator[Problem]:
    """Every cross-field problem in one environment's effective spec, as (path, message)."""
    yield from _check_top(spec)
    yield from network.check(spec)


def _check_top(spec: dict[str, Any]) -> Iterator[Problem]:
    for key in spec.get("tags", {}):
        if key in RESERVED_TAGS or key == "Name":
            yield ("tags", key), f"tag '{key}' is set by ivc on every resource; remove it from tags"
    regions = spec["regions"]
    if regions.get("secondary") == regions["primary"]:
        yield ("regions", "secondary"), f"regions.secondary is the same region as regions.primary ({regions['primary']})"
