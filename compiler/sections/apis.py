"""APIs: API Gateway HTTP APIs whose routes reach functions (Lambda proxy) and services (through the load balancer).

When the APIs are the only way into the routed services (no cdn origin, no dns record points at one), the load
balancer is internal and the APIs reach it through a VPC link, over HTTPS when it has a certificate.

Each API gets one `$default` stage that deploys every change, throttles every route, and writes one JSON
line per request to an encrypted, retained log group. A function route adds a Lambda permission that lets
only this API, on that route's method and path, invoke the function. CORS allows only the origins the spec
lists: `*` appears only where it is written, and never with credentials.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from troposphere import GetAtt, Join, Ref, Sub, apigatewayv2, awslambda

from .. import relations
from ..context import Context, Fragment, camel
from . import balancers, load_balancer, network, security
from .base import LOG_GROUP_PATTERN, Path, Problem, Section, Spec
from .logs import log_group

STACK = "app"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
TARGETS = ("functions", "services")
TIMEOUT_MS = 30000  # API Gateway's most for an HTTP API integration: the proxy waits as long as it can
# The access log format: one JSON object per request, fields in this order. `integrationError` is
# API Gateway's message when the function or load balancer failed; `latency` is milliseconds end to end.
ACCESS_LOG_FIELDS = (
    ("requestId", "$context.requestId"),
    ("ip", "$context.identity.sourceIp"),
    ("requestTime", "$context.requestTime"),
    ("httpMethod", "$context.httpMethod"),
    ("routeKey", "$context.routeKey"),
    ("status", "$context.status"),
    ("protocol", "$context.protocol"),
    ("responseLength", "$context.responseLength"),
    ("integrationError", "$context.integrationErrorMessage"),
    ("latency", "$context.responseLatency"),
)
ACCESS_LOG_FORMAT = json.dumps(dict(ACCESS_LOG_FIELDS), separators=(",", ":"))
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()*,;=:@-]+$")  # a path segment's characters (RFC 3986 pchar, without + and %)
_PARAMETER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}$")
_ORIGIN = re.compile(r"^https?://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


# --- route keys -----------------------------------------------------------------------------------


def parse_route(key: str) -> tuple[str, str] | str:
    """``"GET /items/{id}"`` -> ``("GET", "/items/{id}")``, or why the key is not a route."""
    method, space, path = key.partition(" ")
    if not space or not path or " " in path or not method:
        return f"route '{key}' must be a method and a path, such as 'GET /items/{{id}}'"
    if method not in METHODS:
        close = method.upper() if method.upper() in METHODS else close_match(method, METHODS)
        advice = f"; did you mean {close}?" if close else ""
        return f"route '{key}': {method} is not one of {', '.join(METHODS)}{advice}"
    if not path.startswith("/"):
        return f"route '{key}': the path must start with /"
    if path == "/":
        return (method, path)
    segments = path[1:].split("/")
    seen: set[str] = set()
    for index, segment in enumerate(segments):
        if not segment:
            return f"route '{key}': the path has an empty segment or ends with /"
        parameter = _PARAMETER.match(segment)
        if parameter:
            name, greedy = parameter.groups()
            if greedy and index != len(segments) - 1:
                return f"route '{key}': the greedy parameter {segment} must be the path's last segment"
            if name in seen:
                return f"route '{key}': the path parameter {{{name}}} appears twice"
            seen.add(name)
        elif not _LITERAL.match(segment):
            return (
                f"route '{key}': the segment '{segment}' is neither a parameter such as {{id}} or {{proxy+}} "
                "nor plain letters, digits and -._~"
            )
    return (method, path)


def _shape(method: str, path: str) -> str:
    """What API Gateway matches on: parameter names do not count, so /a/{id} and /a/{name} are one route."""
    return method + " " + re.sub(r"\{[A-Za-z0-9_]+(\+?)\}", r"{\1}", path)


def slug(method: str, path: str) -> str:
    """A route's part of logical IDs: ``GET /items/{id}`` -> ``GetItemsIdParam``, ``ANY /{proxy+}`` -> ``AnyProxyAll``."""
    parts = [method.capitalize()]
    for segment in path.strip("/").split("/") if path != "/" else ["root"]:
        parameter = _PARAMETER.match(segment)
        if parameter:
            parts.append(camel(parameter.group(1)) + ("All" if parameter.group(2) else "Param"))
        else:
            parts.append(camel(re.sub(r"[^A-Za-z0-9]+", "-", segment).strip("-") or "x"))
    return "".join(parts)


