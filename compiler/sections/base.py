"""What a section is: everything ivc knows about one part of the spec, in one module.

A section module ends with ``SECTION = Section(...)``: its piece of the JSON Schema (the top-level keys it
owns, the definitions they refer to, what an environment may change), its cross-field checks, the builder
and the layer (stack) it feeds, and, for things a service can `uses:`, what that use means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from awacs.aws import Bool, Condition, Deny, Principal, Statement

from ..context import Context, Fragment
from ..regions import cdn_region

Path = tuple[Any, ...]
Problem = tuple[Path, str]  # (path in the effective spec, message)
Spec = dict[str, Any]

# Where a section builds (Section.regions).
PRIMARY, SECONDARY, SITES, EVERY, CDN = "primary", "secondary", "sites", "every", "cdn"

# A `uses:` entry: <section>.<name>[:access]; which sections and modes are valid is checked against the sections.
USE_PATTERN = (
    "^(databases|caches|buckets|secrets|queues|topics|buses|functions|services|filesystems|parameters)\\.[a-z][a-z0-9-]*"
    "(:(read|write|readwrite|send|consume|publish|invoke|mount))?$"
)


def uses_property(owner: str, examples: list[str]) -> dict[str, Any]:
    """The schema of a `uses:` list, the same for every kind of thing that runs code."""
    return {
        "description": f"What the {owner} uses: `databases.<n>`, `caches.<n>`, `secrets.<n>`, "
        "`buckets.<n>[:read|:write|:readwrite]`, `queues.<n>[:send|:consume]`, `topics.<n>[:publish]`, `buses.<n>[:publish]`, "
        "`functions.<n>[:invoke]`, `services.<n>` (its port, found through service discovery), `filesystems.<n>[:mount|:read]` "
        "(mounted at the file system's mount_path), `parameters.<group>` (reads that Parameter Store group). Yields network "
        "access on the right port, least-privilege IAM, and connection settings as environment variables.",
        "type": "array",
        "items": {"type": "string", "pattern": USE_PATTERN},
        "uniqueItems": True,
        "default": [],
        "examples": [examples],
    }


# A CloudWatch Logs group name the spec chooses: starts with a slash, CloudWatch's characters only.
LOG_GROUP_PATTERN = "^/[A-Za-z0-9_./#-]{1,511}$"

# Maintenance and backup windows, UTC: the patterns AWS accepts.
_HOUR_MINUTE = "([01][0-9]|2[0-3]):[0-5][0-9]"
_DAY = "(mon|tue|wed|thu|fri|sat|sun)"
DAILY_WINDOW = f"^{_HOUR_MINUTE}-{_HOUR_MINUTE}$"
WEEKLY_WINDOW = f"^{_DAY}:{_HOUR_MINUTE}-{_DAY}:{_HOUR_MINUTE}$"


@dataclass(frozen=True)
class Use:
    """One entry of a `uses:` list: ``databases.main`` or ``buckets.media:read``."""

    kind: str  # the section: databases | caches | buckets | secrets | ...
    name: str
    access: str  # connect | read | write | readwrite | mount | ...

    @property
    def reads(self) -> bool:
        return self.access in ("read", "readwrite")

    @property
    def writes(self) -> bool:
        return self.access in ("write", "readwrite")


@dataclass
class Connection:
    """What a use hands the code that uses it: plain settings, injected secrets, and secret ARNs it may read."""

    variables: dict[str, Any] = field(default_factory=dict)
    injected: dict[str, Any] = field(default_factory=dict)
    readable: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Mount:
    """What a use that mounts storage hands its user: the volume, where it appears, and the IAM that lets it in.

    Each user has an access point of its own, so a mount is made for one user (its section and name). Services
    turn it into a task volume, functions into a file system config, fleets into a line of user data.
    """

    volume: str  # a name for the volume, unique within one user: ``filesystems-shared``
    file_system: Any  # the file system's ID
    access_point: Any  # the user's access point ID
    access_point_arn: Any
    path: str  # where the code sees it
    read_only: bool
    statements: tuple[Any, ...] = ()  # what the user's role needs to mount it


@dataclass(frozen=True)
class UseTarget:
    """What `uses: [<section>.<name>[:access]]` means for a section's items.

    ``accesses`` lists the access modes a use may name, the default first; an empty tuple means the use
    takes no mode (it connects). ``port`` gives the TCP port the user's security group is admitted on;
    ``connect`` the settings handed to the code; ``statements`` the IAM statements the user's role gets;
    ``mount`` what a use that mounts storage hands the user (section and name) it was made for.
    """

    default: str
    accesses: tuple[str, ...] = ()
    port: Callable[[Spec, str], int] | None = None
    connect: Callable[[Context, Use], Connection] | None = None
    statements: Callable[[Context, Use], list[Any]] | None = None
    mount: Callable[[Context, Use, str, str], Mount] | None = None
    # The names a use may give, when they are not the section's own keys (parameters: its groups).
    names: Callable[[Spec], list[str]] | None = None


@dataclass(frozen=True)
class Section:
    """One section of the spec language and everything that follows from it."""

    name: str
    properties: dict[str, Any] = field(default_factory=dict)  # top-level keys of the schema it owns
    defs: dict[str, Any] = field(default_factory=dict)  # $defs those keys refer to
    overlay: dict[str, Any] = field(default_factory=dict)  # what environments.<env> may change
    check: Callable[[Spec], Iterator[Problem]] | None = None
    # Checks that depend on the environment's name (rules for prod); never shared between environments.
    check_environment: Callable[[str, Spec], Iterator[Problem]] | None = None
    # Checks across the environments of one spec, given (name, effective spec) pairs: (environment, path, message).
    check_together: Callable[[list[tuple[str, Spec]]], Iterator[tuple[str, Path, str]]] | None = None
    build: Callable[[Any, Context], Fragment] | None = None
    stack: str | None = None  # the layer the builder feeds
    needed: Callable[[Spec], bool] | None = None  # when to build; default: the spec has the section
    whole_spec: bool = False  # the builder reads the whole spec rather than its own section
    # Where it builds: PRIMARY; SECONDARY (the DR region only); SITES (the primary and the secondary region: a DR site
    # has a network); EVERY region
    # of the environment (CloudFront's too); or CDN, where the distribution is built (see regions.cdn_region).
    regions: str = PRIMARY
    use: UseTarget | None = None
    # Whether the DR site builds it too, in regions.secondary, from the site spec (see site.py): the app layer's sections.
    site: bool = False
    # Log groups it names outside /<system>/<environment>/ (ARN-style name patterns): the environment key lets
    # CloudWatch Logs encrypt exactly these and the environment's own.
    log_groups: Callable[[Spec, Context], list[str]] | None = None

    def applies(self, spec: Spec, region: str, role: str) -> bool:
        """Whether this section builds anything for ``spec`` in ``region``, whose role is ``role``."""
        placed = {
            PRIMARY: role == "primary",
            SECONDARY: role == "secondary",
            SITES: role in ("primary", "secondary"),
            EVERY: True,
            CDN: region == cdn_region(spec),
        }[self.regions]
        if self.build is None or not placed:
            return False
        if self.needed is not None:
            return self.needed(spec)
        return bool(spec.get(self.name))

    def builds(self, spec: Spec, ctx: Context) -> Fragment:
        assert self.build is not None
        return self.build(spec if self.whole_spec else spec[self.name], ctx)


def deny_insecure_transport(actions: list[Any], resources: list[Any]) -> Statement:
    """A resource policy's statement refusing every request to ``resources`` that does not use TLS."""
    return Statement(
        Sid="DenyInsecureTransport",
        Effect=Deny,
        Principal=Principal("*"),
        Action=actions,
        Resource=resources,
        Condition=Condition(Bool({"aws:SecureTransport": "false"})),
    )


def env_name(*parts: str) -> str:
    """How a setting is named for the code: ``("database", "main", "host")`` -> ``DATABASE_MAIN_HOST``."""
    return "_".join(part.upper().replace("-", "_") for part in parts)
