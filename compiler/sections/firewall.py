"""Firewall: AWS WAF web ACLs in front of the load balancer or the CDN.

Each `firewall.<name>` is one web ACL that allows by default and, in this order, lets the listed trusted
addresses through (allow_ips), blocks listed addresses (deny_ips), blocks by country (deny_countries, or
every country but allow_countries), blocks a client IP over rate_limit requests in 5 minutes, then runs AWS
managed rule groups by short name, and AWS's bot control (a paid rule group) only when asked. A rule named
in `count:` only counts what it would block, for rollout. Every rule publishes CloudWatch metrics and
sampled requests. WAF logs each request to an encrypted log group named `aws-waf-logs-...` (WAF's required
prefix) with the Authorization and Cookie headers redacted.

A load balancer's ACL is regional and lives in the app stack beside it. A CDN's ACL has CloudFront scope,
which AWS only accepts in us-east-1: it lives in the edge stack there, beside the distribution (whatever the
primary region is), as `Firewall<Name>`, which the CDN names as its WebACLId. AWS WAF cannot protect an API Gateway HTTP
API, so an HTTP API is protected through the CDN in front of it; a REST API (`rest_apis.<n>`) takes a regional web ACL on
its stage, in the app stack beside it.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator
from typing import Any

from troposphere import GetAtt, Ref, Sub, wafv2

from .. import relations
from ..context import Context, Fragment, camel
from . import rest_apis
from .base import Path, Problem, Section, Spec
from .logs import log_group

REGIONAL_STACK = "app"
EDGE_STACK = "edge"
# Short names -> AWS managed rule groups (vendor AWS), with their capacity units (WCU) for the record.
MANAGED = {
    "common": "AWSManagedRulesCommonRuleSet",  # 700 WCU: OWASP top ten basics (XSS, size limits, bad paths)
    "known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet",  # 200: Log4j, Java deserialization, localhost hosts
    "ip-reputation": "AWSManagedRulesAmazonIpReputationList",  # 25: addresses Amazon threat intelligence flags
    "anonymous-ip": "AWSManagedRulesAnonymousIpList",  # 50: VPNs, Tor, proxies, hosting providers
    "sql-injection": "AWSManagedRulesSQLiRuleSet",  # 200
    "linux": "AWSManagedRulesLinuxRuleSet",  # 200: Linux local file inclusion
}
BOT_CONTROL = "AWSManagedRulesBotControlRuleSet"  # billed per request on top of WAF's own price
DEFAULT_RULES = ["common", "known-bad-inputs", "ip-reputation"]
# Priorities: own rules first (trusted addresses before anything can block them), managed groups after.
PRIORITY = {"allow-ips": 0, "deny-ips": 1, "deny-countries": 2, "allow-countries": 2, "rate-limit": 3}
MANAGED_PRIORITY = 10
REDACTED_HEADERS = ("authorization", "cookie")  # credentials never reach the log group


def _close(word: str, options: list[str]) -> str | None:
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def is_edge(firewall: dict[str, Any]) -> bool:
    """Whether this firewall protects the CDN (CloudFront scope, edge stack) rather than regional targets."""
    return "cdn" in firewall["attach"]


def rule_names(firewall: dict[str, Any]) -> list[str]:
    """The names of this firewall's rules, in priority order: what `count:` may name."""
    names = []
    if firewall.get("allow_ips"):
        names.append("allow-ips")
    if firewall.get("deny_ips"):
        names.append("deny-ips")
    if firewall.get("deny_countries"):
        names.append("deny-countries")
    if firewall.get("allow_countries"):
        names.append("allow-countries")
    names.append("rate-limit")
    names += firewall["rules"]
    if firewall["bot_control"]:
        names.append("bot-control")
    return names


# --- checks ---------------------------------------------------------------------------------------