def _sample(path: str) -> str:
    """A concrete path the route matches, to ask the load balancer which service it would send it to."""
    return re.sub(r"\{[A-Za-z0-9_]+\+\}", "p/q", re.sub(r"\{[A-Za-z0-9_]+\}", "p", path))


def _balancer_sends(pattern: str, path: str) -> bool:
    """Whether a load balancer path pattern (`*` any characters, `?` one) matches ``path``."""
    return fnmatch.fnmatchcase(path, pattern.replace("[", "[[]"))


def _served_by(spec: Spec, path: str, balancer: balancers.Balancer) -> str | None:
    """What ``balancer`` sends ``path`` to (`services.<n>` or `fleets.<n>`): rules by priority, then the default (`/`)."""
    rules = []
    default = None
    for index, (kind, name, item) in enumerate(relations.balanced(spec), start=1):  # priorities count every route
        if not balancer.holds(kind, name):
            continue
        route = item["route"]
        if route["path"] == "/":
            default = default or f"{kind}.{name}"
        else:
            rules.append((route.get("priority", index * 10), f"{kind}.{name}", route["path"]))
    for _, target, pattern in sorted(rules):
        if _balancer_sends(pattern, path):
            return target
    return default


def close_match(word: str, options: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.75)
    return found[0] if found else None


# --- the load balancer behind the APIs -----------------------------------------------------------------


def internal_balancer(spec: Spec) -> bool:
    """Whether the one load balancer is internal: APIs (HTTP or REST) are the only way into everything routed."""
    found = balancers.balancers(spec)
    return len(found) == 1 and found[0].internal


def server_name(spec: Spec, balancer: balancers.Balancer | None = None) -> str | None:
    """The name the APIs verify on an internal load balancer's certificate (the only one's, by default)."""
    balancer = balancer or balancers.balancers(spec)[0]
    return load_balancer.server_name(spec, balancer)


def _check_internal(spec: Spec) -> Iterator[Problem]:
    settings = spec.get("load_balancer", {})
    if internal_balancer(spec) and settings.get("certificate") and server_name(spec) is None:
        yield (
            ("load_balancer", "certificate"),
            "the load balancer is reached only through HTTP APIs, which reach it inside the VPC over HTTPS and verify a name "
            "its certificate covers; name it in load_balancer.server_name, or use certificates.<name> of this spec",
        )


# --- checks ---------------------------------------------------------------------------------------


def check(spec: Spec) -> Iterator[Problem]:
    groups: dict[str, str] = {}
    for name, api in spec.get("apis", {}).items():
        path: Path = ("apis", name)
        shapes: dict[str, str] = {}
        for key, target in api["routes"].items():
            where = (*path, "routes", key)
            parsed = parse_route(key)
            if isinstance(parsed, str):
                yield where, parsed
                continue
            method, route_path = parsed
            shape = _shape(method, route_path)
            if shape in shapes:
                yield (
                    where,
                    f"route '{key}' is the same route as '{shapes[shape]}': API Gateway matches paths by shape, not parameter names",
                )
                continue
            shapes[shape] = key
            yield from route_target_problems(spec, f"apis.{name}", key, target, route_path, where)
        yield from _check_cors(api, path)
        group = api.get("log_group")  # default names differ by the API's name
        if group in groups:
            yield (*path, "log_group"), f"apis.{name} and apis.{groups[group]} both log to {group}; give each API its own log group"
        elif group:
            groups[group] = name
    yield from _check_internal(spec)


