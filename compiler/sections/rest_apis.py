"""REST APIs: API Gateway REST APIs (v1) with API keys, usage plans and request validation, for partners and clients
that need what an HTTP API does not have.

Routes are written as for `apis` (`METHOD /path` -> `functions.<n>` or `services.<n>`) and become a tree of resources
(one per path prefix, with `{id}` parameters and a last, greedy `{proxy+}`) and a method on each. A function route is a
Lambda proxy integration plus a permission that lets only this API, on that route's method and path, invoke the
function. A service route goes to the load balancer: through a VPC link (v2, to the Application Load Balancer itself:
REST APIs have integrated privately with ALBs since late 2025, no Network Load Balancer in between) when APIs are
the only way into the routed services and the load balancer is internal, else over the internet to its DNS name, as
an HTTP API does.

One stage per API, named after the environment, with every method throttled (`throttling`), caching off, X-Ray when
`tracing`, and one JSON line per request written to an encrypted, retained log group. The stage serves a deployment
whose logical ID ends with a hash of the compiled resources and methods (`RestApi<Name>Deployment<10 hex digits>`):
a REST API serves only what was deployed, and CloudFormation never redeploys an unchanged Deployment resource, so a
changed route, target, validation rule or key requirement makes a new ID, hence a new deployment the stage switches
to; an unchanged API keeps its ID and deploys nothing.

`keys` are API keys whose values API Gateway generates (a template never holds one); with keys, every method requires
one (`x-api-key`), and the keys share a usage plan on the stage (`usage`: rate, burst and quota). `validate` puts one
request validator on every method; `require` says what a route's requests must carry (query strings, headers, a JSON
body schema), which the validator checks before the integration is called.

API Gateway writes a REST API's access logs through one CloudWatch role per account and region
(AWS::ApiGateway::Account). ivc never sets it: it is one setting for every API of the account and region, and two
stacks writing it would each point it at their own role and break the other's logging when deleted. The account's
baseline owns it (see docs/front-door.md); without it the stage is refused at deploy, never silently unlogged.
Execution logs stay off: API Gateway writes them to a group it creates itself, unencrypted and kept forever.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from troposphere import AWSObject, GetAtt, Join, Ref, Sub, apigateway, apigatewayv2, awslambda, secretsmanager

from ..context import Context, Fragment, camel
from . import apis, balancers, network, security
from .base import LOG_GROUP_PATTERN, Path, Problem, Section, Spec
from .keys import secret_replicas
from .logs import log_group
from .secrets import key_arn
from .site import standby

STACK = "app"
TIMEOUT_MS = 29000  # API Gateway's default most for a REST API integration: the proxy waits as long as it can
VALIDATION = {"none": (False, False), "parameters": (False, True), "body_and_parameters": (True, True)}  # (body, parameters)
PERIODS = ("day", "week", "month")
# The access log format: one JSON object per request, fields in this order. `resourcePath` is the route's path as
# written (`/forms/{id}`), `apiKeyId` which key called (never the key itself), `xrayTraceId` the trace when tracing.
ACCESS_LOG_FIELDS = (
    ("requestId", "$context.requestId"),
    ("ip", "$context.identity.sourceIp"),
    ("requestTime", "$context.requestTime"),
    ("httpMethod", "$context.httpMethod"),
    ("resourcePath", "$context.resourcePath"),
    ("status", "$context.status"),
    ("protocol", "$context.protocol"),
    ("responseLength", "$context.responseLength"),
    ("apiKeyId", "$context.identity.apiKeyId"),
    ("integrationError", "$context.integration.error"),
    ("latency", "$context.responseLatency"),
    ("xrayTraceId", "$context.xrayTraceId"),
)
ACCESS_LOG_FORMAT = json.dumps(dict(ACCESS_LOG_FIELDS), separators=(",", ":"))
JSON_SCHEMA_DRAFT = "http://json-schema.org/draft-04/schema#"  # the draft API Gateway's models speak
_REQUIRED = re.compile(r"^[A-Za-z0-9._-]+$")  # a query string or header name a route may require


def _segments(path: str) -> list[str]:
    return [] if path == "/" else path[1:].split("/")


def _parameters(path: str) -> list[str]:
    """The path parameters of a route, without braces and `+`: ``/a/{id}/{proxy+}`` -> ``["id", "proxy"]``."""
    return re.findall(r"\{([A-Za-z0-9_]+)\+?\}", path)


def _variable(segment: str) -> bool:
    return segment.startswith("{")


def vpc_link(spec: Spec) -> bool:
    """Whether routes go through the REST APIs' VPC link: when a route's service or fleet sits behind an internal load
    balancer (see balancers)."""
    return any(apis.behind_internal(spec, target) for api in spec.get("rest_apis", {}).values() for target in api["routes"].values())


# --- checks ---------------------------------------------------------------------------------------


def check(spec: Spec) -> Iterator[Problem]:
    groups: dict[str, str] = {}
    for name, api in spec.get("rest_apis", {}).items():
        path: Path = ("rest_apis", name)
        parsed: dict[str, tuple[str, str]] = {}
        for key, target in api["routes"].items():
            where = (*path, "routes", key)
            route = apis.parse_route(key)
            if isinstance(route, str):
                yield where, route
                continue
            parsed[key] = route
            yield from apis.route_target_problems(spec, f"rest_apis.{name}", key, target, route[1], where, CDN_REFUSAL)
        yield from _check_tree(name, parsed, path)
        yield from _check_requirements(name, api, parsed, path)
        yield from _check_keys(name, api, path)
        group = api.get("log_group")  # default names differ by the API's name
        if group in groups:
            yield (
                (*path, "log_group"),
                f"rest_apis.{name} and rest_apis.{groups[group]} both log to {group}; give each API its own log group",
            )
        elif group:
            groups[group] = name
        own = {a.get("log_group") for a in spec.get("apis", {}).values()}
        if group and group in own:
            yield (
                (*path, "log_group"),
                f"rest_apis.{name} logs to {group}, which an HTTP API of apis logs to; give each API its own log group",
            )


CDN_REFUSAL = (
    "but the load balancer is the cdn's origin and admits only CloudFront (with its secret header); route to a function, "
    "or give the cdn a path to the service instead of this route"
)


def _check_tree(api: str, parsed: dict[str, tuple[str, str]], path: Path) -> Iterator[Problem]:
    """A REST API's resources are a tree: under one parent, one parameter segment at most, and a method once per path."""
    variables: dict[str, tuple[str, str]] = {}  # parent path -> (the parameter segment under it, the route that made it)
    methods: dict[tuple[str, str], str] = {}
    for key, (method, route_path) in parsed.items():
        where = (*path, "routes", key)
        segments = _segments(route_path)
        for index, segment in enumerate(segments):
            if not _variable(segment):
                continue
            parent = "/" + "/".join(segments[:index])
            first = variables.setdefault(parent, (segment, key))
            if first[0] != segment:
                yield (
                    where,
                    f"route '{key}' puts {segment} under {parent}, where route '{first[1]}' has {first[0]}; a REST API takes one "
                    "parameter per path level: name it the same in both routes",
                )
                break
        else:
            shape = (method, re.sub(r"\{[A-Za-z0-9_]+(\+?)\}", r"{\1}", route_path))
            if shape in methods:
                yield where, f"route '{key}' is the same route as '{methods[shape]}'"
            else:
                methods[shape] = key


