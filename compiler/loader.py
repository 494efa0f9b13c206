"""Load YAML specs into a tree of positioned nodes.

ivc reads a strict subset of YAML 1.2: the core schema's scalars only, so the
YAML 1.1 surprises (``no`` as false, ``0755`` as octal, ``12:30`` as 750)
stay the text they were written as and a wrong type is caught by the schema
instead of silently changing a value. Duplicate keys, unknown tags, tabs in
indentation, non-UTF-8 bytes, empty files and oversized files are errors, and
alias expansion is bounded so an alias bomb fails fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from .errors import Mark, SpecError, fail

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # expanded nodes per file: far above any real spec, far below a bomb

_CORE = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (_CORE + t for t in ("null", "bool", "int", "float", "str"))
_MAP, _SEQ, _MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"

# A plain scalar that YAML 1.1 would have read as something other than text.
YAML11_BOOL = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
YAML11_NUMBER = re.compile(r"^([-+]?0[0-7_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?|[-+]?[0-9][0-9_]*_[0-9_]*)$")


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema resolution, with integers that have no leading zeros."""


_CoreResolver.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_INT, r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    (_MERGE, r"^(?:<<)$", "<"),
):
    _CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


class _Composer(Reader, Scanner, Parser, Composer, _CoreResolver):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _CoreResolver.__init__(self)


@dataclass
class Node:
    """A loaded value with the position it came from.

    ``value`` is a ``dict[str, Node]``, a ``list[Node]`` or a scalar. ``text``
    is a plain scalar's source text, kept to explain type errors.
    """

    value: Any
    mark: Mark
    key_mark: Mark | None = None
    text: str | None = None


def _mark(file: str, yaml_mark: Any) -> Mark:
    return Mark(file, yaml_mark.line + 1, yaml_mark.column + 1)