def route_target_problems(
    spec: Spec, owner: str, key: str, target: str, route_path: str, where: Path, cdn_refusal: str | None = None
) -> Iterator[Problem]:
    """What is wrong with ``owner``'s route ``key`` to ``target`` (HTTP and REST APIs alike): a target that does not
    exist, a service the load balancer does not route to, or one it sends ``route_path`` elsewhere from. With
    ``cdn_refusal``, a load balancer that is the cdn's origin is refused too, in those words."""
    kind, _, item = target.partition(".")
    declared = spec.get(kind, {})
    if item not in declared:
        close = close_match(item, list(declared))
        known = f"did you mean {kind}.{close}?" if close else f"{kind}: {', '.join(sorted(declared)) or 'none are declared'}"
        yield where, f"{owner} routes '{key}' to {target}, which does not exist ({known})"
        return
    if kind not in ("services", "fleets"):
        return
    if "route" not in declared[item]:
        yield where, f"{owner} routes '{key}' to {target}, which has no route on the load balancer to reach it through"
        return
    balancer = balancers.balancer_of(spec, kind, item)
    assert balancer is not None
    if cdn_refusal and balancer.guarded:
        yield where, f"{owner} routes '{key}' to {target}, {cdn_refusal}"
        return
    served = _served_by(spec, _sample(route_path), balancer)
    if served != target:
        pattern = declared[item]["route"]["path"]
        other = served or "nothing (a 404)"
        yield (
            where,
            f"{owner} routes '{key}' to {target}, but {balancer.words} sends {route_path} to {other}; {target} serves {pattern}",
        )


def _check_cors(api: dict[str, Any], path: Path) -> Iterator[Problem]:
    cors = api.get("cors")
    if not cors:
        return
    origins = cors["origins"]
    for index, origin in enumerate(origins):
        if origin == "*":
            if len(origins) > 1:
                yield (*path, "cors", "origins", index), "'*' already allows every origin; list origins or write only '*'"
        elif not _ORIGIN.match(origin):
            yield (
                (*path, "cors", "origins", index),
                f"cors origin '{origin}' must be a scheme and a lowercase host with an optional port and no path, "
                "such as https://app.example.com",
            )
    if "*" in origins and cors["credentials"]:
        yield (
            (*path, "cors", "credentials"),
            "cors.credentials cannot be true with origin '*': browsers refuse credentials from any origin; list the origins",
        )


# --- what it compiles to --------------------------------------------------------------------------


def named_log_groups(spec: Spec, ctx: Context) -> list[str]:
    """Log group names the spec chose outside /<system>/<environment>/, which the environment key must also serve."""
    own = ctx.log_group_name() + "/"
    return sorted(api["log_group"] for api in spec.get("apis", {}).values() if "log_group" in api and not api["log_group"].startswith(own))


def _tags(ctx: Context, name: str) -> dict[str, str]:
    """API Gateway v2 takes tags as a map, not the usual list."""
    return {tag["Key"]: tag["Value"] for tag in ctx.resource_tags(name).to_dict()}