def _check_requirements(api: str, settings: dict[str, Any], parsed: dict[str, tuple[str, str]], path: Path) -> Iterator[Problem]:
    body, parameters = VALIDATION[settings["validate"]]
    for key, required in settings.get("require", {}).items():
        where = (*path, "require", key)
        if key not in settings["routes"]:
            close = apis.close_match(key, list(settings["routes"]))
            advice = f"; did you mean '{close}'?" if close else ""
            yield where, f"rest_apis.{api} require names '{key}', which is not one of its routes{advice}"
            continue
        if key not in parsed:
            continue  # the route itself is refused
        if not parameters and (required.get("query") or required.get("headers")):
            yield (
                where,
                f"rest_apis.{api} requires parameters of '{key}', but validate is {settings['validate']}: nothing would check "
                "them; set validate to parameters or body_and_parameters",
            )
        if "body" in required and parsed[key][0] in ("GET", "HEAD", "OPTIONS"):
            yield (*where, "body"), f"'{key}' takes no body: {parsed[key][0]} requests have none to validate"
        elif "body" in required and not body:
            yield (
                (*where, "body"),
                f"rest_apis.{api} requires a body of '{key}', but validate is {settings['validate']}: nothing would check it; "
                "set validate to body_and_parameters",
            )
        for kind in ("query", "headers"):
            for index, name in enumerate(required.get(kind, [])):
                if not _REQUIRED.match(name):
                    yield (
                        (*where, kind, index),
                        f"'{name}' is not a {kind[:-1] if kind == 'headers' else 'query string'} name: letters, digits, . _ -",
                    )


