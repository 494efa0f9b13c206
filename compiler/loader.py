"""Load YAML specs into a tree of positioned nodes.

ivc reads a strict subset of YAML 1.2: the core schema's scalars only, so the
YAML 1.1 surprises (``no`` as false, ``0755`` as octal, ``12:30`` as 750)
stay the text they were written as and a wrong type is caught by the schema
instead of silently changing a value. Duplicate keys, unknown tags, explicit
tags on text the core schema does not read that way (``!!bool yes``), tabs in
indentation, control characters, non-UTF-8 bytes, empty files, oversized
files, numbers a JSON template cannot hold (``.nan``, ``.inf``) and nesting
deeper than any spec needs are errors. Alias expansion is bounded in values
and in characters, so an alias bomb fails fast.

Parsing uses libyaml when PyYAML has it (ten times faster, which keeps a
1 MiB spec within a second); errors are then reproduced with the pure-Python
parser, whose messages are clearer.
"""

from __future__ import annotations

import math
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

try:
    import yaml.cyaml

    CParser: Any = getattr(yaml.cyaml, "CParser")  # noqa: B009 (the stubs do not export it)
except (ImportError, AttributeError):  # PyYAML built without libyaml: the pure-Python parser does it all
    CParser = None

MAX_FILE_BYTES = 1024 * 1024
MAX_NODES = 100_000  # expanded nodes per file: far above any real spec, far below a bomb
MAX_CHARS = 2 * MAX_FILE_BYTES  # expanded characters of keys and values: aliases may repeat, not amplify
MAX_DEPTH = 32  # nesting levels; real specs use about ten
MAX_INT = 2**63 - 1
SHOWN = 40  # characters of a value echoed in a message

_CORE = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _STR = (_CORE + t for t in ("null", "bool", "int", "float", "str"))
_MAP, _SEQ, _MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"

# A plain scalar that YAML 1.1 would have read as something other than text. Written without nested
# repetition, so matching stays linear in the length of the text.
YAML11_BOOL = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
YAML11_NUMBER = re.compile(r"^[-+]?(0[0-7_]+|0b[01_]+|[0-9]+(_[0-9_]*)?(:[0-5]?[0-9])+(\.[0-9_]*)?|[0-9]+_[0-9_]*(\.[0-9_]*)?)$")

# What YAML allows in a file (its printable set); anything else is refused where it is.
_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# The core schema's scalars, by tag: implicit resolution uses them, and an explicit tag must agree with them.
_CORE_SCALARS = {
    _BOOL: (r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF", "a boolean; write true or false"),
    _NULL: (r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""], "null; write null or ~"),
    _INT: (r"^(?:[-+]?(?:0|[1-9][0-9]*)|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789", "a whole number; write plain decimal digits"),
    _FLOAT: (
        r"^(?:[-+]?(?:(?:0|[1-9][0-9]*)\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?(?:0|[1-9][0-9]*)[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
        "a number; write decimal digits with an optional fraction",
    ),
}
_CORE_PATTERNS = {tag: re.compile(pattern) for tag, (pattern, _, _) in _CORE_SCALARS.items()}


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema resolution, with integers that have no leading zeros."""


_CoreResolver.yaml_implicit_resolvers = {}
for _tag, (_pattern, _first, _) in _CORE_SCALARS.items():
    _CoreResolver.add_implicit_resolver(_tag, _CORE_PATTERNS[_tag], list(_first))
_CoreResolver.add_implicit_resolver(_MERGE, re.compile(r"^(?:<<)$"), ["<"])


class _BoundedComposer(Composer):
    """PyYAML's composer with a nesting limit: deep input fails here, before anything recurses on it."""

    display = ""
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _too_deep(_mark(self.display, self.peek_event().start_mark))  # type: ignore[attr-defined]
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _PyComposer(Reader, Scanner, Parser, _BoundedComposer, _CoreResolver):
    def __init__(self, text: str, display: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _CoreResolver.__init__(self)
        self.display = display


if CParser is not None:

    class _CComposer(_BoundedComposer, CParser, _CoreResolver):  # type: ignore[misc]
        # libyaml's events, composed in Python: its own composer would recurse in C and crash on deep input.
        def __init__(self, text: str, display: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            _CoreResolver.__init__(self)
            self.display = display


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


def clip(text: str, limit: int = SHOWN) -> str:
    """``text`` cut to a short prefix, and on one line, so a message never echoes unbounded input."""
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return short if short.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in short)


def _mark(file: str, yaml_mark: Any) -> Mark:
    return Mark(file, yaml_mark.line + 1, yaml_mark.column + 1)


def _too_deep(mark: Mark) -> SpecError:
    return fail(f"values nest more than {MAX_DEPTH} levels deep; no spec needs that many (check the indentation)", mark, "yaml")


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of ``text[index]``."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


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
        raise fail(f"cannot read file: {exc.strerror or exc}", Mark(display, 1, 1), "io") from None
    except ValueError:  # a NUL byte in the path
        raise fail("cannot read file: its path holds a NUL byte", Mark(display, 1, 1), "io") from None
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
    return text


def _check_text(text: str, display: str) -> None:
    """Refuse, at their position, characters and indentation YAML would reject or misread."""
    bad = _UNPRINTABLE.search(text)
    if bad:
        code = ord(bad.group())
        what = "a lone surrogate, not a character" if 0xD800 <= code <= 0xDFFF else "a control character"
        raise fail(
            f"U+{code:04X} is {what}; a spec holds printable text only: remove it", Mark(display, *_position(text, bad.start())), "yaml"
        )
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


def load_file(path: Path, display: str | None = None) -> Node:
    """Load one YAML file into a positioned tree whose root is a mapping."""
    display = display or str(path)
    return load_text(read_text(path, display), display)


def load_text(text: str, display: str) -> Node:
    """Parse YAML text into a positioned tree whose root is a mapping (positioned at the file's 1:1)."""
    _check_text(text, display)
    root = _compose(text, display)
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
            Mark(display, 1, 1),
            "yaml",
        )
    # Problems with the document as a whole (a missing `system:`) are the file's, not its first key's.
    tree.mark = Mark(display, 1, 1)
    return tree


