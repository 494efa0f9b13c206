"""Validate specs: the JSON Schema first, then each section's cross-field checks.

All problems are collected before anything is reported, so one run shows every
mistake in a spec, each at its own ``file:line:col``.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .errors import Diagnostic, Mark, SpecError
from .loader import YAML11_BOOL, YAML11_NUMBER, Node, clip, find
from .merge import SpecSource, effective, load_spec
from .regions import CLOUDFRONT_REGION, EDGE_ROLE, cdn_apart

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "ivc.schema.json"
with SCHEMA_PATH.open(encoding="utf-8") as _handle:
    # What an environment may change; anything else in an overlay is reported by the schema, not merged.
    OVERLAY_KEYS = frozenset(json.load(_handle)["$defs"]["overlay"]["properties"])

# Patterns in the schema, said in words: a message never shows a regular expression.
PATTERN_WORDS = {
    "^[1-9][0-9]*(m|h|d)$": "a duration in minutes, hours or days, such as 15m, 12h or 1d",
    "^(databases|buckets|filesystems)\\.[a-z][a-z0-9-]*$": "databases.<name>, buckets.<name> or filesystems.<name>",
    "^(databases|filesystems|fleets)\\.[a-z][a-z0-9-]*$": "databases.<name>, filesystems.<name> or fleets.<name>",
    "^(hourly|daily|weekly|monthly|cron\\(.+\\))$": "hourly, daily, weekly, monthly or cron(...)",
    "^([01][0-9]|2[0-3]):[0-5][0-9]$": "a time of day, UTC hh:mm, such as 01:00",
    (
        "^(secondary|arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:[A-Za-z0-9_-]{2,50})$"
    ): "secondary, or a backup vault's ARN: arn:aws:backup:<region>:<account>:backup-vault:<name>",
    "^(?!AWS/)[A-Za-z0-9_./#:-]{1,255}$": "a CloudWatch namespace of your own such as App/Queues (letters, digits, _./#:-; not AWS/)",
    "^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)?$": "a PostgreSQL parameter name such as work_mem or rds.force_ssl",
    "^topics\\.[a-z][a-z0-9-]*$": "a topic of this spec, such as topics.alerts",
    "^buckets\\.[a-z][a-z0-9-]*$": "a bucket of this spec, such as buckets.uploads",
    "^(cron|rate)\\(.+\\)$": "a schedule expression: cron(...) or rate(...)",
    (
        "^(s3:[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+|ecr:[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$"
    ): "s3:<bucket>/<key> or ecr:<repository>:<tag>",
    "^(buckets|services|fleets|apis)\\.[a-z][a-z0-9-]*$": "buckets.<name>, services.<name>, fleets.<name> or apis.<name>",
    "^(functions|services|fleets)\\.[a-z][a-z0-9-]*$": "functions.<name>, services.<name> or fleets.<name>",
    "^(functions|services)\\.[a-z][a-z0-9-]*$": "functions.<name> or services.<name>",
    "^/[A-Za-z0-9_./#-]{1,511}$": "a log group name starting with /, such as /ecs/prod (letters, digits and _ . / # -)",
    "^[A-Za-z0-9-]+$": "a header name: letters, digits and hyphens",
    "^[A-Za-z0-9_.\\[\\]-]{1,127}\\*?$": "a form field name (letters, digits and _ . [ ] -), optionally ending in *",
    "^[^@\\s]+@[^@\\s]+$": "an e-mail address",
    "^https://\\S+$": "an https:// URL",
    "^queues\\.[a-z][a-z0-9-]*$": "a queue of this spec, such as queues.jobs",
    "^functions\\.[a-z][a-z0-9-]*$": "a function of this spec, such as functions.rotate-credentials",
    "^[A-Za-z0-9/_+=.@{}-]{1,512}$": "a secret name: letters, digits and / _ + = . @ -, with {system} and {environment}",
    "^(queues|functions|topics)\\.[a-z][a-z0-9-]*$": "queues.<name>, functions.<name> or topics.<name>",
    (
        "^(databases|caches|buckets|secrets|queues|topics|buses|functions|services|filesystems|parameters)\\.[a-z][a-z0-9-]*"
        "(:(read|write|readwrite|send|consume|publish|invoke|mount))?$"
    ): "<section>.<name>, optionally with :<access> (databases.main, buckets.media:read, queues.jobs:consume, services.api)",
    "^(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}){1,8}$": (
        "an absolute path such as /mnt/shared: up to 8 directories of letters, digits and _ . - (none starting with a dot)"
    ),
    "^(per-user|(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}){1,8})$": "per-user, or an absolute path such as /shared",
    "^0?[0-7]{3}$": "octal permissions such as 0750, quoted",
    "^[a-z][a-z0-9-]*[a-z0-9]$": "lowercase letters, digits and hyphens, starting with a letter",
    "^[A-Z]{2}$": "a two-letter ISO 3166 country code in capitals, such as DE",
    "^(load_balancer|cdn|apis\\.[a-z][a-z0-9-]*|rest_apis\\.[a-z][a-z0-9-]*)$": "load_balancer, cdn, apis.<name> or rest_apis.<name>",
    "^[a-z][a-z0-9]{0,15}$": "lowercase letters and digits, starting with a letter, at most 16",
    "^[a-z][a-z0-9-]{0,30}$": "lowercase letters, digits and hyphens, starting with a letter, at most 31",
    "^[A-Za-z0-9]{1,255}$": "letters and digits only, at most 255 (a logical ID such as SubnetApp1)",
    "^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$": "at most 128 letters, digits, spaces and _.:/=+@-, not starting with aws:",
    "^[0-9]{12}$": "a 12-digit AWS account ID, quoted",
    "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$": "an IPv4 CIDR such as 10.0.0.0/16",
    "^([0-9]{1,5}-[0-9]{1,5}|all)$": "a port, a range such as 1024-65535, or all",
    "^[0-9]+(\\.[0-9]+)?$": "a version such as 16 or 16.4, quoted",
    "^[0-9]+\\.[0-9]+$": "a version such as 7.1, quoted",
    "^db\\.[a-z0-9]+\\.[a-z0-9]+$": "an RDS instance class such as db.t4g.micro",
    "^cache\\.[a-z0-9]+\\.[a-z0-9]+$": "an ElastiCache node type such as cache.t4g.micro",
    "^[a-zA-Z][a-zA-Z0-9_]{0,62}$": "letters, digits and underscores, starting with a letter, at most 63",
    "^[a-zA-Z][a-zA-Z0-9_]{0,15}$": "letters, digits and underscores, starting with a letter, at most 16",
    "^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$": "a UTC time range such as 03:00-04:00",
    "^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$": (
        "a weekly UTC window such as sun:04:00-sun:05:00"
    ),
    "^secrets\\.[a-z][a-z0-9-]*$": "secrets.<name> of a secret in the spec",
    "^[a-z][a-z0-9-]*\\.[a-z0-9]+$": "an EC2 instance type such as m5.large",
    "^(ssm:/[A-Za-z0-9_./-]+|ami-[0-9a-f]{8}([0-9a-f]{9})?)$": "ssm:<parameter path> or an image ID such as ami-0123456789abcdef0",
    "^/dev/[a-z0-9]+$": "a device name such as /dev/xvda",
    "^/[A-Za-z0-9_.{}/-]*$": "a path such as /{environment} or /{system}/{environment}",
    "^[a-zA-Z0-9_.-]{1,100}$": "letters, digits and _ . -, at most 100",
    "^\\S+ \\S+ \\S+ \\S+ \\S+$": "five cron fields such as 0 20 * * 1-5 (minute hour day month weekday)",
    "^/": "a path starting with /",
    "^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$": (
        "an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
    ),
    "^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]+$": (
        "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), as CloudFront requires"
    ),
    "^(https://\\S+|[^@\\s]+@[^@\\s]+\\.[a-z]{2,}|\\+[1-9][0-9]{6,14}|topics\\.[a-z][a-z0-9-]*)$": (
        "an e-mail address, an https:// URL, a phone number for SMS in E.164 form such as '+15551234567' (quoted), or topics.<name>"
    ),
    "^(https://\\S+|[^@\\s]+@[^@\\s]+\\.[a-z]{2,}|\\+[1-9][0-9]{6,14})$": (
        "an e-mail address, an https:// URL, or a phone number for SMS in E.164 form such as '+15551234567' (quoted)"
    ),
    "^[a-z_]+\\.[a-z][a-z0-9-]*\\.[a-z0-9_]+(\\.[a-z]+){0,2}$": (
        "an alarm of this spec as <kind>.<item>.<metric>[.anomaly][.<severity>], such as load_balancer.web.healthy_below"
    ),
    "^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$": "an organizational unit ID (ou-xxxx-xxxxxxxx) or a root ID (r-xxxx)",
    "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$": "an IAM role ARN (arn:aws:iam::<account>:role/<name>)",
    "^[a-z]+$": "lowercase letters only (a stack name such as data)",
    "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens",
    "^(100|[1-9]?[0-9])%$": "a percentage such as 25%",
    "^([1-9][0-9]{0,3}|[1-9][0-9]?%|100%)$": "a number of instances such as 10, or a percentage such as 25%",
    "^[A-Za-z0-9]+::[A-Za-z0-9]+::[A-Za-z0-9]+$": "a CloudFormation resource type such as AWS::SQS::Queue",
    "^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$": "a domain name in lowercase, such as example.com",
    "^Z[A-Z0-9]{1,31}$": "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
    "^(@|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$": (
        "a name relative to dns.zone, such as www or api.eu, or @ for the zone's apex"
    ),
    "^(cdn|(services|fleets|apis|rest_apis)\\.[a-z][a-z0-9-]*)$": "cdn, services.<name> or fleets.<name> (their load balancer), "
    "apis.<name> or rest_apis.<name>",
    "^[a-z][a-z0-9-]*$": "a name of lowercase letters, digits and hyphens, starting with a letter",
    "^(@|\\*|(\\*\\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$": (
        "a name relative to dns.zone: @ for the apex, www, api.eu, * or *.eu for any one label"
    ),
    "^[a-z][a-z0-9]*([._-][a-z0-9]+)*$": "an ECR repository name: lowercase letters and digits, separated by single . _ or -",
    "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$": "a user, or user:group, as a uid such as 1000 or a name",
    "^(certificates\\.[a-z][a-z0-9-]*|arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+)$": (
        "certificates.<name> of this spec, or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)"
    ),
    "^(fleets|databases|caches)\\.[a-z][a-z0-9-]*$": "fleets.<name>, databases.<name> or caches.<name> of this spec",
    "^arn:aws[a-z-]*:iam::[0-9]{12}:saml-provider/[A-Za-z0-9_.-]{1,128}$": (
        "an IAM SAML identity provider ARN (arn:aws:iam::<account>:saml-provider/<name>)"
    ),
    "^d-[0-9a-f]{10}$": "a Directory Service directory ID such as d-1234567890",
}


@dataclass
class Environment:
    """One environment of one spec, validated, with defaults applied.

    Environments of one spec share the parts of ``spec`` their overlays leave unchanged (that is what keeps
    a thousand environments cheap), so nothing may change ``spec`` in place.
    """

    source: SpecSource
    name: str
    spec: dict[str, Any]
    tree: Node

    @property
    def system(self) -> str:
        return str(self.spec["system"])

    @property
    def regions(self) -> list[tuple[str, str]]:
        """(region, role) pairs, primary first; CloudFront's region joins as "edge" when the CDN must be built there."""
        regions = self.spec["regions"]
        pairs = [(regions["primary"], "primary")]
        if "secondary" in regions:
            pairs.append((regions["secondary"], "secondary"))
        if cdn_apart(self.spec) and CLOUDFRONT_REGION not in {region for region, _ in pairs}:
            pairs.append((CLOUDFRONT_REGION, EDGE_ROLE))  # the distribution's certificate and web ACL must be there
        return pairs

    def mark(self, path: tuple[Any, ...]) -> Mark:
        return find(self.tree, path).mark