def _check_keys(api: str, settings: dict[str, Any], path: Path) -> Iterator[Problem]:
    keys, usage = settings.get("keys", {}), settings.get("usage")
    if keys and not usage:
        yield (
            (*path, "keys"),
            f"rest_apis.{api} has keys but no usage: a key is refused until a usage plan holds it; say usage: "
            "{rate: <requests/s>, burst: <n>} (and quota) for its keys",
        )
    if usage and not keys:
        yield (*path, "usage"), f"rest_apis.{api} has a usage plan but no keys: a usage plan limits keys; add keys or remove usage"
    if usage:
        throttling = settings["throttling"]
        if usage["rate"] > throttling["rate"]:
            yield (
                (*path, "usage", "rate"),
                f"usage.rate {usage['rate']} is above the stage's throttling.rate {throttling['rate']}, which throttles every "
                "caller first; raise throttling.rate or lower usage.rate",
            )
        if usage["burst"] > throttling["burst"]:
            yield (
                (*path, "usage", "burst"),
                f"usage.burst {usage['burst']} is above the stage's throttling.burst {throttling['burst']}, which throttles every "
                "caller first; raise throttling.burst or lower usage.burst",
            )


# --- what it compiles to --------------------------------------------------------------------------


def named_log_groups(spec: Spec, ctx: Context) -> list[str]:
    """Log group names the spec chose outside /<system>/<environment>/, which the environment key must also serve."""
    own = ctx.log_group_name() + "/"
    groups = (api["log_group"] for api in spec.get("rest_apis", {}).values() if "log_group" in api)
    return sorted(group for group in groups if not group.startswith(own))


def api_id(name: str) -> str:
    """The logical ID of rest_apis.<name> in the app stack."""
    return f"RestApi{camel(name)}"


def stage_id(name: str) -> str:
    """The logical ID of rest_apis.<name>'s stage, whose Ref is its name: what a web ACL is associated with."""
    return f"{api_id(name)}Stage"


def stage_arn(name: str) -> Sub:
    """The stage's ARN, as AWS WAF takes it."""
    return Sub(f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}::/restapis/${{{api_id(name)}}}/stages/${{{stage_id(name)}}}")


