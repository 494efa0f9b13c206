"""CDN, at the edge: Origin Shield, field-level encryption and CloudFront Functions (used by cdn.py).

- **Origin Shield** (`cdn.origin_shield`, or a behavior's own): one more caching layer, in one region, between
  CloudFront's caches and the origin. Every origin ivc makes is in the primary region, so the shield's region is the
  one AWS names for it (``SHIELD_REGIONS`` below), or the region the spec writes.
- **Field-level encryption** (`cdn.field_encryption`): CloudFront encrypts the named form fields of POST and PUT
  bodies at the edge with the spec's RSA 2048 public key; only the holder of the private key (the application that
  decrypts, never the spec) can read them, so the load balancer, logs and everything between never see them. The
  public key is not a secret: it is written in the spec and checked at validate time.
- **CloudFront Functions** (`cdn.edge_functions`): JavaScript (cloudfront-js-2.0) on a behavior's viewer-request or
  viewer-response, written in the spec (the reviewed source) or one of the built-ins below.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator
from typing import Any

from .base import Path, Problem, Spec

# --- Origin Shield -------------------------------------------------------------------------------------------------

# Where CloudFront offers Origin Shield, and which of those regions to use for an origin in each AWS region: the table
# "Choosing the AWS Region for Origin Shield" in the Amazon CloudFront Developer Guide
# (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/origin-shield.html#choose-origin-shield-region):
# the origin's own region where Origin Shield is offered, else the one AWS names as having the lowest latency to it.
# cfn-lint and botocore carry no list (OriginShieldRegion is a free string there). A region missing here has no
# documented choice: the spec then names one of the offered regions itself.
OFFERED = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-central-1",
    "eu-west-1",
    "eu-west-2",
    "sa-east-1",
)
SHIELD_REGIONS: dict[str, str] = {
    **{region: region for region in OFFERED},
    "us-west-1": "us-west-2",
    "af-south-1": "eu-west-1",
    "ap-east-1": "ap-southeast-1",
    "ca-central-1": "us-east-1",
    "eu-south-1": "eu-central-1",
    "eu-west-3": "eu-west-2",
    "eu-north-1": "eu-west-2",
    "me-south-1": "ap-south-1",
}


def shield_region(setting: Any, primary: str) -> str | None:
    """The Origin Shield region a setting (true, false or a region) means for origins in ``primary``; None for off."""
    if setting is True:
        return SHIELD_REGIONS.get(primary)
    if isinstance(setting, str):
        return setting
    return None


def shield_setting(cdn: dict[str, Any], behavior: dict[str, Any]) -> Any:
    """A behavior's own origin_shield, else the cdn's (default off)."""
    return behavior.get("origin_shield", cdn.get("origin_shield", False))


def shield_problems(spec: Spec, behaviors: list[tuple[Path, dict[str, Any]]], origin_id: Any) -> Iterator[Problem]:
    cdn = spec["cdn"]
    primary = spec["regions"]["primary"]
    settings = [(("cdn", "origin_shield"), cdn["origin_shield"])] if "origin_shield" in cdn else []
    settings += [((*path, "origin_shield"), b["origin_shield"]) for path, b in behaviors if "origin_shield" in b]
    for path, setting in settings:
        if isinstance(setting, str) and setting not in OFFERED:
            yield path, f"CloudFront offers Origin Shield in {', '.join(OFFERED)}, not in {setting}{close(setting, OFFERED)}"
        elif setting is True and primary not in SHIELD_REGIONS:
            yield (
                path,
                f"AWS names no Origin Shield region for origins in {primary}; write the offered region nearest to it instead of "
                f"true (one of {', '.join(OFFERED)})",
            )
    # One origin has one shield: behaviors that reach the same origin must agree.
    chosen: dict[str, tuple[Any, str]] = {}
    for path, behavior in behaviors:
        region = shield_region(shield_setting(cdn, behavior), primary)
        origin = origin_id(behavior["origin"])
        where = " ".join(str(p) for p in path[1:])
        if origin in chosen and chosen[origin][0] != region:
            yield (
                (*path, "origin_shield") if "origin_shield" in behavior else (*path, "origin"),
                f"{behavior['origin']} is reached through the same CloudFront origin as cdn {chosen[origin][1]}, which has "
                f"Origin Shield {chosen[origin][0] or 'off'}; one origin has one shield: make them agree",
            )
        chosen.setdefault(origin, (region, where))


# --- field-level encryption ----------------------------------------------------------------------------------------

FLE_CONTENT_TYPE = "application/x-www-form-urlencoded"  # the one content type CloudFront's field-level encryption reads
FLE_MAX_FIELDS = 10  # field patterns per profile (CloudFront quotas)
_PEM = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----\s*\n(?P<body>[A-Za-z0-9+/=\s]+?)\n?-----END \1-----\s*$")
_RSA_OID = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption


def _der(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``at``; ValueError when it is not one."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or at + count > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, at, at + length


def _rsa_modulus_bits(der: bytes) -> int:
    """The modulus size of an RSA SubjectPublicKeyInfo (what `openssl rsa -pubout` writes); ValueError otherwise."""
    tag, start, end = _der(der, 0)
    if tag != 0x30 or end != len(der):
        raise ValueError("not a SubjectPublicKeyInfo")
    tag, algorithm_start, algorithm_end = _der(der, start)
    if tag != 0x30:
        raise ValueError("no algorithm")
    tag, oid_start, oid_end = _der(der, algorithm_start)
    if tag != 0x06 or der[oid_start:oid_end] != _RSA_OID:
        raise LookupError("not an RSA key")
    tag, bits_start, _ = _der(der, algorithm_end)
    if tag != 0x03 or der[bits_start] != 0:
        raise ValueError("no key bits")
    tag, key_start, _ = _der(der, bits_start + 1)
    if tag != 0x30:
        raise ValueError("no RSA key")
    tag, modulus_start, modulus_end = _der(der, key_start)
    if tag != 0x02:
        raise ValueError("no modulus")
    return int.from_bytes(der[modulus_start:modulus_end], "big").bit_length()


def public_key_problem(text: str) -> str | None:
    """Why ``text`` is not one PEM block of an RSA 2048 public key, or None."""
    if "PRIVATE KEY" in text:
        return (
            "this is a private key: it must never be in the spec (nor in a template); write its public key, as "
            "`openssl rsa -pubout` prints it"
        )
    match = _PEM.match(text.strip() + "\n")
    if not match:
        return "expected one PEM block, from -----BEGIN PUBLIC KEY----- to -----END PUBLIC KEY-----"
    label = match.group(1)
    if label == "RSA PUBLIC KEY":
        return (
            "this is a PKCS#1 key (BEGIN RSA PUBLIC KEY); CloudFront takes BEGIN PUBLIC KEY: "
            "`openssl rsa -RSAPublicKey_in -pubout` converts it"
        )
    if label != "PUBLIC KEY":
        return f"expected a PUBLIC KEY block, not {label}"
    try:
        der = base64.b64decode("".join(match.group("body").split()), validate=True)
        bits = _rsa_modulus_bits(der)
    except (binascii.Error, ValueError):
        return "the PEM block does not hold a valid public key"
    except LookupError:
        return "field-level encryption takes an RSA 2048 key; this public key is not RSA"
    if bits != 2048:
        return f"field-level encryption takes an RSA 2048 key; this one has {bits} bits"
    return None


def public_key_pem(text: str) -> str:
    """The key as CloudFront stores it: the PEM block, one trailing newline."""
    return text.strip() + "\n"


def public_key_fingerprint(text: str) -> str:
    """A short, stable digest of the key: it names the key's resource, so a new key is a new resource."""
    match = _PEM.match(text.strip() + "\n")
    body = "".join(match.group("body").split()) if match else text
    return hashlib.sha256(body.encode()).hexdigest()[:8]