@cache
def schema() -> dict[str, Any]:
    """The spec language's JSON Schema."""
    with SCHEMA_PATH.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


def load_and_validate(path: Path, only_env: str | None = None) -> list[Environment]:
    """Load a spec and return its valid environments, or raise SpecError with every problem.

    Each environment is the spec with its overlay merged in; the parts an overlay leaves alone are the
    same nodes in every environment, so their schema check and defaults are computed once and the cost
    of an environment is about the size of its overlay.
    """
    source = load_spec(path)
    found: dict[tuple[Mark | None, str, str], list[str]] = {}
    environments: list[Environment] = []
    names = source.environments or [""]
    if only_env is not None and source.environments and only_env not in source.environments:
        raise SpecError(
            [
                Diagnostic(
                    f"no environment '{clip(only_env)}' in this spec; it has {_listed(source.environments)}",
                    Mark(source.display, 1, 1),
                    code="usage",
                )
            ]
        )
    _check_budget(source, sum(1 for env in names if only_env is None or env == only_env))
    checker = _Checker()
    semantic: dict[int, tuple[dict[str, Any], list[Diagnostic]]] = {}  # by spec identity: envs with no changes share it
    for env in names:
        if only_env is not None and env != only_env:
            continue
        try:
            tree = effective(source, env, OVERLAY_KEYS) if env else source.tree
        except SpecError as exc:
            for diagnostic in exc.diagnostics:
                found.setdefault((diagnostic.mark, diagnostic.message, diagnostic.code), []).append(env)
            continue
        problems = _name_new_entries(checker.problems(tree), source.tree, tree, env)
        if not problems:
            spec = checker.defaults(tree)
            environment = Environment(source, env, spec, tree)
            known = semantic.get(id(spec))
            if known is None or known[0] is not spec:
                known = (spec, list(_semantic_problems(environment)))
                semantic[id(spec)] = known
            problems = known[1] + list(_environment_problems(environment))
            if not problems:
                environments.append(environment)
        for diagnostic in problems:
            found.setdefault((diagnostic.mark, diagnostic.message, diagnostic.code), []).append(env)
    if not found:
        for env, diagnostic in _together_problems(environments):
            found.setdefault((diagnostic.mark, diagnostic.message, diagnostic.code), []).append(env)
    if found:
        raise SpecError(_label_environments(found, names))
    return environments