def build(rest_apis: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    link = None
    if vpc_link(ctx.spec):
        out.at = ("rest_apis",)
        # One VPC link (v2) for every REST API, in the services' private subnets, behind the group the internal load
        # balancer admits; each service method names the load balancer as its integration target.
        link = out.add(
            apigatewayv2.VpcLink(
                "RestApiVpcLink",
                Name=ctx.name("rest-apis"),
                SubnetIds=network.subnet_ids(ctx, network.app_tier(ctx.spec["network"])),
                SecurityGroupIds=[security.imported(ctx, security.API_LINK)],
                Tags={tag["Key"]: tag["Value"] for tag in ctx.resource_tags(ctx.name("rest-apis")).to_dict()},
            )
        )
    for name, api in sorted(rest_apis.items()):
        out.at = ("rest_apis", name)
        _api(name, api, ctx, out, link)
    return out


def _api(name: str, api: dict[str, Any], ctx: Context, out: Fragment, link: Any) -> None:
    title = api_id(name)
    resource = out.add(
        apigateway.RestApi(
            title,
            Name=ctx.name(name),
            Description=f"{ctx.name()}: REST API {name}",
            EndpointConfiguration=apigateway.EndpointConfiguration(Types=["REGIONAL"]),
            ApiKeySourceType="HEADER",
            Tags=ctx.resource_tags(ctx.name(name)),
        )
    )
    body, parameters = VALIDATION[api["validate"]]
    validator = None
    if body or parameters:
        out.at = ("rest_apis", name, "validate")
        validator = out.add(
            apigateway.RequestValidator(
                f"{title}Validator",
                Name=ctx.name(name, api["validate"].replace("_", "-")),
                RestApiId=Ref(resource),
                ValidateRequestBody=body,
                ValidateRequestParameters=parameters,
            )
        )
    compiled: list[AWSObject] = []  # what a deployment serves: its hash names the deployment
    tree: dict[str, Any] = {"/": GetAtt(resource, "RootResourceId")}
    for key, target in sorted(api["routes"].items()):
        method, path = apis.parsed_route(key)
        out.at = ("rest_apis", name, "routes", key)
        segments = _segments(path)
        for index in range(len(segments)):
            prefix = "/" + "/".join(segments[: index + 1])
            if prefix not in tree:
                parent = "/" + "/".join(segments[:index])
                node = out.add(
                    apigateway.Resource(
                        f"{title}Resource{apis.slug('', prefix)}",
                        RestApiId=Ref(resource),
                        ParentId=tree[parent] if parent == "/" else Ref(tree[parent]),
                        PathPart=segments[index],
                    )
                )
                compiled.append(node)
                tree[prefix] = node
        required = api.get("require", {}).get(key, {})
        properties: dict[str, Any] = {}
        request = {f"method.request.path.{p}": True for p in _parameters(path)}
        request |= {f"method.request.querystring.{q}": True for q in required.get("query", [])}
        request |= {f"method.request.header.{h}": True for h in required.get("headers", [])}
        if request:
            properties["RequestParameters"] = request
        if validator is not None:
            properties["RequestValidatorId"] = Ref(validator)
        if "body" in required:
            out.at = ("rest_apis", name, "require", key, "body")
            model = out.add(
                apigateway.Model(
                    f"{title}Model{apis.slug(method, path)}",
                    RestApiId=Ref(resource),
                    ContentType="application/json",
                    Description=f"The JSON body {key} requires",
                    Schema={"$schema": JSON_SCHEMA_DRAFT, **required["body"]},
                )
            )
            compiled.append(model)
            properties["RequestModels"] = {"application/json": Ref(model)}
            out.at = ("rest_apis", name, "routes", key)
        kind, _, item = target.partition(".")
        integration = _function(item) if kind == "functions" else _balanced(target, method, path, ctx, link)
        compiled.append(
            out.add(
                apigateway.Method(
                    f"{title}{apis.slug(method, path)}",
                    RestApiId=Ref(resource),
                    ResourceId=tree[path] if path == "/" else Ref(tree[path]),
                    HttpMethod=method,
                    AuthorizationType="NONE",
                    ApiKeyRequired=bool(api.get("keys")),
                    Integration=integration,
                    **properties,
                )
            )
        )
        if kind == "functions":
            out.add(
                awslambda.Permission(
                    f"{title}Permission{apis.slug(method, path)}",
                    Action="lambda:InvokeFunction",
                    FunctionName=Ref(apis.function_id(item)),
                    Principal="apigateway.amazonaws.com",
                    SourceArn=apis.source_arn(title, method, path),
                )
            )
    out.at = ("rest_apis", name)
    deployment = out.add(
        apigateway.Deployment(
            f"{title}Deployment{deployment_hash(compiled)}",
            RestApiId=Ref(resource),
            Description=f"{ctx.name(name)}: the routes as compiled (a changed route makes a new deployment)",
            DependsOn=[m.title for m in compiled if isinstance(m, apigateway.Method)],
        )
    )
    _stage(name, api, ctx, out, resource, deployment)


def deployment_hash(compiled: list[AWSObject]) -> str:
    """Ten hex digits of SHA-256 over the compiled resources, models and methods, in CloudFormation's own words."""
    text = json.dumps([[r.title, r.to_dict()] for r in compiled], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def _stage(name: str, api: dict[str, Any], ctx: Context, out: Fragment, resource: Any, deployment: Any) -> None:
    title = api_id(name)
    out.at = ("rest_apis", name, "log_group") if "log_group" in api else ("rest_apis", name)
    group = out.add(log_group(f"{title}AccessLogGroup", api.get("log_group", ctx.log_group_name("rest-apis", name)), ctx, name, STACK))
    out.at = ("rest_apis", name, "throttling")
    stage = out.add(
        apigateway.Stage(
            stage_id(name),
            RestApiId=Ref(resource),
            DeploymentId=Ref(deployment),
            StageName=ctx.environment,
            Description=f"{ctx.name(name)}: the {ctx.environment} stage",
            TracingEnabled=api["tracing"],
            CacheClusterEnabled=False,
            MethodSettings=[
                apigateway.MethodSetting(
                    HttpMethod="*",
                    ResourcePath="/*",
                    ThrottlingRateLimit=float(api["throttling"]["rate"]),
                    ThrottlingBurstLimit=api["throttling"]["burst"],
                    CachingEnabled=False,
                    DataTraceEnabled=False,  # never log request and response bodies
                    LoggingLevel="OFF",  # execution logs would go to a group API Gateway makes, unencrypted and kept forever
                    MetricsEnabled=False,
                )
            ],
            # The group's ARN without the `:*` that GetAtt Arn ends with, which API Gateway refuses.
            AccessLogSetting=apigateway.AccessLogSetting(
                DestinationArn=Sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{group.title}}}"),
                Format=ACCESS_LOG_FORMAT,
            ),
            Tags=ctx.resource_tags(ctx.name(name)),
        )
    )
    keys = api.get("keys", {})
    if keys and api.get("usage"):
        out.at = ("rest_apis", name, "usage")
        usage = api["usage"]
        properties: dict[str, Any] = {}
        if "quota" in usage:
            properties["Quota"] = apigateway.QuotaSettings(Limit=usage["quota"]["limit"], Period=usage["quota"]["period"].upper())
        plan = out.add(
            apigateway.UsagePlan(
                f"{title}UsagePlan",
                UsagePlanName=ctx.name(name),
                Description=f"{ctx.name(name)}: what each key of rest_apis.{name} may call",
                ApiStages=[apigateway.ApiStage(ApiId=Ref(resource), Stage=Ref(stage))],
                Throttle=apigateway.ThrottleSettings(RateLimit=float(usage["rate"]), BurstLimit=usage["burst"]),
                Tags=ctx.resource_tags(ctx.name(name)),
                **properties,
            )
        )
        for key_name, key in sorted(keys.items()):
            out.at = ("rest_apis", name, "keys", key_name)
            api_key = out.add(
                apigateway.ApiKey(
                    f"{title}Key{camel(key_name)}",
                    Name=ctx.name(name, key_name),
                    Description=f"{ctx.name(name)}: key {key_name}",
                    Enabled=key["enabled"],
                    Tags=ctx.resource_tags(ctx.name(name, key_name)),
                    **_shared_value(name, key_name, ctx, out),
                )
            )
            out.add(
                apigateway.UsagePlanKey(f"{title}Key{camel(key_name)}Plan", KeyId=Ref(api_key), KeyType="API_KEY", UsagePlanId=Ref(plan))
            )
            out.export(
                ctx, STACK, f"{title}Key{camel(key_name)}Id", Ref(api_key), f"ID of REST API {name}'s key {key_name} (not its value)."
            )
    out.at = ("rest_apis", name)
    url = Join("", ["https://", Ref(resource), ".execute-api.", Ref("AWS::Region"), ".", Ref("AWS::URLSuffix"), "/", Ref(stage)])
    out.export(ctx, STACK, f"{title}Url", url, f"Base URL of REST API {name}'s stage (https://.../<environment>).")
    out.export(ctx, STACK, f"{title}Id", Ref(resource), f"ID of REST API {name}.")