def read_text(path: Path, display: str) -> str:
    """Read a spec file as UTF-8 text, rejecting what YAML would misread."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise fail(
                f"file is {size} bytes, over the {MAX_FILE_BYTES}-byte limit for a spec; split it with extends:",
                Mark(display, 1, 1),
                "yaml",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror}", Mark(display, 1, 1), "io") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
            Mark(display, line, col),
            "yaml",
        ) from None
    for number, line_text in enumerate(text.splitlines(), start=1):
        indent = len(line_text) - len(line_text.lstrip(" \t"))
        tab = line_text.find("\t", 0, indent)
        if tab >= 0:
            raise fail(
                "tab character in indentation; YAML indents with spaces only",
                Mark(display, number, tab + 1),
                "yaml",
            )
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise fail(
            "file is empty; a spec starts with `ivc: 1` and `system: <name>`",
            Mark(display, 1, 1),
            "yaml",
        )
    return text


def load_file(path: Path, display: str | None = None) -> Node:
    """Load one YAML file into a positioned tree whose root is a mapping."""
    display = display or str(path)
    return load_text(read_text(path, display), display)


def load_text(text: str, display: str) -> Node:
    """Parse YAML text into a positioned tree whose root is a mapping."""
    composer = _Composer(text)
    try:
        root = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, display) from None
    except RecursionError:
        raise fail("nesting is too deep to read", Mark(display, 1, 1), "yaml") from None
    finally:
        composer.dispose()
    if root is None:
        raise fail(
            "file is empty; a spec starts with `ivc: 1` and `system: <name>`",
            Mark(display, 1, 1),
            "yaml",
        )
    tree = _Builder(display).build(root)
    if not isinstance(tree.value, dict):
        kind = "a list" if isinstance(tree.value, list) else "a single value"
        raise fail(
            f"the top level is {kind}; a spec is a mapping of keys such as `system:` and `network:`",
            tree.mark,
            "yaml",
        )
    return tree


def _syntax_error(exc: yaml.MarkedYAMLError, display: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    where = _mark(display, mark) if mark else Mark(display, 1, 1)
    problem = exc.problem or "invalid YAML"
    if "expected a single document" in (exc.context or "") or "single document" in problem:
        return fail("the file holds more than one YAML document; a spec is one document (remove `---`)", where, "yaml")
    context = f" {exc.context}" if exc.context else ""
    return fail(f"YAML syntax error: {problem}{context}; check the indentation and quoting here", where, "yaml")


class _Builder:
    """Turns composed YAML nodes into ``Node`` trees, expanding aliases within bounds."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.count = 0
        self.active: set[int] = set()

    def build(self, yaml_node: Any, key_mark: Mark | None = None) -> Node:
        mark = _mark(self.display, yaml_node.start_mark)
        self.count += 1
        if self.count > MAX_NODES:
            raise fail(
                f"aliases expand to more than {MAX_NODES} values (an alias bomb?); use fewer nested aliases",
                mark,
                "yaml",
            )
        if id(yaml_node) in self.active:
            raise fail("an alias refers to the mapping or list that contains it", mark, "yaml")
        if isinstance(yaml_node, ScalarNode):
            return self._scalar(yaml_node, mark, key_mark)
        if yaml_node.tag not in (_MAP, _SEQ):
            raise fail(f"unsupported YAML tag {yaml_node.tag}; specs use plain maps, lists and values", mark, "yaml")
        self.active.add(id(yaml_node))
        try:
            if isinstance(yaml_node, SequenceNode):
                return Node([self.build(item) for item in yaml_node.value], mark, key_mark)
            assert isinstance(yaml_node, MappingNode)
            return Node(self._mapping(yaml_node), mark, key_mark)
        finally:
            self.active.discard(id(yaml_node))

    def _mapping(self, yaml_node: MappingNode) -> dict[str, Node]:
        explicit: dict[str, Node] = {}
        merged: dict[str, Node] = {}
        for key_node, value_node in yaml_node.value:
            key_mark = _mark(self.display, key_node.start_mark)
            if key_node.tag == _MERGE:
                for key, node in self._merge_sources(value_node, key_mark).items():
                    merged.setdefault(key, node)
                continue
            if not isinstance(key_node, ScalarNode):
                raise fail("a key must be a plain value, not a list or mapping", key_mark, "yaml")
            key = key_node.value
            if key in explicit:
                first = explicit[key].key_mark
                raise fail(
                    f"duplicate key '{key}' (first defined at line {first.line if first else '?'}); remove one",
                    key_mark,
                    "yaml",
                )
            explicit[key] = self.build(value_node, key_mark)
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}

    def _merge_sources(self, value_node: Any, key_mark: Mark) -> dict[str, Node]:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        result: dict[str, Node] = {}
        for source in sources:
            built = self.build(source, key_mark)
            if not isinstance(built.value, dict):
                raise fail("`<<` merges mappings only", built.mark, "yaml")
            for key, node in built.value.items():
                result.setdefault(key, node)
        return result

    def _scalar(self, yaml_node: ScalarNode, mark: Mark, key_mark: Mark | None) -> Node:
        text, tag = yaml_node.value, yaml_node.tag
        plain = yaml_node.style in (None, "")
        try:
            if tag == _STR:
                value: Any = text
            elif tag == _NULL:
                value = None
            elif tag == _BOOL:
                value = text.lower() == "true"
            elif tag == _INT:
                value = int(text, 0) if not re.match(r"^[-+]?0[0-9]", text) else int(text, 10)
            elif tag == _FLOAT:
                value = float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
            else:
                raise fail(f"unsupported YAML tag {tag}; specs use plain maps, lists and values", mark, "yaml")
        except ValueError:
            raise fail(f"'{text}' is not a valid {tag.rsplit(':', 1)[-1]}", mark, "yaml") from None
        return Node(value, mark, key_mark, text if plain else None)


def to_plain(node: Node | None) -> Any:
    """Strip positions: the data as dicts, lists and scalars."""
    if node is None:
        return None
    if isinstance(node.value, dict):
        return {key: to_plain(child) for key, child in node.value.items()}
    if isinstance(node.value, list):
        return [to_plain(child) for child in node.value]
    return node.value


def find(node: Node, path: tuple[Any, ...]) -> Node:
    """The deepest node along ``path`` (a JSON path of keys and indexes)."""
    current = node
    for step in path:
        value = current.value
        if (isinstance(value, dict) and step in value) or (isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)):
            current = value[step]
        else:
            break
    return current