def _together_problems(environments: list[Environment]) -> Iterable[tuple[str, Diagnostic]]:
    """The sections' checks across one spec's environments (two of them deploying one account's baseline)."""
    from . import sections

    by_name = {environment.name: environment for environment in environments}
    pairs = [(environment.name, environment.spec) for environment in environments]
    for section in sections.SECTIONS:
        if section.check_together is not None:
            for env, path, message in section.check_together(pairs):
                yield env, Diagnostic(_clip_message(message), by_name[env].mark(path), code="semantic")


# Values checked and built over all environments of one spec: each environment is built in full (about
# 0.1 ms a value), so this keeps `ivc validate` within seconds for any file; real specs stay far below it
# (Social Flow: 317 values, 3 environments).
MAX_ENVIRONMENT_VALUES = 100_000


def _check_budget(source: SpecSource, count: int) -> None:
    """Refuse, before any work, a spec whose environments together are too much to check."""
    envs = source.tree.value.get("environments")
    size = sum(_size(child) for key, child in source.tree.value.items() if key != "environments")
    if count * size > MAX_ENVIRONMENT_VALUES and envs is not None:
        raise SpecError(
            [
                Diagnostic(
                    f"{count} environments of {size} values each is more than ivc checks from one spec"
                    f" (at most {MAX_ENVIRONMENT_VALUES} values over all environments); split the spec",
                    envs.key_mark or envs.mark,
                    code="limits",
                )
            ]
        )


