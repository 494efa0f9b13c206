"""CDN: a CloudFront distribution over buckets (through Origin Access Control), the load balancer and HTTP APIs.

It is built in us-east-1, where CloudFront takes certificates and web ACLs from. When the primary region is another
one, us-east-1 joins the environment as its "edge" region (keys and edge stacks only), and the distribution names
what it reaches in the primary region, because exports do not cross regions: the load balancer and the APIs by the
records that name them, buckets by their computed regional domain names, the origin secret by its replica's name.
The primary region's stacks it names are deployed first (Fragment.after); the bucket policies stay with the buckets
(see cdn_buckets).

Every behavior gets its own cache policy from its TTL and what it forwards. A
TTL of 0 keeps nothing cached (at most one second, and only when the origin
asks) while still forwarding headers such as Authorization, which CloudFront
only forwards through a cache policy. The buckets the CDN serves get their
bucket policy here: TLS only, and reads only by this distribution. An API origin
caches nothing unless its behavior writes a ttl: API answers are per request.

A served bucket replicated to the DR region (buckets.<n>.replicate) is read through an origin group that fails over
to its replica (see _failover; the replica's policy is written in the DR region, see bucket_replicas).

Origin Shield, field-level encryption and CloudFront Functions are checked and described in cdn_edge; their
resources and the behaviors' settings are made here. Field-level encryption also puts the distribution in us-east-1
(see regions.cdn_apart): CloudFormation makes its profiles and configurations there only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from awacs import s3 as s3_actions
from awacs.aws import Allow, Condition, PolicyDocument, Principal, Statement, StringEquals
from troposphere import GetAtt, Join, Ref, Select, Split, Sub, cloudfront, s3

from ..context import Context, Fragment, camel, is_protected
from ..regions import CLOUDFRONT_REGION, cdn_apart
from . import access_logs, bucket_replicas, cdn_edge, cdn_origin, certificates, dns
from .base import CDN, Problem, Section, Spec
from .buckets import regional_domain_name, tls_only

STACK = "edge"
PRICE_CLASSES = {100: "PriceClass_100", 200: "PriceClass_200", "all": "PriceClass_All"}
YEAR = 31536000
TTL = 86400  # default seconds cached for bucket and service origins; API origins default to 0
READ_METHODS = ["GET", "HEAD", "OPTIONS"]  # also all that CloudFront lets a behavior that targets an origin group allow
# When CloudFront fails over from a bucket to its DR replica (an origin group): the primary's 5xx (S3 failing, or
# throttling, which S3 answers 503), and 403 and 404, because S3 answers 403 for a key that is not there when the reader
# may not list the bucket (Origin Access Control grants GetObject only), and a bucket or a policy lost in a regional
# failure answers the same: the replica is then tried too. A key missing from both costs a second origin request. Not
# 400 or 416: the request itself is wrong, and the replica would answer the same. CloudFront also fails over when it
# cannot connect to the primary or it does not answer in time.
FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504]
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
# CloudFront delivers standard logs to no bucket in these regions (AWS: "Configure standard logging (legacy)"), and the
# environment's log bucket is in the primary region.
NO_STANDARD_LOGS = (
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
)


def check(spec: Spec) -> Iterator[Problem]:
    cdn = spec.get("cdn")
    if not cdn:
        return
    behaviors = [(("cdn", "default"), cdn["default"])] + [(("cdn", "paths", p), b) for p, b in cdn["paths"].items()]
    for path, behavior in behaviors:
        kind, name = behavior["origin"].split(".", 1)
        if name not in spec.get(kind, {}):
            yield (*path, "origin"), f"cdn origin {behavior['origin']} does not exist"
        elif kind in ("services", "fleets") and "route" not in spec[kind][name]:
            yield (*path, "origin"), f"cdn origin {behavior['origin']} has no route on the load balancer to reach it through"
        elif kind == "buckets" and (behavior["headers"] or behavior["cookies"]):
            yield (*path, "origin"), "a bucket origin takes no headers or cookies"
        elif kind == "buckets" and spec["buckets"][name]["encryption"] == "kms":
            yield (*path, "origin"), f"buckets.{name} is KMS-encrypted; CloudFront serves aes256 buckets (set encryption: aes256)"
        elif kind == "apis" and any(h.lower() == "host" for h in behavior["headers"]):
            # API Gateway answers only to its own domain name; forwarding the viewer's Host makes every request a 403.
            yield (
                (*path, "headers"),
                f"cdn origin {behavior['origin']} cannot take the Host header: API Gateway answers only to its own domain",
            )
    if spec["regions"]["primary"] in NO_STANDARD_LOGS:
        yield (
            ("regions", "primary"),
            f"the cdn logs to the environment's log bucket in the primary region, and CloudFront delivers no standard logs "
            f"to {spec['regions']['primary']}; choose another primary region for a spec with a cdn",
        )
    if cdn_apart(spec):
        yield from _apart_problems(spec, behaviors)
    if cdn["aliases"] and "certificate" not in cdn:
        yield ("cdn", "aliases"), "cdn.aliases need cdn.certificate, an ACM certificate in us-east-1 covering them"
    yield from _certificate_problems(spec, cdn)  # one web ACL per distribution is the firewall section's check
    yield from cdn_edge.shield_problems(spec, behaviors, _origin_id)
    yield from cdn_edge.function_problems(cdn, behaviors)
    if "field_encryption" in cdn:
        yield from _field_encryption_problems(spec, cdn, behaviors)


def _field_encryption_problems(spec: Spec, cdn: dict[str, Any], behaviors: list[Any]) -> Iterator[Problem]:
    """The key is an RSA 2048 public key, the fields do not overlap, and every behavior it is on can carry it.

    CloudFront encrypts fields only on a behavior that allows POST and PUT, with viewers on HTTPS (ivc always redirects
    them there), and whose origin it reaches over HTTPS: an API, or the load balancer when it has a certificate.
    """
    at = ("cdn", "field_encryption")
    encryption = cdn["field_encryption"]
    problem = cdn_edge.public_key_problem(encryption["public_key"])
    if problem:
        yield (*at, "public_key"), problem
    for index, message in cdn_edge.field_problems(encryption["fields"]):
        yield (*at, "fields", index), message
    by_name = {"default" if path == ("cdn", "default") else path[-1]: (path, b) for path, b in behaviors}
    for index, name in enumerate(encryption.get("paths", [])):
        if name not in by_name:
            options = list(by_name)
            yield (*at, "paths", index), f"{name} is not a cdn behavior (behaviors: {', '.join(options)}){cdn_edge.close(name, options)}"
    listed = "paths" in encryption
    for index, name in enumerate(encryption["paths"] if listed else encrypted_behaviors(cdn)):
        if name not in by_name:
            continue
        behavior = by_name[name][1]
        where = (*at, "paths", index) if listed else at
        origin = behavior["origin"]
        if origin.startswith("buckets."):
            yield where, f"the {name} behavior serves {origin}, which allows GET, HEAD and OPTIONS only; field-level encryption needs POST"
        elif origin.startswith(cdn_origin.BALANCED) and "certificate" not in spec.get("load_balancer", {}):
            yield (
                where,
                f"the {name} behavior reaches the load balancer over HTTP, and field-level encryption needs HTTPS to the origin: "
                "give the load balancer a certificate" + ("" if listed else ", or list the behaviors it is on in paths"),
            )
    if "paths" not in encryption and all(b["origin"].startswith("buckets.") for _, b in behaviors):
        yield at, "every cdn behavior serves a bucket, which allows GET, HEAD and OPTIONS only; field-level encryption needs POST"


def encrypted_behaviors(cdn: dict[str, Any]) -> list[str]:
    """The behaviors ("default" or a path) field-level encryption is on: those listed, else every one that takes POST."""
    encryption = cdn.get("field_encryption")
    if not encryption:
        return []
    if "paths" in encryption:
        return list(encryption["paths"])
    named = [("default", cdn["default"]), *cdn["paths"].items()]
    return [name for name, behavior in named if not behavior["origin"].startswith("buckets.")]


def _apart_problems(spec: Spec, behaviors: list[Any]) -> Iterator[Problem]:
    """Built in us-east-1, the distribution reaches primary-region origins by name: their generated names cannot cross."""
    primary = spec["regions"]["primary"]
    for path, behavior in behaviors:
        origin = behavior["origin"]
        kind, _, name = origin.partition(".")
        if kind in ("services", "fleets") and name in spec.get(kind, {}) and dns.balancer_name(spec) is None:
            yield (
                (*path, "origin"),
                f"the cdn is built in {CLOUDFRONT_REGION} (CloudFront's region) and reaches the load balancer in {primary} by "
                f"name: add a dns record for it, such as `dns: {{records: {{origin: {origin}}}}}`",
            )
        elif kind == "apis" and name in spec.get(kind, {}) and dns.target_name(spec, origin) is None:
            yield (
                (*path, "origin"),
                f"the cdn is built in {CLOUDFRONT_REGION} (CloudFront's region) and reaches {origin} in {primary} by its custom "
                f"domain: add a dns record for it, such as `dns: {{records: {{api: {origin}}}}}`",
            )


def _certificate_problems(spec: Spec, cdn: dict[str, Any]) -> Iterator[Problem]:
    certificate = cdn.get("certificate", "")
    at = ("cdn", "certificate")
    if not certificate.startswith("certificates."):
        if certificate and certificate.split(":")[3:4] != [CLOUDFRONT_REGION]:
            yield at, f"CloudFront takes certificates from us-east-1 only; this one is in {certificate.split(':')[3] or 'no region'}"
        return
    name = certificate.split(".", 1)[1]
    if name not in spec.get("certificates", {}):
        yield at, f"cdn.certificate is {certificate}, which does not exist"
    elif "dns" in spec:
        names = dns.certificate_names(spec, certificate) or []
        for index, alias in enumerate(cdn["aliases"]):
            if not dns.covers(names, alias):
                yield ("cdn", "aliases", index), f"{certificate} does not cover the cdn alias {alias}"


def environment_problems(environment: str, spec: Spec) -> Iterator[Problem]:
    """What only a prod environment may not do: carry viewers' credentials to the load balancer over plain HTTP."""
    cdn = spec.get("cdn")
    if not cdn or not is_protected(environment, spec) or spec.get("load_balancer", {}).get("certificate"):
        return
    behaviors = [(("cdn", "default"), cdn["default"])] + [(("cdn", "paths", p), b) for p, b in cdn["paths"].items()]
    for path, behavior in behaviors:
        if not behavior["origin"].startswith(cdn_origin.BALANCED):
            continue
        authorization = [i for i, h in enumerate(behavior["headers"]) if h.lower() == "authorization"]
        if authorization or behavior["cookies"]:
            carried = " and ".join(w for w, on in (("Authorization headers", authorization), ("cookies", behavior["cookies"])) if on)
            yield (
                (*path, "headers", authorization[0]) if authorization else (*path, "cookies"),
                f"in {environment}, the cdn would carry {carried} to the load balancer over plain HTTP: give the load balancer a "
                "certificate (load_balancer.certificate: certificates.<name> or an ACM ARN) so CloudFront reaches it over HTTPS",
            )


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "root"