def key_secret_name(ctx: Context, api: str, key: str) -> str:
    """The secret holding the value of a standing-by REST API's key, the same name in both regions."""
    return f"{ctx.system}/{ctx.environment}/rest-apis/{api}/keys/{key}"


def _shared_value(api: str, key: str, ctx: Context, out: Fragment) -> dict[str, Any]:
    """The key's value, when the API stands by in the DR region: the same in both regions, so a caller's key works
    after a failover. A secret of the primary region, replicated to the DR region, holds it; each region's key reads
    its own copy by a dynamic reference (never the value). Otherwise no Value: API Gateway generates the key, so no
    template and no output/ file ever holds one."""
    if api not in standby(ctx.spec, "rest_apis"):
        return {}
    name = key_secret_name(ctx, api, key)
    if ctx.role == "primary":
        secondary = ctx.spec["regions"]["secondary"]
        secret = out.add(
            secretsmanager.Secret(
                f"{api_id(api)}Key{camel(key)}Secret",
                Name=name,
                Description=f"{ctx.name(api)}: the value of key {key}, in both regions",
                KmsKeyId=key_arn(ctx),
                GenerateSecretString=secretsmanager.GenerateSecretString(PasswordLength=40, ExcludePunctuation=True),
                Tags=ctx.resource_tags(ctx.name(api, key)),
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
                **secret_replicas(ctx, out, [secondary]),
            )
        )
        return {"Value": f"{{{{resolve:secretsmanager:{name}:SecretString}}}}", "DependsOn": [secret.title]}
    out.after.add((ctx.primary_region, STACK))  # the replica exists once the primary's secret does
    return {"Value": f"{{{{resolve:secretsmanager:{name}:SecretString}}}}"}