def build(apis: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    link = None
    if any(behind_internal(ctx.spec, t) for api in apis.values() for t in api["routes"].values()):
        out.at = ("apis",)
        # One VPC link for every API: in the services' private subnets, behind a group the load balancer admits.
        link = out.add(
            apigatewayv2.VpcLink(
                "ApiVpcLink",
                Name=ctx.name("apis"),
                SubnetIds=network.subnet_ids(ctx, network.app_tier(ctx.spec["network"])),
                SecurityGroupIds=[security.imported(ctx, security.API_LINK)],
                Tags=_tags(ctx, ctx.name("apis")),
            )
        )
    for name, api in sorted(apis.items()):
        out.at = ("apis", name)
        _api(name, api, ctx, out, link)
    return out


def _api(name: str, api: dict[str, Any], ctx: Context, out: Fragment, link: Any = None) -> None:
    title = f"Api{camel(name)}"
    properties: dict[str, Any] = {
        "Name": ctx.name(name),
        "Description": f"{ctx.name()}: HTTP API {name}",
        "ProtocolType": "HTTP",
        "Tags": _tags(ctx, ctx.name(name)),
    }
    if api.get("cors"):
        out.at = ("apis", name, "cors")
        properties["CorsConfiguration"] = _cors(api)
        out.at = ("apis", name)
    resource = out.add(apigatewayv2.Api(title, **properties))
    out.at = ("apis", name, "log_group") if "log_group" in api else ("apis", name)
    group = out.add(log_group(f"{title}AccessLogGroup", api.get("log_group", ctx.log_group_name("apis", name)), ctx, name, STACK))
    out.at = ("apis", name, "throttling")
    out.add(
        apigatewayv2.Stage(
            f"{title}Stage",
            ApiId=Ref(resource),
            StageName="$default",
            Description=f"{ctx.name(name)}: every change deployed at once",
            AutoDeploy=True,
            DefaultRouteSettings=apigatewayv2.RouteSettings(
                ThrottlingRateLimit=float(api["throttling"]["rate"]),
                ThrottlingBurstLimit=api["throttling"]["burst"],
            ),
            # The group's ARN without the `:*` that GetAtt Arn ends with, which API Gateway refuses.
            AccessLogSettings=apigatewayv2.AccessLogSettings(
                DestinationArn=Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group.title}}}"),
                Format=ACCESS_LOG_FORMAT,
            ),
            Tags=_tags(ctx, ctx.name(name)),
        )
    )
    integrations: dict[str, Any] = {}
    for key, target in sorted(api["routes"].items()):
        method, path = parsed_route(key)
        route_slug = slug(method, path)
        out.at = ("apis", name, "routes", key)
        kind, _, item = target.partition(".")
        if kind == "functions":
            if item not in integrations:
                integrations[item] = out.add(
                    apigatewayv2.Integration(
                        f"{title}Function{camel(item)}Integration",
                        ApiId=Ref(resource),
                        Description=f"functions.{item}, Lambda proxy",
                        IntegrationType="AWS_PROXY",
                        IntegrationUri=GetAtt(function_id(item), "Arn"),
                        PayloadFormatVersion="2.0",
                        TimeoutInMillis=TIMEOUT_MS,
                    )
                )
            integration = integrations[item]
            out.add(
                awslambda.Permission(
                    f"{title}Route{route_slug}Permission",
                    Action="lambda:InvokeFunction",
                    FunctionName=Ref(function_id(item)),
                    Principal="apigateway.amazonaws.com",
                    SourceArn=source_arn(resource.title, method, path),
                )
            )
        elif behind_internal(ctx.spec, target):
            integration = out.add(_private_integration(f"{title}Route{route_slug}Integration", resource, target, method, ctx, link))
        else:
            integration = out.add(
                apigatewayv2.Integration(
                    f"{title}Route{route_slug}Integration",
                    ApiId=Ref(resource),
                    Description=f"{target} through the load balancer",
                    IntegrationType="HTTP_PROXY",
                    IntegrationMethod=method,
                    IntegrationUri=_balancer_uri(ctx, path),
                    PayloadFormatVersion="1.0",
                    TimeoutInMillis=TIMEOUT_MS,
                )
            )
        out.add(
            apigatewayv2.Route(
                f"{title}Route{route_slug}",
                ApiId=Ref(resource),
                RouteKey=key,
                AuthorizationType="NONE",
                Target=Join("/", ["integrations", Ref(integration)]),
            )
        )
    out.at = ("apis", name)
    out.export(ctx, STACK, f"{title}Endpoint", GetAtt(resource, "ApiEndpoint"), f"Base URL of HTTP API {name} (https://...).")
    out.export(ctx, STACK, f"{title}Id", Ref(resource), f"ID of HTTP API {name}.")


