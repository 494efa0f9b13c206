"""Relationships between sections: what a service or a function uses, and what that grants.

`uses: [databases.main, buckets.media:read]` is the only place a service's or a function's network access
and IAM permissions come from. This module parses those references and checks they resolve; what a use of a
section means (its port, its IAM statements, the settings handed to the code) is that section's own
`UseTarget`, found through the section registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .sections.base import Connection, Mount, Problem, Spec, Use, UseTarget


def target(kind: str) -> UseTarget | None:
    """What a use of section ``kind`` means, or None when it cannot be used."""
    from .sections import BY_NAME  # the registry imports every section, and sections import this module

    section = BY_NAME.get(kind)
    return section.use if section is not None else None


def parse_use(text: str) -> Use:
    spec_target, _, access = text.partition(":")
    kind, _, name = spec_target.partition(".")
    meaning = target(kind)
    return Use(kind, name, access or (meaning.default if meaning else "connect"))


# Sections whose items say what they use.
USERS = ("services", "functions", "fleets")


def users(spec: Spec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(section, name, item) of everything in the spec that has `uses:`."""
    for kind in USERS:
        for name, item in spec.get(kind, {}).items():
            yield kind, name, item


def uses(item: dict[str, Any]) -> list[Use]:
    return [parse_use(text) for text in item.get("uses", [])]


def port(spec: Spec, use: Use) -> int | None:
    """The TCP port a use is admitted on, or None when it is not a network connection."""
    meaning = target(use.kind)
    return meaning.port(spec, use.name) if meaning is not None and meaning.port is not None else None


def in_vpc(spec: Spec, item: dict[str, Any]) -> bool:
    """Whether an item runs in the VPC: a function that says `vpc: true`, or anything that uses something inside it
    (a database, a cache, a file system)."""
    return item.get("vpc") is True or any(port(spec, use) is not None for use in uses(item))


def connections(item: dict[str, Any], ctx: Any) -> Connection:
    """What an item's `uses:` hand its code, merged: its own `environment` first, then each use's settings."""
    merged = Connection(
        variables={key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in item["environment"].items()}
    )
    for use in uses(item):
        meaning = target(use.kind)
        if meaning is None or meaning.connect is None:
            continue
        connection = meaning.connect(ctx, use)
        merged.variables.update(connection.variables)
        merged.injected.update(connection.injected)
        merged.readable += connection.readable
    return merged


def mounts(ctx: Any, kind: str, name: str, item: dict[str, Any]) -> list[Mount]:
    """What the item ``kind.name`` mounts through its `uses:` (file systems), each through its own access point."""
    found = []
    for use in uses(item):
        meaning = target(use.kind)
        if meaning is not None and meaning.mount is not None:
            found.append(meaning.mount(ctx, use, kind, name))
    return found


def routed(spec: Spec) -> dict[str, dict[str, Any]]:
    """Services behind the load balancer."""
    return {name: service for name, service in spec.get("services", {}).items() if "route" in service}


def balanced(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    """(section, name, item) of everything behind the load balancer: services and fleets with a route, by name."""
    found = [(kind, name, item) for kind in ("services", "fleets") for name, item in spec.get(kind, {}).items() if "route" in item]
    return sorted(found, key=lambda entry: (entry[1], entry[0]))


def check(spec: Spec) -> Iterator[Problem]:
    """Every `uses:` names something the spec declares, in an access mode that thing has."""
    declared: dict[str, set[str]] = {}  # by kind, once: a spec may hold thousands of uses
    for kind, name, item in users(spec):
        for index, text in enumerate(item.get("uses", [])):
            use = parse_use(text)
            where = (kind, name, "uses", index)
            meaning = target(use.kind)
            if use.kind not in declared:
                found = meaning.names(spec) if meaning is not None and meaning.names is not None else spec.get(use.kind, {})
                declared[use.kind] = set(found)
            names = declared[use.kind]
            if use.name not in names:
                known = ", ".join(sorted(names)) or "none are declared"
                yield where, f"{kind}.{name} uses {use.kind}.{use.name}, which does not exist ({use.kind}: {known})"
                continue
            if meaning is None or ":" not in text:
                continue
            if not meaning.accesses:
                yield where, f"{use.kind} take no access mode; write {use.kind}.{use.name}"
            elif use.access not in meaning.accesses:
                modes = " or ".join(f":{access}" for access in meaning.accesses)
                yield where, f"{use.kind} take {modes}, not :{use.access}; write {use.kind}.{use.name}:{meaning.default} or leave it out"