def _size(node: Node) -> int:
    """How many values ``node`` holds, itself included."""
    if isinstance(node.value, dict):
        return 1 + sum(_size(child) for child in node.value.values())
    if isinstance(node.value, list):
        return 1 + sum(_size(child) for child in node.value)
    return 1


def _label_environments(found: dict[tuple[Mark | None, str, str], list[str]], names: list[str]) -> list[Diagnostic]:
    """One diagnostic per problem; name the environments when not all of them have it."""
    diagnostics = []
    for (mark, message, code), envs in found.items():
        if len(names) > 1 and len(envs) < len(names) and all(envs):
            message = f"{message} (in {_listed(envs)})"
        diagnostics.append(Diagnostic(message, mark, code=code))
    return sorted(diagnostics, key=Diagnostic.sort_key)


def _listed(names: list[str], limit: int = 8) -> str:
    """Names for a message, at most ``limit`` of them."""
    shown = ", ".join(clip(name) for name in names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"


def _semantic_problems(environment: Environment) -> Iterable[Diagnostic]:
    from . import sections

    for path, message in sections.check(environment.spec):
        yield Diagnostic(_clip_message(message), environment.mark(path), code="semantic")


def _environment_problems(environment: Environment) -> Iterable[Diagnostic]:
    """The sections' checks that depend on the environment's name (prod rules): never shared between environments."""
    from . import sections

    for section in sections.SECTIONS:
        if section.check_environment is not None:
            for path, message in section.check_environment(environment.name, environment.spec):
                yield Diagnostic(_clip_message(message), environment.mark(path), code="semantic")


def _clip_message(message: str) -> str:
    """A section's message with any long echoed value cut short (the sections quote values as they are)."""
    if len(message) <= 300:
        return message
    return " ".join(clip(word) for word in message.split(" "))


def _name_new_entries(problems: list[tuple[tuple[Any, ...], Diagnostic]], base: Node, tree: Node, env: str) -> list[Diagnostic]:
    """Problems of an entry an overlay names but the spec lacks, said as that (a typo), not as missing keys.

    ``environments.prod.services.wbe: {count: 2}`` is a typo for ``web`` far more often than a new service,
    so when such an entry is not complete on its own it is reported once, at the overlay's line.
    """
    if not env or not problems:
        return [diagnostic for _, diagnostic in problems]
    layer = base.value["environments"].value[env]
    new: dict[tuple[str, str], Node] = {}
    for section, changes in layer.value.items() if isinstance(layer.value, dict) else ():
        declared = base.value.get(section)
        if not isinstance(changes.value, dict) or not _is_collection(section):
            continue
        names = declared.value if declared is not None and isinstance(declared.value, dict) else {}
        for name, change in changes.value.items():
            if name not in names and change.value is not None:
                new[(section, name)] = change
    if not new:
        return [diagnostic for _, diagnostic in problems]
    result: list[Diagnostic] = []
    named: set[tuple[str, str]] = set()
    for path, diagnostic in problems:
        entry = (path[0], path[1]) if len(path) >= 2 else None
        if entry not in new:
            result.append(diagnostic)
            continue
        assert entry is not None
        if entry in named:
            continue
        named.add(entry)
        section, name = entry
        declared = base.value.get(section)
        options = list(declared.value) if declared is not None and isinstance(declared.value, dict) else []
        hint = _suggest(name, options)
        if hint:
            advice = f" (did you mean {hint}?)"
        elif options:
            advice = f"; it has {_listed(options)}"
        else:
            advice = f"; the spec declares no {section}"
        change = new[entry]
        result.append(_diag(f"{section}.{clip(name)} does not exist in the spec{advice}", change.key_mark or change.mark))
    return result


@cache
def _is_collection(section: str) -> bool:
    """True when a top-level section is a map of named entries (services, databases...)."""
    section_schema = _resolved(schema().get("properties", {}).get(section, {}))
    return isinstance(section_schema.get("additionalProperties"), dict) and not section_schema.get("properties")


# --- schema checking, node by node ------------------------------------------------------------

# Keywords a node can be checked against without looking inside its children; a schema using any other
# (oneOf, patternProperties...) is checked as a whole by jsonschema.
_OWN = frozenset(
    [
        "type",
        "enum",
        "const",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minLength",
        "maxLength",
        "required",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "minItems",
        "maxItems",
        "description",
        "default",
        "examples",
        "title",
        "$schema",
        "$comment",
        "$defs",
        "deprecated",
        "readOnly",
        "writeOnly",
        "format",
    ]
)
_DESCEND = frozenset(("properties", "additionalProperties", "items", "uniqueItems", "$ref"))

Problem = tuple[tuple[Any, ...], Diagnostic]


class _Checker:
    """Schema problems and defaults of positioned trees, remembered by node.

    Environments of a spec share every node their overlays do not touch, so each shared node is checked,
    and its defaults filled in, once. Results are keyed by the node's identity and the node is kept with
    them, so an identity is never reused while this checker lives.
    """

    def __init__(self) -> None:
        self.checked: dict[tuple[int, int, tuple[Any, ...]], tuple[Node, list[Problem]]] = {}
        self.plain: dict[int, tuple[Node, Any]] = {}
        self.filled: dict[tuple[int, int], tuple[Any, Any]] = {}

    def problems(self, tree: Node) -> list[Problem]:
        """Every schema problem in ``tree``, with the path of the value it is about."""
        return self._check(tree, schema(), ())

    def defaults(self, tree: Node) -> dict[str, Any]:
        """``tree`` as plain data with the schema's defaults filled in."""
        filled: dict[str, Any] = self._fill(schema(), self.to_plain(tree))
        return filled

    def to_plain(self, node: Node) -> Any:
        known = self.plain.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        if isinstance(node.value, dict):
            value: Any = {key: self.to_plain(child) for key, child in node.value.items()}
        elif isinstance(node.value, list):
            value = [self.to_plain(child) for child in node.value]
        else:
            value = node.value
        self.plain[id(node)] = (node, value)
        return value

    def _fill(self, node_schema: dict[str, Any], data: Any) -> Any:
        if not isinstance(data, (dict, list)):
            return data
        key = (id(data), id(node_schema))
        known = self.filled.get(key)
        if known is not None and known[0] is data:
            return known[1]
        result = _apply_defaults(node_schema, data, self._fill)
        self.filled[key] = (data, result)
        return result

    def _check(self, node: Node, node_schema: Any, path: tuple[Any, ...]) -> list[Problem]:
        key = (id(node), id(node_schema), path)
        known = self.checked.get(key)
        if known is not None and known[0] is node:
            return known[1]
        result = list(self._check_node(node, node_schema, path))
        self.checked[key] = (node, result)
        return result

    def _check_node(self, node: Node, node_schema: Any, path: tuple[Any, ...]) -> Iterable[Problem]:
        if isinstance(node_schema, bool):
            if not node_schema:
                yield path, _diag(f"{_dotted(path)} is not allowed here", node.key_mark or node.mark)
            return
        node_schema = _resolved(node_schema)
        value = node.value
        if not isinstance(value, (dict, list)) or not set(node_schema) <= _OWN | _DESCEND:
            for error in _validator(node_schema).iter_errors(self.to_plain(node)):
                yield from _explain(error, node, path)
            return
        own = _own_schema(node_schema)
        shallow = dict.fromkeys(value) if isinstance(value, dict) else [None] * len(value)  # own keywords read no values
        for error in _validator(own).iter_errors(shallow):
            yield from _explain(error, node, path)
        if isinstance(value, dict):
            properties = node_schema.get("properties", {})
            extra = node_schema.get("additionalProperties", True)
            for name, child in value.items():
                child_schema = properties.get(name, extra)
                if child_schema is True or (child_schema is False and name not in properties):
                    continue  # anything goes, or an unknown key the node's own check reports
                yield from self._check(child, child_schema, (*path, name))
        else:
            items = node_schema.get("items", True)
            if items is not True:
                for index, child in enumerate(value):
                    yield from self._check(child, items, (*path, index))
            if node_schema.get("uniqueItems"):
                yield from self._repeats(node, path)

    def _repeats(self, node: Node, path: tuple[Any, ...]) -> Iterable[Problem]:
        """Items that repeat an earlier one, found by hashing: jsonschema compares every pair."""
        seen: set[str] = set()
        for index, child in enumerate(node.value):
            canonical = json.dumps(_canonical(self.to_plain(child)), sort_keys=True)
            if canonical in seen:
                where = _dotted(path)
                yield (*path, index), _diag(f"{where} lists {_show(child.value, child)} twice; each item may appear once", child.mark)
            seen.add(canonical)


def _canonical(value: Any) -> Any:
    """``value`` with whole floats as ints, so 1 and 1.0 are the same item (as JSON Schema sees them)."""
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_MEMO: dict[tuple[str, int], tuple[Any, Any]] = {}


def _memo(kind: str, piece: Any, make: Any) -> Any:
    """``make(piece)``, computed once per piece of the schema (which lives as long as the process)."""
    known = _MEMO.get((kind, id(piece)))
    if known is None or known[0] is not piece:
        known = (piece, make(piece))
        _MEMO[(kind, id(piece))] = known
    return known[1]


def _resolved(node_schema: dict[str, Any]) -> dict[str, Any]:
    return _memo("resolved", node_schema, _resolve)  # type: ignore[no-any-return]


def _own_schema(node_schema: dict[str, Any]) -> dict[str, Any]:
    """The keywords of ``node_schema`` about a node itself; its children are checked one by one."""

    def make(piece: dict[str, Any]) -> dict[str, Any]:
        own = {key: value for key, value in piece.items() if key in _OWN}
        if "properties" in piece:
            own["properties"] = dict.fromkeys(piece["properties"], True)
        if isinstance(piece.get("additionalProperties"), bool):
            own["additionalProperties"] = piece["additionalProperties"]
        return own

    return _memo("own", node_schema, make)  # type: ignore[no-any-return]


def _validator(node_schema: dict[str, Any]) -> Any:
    """A validator for one piece of the schema, able to follow its references to the rest."""
    return _memo("validator", node_schema, lambda piece: _strict_validator_class()({**piece, "$defs": schema().get("$defs", {})}))


@cache
def _strict_validator_class() -> Any:
    """Draft 2020-12, but a whole number is an int: 443.0 is no port, and no enum member either."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    base_enum = Draft202012Validator.VALIDATORS["enum"]
    base_const = Draft202012Validator.VALIDATORS["const"]

    def is_integer(_: Any, instance: Any) -> bool:
        return isinstance(instance, int) and not isinstance(instance, bool)

    def strict_enum(validator: Any, enums: Any, instance: Any, node_schema: Any) -> Iterable[Any]:
        if isinstance(instance, float) and not any(isinstance(option, float) for option in enums):
            yield ValidationError(f"{instance!r} is not one of {enums!r}")
        else:
            yield from base_enum(validator, enums, instance, node_schema)

    def strict_const(validator: Any, const: Any, instance: Any, node_schema: Any) -> Iterable[Any]:
        if isinstance(instance, float) and not isinstance(const, float):
            yield ValidationError(f"{const!r} was expected")
        else:
            yield from base_const(validator, const, instance, node_schema)

    return validators.extend(
        Draft202012Validator,
        validators={"enum": strict_enum, "const": strict_const},
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", is_integer),
    )


# --- schema errors in words -------------------------------------------------------------


def schema_problems(tree: Node) -> Iterable[Diagnostic]:
    """Schema violations in ``tree`` as positioned, readable diagnostics."""
    for _, diagnostic in _Checker().problems(tree):
        yield diagnostic


def _dotted(path: Iterable[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{clip(str(step))}" if text else clip(str(step)))
    return text or "the top level"


def _deepest(error: Any) -> Any:
    """For oneOf/anyOf, the branch error that got furthest into the data."""
    from jsonschema.exceptions import best_match

    if error.context:
        inner = best_match(error.context)
        if len(inner.absolute_path) > len(error.absolute_path):
            return _deepest(inner)
    return error


def _suggest(word: str, options: Iterable[str]) -> str | None:
    """The option ``word`` is most likely a typo of, if any is close enough.

    Close means nearly the same letters (a ratio of 0.8), or fairly close and starting alike: ``dns`` is
    not a typo of ``cdn``, nor ``vpc_id`` of ``cidr``.
    """
    if not word or len(word) > 64:
        return None
    for candidate in difflib.get_close_matches(word, list(options), n=3, cutoff=0.6):
        ratio = difflib.SequenceMatcher(None, candidate, word).ratio()
        if ratio >= 0.8 or (candidate[:1].lower() == word[:1].lower() and ratio >= 0.6):
            return candidate
    return None


def _explain(error: Any, base: Node, base_path: tuple[Any, ...]) -> Iterable[Problem]:
    error = _deepest(error)
    relative = tuple(error.absolute_path)
    path = (*base_path, *relative)
    node = find(base, relative)
    where = _dotted(path)
    kind, value, rule = error.validator, error.instance, error.validator_value
    if kind == "additionalProperties" and isinstance(value, dict) and isinstance(node.value, dict):
        allowed = sorted(error.schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            key_node = node.value[key]
            hint = _suggest(key, allowed)
            advice = f"did you mean '{hint}'?" if hint else f"allowed keys: {', '.join(allowed)}"
            place = f"in {where}" if path else "at the top level"
            yield (*path, key), _diag(f"unknown key '{clip(key)}' {place}; {advice}", key_node.key_mark or key_node.mark)
        return
    if kind == "required" and isinstance(value, dict):
        missing = [key for key in rule if key not in value]
        for key in missing:
            yield path, _diag(f"{where} is missing required key '{key}'", node.key_mark or node.mark)
        return
    if "propertyNames" in error.relative_schema_path:
        key_node = node.value.get(value) if isinstance(node.value, dict) else None
        words = _pattern_words(error.schema.get("pattern", ""), "a valid name")
        mark = key_node.key_mark or key_node.mark if key_node else node.mark
        yield (*path, value), _diag(f"'{clip(str(value))}' is not a valid name in {where}: use {words}", mark)
        return
    yield path, _diag(_message(kind, where, value, rule, node, error), node.mark)


def _pattern_words(pattern: str, fallback: str) -> str:
    return PATTERN_WORDS.get(pattern, fallback)


def _message(kind: str, where: str, value: Any, rule: Any, node: Node, error: Any) -> str:
    shown = _show(value, node)
    if kind == "type":
        expected = " or ".join(rule) if isinstance(rule, list) else rule
        return f"{where} must be {_article(expected)}, not {_kind(value)} {shown}{_yaml11_hint(expected, node)}"
    if kind == "enum":
        options = ", ".join(str(option) for option in rule)
        numbers = [o for o in rule if isinstance(o, (int, float)) and not isinstance(o, bool)]
        hint: str | None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and numbers:
            hint = str(min(numbers, key=lambda option: abs(option - value)))
        else:
            hint = _suggest(str(value), [str(option) for option in rule]) if isinstance(value, str) else None
        advice = f"; did you mean {hint}?" if hint else _yaml11_hint("number" if numbers else "", node)
        return f"{where} is {shown}, which is not one of: {options}{advice}"
    if kind == "const":
        return f"{where} must be {json.dumps(rule)}, not {shown}"
    if kind == "pattern":
        return f"{where} is {shown}; expected {_pattern_words(rule, 'a value in the form described for it in `ivc schema`')}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than", "exclusiveMaximum": "less than"}[kind]
        return f"{where} is {shown}; it must be {relation} {rule}"
    if kind in ("minItems", "maxItems"):
        return f"{where} has {len(value)} items; it must have {'at least' if kind == 'minItems' else 'at most'} {rule}"
    if kind in ("minLength", "maxLength"):
        return f"{where} is {len(value)} characters long; it must be {'at least' if kind == 'minLength' else 'at most'} {rule}"
    if kind == "minProperties":
        return f"{where} must have at least {rule} entr{'y' if rule == 1 else 'ies'}"
    if kind == "maxProperties":
        return f"{where} has {len(value)} entries; it may have at most {rule}"
    if kind == "uniqueItems":
        return f"{where} lists the same item twice; each item may appear once"
    if kind in ("oneOf", "anyOf"):
        return f"{where} is {shown}; expected {clip(error.schema.get('description', 'another form').rstrip('.'), 200)}"
    return f"{where} is {shown}, which the schema does not allow here ({kind}); see `ivc schema`"


def _diag(message: str, mark: Mark) -> Diagnostic:
    return Diagnostic(message, mark, code="schema")


def _show(value: Any, node: Node) -> str:
    if node.text is not None and not isinstance(value, (dict, list)):
        return f"'{clip(node.text)}'" if isinstance(value, str) else clip(node.text)
    if isinstance(value, dict):
        return "(a mapping)"
    if isinstance(value, list):
        return "(a list)"
    return clip(json.dumps(value, ensure_ascii=False))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "a mapping"


def _article(expected: str) -> str:
    words = {
        "object": "a mapping",
        "array": "a list",
        "string": "text",
        "integer": "a whole number",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }
    return " or ".join(words.get(part.strip(), part) for part in expected.split(" or "))


def _yaml11_hint(expected: str, node: Node) -> str:
    text = node.text or ""
    if len(text) > 64:  # no YAML 1.1 look-alike is that long; and the regexes need not see it
        text = ""
    if "integer" in expected and "number" not in expected and isinstance(node.value, float) and node.value.is_integer():
        return f" (write {int(node.value)})"
    if "boolean" in expected and YAML11_BOOL.match(text):
        return f" (YAML 1.1 would read '{text}' as a boolean; ivc reads YAML 1.2: write true or false)"
    if ("integer" in expected or "number" in expected) and YAML11_NUMBER.match(text):
        return f" (ivc does not read '{text}' as octal, base 60 or with underscores: write the plain decimal number)"
    if "string" in expected and text and isinstance(node.value, (int, float)):
        return f" (quote it to keep it as text: '{text}')"
    return ""


# --- defaults -----------------------------------------------------------------------------


def _resolve(node_schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node_schema:
        ref = node_schema["$ref"]
        target: Any = schema()
        for part in ref.lstrip("#/").split("/"):
            target = target[part]
        node_schema = {**target, **{k: v for k, v in node_schema.items() if k != "$ref"}}
    return node_schema


def apply_defaults(node_schema: dict[str, Any], data: Any) -> Any:
    """Fill in the schema's defaults, so builders never guess; the schema is their one source."""
    return _apply_defaults(node_schema, data, apply_defaults)


def _apply_defaults(node_schema: dict[str, Any], data: Any, recurse: Callable[[dict[str, Any], Any], Any]) -> Any:
    """One level of ``apply_defaults``; ``recurse`` fills in the levels below (and may remember them)."""
    node_schema = _resolved(node_schema)
    if isinstance(data, dict):
        result = dict(data)
        for key, prop in node_schema.get("properties", {}).items():
            prop = _resolved(prop)
            if key not in result and "default" in prop:
                result[key] = copy.deepcopy(prop["default"])
            if key in result:
                result[key] = recurse(prop, result[key])
        extra = node_schema.get("additionalProperties")
        if isinstance(extra, dict):
            known = node_schema.get("properties", {})
            for key in result:
                if key not in known:
                    result[key] = recurse(extra, result[key])
        return result
    if isinstance(data, list) and isinstance(node_schema.get("items"), dict):
        return [recurse(node_schema["items"], item) for item in data]
    return data