def behind_internal(spec: Spec, target: str) -> bool:
    """Whether an API route's target sits behind an internal load balancer, reached through a VPC link."""
    kind, _, name = str(target).partition(".")
    balancer = balancers.balancer_of(spec, kind, name) if kind in ("services", "fleets") else None
    return balancer is not None and balancer.internal


def _private_integration(title: str, api: Any, target: str, method: str, ctx: Context, link: Any) -> apigatewayv2.Integration:
    """A service or fleet through the VPC link to its internal load balancer's listener, over HTTPS with a certificate."""
    kind, _, name = target.partition(".")
    balancer = balancers.balancer_of(ctx.spec, kind, name)
    assert balancer is not None
    properties: dict[str, Any] = {}
    if balancer.port == 443:  # a TLS configuration is what makes a private integration speak HTTPS; the name is checked
        properties["TlsConfig"] = apigatewayv2.TlsConfig(ServerNameToVerify=server_name(ctx.spec, balancer))
    return apigatewayv2.Integration(
        title,
        ApiId=Ref(api),
        Description=f"{target} through the VPC link to the internal load balancer",
        IntegrationType="HTTP_PROXY",
        IntegrationMethod=method,
        ConnectionType="VPC_LINK",
        ConnectionId=Ref(link),
        IntegrationUri=Ref(balancer.listener),
        # The request's own path, as the load balancer's path rules expect it.
        RequestParameters={"overwrite:path": "$request.path"},
        PayloadFormatVersion="1.0",
        TimeoutInMillis=TIMEOUT_MS,
        **properties,
    )


def parsed_route(key: str) -> tuple[str, str]:
    parsed = parse_route(key)
    assert not isinstance(parsed, str), parsed  # the checks refused it before building
    return parsed


def function_id(name: str) -> str:
    """The logical ID of functions.<name> in the app stack."""
    return f"Function{camel(name)}"