def _function(item: str) -> apigateway.Integration:
    """A Lambda proxy integration: API Gateway always invokes a function with POST."""
    function = apis.function_id(item)
    arn = f"arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/functions/${{{function}.Arn}}/invocations"
    return apigateway.Integration(Type="AWS_PROXY", IntegrationHttpMethod="POST", Uri=Sub(arn), TimeoutInMillis=TIMEOUT_MS)


def _balanced(target: str, method: str, path: str, ctx: Context, link: Any) -> apigateway.Integration:
    """A service or fleet through its load balancer, the request's path (its parameters mapped through) as the load
    balancer's path rules expect it: through the VPC link to an internal load balancer, else to its public DNS name."""
    forwarded = re.sub(r"\{([A-Za-z0-9_]+)\+\}", r"{\1}", path)
    mapped = {f"integration.request.path.{p}": f"method.request.path.{p}" for p in _parameters(path)}
    properties: dict[str, Any] = {"RequestParameters": mapped} if mapped else {}
    kind, _, name = target.partition(".")
    balancer = balancers.balancer_of(ctx.spec, kind, name)
    assert balancer is not None
    https = balancer.port == 443
    if balancer.internal:
        # Over HTTPS, API Gateway verifies the certificate for the URI's host: the name the checks required.
        host: Any = apis.server_name(ctx.spec, balancer) if https else GetAtt(balancer.title, "DNSName")
        properties |= {"ConnectionType": "VPC_LINK", "ConnectionId": Ref(link), "IntegrationTarget": Ref(balancer.title)}
    else:
        host = GetAtt(balancer.title, "DNSName")
    return apigateway.Integration(
        Type="HTTP_PROXY",
        IntegrationHttpMethod=method,
        Uri=Join("", ["https://" if https else "http://", host, forwarded]),
        TimeoutInMillis=TIMEOUT_MS,
        **properties,
    )


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