def _compose(text: str, display: str) -> Any:
    """The composed YAML document: libyaml when available; the pure-Python parser explains errors."""
    if CParser is not None:
        fast = _CComposer(text, display)
        try:
            return fast.get_single_node()
        except yaml.YAMLError as exc:
            first = exc
        finally:
            fast.dispose()
    else:
        first = None
    slow = _PyComposer(text, display)
    try:
        node = slow.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, display) from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: an escape such as \U0011FFFF names no character
        if isinstance(first, yaml.MarkedYAMLError):
            raise _syntax_error(first, display) from None
        if isinstance(exc, ValueError):
            raise fail(_BAD_ESCAPE, Mark(display, *_position(text, _opening_quote(text, slow.get_mark().index))), "yaml") from None
        raise _syntax_error(exc, display) from None
    except RecursionError:
        raise fail("nesting is too deep to read", Mark(display, 1, 1), "yaml") from None
    finally:
        slow.dispose()
    if first is not None:  # libyaml refused what PyYAML accepts: libyaml's reason stands
        raise _syntax_error(first, display)
    return node


def _opening_quote(text: str, index: int) -> int:
    """Where the double-quoted scalar around ``text[index]`` starts: the last quote before it not escaped."""
    quote = text.rfind('"', 0, index)
    while quote > 0:
        start = quote
        while start > 0 and text[start - 1] == "\\":
            start -= 1
        if (quote - start) % 2 == 0:
            break
        quote = text.rfind('"', 0, start)
    return max(quote, 0)


_BAD_ESCAPE = (
    "a quoted value holds an escape that names no character (a surrogate such as \\udce9, or a code point past"
    " \\U0010FFFF); write the character itself"
)


def _syntax_error(exc: Exception, display: str) -> SpecError:
    if not isinstance(exc, yaml.MarkedYAMLError):
        return fail(f"YAML syntax error: {clip(str(exc), 200)}", Mark(display, 1, 1), "yaml")
    mark = exc.problem_mark or exc.context_mark
    where = _mark(display, mark) if mark else Mark(display, 1, 1)
    problem = exc.problem or "invalid YAML"
    if "expected a single document" in (exc.context or "") or "single document" in problem:
        return fail("the file holds more than one YAML document; a spec is one document (remove `---`)", where, "yaml")
    if "escape" in problem and exc.context and "quoted scalar" in exc.context:
        where = _mark(display, exc.context_mark) if exc.context_mark else where
        return fail(_BAD_ESCAPE, where, "yaml")
    context = f" {exc.context}" if exc.context else ""
    return fail(f"YAML syntax error: {clip(problem, 200)}{context}; check the indentation and quoting here", where, "yaml")


