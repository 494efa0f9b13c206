"""Resolve a spec into one effective document per environment.

The merge rules, in one place: an overlay's maps merge key by key into what is
below them, its lists and scalars replace, and ``null`` removes the key. The
layers, lowest first: each ``extends:`` file (in order, each resolved the same
way), the spec itself, then ``environments.<env>``. Every merged node keeps the
position it was written at, so an error caused by an override points at the
override's line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import fail
from .loader import Node, clip, load_text, read_text


@dataclass
class SpecSource:
    """A loaded spec: its tree (with extends merged underneath) and what it was read from."""

    path: Path
    display: str
    tree: Node
    sources: list[tuple[str, str]]  # (display path, sha256) of every file read, spec first

    @property
    def sha256(self) -> str:
        digest = hashlib.sha256()
        for display, sha in self.sources:
            digest.update(f"{display}\0{sha}\n".encode())
        return digest.hexdigest()

    @property
    def environments(self) -> list[str]:
        envs = self.tree.value.get("environments")
        return list(envs.value) if envs is not None and isinstance(envs.value, dict) else []


def display_path(path: Path) -> str:
    """A path as users should see it: relative to the working directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):  # outside the working directory; a NUL, too long, a symlink loop
        return path.as_posix()


def _resolve_extends(path: Path, item: Node, stack: tuple[Path, ...]) -> Path:
    """The file an ``extends:`` entry names, or a located error saying why it cannot be read."""
    name: str = item.value
    shown = clip(name)
    if "\0" in name:
        raise fail(f"extends '{shown}': a path cannot hold a NUL character", item.mark, "schema")
    try:
        target = (path.parent / name).resolve()
        if target in stack or target == path.resolve():
            raise fail(f"extends '{shown}' leads back to this file (a cycle)", item.mark, "schema")
        found = target.is_file()
    except RuntimeError:  # Python 3.11's resolve() on a symlink loop
        raise fail(f"extends '{shown}': the path is a loop of symbolic links", item.mark, "schema") from None
    except OSError as exc:  # too long, a loop (ELOOP), not allowed...
        raise fail(f"extends '{shown}': cannot use this path: {exc.strerror or exc}", item.mark, "schema") from None
    if not found:
        raise fail(f"extends '{shown}': no such file (paths are relative to this spec)", item.mark, "schema")
    return target


def keeps_nulls(path: tuple[Any, ...]) -> bool:
    """Inside an override's Properties or Metadata a null is an instruction for the generated template
    (remove that property), so it is kept through every layer instead of removing a key of the spec."""
    return len(path) >= 4 and path[0] == "overrides" and path[2] in ("Properties", "Metadata")


def overlay(base: Node | None, over: Node, path: tuple[Any, ...] = ()) -> Node | None:
    """Merge ``over`` onto ``base``: maps merge, everything else replaces, null removes.

    ``path`` is where ``over`` sits in the document, so nulls that are overrides' instructions survive.
    """
    if over.value is None:
        return over if keeps_nulls(path) else None
    if base is None or not (isinstance(base.value, dict) and isinstance(over.value, dict)):
        return strip_nulls(over, path)
    merged = dict(base.value)
    for key, child in over.value.items():
        result = overlay(merged.get(key), child, (*path, key))
        if result is None:
            merged.pop(key, None)
        else:
            merged[key] = result
    return Node(merged, base.mark, over.key_mark or base.key_mark)


def strip_nulls(node: Node, path: tuple[Any, ...] = ()) -> Node:
    """Remove null-valued keys, which mean "absent" at every layer (but see ``keeps_nulls``)."""
    if isinstance(node.value, dict):
        kept = {k: strip_nulls(v, (*path, k)) for k, v in node.value.items() if v.value is not None or keeps_nulls((*path, k))}
        return Node(kept, node.mark, node.key_mark, node.text)
    if isinstance(node.value, list):
        return Node([strip_nulls(v, (*path, i)) for i, v in enumerate(node.value)], node.mark, node.key_mark, node.text)
    return node


def load_spec(path: Path) -> SpecSource:
    """Load a spec file and merge its ``extends:`` files underneath it."""
    sources: list[tuple[str, str]] = []
    tree = _load_layered(path, sources, stack=())
    return SpecSource(path, display_path(path), tree, sources)


def _load_layered(path: Path, sources: list[tuple[str, str]], stack: tuple[Path, ...]) -> Node:
    display = display_path(path)
    text = read_text(path, display)
    sources.append((display, hashlib.sha256(text.encode()).hexdigest()))
    tree = load_text(text, display)
    envs = tree.value.get("environments")
    if envs is not None and isinstance(envs.value, dict):
        # `dev:` with nothing under it declares an environment with no changes; it is not a null to remove.
        for name, layer in envs.value.items():
            if layer.value is None:
                envs.value[name] = Node({}, layer.mark, layer.key_mark)
    # Nulls mean "absent" in the spec itself; inside environments they are removals, kept for the overlay.
    tree = Node(
        {k: v if k == "environments" else strip_nulls(v, (k,)) for k, v in tree.value.items() if v.value is not None},
        tree.mark,
        tree.key_mark,
    )
    extends = tree.value.get("extends")
    if extends is None:
        return tree
    items = extends.value if isinstance(extends.value, list) else [extends]
    base: Node | None = None
    for item in items:
        if not isinstance(item.value, str):
            raise fail("extends takes a path or a list of paths", item.mark, "schema")
        target = _resolve_extends(path, item, stack)
        layer = _load_layered(target, sources, stack + (path.resolve(),))
        layer.value.pop("environments", None)  # a defaults file's environments do not apply here
        base = layer if base is None else overlay(base, layer)
    envs = tree.value.pop("environments", None)  # kept out of the merge: their nulls are removals still to apply
    merged = overlay(base, tree)
    assert merged is not None
    merged.mark = tree.mark  # the document as a whole is this file, not the one it extends
    if envs is not None:
        merged.value["environments"] = envs
    return merged


def effective(spec: SpecSource, env: str, changeable: frozenset[str]) -> Node:
    """The spec as environment ``env`` sees it; only ``changeable`` top-level keys are merged."""
    layer = spec.tree.value["environments"].value[env]
    if not isinstance(layer.value, dict):
        return spec.tree  # null: no changes; any other type is reported by the schema
    # The result is a whole document again: no key of its own, so whole-spec problems point at the spec's 1:1.
    changes = Node({k: v for k, v in layer.value.items() if k in changeable}, layer.mark)
    if not changes.value:
        return spec.tree  # the same tree, so what is known about it is shared with every other such environment
    merged = overlay(spec.tree, changes)
    assert merged is not None
    return merged