def source_arn(api_title: str, method: str, path: str) -> Sub:
    """The execute-api ARN of one route of this API, in any stage: what may invoke the function.

    API Gateway invokes with the request's own path, so a parameter matches any value (`*`); ANY is any method.
    """
    resource = re.sub(r"\{[A-Za-z0-9_]+\+?\}", "*", path)
    verb = "*" if method == "ANY" else method
    return Sub(f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api_title}}}/*/{verb}{resource}")


def _balancer_uri(ctx: Context, path: str) -> Join:
    """The load balancer's URL for this route's path; path parameters pass through (`{proxy+}` as `{proxy}`)."""
    scheme = "https" if "certificate" in ctx.spec.get("load_balancer", {}) else "http"
    forwarded = re.sub(r"\{([A-Za-z0-9_]+)\+\}", r"{\1}", path)
    return Join("", [f"{scheme}://", GetAtt("LoadBalancer", "DNSName"), forwarded])


def _cors(api: dict[str, Any]) -> apigatewayv2.Cors:
    cors = api["cors"]
    methods = cors.get("methods") or _route_methods(api)
    return apigatewayv2.Cors(
        AllowOrigins=cors["origins"],
        AllowMethods=methods,
        AllowHeaders=cors["headers"],
        AllowCredentials=cors["credentials"],
        MaxAge=cors["max_age"],
    )


def _route_methods(api: dict[str, Any]) -> list[str]:
    """The methods the API's routes answer (ANY: every one), in METHODS order."""
    used = {parsed_route(key)[0] for key in api["routes"]}
    return [m for m in METHODS[:-1] if "ANY" in used or m in used]


def throttling_schema(description: str) -> dict[str, Any]:
    """The schema of a stage's throttling (HTTP and REST APIs alike), with ``description``."""
    return {
        "description": description,
        "type": "object",
        "additionalProperties": False,
        "default": {"rate": 100, "burst": 200},
        "properties": {
            "rate": {"description": "Steady requests per second.", "type": "integer", "minimum": 1, "maximum": 10000, "default": 100},
            "burst": {
                "description": "Requests served at once above the rate before throttling (429).",
                "type": "integer",
                "minimum": 1,
                "maximum": 5000,
                "default": 200,
            },
        },
    }


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "apis": {
        "description": "API Gateway HTTP APIs. Each route sends `METHOD /path` to a function (Lambda proxy) or to a service "
        "behind the load balancer; CORS, throttling and access logs come from the spec.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/api"},
        "default": {},
        "examples": [{"public": {"routes": {"ANY /api/{proxy+}": "functions.api", "GET /app/{proxy+}": "services.web"}}}],
    }
}
DEFS: dict[str, Any] = {
    "api": {
        "description": "An API Gateway HTTP API with one `$default` stage that deploys every change.",
        "type": "object",
        "additionalProperties": False,
        "required": ["routes"],
        "properties": {
            "routes": {
                "description": "Routes: `METHOD /path` -> `functions.<n>` (Lambda proxy, payload 2.0, invoked only by this route) or "
                "`services.<n>` (HTTP proxy to the load balancer, which must send that path to the service; https when "
                "load_balancer.certificate is set; when APIs are the only way into the routed services, the load balancer is "
                "internal and reached through a VPC link). Methods: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY. Paths start with / "
                "and may hold parameters `{id}` and, last, a greedy `{proxy+}`.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {
                    "description": "`functions.<n>` or `services.<n>`.",
                    "type": "string",
                    "pattern": "^(functions|services|fleets)\\.[a-z][a-z0-9-]*$",
                },
                "examples": [{"GET /items/{id}": "functions.api", "ANY /app/{proxy+}": "services.web"}],
            },
            "cors": {
                "description": "Cross-origin requests from browsers. Only the listed origins are allowed; without cors, none.",
                "type": "object",
                "additionalProperties": False,
                "required": ["origins"],
                "properties": {
                    "origins": {
                        "description": "Origins allowed, such as https://app.example.com (scheme and host, no path). `*` allows "
                        "every origin and must be written as such; it cannot go with credentials.",
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "minItems": 1,
                        "uniqueItems": True,
                        "examples": [["https://app.example.com", "http://localhost:3000"]],
                    },
                    "methods": {
                        "description": "Methods allowed. Default: the methods the routes answer (ANY: all of them).",
                        "type": "array",
                        "items": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"]},
                        "uniqueItems": True,
                        "examples": [["GET", "POST"]],
                    },
                    "headers": {
                        "description": "Request headers allowed. Default: content-type, which a JSON body needs; add authorization "
                        "for bearer tokens.",
                        "type": "array",
                        "items": {"type": "string", "pattern": "^[A-Za-z0-9-]+$"},
                        "uniqueItems": True,
                        "default": ["content-type"],
                        "examples": [["authorization", "content-type"]],
                    },
                    "max_age": {
                        "description": "Seconds a browser may cache the preflight answer. Default 600: a changed CORS rule "
                        "reaches browsers within ten minutes.",
                        "type": "integer",
                        "minimum": 0,
                        "maximum": 86400,
                        "default": 600,
                    },
                    "credentials": {
                        "description": "Allow cookies and authorization headers on cross-origin requests (never with `*`).",
                        "type": "boolean",
                        "default": False,
                    },
                },
            },
            "throttling": throttling_schema(
                "Requests per second for every route of the stage. The defaults are deliberately below API "
                "Gateway's account-wide 10,000 per second (burst 5,000), which every API of the account and region "
                "shares: one API, or one client looping, cannot starve the others or exhaust Lambda's concurrency. "
                "Raise them for a busy API."
            ),
            "log_group": {
                "description": "Name of the access log group (one JSON line per request: requestId, ip, requestTime, httpMethod, "
                "routeKey, status, protocol, responseLength, integrationError, latency), encrypted with the environment key, "
                "kept logs.retention days. Default: /<system>/<environment>/apis/<name>.",
                "type": "string",
                "pattern": LOG_GROUP_PATTERN,
                "examples": ["/aws/apigateway/prod"],
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "apis": {"description": "Changes to apis in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("apis", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, log_groups=named_log_groups)