class _Builder:
    """Turns composed YAML nodes into ``Node`` trees, expanding aliases within bounds."""

    def __init__(self, display: str) -> None:
        self.display = display
        self.count = 0
        self.chars = 0
        self.depth = 0
        self.active: set[int] = set()

    def _spend(self, chars: int, mark: Mark, values: int = 1) -> None:
        self.count += values
        self.chars += chars
        if self.count > MAX_NODES:
            raise fail(
                f"aliases expand to more than {MAX_NODES} values (an alias bomb?); use fewer nested aliases",
                mark,
                "yaml",
            )
        if self.chars > MAX_CHARS:
            raise fail(
                f"aliases expand to more than {MAX_CHARS} characters of keys and values (an alias bomb?); alias fewer long values",
                mark,
                "yaml",
            )

    def build(self, yaml_node: Any, key_mark: Mark | None = None) -> Node:
        mark = _mark(self.display, yaml_node.start_mark)
        self._spend(len(yaml_node.value) if isinstance(yaml_node, ScalarNode) else 0, mark)
        if id(yaml_node) in self.active:
            raise fail("an alias refers to the mapping or list that contains it", mark, "yaml")
        if isinstance(yaml_node, ScalarNode):
            return self._scalar(yaml_node, mark, key_mark)
        if yaml_node.tag not in (_MAP, _SEQ):
            raise fail(f"unsupported YAML tag {_short(yaml_node.tag)}; specs use plain maps, lists and values", mark, "yaml")
        self.depth += 1
        if self.depth > MAX_DEPTH:  # aliases inside aliases can nest deeper than the text does
            raise _too_deep(mark)
        self.active.add(id(yaml_node))
        try:
            if isinstance(yaml_node, SequenceNode):
                return Node([self.build(item) for item in yaml_node.value], mark, key_mark)
            assert isinstance(yaml_node, MappingNode)
            return Node(self._mapping(yaml_node), mark, key_mark)
        finally:
            self.active.discard(id(yaml_node))
            self.depth -= 1

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
            if key_node.tag not in _CORE_PATTERNS and key_node.tag != _STR:
                raise fail(f"unsupported YAML tag {_short(key_node.tag)}; specs use plain maps, lists and values", key_mark, "yaml")
            key = key_node.value
            self._spend(len(key), key_mark, values=0)
            if key in explicit:
                first = explicit[key].key_mark
                raise fail(
                    f"duplicate key '{clip(key)}' (first defined at line {first.line if first else '?'}); remove one",
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
        if tag != _STR and tag not in _CORE_PATTERNS:
            raise fail(f"unsupported YAML tag {_short(tag)}; specs use plain maps, lists and values", mark, "yaml")
        bad = _UNPRINTABLE.search(text)
        if bad:  # only an escape gets here: the file itself was checked
            code = ord(bad.group())
            raise fail(
                f"this value's escape makes U+{code:04X}, which is not a printable character; a spec holds printable text only",
                mark,
                "yaml",
            )
        whole = tag == _FLOAT and _CORE_PATTERNS[_INT].match(text)  # `!!float 1` is the number 1.0
        if tag != _STR and not _CORE_PATTERNS[tag].match(text) and not whole:
            # Only an explicit tag (`!!bool yes`) gets here; YAML 1.1 read such text differently, so refuse it.
            raise fail(f"{_short(tag)} '{clip(text)}' is not {_CORE_SCALARS[tag][2]} (ivc reads YAML 1.2)", mark, "yaml")
        value: Any
        if tag == _STR:
            value = text
        elif tag == _NULL:
            value = None
        elif tag == _BOOL:
            value = text.lower() == "true"
        elif tag == _INT or whole:
            try:
                value = int(text, 0)
            except ValueError:  # more digits than Python converts (4,300)
                value = None
            if value is None or abs(value) > MAX_INT:  # past 64 bits no template value means it; huge ones break output
                raise fail(f"'{clip(text)}' is too large a number (at most {MAX_INT}); quote it to keep it as text", mark, "yaml")
            value = float(value) if whole else value
        else:
            value = float(text.lower().replace(".inf", "inf").replace(".nan", "nan"))
            if not math.isfinite(value):
                raise fail(
                    f"'{clip(text)}' is not a finite number, which a CloudFormation template (strict JSON) cannot hold;"
                    " write a number, or quote it to keep it as text",
                    mark,
                    "yaml",
                )
        return Node(value, mark, key_mark, text if plain else None)


def _short(tag: str) -> str:
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else clip(tag)


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
