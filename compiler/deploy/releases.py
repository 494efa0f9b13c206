"""Releases: a new image tag or code key for a service or function, deployed without recompiling.

The builders make each release a template Parameter whose Default is the spec's value:
``Service<Name>ImageTag`` for a service's image, ``Function<Name>CodeKey`` (an S3 key) or
``Function<Name>ImageTag`` (an ECR image) for a function's code, each described
``Release of services.<name>`` or ``Release of functions.<name>``. ``ivc deploy --set web=1.4.3``
deploys another value; the template in ``output/`` never changes.

Where the value lives: in the StackSet's own Parameters, not in per-instance ParameterOverrides.
UpdateStackSet carries them to every instance, in every account and region of the stack set; an
instance added later (a new account in the spec, or one that service-managed auto-deployment adds
to an organizational unit) starts with them, where an override would have to be repeated on every
CreateStackInstances call and cannot follow auto-deployment at all; and DescribeStackSet gives the
value in force in one call, for the plan, with no read per instance.

Which value a deploy sends, per release parameter of a stack set:
- ``--set NAME=VALUE``: VALUE. ``--reset NAME``: the template's default (the spec's value).
- otherwise, when the stack set has a value and the spec's value is what it was at the last deploy:
  that value, kept with UsePreviousValue (so a deploy without --set never rolls a release back, and
  a release another pipeline made between this run's read and its write is not undone either);
- otherwise the template's default: a new stack set, a new parameter, or a spec whose value changed
  since the last deploy (the newer, explicit decision wins; the plan says so).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("services", "functions")
DESCRIPTION = re.compile(r"Release of (services|functions)\.([A-Za-z0-9_-]+)")
LOGICAL_ID = re.compile(r"(?:Service|Function)[A-Za-z0-9]+(ImageTag|CodeKey)")
DOCKER_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # Docker's tag grammar: at most 128 characters
S3_KEY_BYTES = 1024


def _usage(message: str) -> Exception:
    from ..discovery import UsageError

    return UsageError(message)


@dataclass(frozen=True)
class Releasable:
    """One release parameter of one template."""

    kind: str  # services or functions
    name: str  # the spec's name
    parameter: str  # the Parameter's logical ID
    value_kind: str  # ImageTag or CodeKey
    default: str
    pattern: str | None = None  # the Parameter's AllowedPattern, if the builder set one

    @property
    def path(self) -> str:
        return f"{self.kind}.{self.name}"

    @property
    def what(self) -> str:
        return "an image tag" if self.value_kind == "ImageTag" else "an S3 key"


def releasables(template: dict[str, Any]) -> list[Releasable]:
    """The release parameters of a template, by their logical ID and description."""
    found = []
    for logical_id, parameter in sorted(template.get("Parameters", {}).items()):
        kind = LOGICAL_ID.fullmatch(logical_id)
        said = DESCRIPTION.match(str(parameter.get("Description", "")))
        if kind is None or said is None or "Default" not in parameter:
            continue
        found.append(
            Releasable(said.group(1), said.group(2), logical_id, kind.group(1), str(parameter["Default"]), parameter.get("AllowedPattern"))
        )
    return found


def check_value(name: str, value: str, releasable: Releasable) -> None:
    """Refuse a value CloudFormation, Docker or S3 would refuse later, in one line naming the --set."""
    where = f"--set {name}={value}"
    if not value:
        raise _usage(f"{where}: the value is empty; give {releasable.what}")
    if any(c.isspace() for c in value) or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _usage(f"{where}: {releasable.what} has no whitespace or control characters")
    if releasable.value_kind == "ImageTag" and not DOCKER_TAG.fullmatch(value):
        raise _usage(
            f"{where}: not a Docker image tag (letters, digits, _ . -, not starting with . or -, at most 128 characters)"
            if len(value) <= 128
            else f"{where}: an image tag is at most 128 characters, this one has {len(value)}"
        )
    if releasable.value_kind == "CodeKey" and len(value.encode()) > S3_KEY_BYTES:
        raise _usage(f"{where}: an S3 key is at most {S3_KEY_BYTES} bytes, this one has {len(value.encode())}")
    if releasable.pattern and not re.fullmatch(releasable.pattern, value):
        raise _usage(f"{where}: the template's {releasable.parameter} allows only values matching {releasable.pattern}")


def requested(sets: Sequence[str], resets: Sequence[str], templates: Iterable[dict[str, Any]], where: str) -> dict[str, str | None]:
    """``--set NAME=VALUE`` and ``--reset NAME`` as release path -> value (None: back to the spec's value), checked.

    ``templates`` are every template of the environment (``where`` names it in messages).
    """
    known: dict[str, list[Releasable]] = {}
    for template in templates:
        for releasable in releasables(template):
            known.setdefault(releasable.path, []).append(releasable)
    wanted: dict[str, str | None] = {}
    for option, name, value in [("--set", *_split(item)) for item in sets] + [("--reset", name, None) for name in resets]:
        path = _resolve(option, name, known, where)
        if value is not None:
            if value == "default":  # a literal tag named "default" would read as a reset: refuse both readings
                raise _usage(f"--set {name}=default: to deploy the spec's own value again use --reset {name}")
            for releasable in known[path]:
                check_value(name, value, releasable)
        if path in wanted and wanted[path] != value:
            raise _usage(f"{path} is given twice with different values ({_shown(wanted[path])}, {_shown(value)}); give it once")
        wanted[path] = value
    return wanted


def _shown(value: str | None) -> str:
    return "--reset" if value is None else value


def _split(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name.strip():
        raise _usage(f"--set {item}: expected NAME=VALUE, for example --set web=1.4.3 or --set functions.api=builds/api-42.zip")
    return name.strip(), value


def _resolve(option: str, name: str, known: dict[str, list[Releasable]], where: str) -> str:
    """The release path ``name`` means: ``services.web``, ``functions.api``, or a bare name that only one of them has."""
    listing = f"what can be released: {', '.join(sorted(known))}" if known else "it has no service or function to release"
    if name in known:
        return name
    matches = sorted(path for path in known if path.split(".", 1)[1] == name and "." not in name)
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise _usage(f"{option} {name}: ambiguous in {where}, it is {' and '.join(matches)}: name one of them")
    words = sorted({*known, *(path.split(".", 1)[1] for path in known)})
    close = difflib.get_close_matches(name, words, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    raise _usage(f"{option} {name}: {where} has no release of that name; {hint}{listing}")


@dataclass(frozen=True)
class Release:
    """What a deploy does to one release parameter of one stack set."""

    releasable: Releasable
    stackset: str
    value: str  # what the stack set runs after the deploy
    current: str | None  # the stack set's value now (None: no stack set, or it has no value for the parameter)
    reason: str  # set, reset, kept, default or spec (the spec's value changed since the last deploy)

    @property
    def before(self) -> str:
        return self.current if self.current is not None else self.releasable.default

    @property
    def changed(self) -> bool:
        return self.before != self.value

    def parameter(self) -> dict[str, Any]:
        """The Parameters entry for CreateStackSet and UpdateStackSet."""
        if self.reason == "kept":
            return {"ParameterKey": self.releasable.parameter, "UsePreviousValue": True}
        return {"ParameterKey": self.releasable.parameter, "ParameterValue": self.value}

    def line(self) -> str | None:
        """The plan's line for this release, if it has something to say."""
        head = f"release {self.releasable.path}: "
        if self.changed:
            why = {"reset": " (reset to the spec's value)", "spec": " (the spec's value changed since the last deploy)"}
            return f"{head}{self.before} -> {self.value} in {self.stackset}{why.get(self.reason, '')}"
        if self.reason in ("set", "reset"):
            return f"{head}{self.value} in {self.stackset}: unchanged"
        if self.value != self.releasable.default:
            return (
                f"{head}{self.value} in {self.stackset}: kept (the spec says {self.releasable.default}; "
                f"--reset {self.releasable.path} deploys that)"
            )
        return None


def plan(
    stackset: str,
    template: dict[str, Any],
    deployed: dict[str, Any] | None,
    current: dict[str, str] | None,
    wanted: dict[str, str | None],
) -> list[Release]:
    """Each release parameter of ``template``: the value a deploy sends (see the module's docstring for which).

    ``deployed`` is the stack set's template and ``current`` its Parameters' values (None: no stack set).
    """
    releases = []
    before = (deployed or {}).get("Parameters", {})
    for releasable in releasables(template):
        now = (current or {}).get(releasable.parameter)
        if releasable.path in wanted:
            value = wanted[releasable.path]
            if value is None:
                release = Release(releasable, stackset, releasable.default, now, "reset")
            else:
                release = Release(releasable, stackset, value, now, "set")
        elif now is None:
            release = Release(releasable, stackset, releasable.default, now, "default")
        elif str(before.get(releasable.parameter, {}).get("Default", releasable.default)) != releasable.default:
            release = Release(releasable, stackset, releasable.default, now, "spec")
        else:
            release = Release(releasable, stackset, now, now, "kept")
        releases.append(release)
    return releases


def values(stackset: dict[str, Any]) -> dict[str, str]:
    """A DescribeStackSet answer's parameter values, by key."""
    return {
        str(p["ParameterKey"]): str(p["ParameterValue"])
        for p in stackset.get("Parameters", []) or []
        if "ParameterKey" in p and p.get("ParameterValue") is not None
    }


def missing(wanted: dict[str, str | None], templates: Iterable[dict[str, Any]], chosen: str) -> None:
    """Refuse a --set or --reset that none of the chosen stack sets can take (they were narrowed by --stack or --region)."""
    present = {r.path for template in templates for r in releasables(template)}
    absent = sorted(set(wanted) - present)
    if absent:
        raise _usage(f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not in {chosen}: widen --stack or --region")