def _overlap(a: str, b: str) -> bool:
    """Whether two field patterns (a name, or leading characters and *) can match the same field."""
    if a.endswith("*") and b.startswith(a[:-1]):
        return True
    return b.endswith("*") and a.startswith(b[:-1])


def field_problems(fields: list[str]) -> Iterator[tuple[int, str]]:
    for index, field in enumerate(fields):
        for earlier in fields[:index]:
            if _overlap(earlier, field):
                yield index, f"field pattern {field} overlaps {earlier}; CloudFront refuses patterns that can match the same field"
                break


# --- CloudFront Functions ------------------------------------------------------------------------------------------

RUNTIME = "cloudfront-js-2.0"
MAX_CODE_BYTES = 10 * 1024  # CloudFront Functions' maximum function size
EVENTS = ("viewer-request", "viewer-response")
_HANDLER = re.compile(r"\bfunction\s+handler\s*\(|\bhandler\s*=")

# Built-in functions: a spec names them on a behavior without writing them. Each is viewer-request only; the first
# string is the function's comment (at most 128 characters).
BUILT_IN: dict[str, tuple[str, str]] = {
    "index-rewrite": (
        "/docs/ and /docs are served /docs/index.html: S3 behind Origin Access Control serves no index documents",
        """\
function handler(event) {
    var request = event.request;
    var uri = request.uri;
    if (uri.endsWith('/')) {
        request.uri = uri + 'index.html';
    } else if (uri.split('/').pop().indexOf('.') === -1) {
        request.uri = uri + '/index.html';
    }
    return request;
}
""",
    ),
    "www-redirect": (
        "www.<name> is redirected (301) to <name>, path and query string kept, without a trip to the origin",
        """\
function handler(event) {
    var request = event.request;
    var host = request.headers.host ? request.headers.host.value : '';
    if (host.indexOf('www.') !== 0) {
        return request;
    }
    var query = [];
    var names = Object.keys(request.querystring);
    for (var i = 0; i < names.length; i++) {
        var entry = request.querystring[names[i]];
        var values = entry.multiValue ? entry.multiValue : [entry];
        for (var j = 0; j < values.length; j++) {
            query.push(values[j].value === '' ? names[i] : names[i] + '=' + values[j].value);
        }
    }
    var location = 'https://' + host.substring(4) + request.uri + (query.length ? '?' + query.join('&') : '');
    return {statusCode: 301, statusDescription: 'Moved Permanently', headers: {location: {value: location}}};
}
""",
    ),
}