def _origin_id(origin: str) -> str:
    kind, name = origin.split(".", 1)
    return {"buckets": f"bucket-{name}", "apis": f"api-{name}"}.get(kind, "load-balancer")


REPLICA, GROUP = "-dr", "-failover"  # suffixes of a bucket's origin ID: its DR replica's origin, their origin group


def _group_id(spec: Spec, origin: str) -> str | None:
    """The origin group a behavior serving ``origin`` targets, when the cdn fails over from it to its DR replica."""
    kind, _, name = origin.partition(".")
    return f"{_origin_id(origin)}{GROUP}" if kind == "buckets" and name in failover_buckets(spec) else None


def _failover(ctx: Context, access_control: Any, origins: list[cloudfront.Origin], out: Fragment) -> list[cloudfront.OriginGroup]:
    """For each served bucket replicated to the DR region, its replica as an origin (through the same Origin Access
    Control) and an origin group that fails over to it: the bucket first, the replica second."""
    spec = ctx.spec
    names = failover_buckets(spec)
    if not names:
        return []
    secondary = spec["regions"]["secondary"]
    # The replicas and their policies (which admit CloudFront) are in the DR region's data stack.
    out.after.add((secondary, bucket_replicas.STACK))
    groups = []
    for name in names:
        primary = f"bucket-{name}"
        # Computed: exports do not cross regions. Built in the DR region itself (CloudFront's region being the DR one),
        # the distribution imports it, and that orders the two stacks.
        domain = (
            ctx.imported(bucket_replicas.STACK, f"Bucket{camel(name)}DomainName")
            if ctx.region == secondary
            else bucket_replicas.replica_domain_name(ctx, name)
        )
        origins.append(
            cloudfront.Origin(
                Id=f"{primary}{REPLICA}",
                DomainName=domain,
                S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                OriginAccessControlId=access_control,
            )
        )
        groups.append(
            cloudfront.OriginGroup(
                Id=f"{primary}{GROUP}",
                Members=cloudfront.OriginGroupMembers(
                    Quantity=2,
                    Items=[cloudfront.OriginGroupMember(OriginId=primary), cloudfront.OriginGroupMember(OriginId=f"{primary}{REPLICA}")],
                ),
                FailoverCriteria=cloudfront.OriginGroupFailoverCriteria(
                    StatusCodes=cloudfront.StatusCodes(Quantity=len(FAILOVER_STATUS_CODES), Items=FAILOVER_STATUS_CODES)
                ),
            )
        )
    return groups