def check(spec: Spec) -> Iterator[Problem]:
    owners: dict[str, str] = {}
    for name, firewall in spec.get("firewall", {}).items():
        path: Path = ("firewall", name)
        yield from _check_attach(spec, name, firewall, path, owners)
        for key in ("allow_ips", "deny_ips"):
            for index, text in enumerate(firewall.get(key, [])):
                problem = _cidr_problem(text)
                if problem:
                    yield (*path, key, index), problem
        if firewall.get("allow_countries") and firewall.get("deny_countries"):
            yield (
                (*path, "deny_countries"),
                "deny_countries and allow_countries together: allow_countries already blocks every other country; keep one",
            )
        names = rule_names(firewall)
        for index, counted in enumerate(firewall.get("count", [])):
            if counted == "allow-ips":
                yield (*path, "count", index), "allow-ips only lets trusted addresses through; there is nothing to count instead"
            elif counted not in names:
                close = _close(counted, names)
                advice = f"; did you mean {close}?" if close else ""
                yield (
                    (*path, "count", index),
                    f"count names '{counted}', which is not a rule of firewall.{name} (its rules: {', '.join(names)}){advice}",
                )


def _check_attach(spec: Spec, name: str, firewall: dict[str, Any], path: Path, owners: dict[str, str]) -> Iterator[Problem]:
    targets = firewall["attach"]
    for index, target in enumerate(targets):
        where = (*path, "attach", index)
        if target == "load_balancer" and not relations.balanced(spec):
            yield where, f"firewall.{name} attaches to the load balancer, but there is none: no service has a route"
            continue
        if target == "cdn" and not spec.get("cdn"):
            yield where, f"firewall.{name} attaches to the cdn, but the spec has no cdn section"
            continue
        if target.startswith("rest_apis."):
            api = target.partition(".")[2]
            declared = list(spec.get("rest_apis", {}))
            if api not in declared:
                close = _close(api, declared)
                known = f"did you mean rest_apis.{close}?" if close else f"rest_apis: {', '.join(sorted(declared)) or 'none are declared'}"
                yield where, f"firewall.{name} attaches to {target}, which does not exist ({known})"
                continue
        elif target.startswith("apis."):
            api = target.partition(".")[2]
            declared = list(spec.get("apis", {}))
            if api not in declared:
                close = _close(api, declared)
                known = f"did you mean apis.{close}?" if close else f"apis: {', '.join(sorted(declared)) or 'none are declared'}"
                yield where, f"firewall.{name} attaches to {target}, which does not exist ({known})"
            else:
                yield (
                    where,
                    f"AWS WAF cannot protect an API Gateway HTTP API such as {target} (only REST APIs, rest_apis.<n>); put the "
                    "cdn in front of it and attach the firewall to cdn",
                )
            continue
        if target in owners:
            yield where, f"firewall.{name} and firewall.{owners[target]} both attach to {target}, which takes one web ACL"
        else:
            owners[target] = name
    if "cdn" in targets and len(targets) > 1:
        yield (
            (*path, "attach"),
            f"firewall.{name} mixes cdn (a CloudFront web ACL, us-east-1) with regional targets; declare a second firewall for them",
        )


def _cidr_problem(text: str) -> str | None:
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"'{text}' is not an IPv4 or IPv6 CIDR such as 203.0.113.0/24 or 2001:db8::/32"
    if "/" not in text:
        return f"'{text}' needs a prefix length: {network.with_prefixlen}"
    if str(network) != text and network.with_prefixlen != text:
        return f"'{text}' has host bits set; the network is {network.with_prefixlen}"
    if network.prefixlen == 0:
        return f"'{text}' is every address; WAF refuses /0"
    return None


# --- what it compiles to --------------------------------------------------------------------------


def log_group_name(ctx: Context, name: str) -> str:
    """WAF logs only to groups whose names start with aws-waf-logs-."""
    return f"aws-waf-logs-{ctx.name(name)}"


def named_log_groups(spec: Spec, ctx: Context) -> list[str]:
    """The WAF log groups (outside /<system>/<environment>/), which the environment key must also serve."""
    return sorted(log_group_name(ctx, name) for name in spec.get("firewall", {}))


def web_acl_id(name: str) -> str:
    """The logical ID of firewall.<name>'s web ACL: in the edge stack the CDN sets its WebACLId to its Arn."""
    return f"Firewall{camel(name)}"


def _visibility(metric: str) -> wafv2.VisibilityConfig:
    return wafv2.VisibilityConfig(CloudWatchMetricsEnabled=True, MetricName=metric, SampledRequestsEnabled=True)