def function_code(cdn: dict[str, Any], name: str) -> str:
    if name in BUILT_IN:
        return BUILT_IN[name][1]
    return str(cdn["edge_functions"][name]["code"])


def used_functions(behaviors: list[dict[str, Any]]) -> list[str]:
    """Every function a behavior runs, built-in or the spec's, each once."""
    return sorted({name for b in behaviors for name in b.get("edge_functions", {}).values()})


def function_problems(cdn: dict[str, Any], behaviors: list[tuple[Path, dict[str, Any]]]) -> Iterator[Problem]:
    defined = cdn.get("edge_functions", {})
    for name, function in defined.items():
        where = ("cdn", "edge_functions", name)
        if name in BUILT_IN:
            yield where, f"{name} is a built-in function; give yours another name"
            continue
        code = function["code"]
        size = len(code.encode("utf-8"))
        if size > MAX_CODE_BYTES:
            yield (*where, "code"), f"the code is {size:,} bytes; a CloudFront function holds at most {MAX_CODE_BYTES:,} (10 KB)"
        if not _HANDLER.search(code):
            yield (*where, "code"), "a CloudFront function's code defines `function handler(event)`, which CloudFront calls"
    used = set()
    for path, behavior in behaviors:
        for event, name in behavior.get("edge_functions", {}).items():
            used.add(name)
            at = (*path, "edge_functions", event)
            if name in BUILT_IN and event != "viewer-request":
                yield at, f"the built-in {name} rewrites requests: run it on viewer-request"
            elif name not in BUILT_IN and name not in defined:
                options = sorted(set(defined) | set(BUILT_IN))
                yield at, f"edge function {name} is neither in cdn.edge_functions nor built in ({', '.join(options)}){close(name, options)}"
    for name in sorted(set(defined) - used - set(BUILT_IN)):
        yield ("cdn", "edge_functions", name), f"no cdn behavior runs {name}; name it in a behavior's edge_functions, or remove it"


def close(word: str, options: Any) -> str:
    from .apis import close_match

    found = close_match(word, options)
    return f"; did you mean {found}?" if found else ""