def ttl(behavior: dict[str, Any]) -> int:
    """Seconds cached by default: what the behavior says, else nothing for an API and a day for the rest."""
    return int(behavior.get("ttl", 0 if behavior["origin"].startswith("apis.") else TTL))


def build(cdn: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    spec = ctx.spec
    apart = cdn_apart(spec)
    if apart:
        # Built in CloudFront's region: what it names in the primary region must exist first.
        out.after.update((ctx.primary_region, stack) for stack in (dns.ZONE_STACK, "data", "app"))
    behaviors = [("default", cdn["default"])] + list(cdn["paths"].items())
    bucket_names = served_buckets(cdn)
    origins = []
    groups: list[cloudfront.OriginGroup] = []
    if bucket_names:
        oac = out.add(
            cloudfront.OriginAccessControl(
                "OriginAccessControl",
                OriginAccessControlConfig=cloudfront.OriginAccessControlConfig(
                    Name=ctx.name("cdn"),
                    Description=f"{ctx.name()}: CloudFront signs its requests to the buckets it serves",
                    OriginAccessControlOriginType="s3",
                    SigningBehavior="always",
                    SigningProtocol="sigv4",
                ),
            )
        )
        for name in bucket_names:
            origins.append(
                cloudfront.Origin(
                    Id=f"bucket-{name}",
                    DomainName=regional_domain_name(ctx, name) if apart else ctx.imported("data", f"Bucket{camel(name)}DomainName"),
                    S3OriginConfig=cloudfront.S3OriginConfig(OriginAccessIdentity=""),
                    OriginAccessControlId=GetAtt(oac, "Id"),
                )
            )
        groups = _failover(ctx, GetAtt(oac, "Id"), origins, out)
    if any(b["origin"].startswith(cdn_origin.BALANCED) for _, b in behaviors):
        https = "certificate" in spec["load_balancer"]
        # Over HTTPS the origin must be a name the load balancer's certificate covers: its record's, when there is one.
        # From CloudFront's region the load balancer can only be named (check() made sure a record names it).
        named = dns.balancer_name(spec) if https or apart else None
        origins.append(
            cloudfront.Origin(
                Id="load-balancer",
                DomainName=named or ctx.imported("app", "LoadBalancerDnsName"),
                CustomOriginConfig=cloudfront.CustomOriginConfig(
                    OriginProtocolPolicy="https-only" if https else "http-only",
                    HTTPPort=80,
                    HTTPSPort=443,
                    OriginSSLProtocols=["TLSv1.2"],
                    OriginReadTimeout=30,
                    OriginKeepaliveTimeout=5,
                ),
                # The load balancer forwards only requests carrying this secret (see cdn_origin).
                OriginCustomHeaders=[cloudfront.OriginCustomHeader(HeaderName=cdn_origin.HEADER, HeaderValue=cdn_origin.header_value(ctx))],
            )
        )
    for name in sorted({b["origin"].split(".", 1)[1] for _, b in behaviors if b["origin"].startswith("apis.")}):
        origins.append(
            cloudfront.Origin(
                Id=f"api-{name}",
                # The endpoint is https://<id>.execute-api.<region>.amazonaws.com: the origin is its host; from
                # CloudFront's region, the API's custom domain (check() made sure a record names it).
                DomainName=dns.target_name(spec, f"apis.{name}")
                if apart
                else Select(2, Split("/", ctx.imported("app", f"Api{camel(name)}Endpoint"))),
                CustomOriginConfig=cloudfront.CustomOriginConfig(
                    OriginProtocolPolicy="https-only",
                    HTTPSPort=443,
                    OriginSSLProtocols=["TLSv1.2"],
                    OriginReadTimeout=30,
                    OriginKeepaliveTimeout=5,
                ),
            )
        )
    # Origin Shield, per origin: the behaviors that share one agree (check() made sure).
    shields: dict[str, str | None] = {}
    for _, behavior in behaviors:
        setting = cdn_edge.shield_setting(cdn, behavior)
        shields.setdefault(_origin_id(behavior["origin"]), cdn_edge.shield_region(setting, ctx.primary_region))
        if _group_id(spec, behavior["origin"]):
            # The replica is shielded as the behavior says, true meaning the region AWS names for the DR region.
            shields.setdefault(f"{_origin_id(behavior['origin'])}{REPLICA}", cdn_edge.shield_region(setting, spec["regions"]["secondary"]))
    for origin in origins:
        region = shields.get(origin.Id)
        if region:
            origin.OriginShield = cloudfront.OriginShield(Enabled=True, OriginShieldRegion=region)
    functions = _edge_functions(cdn, [b for _, b in behaviors], ctx, out)
    encryption = _field_encryption(cdn, ctx, out)
    encrypted = encrypted_behaviors(cdn)
    cache_behaviors = []
    default_behavior = None
    for path, behavior in behaviors:
        out.at = ("cdn", "default") if path == "default" else ("cdn", "paths", path)
        policy = out.add(_cache_policy(path, behavior, ctx))
        group = _group_id(spec, behavior["origin"])
        fields: dict[str, Any] = {
            "TargetOriginId": group or _origin_id(behavior["origin"]),
            "ViewerProtocolPolicy": "redirect-to-https",
            "Compress": True,
            "CachePolicyId": Ref(policy),
            # A behavior that targets an origin group may allow no more than READ_METHODS.
            "AllowedMethods": READ_METHODS if group or behavior["origin"].startswith("buckets.") else ALL_METHODS,
            "CachedMethods": ["GET", "HEAD"],
        }
        if encryption is not None and path in encrypted:
            fields["FieldLevelEncryptionId"] = GetAtt(encryption, "Id")
        if behavior.get("edge_functions"):
            fields["FunctionAssociations"] = [
                cloudfront.FunctionAssociation(EventType=event, FunctionARN=GetAtt(functions[name], "FunctionARN"))
                for event, name in sorted(behavior["edge_functions"].items())
            ]
        if path == "default":
            default_behavior = cloudfront.DefaultCacheBehavior(**fields)
        else:
            cache_behaviors.append(cloudfront.CacheBehavior(PathPattern=path, **fields))
    config: dict[str, Any] = {
        "Enabled": True,
        "Comment": ctx.name("cdn"),
        "PriceClass": PRICE_CLASSES[cdn["price_class"]],
        "HttpVersion": "http2and3",
        "IPV6Enabled": True,
        "Origins": origins,
        "DefaultCacheBehavior": default_behavior,
        "Logging": access_logs.cdn_logging(ctx),
    }
    if cache_behaviors:
        config["CacheBehaviors"] = cache_behaviors
    if groups:
        config["OriginGroups"] = cloudfront.OriginGroups(Quantity=len(groups), Items=groups)
    firewall = next((name for name, f in sorted(spec.get("firewall", {}).items()) if "cdn" in f.get("attach", [])), None)
    if firewall:
        config["WebACLId"] = GetAtt(f"Firewall{camel(firewall)}", "Arn")
    out.at = ()
    if "certificate" in cdn:
        # The names dns records point here are served too: CloudFront answers only for its aliases.
        config["Aliases"] = cdn["aliases"] + [n for n in dns.cdn_names(spec) if n not in cdn["aliases"]]
        certificate = cdn["certificate"]
        if apart and certificate.startswith("certificates."):
            arn: Any = Ref(out.add(certificates.twin_certificate(ctx, certificate.split(".", 1)[1])))
        else:
            arn = dns.certificate_arn(ctx, certificate)
        config["ViewerCertificate"] = cloudfront.ViewerCertificate(
            AcmCertificateArn=arn,
            SslSupportMethod="sni-only",
            MinimumProtocolVersion="TLSv1.2_2021",
        )
    else:
        config["ViewerCertificate"] = cloudfront.ViewerCertificate(CloudFrontDefaultCertificate=True)
    distribution = out.add(
        cloudfront.Distribution(
            "Distribution", DistributionConfig=cloudfront.DistributionConfig(**config), Tags=ctx.resource_tags(ctx.name("cdn"))
        )
    )
    if not apart:
        source = StringEquals({"AWS:SourceArn": Sub("arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${Distribution}")})
        for policy in bucket_policies(ctx, source):
            out.add(policy)
    out.export(ctx, STACK, "DistributionId", Ref(distribution), "ID of the CloudFront distribution.")
    out.export(ctx, STACK, "DistributionDomainName", GetAtt(distribution, "DomainName"), "Domain name of the CloudFront distribution.")
    return out


def _edge_functions(cdn: dict[str, Any], behaviors: list[dict[str, Any]], ctx: Context, out: Fragment) -> dict[str, Any]:
    """One CloudFront Function per function a behavior runs, published to LIVE as it is created or changed."""
    made = {}
    for name in cdn_edge.used_functions(behaviors):
        built_in = name in cdn_edge.BUILT_IN
        out.at = ("cdn",) if built_in else ("cdn", "edge_functions", name)
        comment = cdn_edge.BUILT_IN[name][0] if built_in else cdn["edge_functions"][name].get("comment", f"{name}, written in the spec")
        made[name] = out.add(
            cloudfront.Function(
                f"EdgeFunction{camel(name)}",
                Name=ctx.name("cdn", name),
                AutoPublish=True,
                FunctionCode=cdn_edge.function_code(cdn, name),
                FunctionConfig=cloudfront.FunctionConfig(Comment=comment, Runtime=cdn_edge.RUNTIME),
            )
        )
    out.at = ()
    return made


def _field_encryption(cdn: dict[str, Any], ctx: Context, out: Fragment) -> Any:
    """The public key, the profile that encrypts the spec's fields with it, and the configuration behaviors name."""
    encryption = cdn.get("field_encryption")
    if not encryption:
        return None
    out.at = ("cdn", "field_encryption")
    # The key's fingerprint is in its logical ID and names: CloudFront never changes a key, so a new key is a new resource
    # (the profile moves to it, then the old one is deleted).
    fingerprint = cdn_edge.public_key_fingerprint(encryption["public_key"])
    key = out.add(
        cloudfront.PublicKey(
            f"FieldEncryptionPublicKey{fingerprint.upper()}",
            PublicKeyConfig=cloudfront.PublicKeyConfig(
                Name=ctx.name("fle", fingerprint),
                CallerReference=ctx.name("fle", fingerprint),
                Comment=f"{ctx.name('cdn')}: field-level encryption (RSA 2048, sha256 {fingerprint})",
                EncodedKey=cdn_edge.public_key_pem(encryption["public_key"]),
            ),
        )
    )
    profile = out.add(
        cloudfront.FieldLevelEncryptionProfile(
            "FieldEncryptionProfile",
            FieldLevelEncryptionProfileConfig=cloudfront.FieldLevelEncryptionProfileConfig(
                Name=ctx.name("fle"),
                CallerReference=ctx.name("fle"),
                Comment=f"{ctx.name('cdn')}: fields encrypted at the edge",
                EncryptionEntities=[
                    cloudfront.EncryptionEntity(
                        PublicKeyId=Ref(key), ProviderId=encryption.get("provider", ctx.system), FieldPatterns=list(encryption["fields"])
                    )
                ],
            ),
        )
    )
    config = out.add(
        cloudfront.FieldLevelEncryptionConfig(
            "FieldEncryptionConfig",
            CallerReference=ctx.name("fle"),
            Comment=f"{ctx.name('cdn')}: form posts' fields encrypted with {ctx.name('fle')}",
            # Other bodies (JSON) and query strings go on unencrypted, as they would without field-level encryption.
            ContentTypeProfileConfig=cloudfront.ContentTypeProfileConfig(
                ForwardWhenContentTypeIsUnknown=True,
                ContentTypeProfiles=[
                    cloudfront.ContentTypeProfile(
                        ContentType=cdn_edge.FLE_CONTENT_TYPE, Format="URLEncoded", ProfileId=GetAtt(profile, "Id")
                    )
                ],
            ),
            QueryArgProfileConfig=cloudfront.QueryArgProfileConfig(ForwardWhenQueryArgProfileIsUnknown=True, QueryArgProfiles=[]),
        )
    )
    out.at = ()
    return config


def served_buckets(cdn: dict[str, Any]) -> list[str]:
    """The buckets the CDN serves."""
    behaviors = [cdn["default"], *cdn["paths"].values()]
    return sorted({b["origin"].split(".", 1)[1] for b in behaviors if b["origin"].startswith("buckets.")})


def failover_buckets(spec: Spec) -> list[str]:
    """The buckets the CDN serves that are replicated to the DR region: it fails over to their replicas."""
    cdn = spec.get("cdn")
    if not cdn:
        return []
    return sorted(set(served_buckets(cdn)) & set(bucket_replicas.replicated(spec)))


def cloudfront_reads(arn: Any, source: Any) -> Statement:
    """CloudFront may read the objects of the bucket ``arn`` on behalf of ``source`` (a condition, or a list of them)."""
    return Statement(
        Sid="CloudFrontReadsThroughOriginAccessControl",
        Effect=Allow,
        Principal=Principal("Service", "cloudfront.amazonaws.com"),
        Action=[s3_actions.GetObject],
        Resource=[Join("", [arn, "/*"])],
        Condition=Condition(source if isinstance(source, list) else [source]),
    )


def bucket_policies(ctx: Context, source: Any) -> list[s3.BucketPolicy]:
    """The policy of each bucket the CDN serves: TLS only, and reads by CloudFront on behalf of ``source``."""
    policies = []
    for name in served_buckets(ctx.spec["cdn"]):
        arn = ctx.imported("data", f"Bucket{camel(name)}Arn")
        read = cloudfront_reads(arn, source)
        policies.append(
            s3.BucketPolicy(
                f"Bucket{camel(name)}Policy",
                Bucket=ctx.imported("data", f"Bucket{camel(name)}Name"),
                PolicyDocument=PolicyDocument(Version="2012-10-17", Statement=[tls_only(arn), read]),
            )
        )
    return policies


def _cache_policy(path: str, behavior: dict[str, Any], ctx: Context) -> cloudfront.CachePolicy:
    seconds = ttl(behavior)
    headers = sorted(behavior["headers"])
    key = cloudfront.ParametersInCacheKeyAndForwardedToOrigin(
        EnableAcceptEncodingGzip=True,
        EnableAcceptEncodingBrotli=True,
        HeadersConfig=cloudfront.CacheHeadersConfig(HeaderBehavior="whitelist", Headers=headers)
        if headers
        else cloudfront.CacheHeadersConfig(HeaderBehavior="none"),
        CookiesConfig=cloudfront.CacheCookiesConfig(CookieBehavior="all" if behavior["cookies"] else "none"),
        QueryStringsConfig=cloudfront.CacheQueryStringsConfig(QueryStringBehavior="all" if behavior["query_strings"] else "none"),
    )
    slug = _slug(path)
    return cloudfront.CachePolicy(
        f"CachePolicy{camel(slug)}",
        CachePolicyConfig=cloudfront.CachePolicyConfig(
            Name=ctx.name("cdn", slug),
            Comment=f"{path}: {'no caching' if seconds == 0 else f'cached {seconds} s by default'}",
            MinTTL=0,
            DefaultTTL=seconds,
            MaxTTL=1 if seconds == 0 else max(seconds, YEAR),
            ParametersInCacheKeyAndForwardedToOrigin=key,
        ),
    )


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

# The same pattern as load_balancer.certificate: a certificate of this spec, or an ARN (its region checked above).
CERTIFICATE_PATTERN = "^(certificates\\.[a-z][a-z0-9-]*|arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+)$"
NAME_PATTERN = "^[a-z][a-z0-9-]{0,30}$"
FIELD_PATTERN = "^[A-Za-z0-9_.\\[\\]-]{1,127}\\*?$"
PROPERTIES: dict[str, Any] = {
    "cdn": {"$ref": "#/$defs/cdn", "description": "A CloudFront distribution in front of buckets, the load balancer and HTTP APIs."}
}
DEFS: dict[str, Any] = {
    "cdnBehavior": {
        "description": "How one path pattern is served.",
        "type": "object",
        "additionalProperties": False,
        "required": ["origin"],
        "properties": {
            "origin": {
                "description": "`buckets.<n>`, `services.<n>` or `fleets.<n>` (through the load balancer) or `apis.<n>` (an HTTP API, over "
                "HTTPS with TLS 1.2).",
                "type": "string",
                "pattern": "^(buckets|services|fleets|apis)\\.[a-z][a-z0-9-]*$",
            },
            "ttl": {
                "description": "Default seconds an object stays cached; 0 disables caching (dynamic content). Default: 86400 for "
                "buckets and services, 0 for apis (an API's answers are cached only when a ttl says so).",
                "type": "integer",
                "minimum": 0,
                "examples": [86400, 0],
            },
            "headers": {
                "description": "Request headers forwarded to the origin (Authorization for an API that checks tokens).",
                "type": "array",
                "items": {"type": "string"},
                "default": [],
            },
            "query_strings": {"description": "Forward query strings to the origin.", "type": "boolean", "default": False},
            "cookies": {"description": "Forward cookies to the origin.", "type": "boolean", "default": False},
            "origin_shield": {
                "description": "Origin Shield for this behavior's origin, instead of cdn.origin_shield: true, false or a region. "
                "Behaviors that reach the same origin (services and fleets share the load balancer) must agree.",
                "type": ["boolean", "string"],
                "examples": [True, "us-east-2"],
            },
            "edge_functions": {
                "description": "CloudFront Functions this behavior runs: a function of cdn.edge_functions or a built-in "
                "(index-rewrite: /docs/ and /docs get /docs/index.html, for buckets; www-redirect: www.<name> is redirected "
                "to <name>), on viewer-request and/or viewer-response.",
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    event: {"description": f"The function run on {event}.", "type": "string", "pattern": NAME_PATTERN}
                    for event in cdn_edge.EVENTS
                },
                "examples": [{"viewer-request": "index-rewrite"}],
            },
        },
    },
    "cdnFieldEncryption": {
        "description": "Field-level encryption: CloudFront encrypts these fields of form posts (application/x-www-form-urlencoded, "
        "the one content type it reads) at the edge with the public key; only the holder of the private key can read them.",
        "type": "object",
        "additionalProperties": False,
        "required": ["public_key", "fields"],
        "properties": {
            "public_key": {
                "description": "The RSA 2048 public key, one PEM block (-----BEGIN PUBLIC KEY-----, as `openssl rsa -pubout` "
                "prints it), as a block scalar. Not a secret; the private key never goes in the spec.",
                "type": "string",
            },
            "fields": {
                "description": "Form field names to encrypt, or leading characters and * (case-sensitive, not overlapping).",
                "type": "array",
                "items": {"type": "string", "pattern": FIELD_PATTERN},
                "minItems": 1,
                "maxItems": cdn_edge.FLE_MAX_FIELDS,
                "uniqueItems": True,
                "examples": [["card-number", "ssn"]],
            },
            "provider": {
                "description": "The provider ID the application names with the private key to decrypt. Default: the system.",
                "type": "string",
                "pattern": "^[a-z][a-z0-9-]*[a-z0-9]$",
            },
            "paths": {
                "description": "The behaviors it is on: default or path patterns of cdn.paths. Default: every behavior that "
                "accepts POST (all but bucket origins); each must reach its origin over HTTPS.",
                "type": "array",
                "items": {"type": "string"},
                "uniqueItems": True,
                "examples": [["/api/*"]],
            },
        },
    },
    "cdnEdgeFunction": {
        "description": "A CloudFront Function (cloudfront-js-2.0), published as it changes.",
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": {
                "description": "The JavaScript, as a block scalar: it defines function handler(event). At most 10 KB.",
                "type": "string",
            },
            "comment": {"description": "What it does (shown in the console).", "type": "string", "maxLength": 128},
        },
    },
    "cdn": {
        "description": "A CloudFront distribution.",
        "type": "object",
        "additionalProperties": False,
        "required": ["default"],
        "properties": {
            "price_class": {
                "description": "Edge locations: 100 (North America, Europe), 200 (plus Asia, Middle East, Africa) or all.",
                "enum": [100, 200, "all"],
                "default": 100,
                "examples": ["all"],
            },
            "certificate": {
                "description": "For the aliases: `certificates.<n>` (requested in us-east-1, CloudFront's region, beside the "
                "distribution when the primary region is another) or an ACM certificate ARN in us-east-1; then TLSv1.2_2021 "
                "is the minimum.",
                "type": "string",
                "pattern": CERTIFICATE_PATTERN,
            },
            "aliases": {
                "description": "Domain names served (need certificate); the names of dns records pointing at the cdn are added.",
                "type": "array",
                "items": {"type": "string"},
                "uniqueItems": True,
                "default": [],
            },
            "default": {"$ref": "#/$defs/cdnBehavior", "description": "How paths no other behavior matches are served."},
            "paths": {
                "description": "Behaviors by path pattern, matched in the order written.",
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/cdnBehavior"},
                "default": {},
            },
            "origin_shield": {
                "description": "Origin Shield, a caching layer in one region in front of every origin: true (the region AWS "
                "names for the primary region's origins), false (the default), or one of the regions CloudFront offers it in. "
                "A behavior may say otherwise for its origin.",
                "type": ["boolean", "string"],
                "examples": [True, "eu-central-1"],
            },
            "field_encryption": {
                "$ref": "#/$defs/cdnFieldEncryption",
                "description": "Fields of form posts CloudFront encrypts at the edge (the distribution is then built in us-east-1).",
            },
            "edge_functions": {
                "description": "CloudFront Functions by name, run by the behaviors that name them in edge_functions.",
                "type": "object",
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/cdnEdgeFunction"},
                "default": {},
            },
        },
    },
}
OVERLAY: dict[str, Any] = {
    "cdn": {"description": "Changes to cdn in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(
    "cdn", PROPERTIES, DEFS, OVERLAY, check=check, check_environment=environment_problems, build=build, stack=STACK, regions=CDN
)