def _action(rule: str, counted: set[str], verdict: str) -> wafv2.RuleAction:
    if rule in counted:
        return wafv2.RuleAction(Count=wafv2.CountAction())
    return wafv2.RuleAction(Allow=wafv2.AllowAction()) if verdict == "allow" else wafv2.RuleAction(Block=wafv2.BlockAction())


def _ip_sets(title: str, rule: str, cidrs: list[str], scope: str, ctx: Context, name: str, out: Fragment) -> list[wafv2.Statement]:
    """One IP set per address family the list holds; a statement matching each."""
    statements = []
    for version, label in (("IPV4", "4"), ("IPV6", "6")):
        family = sorted(c for c in cidrs if ipaddress.ip_network(c, strict=False).version == int(label))
        if not family:
            continue
        ip_set = out.add(
            wafv2.IPSet(
                f"{title}{camel(rule)}{label}",
                Name=ctx.name(name, rule, f"v{label}"),
                Description=f"firewall.{name} {rule} IPv{label}",  # WAF descriptions take no parentheses or underscores
                Scope=scope,
                IPAddressVersion=version,
                Addresses=family,
                Tags=ctx.resource_tags(ctx.name(name)),
            )
        )
        statements.append(wafv2.Statement(IPSetReferenceStatement=wafv2.IPSetReferenceStatement(Arn=GetAtt(ip_set, "Arn"))))
    return statements


def _either(statements: list[wafv2.Statement]) -> wafv2.Statement:
    return statements[0] if len(statements) == 1 else wafv2.Statement(OrStatement=wafv2.OrStatement(Statements=statements))


def build_one(name: str, firewall: dict[str, Any], ctx: Context, out: Fragment, stack: str) -> None:
    title = web_acl_id(name)
    scope = "CLOUDFRONT" if stack == EDGE_STACK else "REGIONAL"
    counted = set(firewall.get("count", []))
    metric = ctx.name(name)
    rules: list[wafv2.WebACLRule] = []

    def own(rule: str, statement: wafv2.Statement, verdict: str) -> None:
        rules.append(
            wafv2.WebACLRule(
                Name=rule,
                Priority=PRIORITY[rule],
                Statement=statement,
                Action=_action(rule, counted, verdict),
                VisibilityConfig=_visibility(f"{metric}-{rule}"),
            )
        )

    for key, verdict in (("allow_ips", "allow"), ("deny_ips", "block")):
        if firewall.get(key):
            out.at = ("firewall", name, key)
            rule = key.replace("_", "-")
            own(rule, _either(_ip_sets(title, rule, firewall[key], scope, ctx, name, out)), verdict)
    out.at = ("firewall", name)
    if firewall.get("deny_countries"):
        own("deny-countries", wafv2.Statement(GeoMatchStatement=wafv2.GeoMatchStatement(CountryCodes=firewall["deny_countries"])), "block")
    if firewall.get("allow_countries"):
        geo = wafv2.Statement(GeoMatchStatement=wafv2.GeoMatchStatement(CountryCodes=firewall["allow_countries"]))
        own("allow-countries", wafv2.Statement(NotStatement=wafv2.NotStatement(Statement=geo)), "block")
    own(
        "rate-limit",
        wafv2.Statement(RateBasedStatement=wafv2.RateBasedStatement(Limit=firewall["rate_limit"], AggregateKeyType="IP")),
        "block",
    )
    groups: list[tuple[str, str, list[wafv2.ManagedRuleGroupConfig]]] = [(rule, MANAGED[rule], []) for rule in firewall["rules"]]
    if firewall["bot_control"]:
        config = wafv2.ManagedRuleGroupConfig(
            AWSManagedRulesBotControlRuleSet=wafv2.AWSManagedRulesBotControlRuleSet(InspectionLevel="COMMON")
        )
        groups.append(("bot-control", BOT_CONTROL, [config]))
    for offset, (rule, group, configs) in enumerate(groups):
        statement = wafv2.ManagedRuleGroupStatement(VendorName="AWS", Name=group)
        if configs:
            statement.ManagedRuleGroupConfigs = configs
        rules.append(
            wafv2.WebACLRule(
                Name=rule,
                Priority=MANAGED_PRIORITY + offset,
                Statement=wafv2.Statement(ManagedRuleGroupStatement=statement),
                OverrideAction=wafv2.OverrideAction(Count={}) if rule in counted else wafv2.OverrideAction(**{"None": {}}),
                VisibilityConfig=_visibility(f"{metric}-{rule}"),
            )
        )
    acl = out.add(
        wafv2.WebACL(
            title,
            Name=ctx.name(name),
            Description=f"{ctx.name()} firewall {name} for the {_protected(firewall)}",
            Scope=scope,
            DefaultAction=wafv2.DefaultAction(Allow=wafv2.AllowAction()),
            Rules=rules,
            VisibilityConfig=_visibility(metric),
            Tags=ctx.resource_tags(ctx.name(name)),
        )
    )
    group = out.add(log_group(f"{title}LogGroup", log_group_name(ctx, name), ctx, name, stack))
    out.add(
        wafv2.LoggingConfiguration(
            f"{title}Logging",
            ResourceArn=GetAtt(acl, "Arn"),
            # The group's ARN without the `:*` that GetAtt Arn ends with, which WAF refuses.
            LogDestinationConfigs=[Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group.title}}}")],
            RedactedFields=[
                wafv2.LoggingConfigurationFieldToMatch(SingleHeader=wafv2.SingleHeader(Name=header)) for header in REDACTED_HEADERS
            ],
        )
    )
    for index, target in enumerate(firewall["attach"]):
        out.at = ("firewall", name, "attach", index)
        if target == "load_balancer":
            out.add(
                wafv2.WebACLAssociation(f"{title}LoadBalancerAssociation", ResourceArn=Ref("LoadBalancer"), WebACLArn=GetAtt(acl, "Arn"))
            )
        elif target.startswith("rest_apis."):
            api = target.partition(".")[2]
            out.add(
                wafv2.WebACLAssociation(
                    f"{title}{rest_apis.api_id(api)}Association", ResourceArn=rest_apis.stage_arn(api), WebACLArn=GetAtt(acl, "Arn")
                )
            )
    out.at = ("firewall", name)
    out.export(ctx, stack, f"{title}Arn", GetAtt(acl, "Arn"), f"ARN of firewall {name}'s web ACL ({scope}).")


