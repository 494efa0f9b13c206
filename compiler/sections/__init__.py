"""The spec's sections, one module each, in the order their builders run.

Each module ends with a ``SECTION`` (see ``base.Section``): its piece of the schema, its checks, its
builder and layer, and what a `uses:` of it means. Adding a section is adding its module here.
"""

from __future__ import annotations

from collections.abc import Iterator

from .. import relations
from . import alarms, buckets, caches, cdn, core, databases, deploy, logs, network, overrides, secrets, security, services
from .base import Problem, Section, Spec

SECTIONS: tuple[Section, ...] = (
    core.SECTION,
    network.SECTION,
    security.SECTION,
    secrets.SECTION,
    databases.SECTION,
    caches.SECTION,
    buckets.SECTION,
    services.SECTION,
    cdn.SECTION,
    alarms.SECTION,
    logs.SECTION,
    deploy.SECTION,
    overrides.SECTION,
)
BY_NAME = {section.name: section for section in SECTIONS}


def check(spec: Spec) -> Iterator[Problem]:
    """Every cross-field problem in one environment's effective spec, as (path, message)."""
    for section in SECTIONS:
        if section.check is not None:
            yield from section.check(spec)
    yield from relations.check(spec)
