"""The spec's sections, one module each.

Every module of this package that defines ``SECTION`` (see ``base.Section``) is a section: its piece of
the schema, its checks, its builder and layer, and what a `uses:` of it means. Adding a section is adding
its module; nothing else lists them. Builders may run in any order (templates are written with sorted
keys); the frame (``core``) comes first so the published schema starts with it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

from .. import relations
from .base import Problem, Section, Spec


def _discover() -> tuple[Section, ...]:
    found = []
    for module in pkgutil.iter_modules(__path__):
        section = getattr(importlib.import_module(f"{__name__}.{module.name}"), "SECTION", None)
        if isinstance(section, Section):
            found.append(section)
    return tuple(sorted(found, key=lambda s: (s.name != "core", s.name)))


SECTIONS: tuple[Section, ...] = _discover()
BY_NAME = {section.name: section for section in SECTIONS}


def check(spec: Spec) -> Iterator[Problem]:
    """Every cross-field problem in one environment's effective spec, as (path, message)."""
    for section in SECTIONS:
        if section.check is not None:
            yield from section.check(spec)
    yield from relations.check(spec)