def _protected(firewall: dict[str, Any]) -> str:
    """What the web ACL's description says it protects (WAF descriptions take no parentheses or underscores)."""
    if is_edge(firewall):
        return "CDN"
    names = ["load balancer" if t == "load_balancer" else "REST API " + t.partition(".")[2] for t in firewall["attach"]]
    return " and ".join(names)


def build_regional(firewalls: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    for name, firewall in sorted(firewalls.items()):
        if not is_edge(firewall):
            out.at = ("firewall", name)
            build_one(name, firewall, ctx, out, REGIONAL_STACK)
    return out


def build_edge(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    for name, firewall in sorted(spec.get("firewall", {}).items()):
        if is_edge(firewall):
            out.at = ("firewall", name)
            build_one(name, firewall, ctx, out, EDGE_STACK)
    return out


def needs_regional(spec: Spec) -> bool:
    return any(not is_edge(firewall) for firewall in spec.get("firewall", {}).values())


def needs_edge(spec: Spec) -> bool:
    return any(is_edge(firewall) for firewall in spec.get("firewall", {}).values())


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

_CIDRS = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 43},
    "minItems": 1,
    "maxItems": 10000,
    "uniqueItems": True,
}
_COUNTRIES = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "minItems": 1,
    "uniqueItems": True,
}
PROPERTIES: dict[str, Any] = {
    "firewall": {
        "description": "AWS WAF web ACLs in front of the load balancer or the CDN: AWS managed rule groups by short name, a "
        "rate limit per client IP, IP and country lists, count-only rollout, and encrypted request logs.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/firewall"},
        "default": {},
        "examples": [{"web": {"attach": ["load_balancer"], "rules": ["common", "known-bad-inputs", "ip-reputation"]}}],
    }
}
DEFS: dict[str, Any] = {
    "firewall": {
        "description": "One web ACL. It allows by default; in order it lets allow_ips through, blocks deny_ips, blocks by "
        "country, blocks a client IP over rate_limit, then runs the managed rule groups (bot control last, only when asked). "
        "Every rule publishes CloudWatch metrics and sampled requests; requests are logged to the encrypted log group "
        "aws-waf-logs-<system>-<environment>-<name>, kept logs.retention days, with Authorization and Cookie redacted.",
        "type": "object",
        "additionalProperties": False,
        "required": ["attach"],
        "properties": {
            "attach": {
                "description": "What it protects: `load_balancer` (the services' load balancer; a regional web ACL in the app "
                "stack) or `cdn` (a CloudFront web ACL beside the distribution in the edge stack of us-east-1, whatever the "
                "primary region), or `rest_apis.<n>` (a REST API's stage; regional, in the app stack). A web ACL is either "
                "CloudFront's or regional: cdn goes alone. AWS WAF cannot protect an API Gateway HTTP API (`apis.<n>` is "
                "refused): protect it through the cdn in front of it.",
                "type": "array",
                "items": {"type": "string", "pattern": "^(load_balancer|cdn|apis\\.[a-z][a-z0-9-]*|rest_apis\\.[a-z][a-z0-9-]*)$"},
                "minItems": 1,
                "uniqueItems": True,
                "examples": [["load_balancer"], ["cdn"]],
            },
            "rules": {
                "description": "AWS managed rule groups by short name, run in this order: common "
                "(AWSManagedRulesCommonRuleSet), known-bad-inputs (AWSManagedRulesKnownBadInputsRuleSet), ip-reputation "
                "(AWSManagedRulesAmazonIpReputationList), anonymous-ip (AWSManagedRulesAnonymousIpList: VPNs, Tor, "
                "hosting providers), sql-injection (AWSManagedRulesSQLiRuleSet), linux (AWSManagedRulesLinuxRuleSet).",
                "type": "array",
                "items": {"enum": list(MANAGED)},
                "uniqueItems": True,
                "default": DEFAULT_RULES,
                "examples": [["common", "known-bad-inputs", "ip-reputation", "sql-injection"]],
            },
            "rate_limit": {
                "description": "Requests one client IP may make in any 5 minutes before it is blocked (rule rate-limit).",
                "type": "integer",
                "minimum": 100,
                "maximum": 2000000000,
                "default": 2000,
            },
            "allow_ips": {
                **_CIDRS,
                "description": "Trusted CIDRs (IPv4 or IPv6), let through before any other rule: no rate limit, country or "
                "managed rule applies to them (rule allow-ips).",
                "examples": [["203.0.113.0/24"]],
            },
            "deny_ips": {
                **_CIDRS,
                "description": "CIDRs (IPv4 or IPv6) always blocked (rule deny-ips).",
                "examples": [["198.51.100.7/32", "2001:db8::/32"]],
            },
            "deny_countries": {
                **_COUNTRIES,
                "description": "ISO 3166 two-letter country codes whose requests are blocked (rule deny-countries).",
                "examples": [["KP"]],
            },
            "allow_countries": {
                **_COUNTRIES,
                "description": "ISO 3166 two-letter country codes; requests from every other country are blocked (rule "
                "allow-countries). Not with deny_countries.",
                "examples": [["DE", "FR", "NL"]],
            },
            "count": {
                "description": "Rules that only count what they would block, for rollout: names from rules, or deny-ips, "
                "deny-countries, allow-countries, rate-limit, bot-control. Watch the metrics, then remove them here.",
                "type": "array",
                "items": {"type": "string", "pattern": "^[a-z][a-z0-9-]*[a-z0-9]$"},
                "uniqueItems": True,
                "default": [],
                "examples": [["sql-injection", "rate-limit"]],
            },
            "bot_control": {
                "description": "Add AWS's bot control rule group (AWSManagedRulesBotControlRuleSet, common inspection level, "
                "rule bot-control). It is billed per request on top of WAF's own price, so it is off unless asked.",
                "type": "boolean",
                "default": False,
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "firewall": {"description": "Changes to firewall in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "firewall",
    PROPERTIES,
    DEFS,
    OVERLAY,
    check=check,
    build=build_regional,
    stack=REGIONAL_STACK,
    needed=needs_regional,
    log_groups=named_log_groups,
    site=True,
)