PROPERTIES: dict[str, Any] = {
    "rest_apis": {
        "description": "API Gateway REST APIs (v1), for what HTTP APIs lack: API keys with usage plans, request validation and "
        "AWS WAF. Routes send `METHOD /path` to a function (Lambda proxy) or to a service behind the load balancer (through a "
        "VPC link when the load balancer is internal); one stage per environment, throttled, traced and access-logged.",
        "type": "object",
        "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
        "additionalProperties": {"$ref": "#/$defs/rest_api"},
        "default": {},
        "examples": [
            {
                "partners": {
                    "routes": {"GET /forms/{id}": "functions.forms", "POST /uploads": "functions.upload"},
                    "keys": {"partner-a": {}},
                    "usage": {"rate": 50, "burst": 100, "quota": {"limit": 100000, "period": "month"}},
                }
            }
        ],
    }
}
_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 128}, "uniqueItems": True}
DEFS: dict[str, Any] = {
    "rest_api": {
        "description": "An API Gateway REST API (regional) with one stage named after the environment.",
        "type": "object",
        "additionalProperties": False,
        "required": ["routes"],
        "properties": {
            "routes": {
                "description": "Routes: `METHOD /path` -> `functions.<n>` (Lambda proxy, invoked only by this route) or `services.<n>` "
                "(HTTP proxy to the load balancer, which must send that path to the service; through a VPC link to the internal "
                "load balancer when APIs are the only way in, https when load_balancer.certificate is set). Methods: GET, POST, "
                "PUT, PATCH, DELETE, HEAD, OPTIONS, ANY. Paths start with / and may hold parameters `{id}` and, last, a greedy "
                "`{proxy+}`; one parameter name per path level.",
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {
                    "description": "`functions.<n>` or `services.<n>`.",
                    "type": "string",
                    "pattern": "^(functions|services|fleets)\\.[a-z][a-z0-9-]*$",
                },
                "examples": [{"GET /forms/{id}": "functions.forms", "ANY /app/{proxy+}": "services.app"}],
            },
            "keys": {
                "description": "API keys, by name. Each is generated by API Gateway (no value is ever written in a template; read it "
                "with `aws apigateway get-api-key --api-key <id> --include-value`, the ID exported as "
                "RestApi<Name>Key<Key>Id) and joins the usage plan. With keys, every method requires one in the x-api-key header.",
                "type": "object",
                "propertyNames": {"pattern": "^[a-z][a-z0-9-]{0,30}$"},
                "additionalProperties": {
                    "description": "One API key.",
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enabled": {
                            "description": "Whether the key is accepted; false revokes it without deleting it.",
                            "type": "boolean",
                            "default": True,
                        }
                    },
                },
                "default": {},
                "examples": [{"partner-a": {}, "partner-b": {"enabled": False}}],
            },
            "usage": {
                "description": "The usage plan the keys share: requests per second and burst for each key, and an optional quota. "
                "Required with keys (API Gateway refuses a key no usage plan holds); at most the stage's throttling.",
                "type": "object",
                "additionalProperties": False,
                "required": ["rate", "burst"],
                "properties": {
                    "rate": {"description": "Steady requests per second for each key.", "type": "integer", "minimum": 1, "maximum": 10000},
                    "burst": {"description": "Requests served at once above the rate.", "type": "integer", "minimum": 1, "maximum": 5000},
                    "quota": {
                        "description": "Requests each key may make per day, week or month; then 429 until the period ends.",
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["limit", "period"],
                        "properties": {
                            "limit": {"description": "Requests per period.", "type": "integer", "minimum": 1, "maximum": 2000000000},
                            "period": {"description": "day, week or month (UTC).", "enum": list(PERIODS)},
                        },
                        "examples": [{"limit": 100000, "period": "month"}],
                    },
                },
                "examples": [{"rate": 50, "burst": 100, "quota": {"limit": 100000, "period": "month"}}],
            },
            "validate": {
                "description": "What the API's request validator checks on every method before calling the integration: none, "
                "parameters (the path parameters and the query strings and headers `require` lists) or body_and_parameters "
                "(also the JSON body against the route's `require` body schema).",
                "enum": list(VALIDATION),
                "default": "body_and_parameters",
            },
            "require": {
                "description": "What a route's requests must carry, by route key (as written in routes): `query` strings and "
                "`headers` that must be present, and a `body` JSON schema (draft 4) the JSON body must satisfy; otherwise 400 "
                "before the integration runs.",
                "type": "object",
                "additionalProperties": {
                    "description": "Requirements of one route.",
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {
                        "query": {**_NAMES, "description": "Query strings the request must have.", "examples": [["page"]]},
                        "headers": {**_NAMES, "description": "Headers the request must have.", "examples": [["x-tenant"]]},
                        "body": {
                            "description": "A JSON schema (draft 4) for the application/json body, such as {type: object, "
                            "required: [name], properties: {name: {type: string}}}.",
                            "type": "object",
                            "minProperties": 1,
                            "additionalProperties": {"description": "A JSON schema keyword (draft 4), passed to API Gateway as written."},
                            "examples": [{"required": ["name", "size"]}],
                        },
                    },
                },
                "default": {},
                "examples": [{"POST /uploads": {"headers": ["content-type"], "body": {"required": ["name"]}}}],
            },
            "throttling": apis.throttling_schema(
                "Requests per second for every method of the stage, whoever calls. The defaults are deliberately "
                "below API Gateway's account-wide 10,000 per second (burst 5,000), which every API of the account and region "
                "shares. Raise them for a busy API."
            ),
            "tracing": {
                "description": "AWS X-Ray tracing on the stage (API Gateway's default sampling: the first request each second and "
                "5% of the rest); traces continue into functions that trace.",
                "type": "boolean",
                "default": True,
            },
            "log_group": {
                "description": "Name of the access log group (one JSON line per request: requestId, ip, requestTime, httpMethod, "
                "resourcePath, status, protocol, responseLength, apiKeyId, integrationError, latency, xrayTraceId), encrypted "
                "with the environment key, kept logs.retention days. Default: /<system>/<environment>/rest-apis/<name>.",
                "type": "string",
                "pattern": LOG_GROUP_PATTERN,
                "examples": ["/aws/apigateway/partners"],
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    "rest_apis": {"description": "Changes to rest_apis in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section("rest_apis", PROPERTIES, DEFS, OVERLAY, check=check, build=build, stack=STACK, log_groups=named_log_groups, site=True)
