"""The cdn at the edge: Origin Shield, field-level encryption and CloudFront Functions, compiled and linted."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from compiler.sections import cdn_edge
from conftest import FIXTURES, ivc, of_type, props, read_json

FIXTURE = FIXTURES / "edge" / "shield.yaml"  # primary eu-north-1: the distribution in us-east-1's edge stack
PUBLIC_KEY_2048 = FIXTURE.read_text().split("public_key: |\n", 1)[1].split("    fields:")[0]
PEM = "\n".join(line.strip() for line in PUBLIC_KEY_2048.splitlines()) + "\n"

# The primary region is CloudFront's own: the distribution stays in the primary region's edge stack.
HOME = """\
ivc: 1
system: home
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, app], nat: single, subnet_prefix: 26, flow_logs: {enabled: false}}
buckets:
  site: {}
load_balancer:
  certificate: arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555
services:
  web: {image: public.ecr.aws/nginx/nginx:1.27, port: 8080, route: {path: /}}
  api: {image: public.ecr.aws/nginx/nginx:1.27, port: 8081, route: {path: "/api/*"}}
cdn:
  origin_shield: us-east-2
  field_encryption:
    public_key: |
KEY    fields: [card-number]
    provider: payments
    paths: ["/api/*"]
  default: {origin: services.web, ttl: 0, edge_functions: {viewer-request: www-redirect}}
  paths:
    "/api/*": {origin: services.api, ttl: 0}
    "/docs/*": {origin: buckets.site, origin_shield: false, edge_functions: {viewer-request: index-rewrite}}
environments:
  dev: {}
""".replace("KEY", "".join("  " + line + "\n" for line in PUBLIC_KEY_2048.splitlines()))


@pytest.fixture(scope="module")
def apart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted (warnings failing it): its environment's folder."""
    folder = tmp_path_factory.mktemp("shield")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    return folder / "shield" / "prod"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("home")
    (folder / "spec.yaml").write_text(HOME)
    result = ivc("compile", folder / "spec.yaml", "--out", folder / "out", "--strict")
    assert result.exit_code == 0, result.output
    return read_json(folder / "out" / "home" / "dev" / "us-east-1" / "edge.json")  # type: ignore[no-any-return]


def _config(template: dict[str, Any]) -> dict[str, Any]:
    return props(template, "Distribution")["DistributionConfig"]  # type: ignore[no-any-return]


def _behaviors(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"default": config["DefaultCacheBehavior"], **{b["PathPattern"]: b for b in config.get("CacheBehaviors", [])}}


def test_field_encryption_puts_the_distribution_in_us_east_1_where_cloudformation_makes_its_profiles(apart: Path) -> None:
    edge = read_json(apart / "us-east-1" / "edge.json")
    primary = read_json(apart / "eu-north-1" / "edge.json")
    assert "Distribution" in edge["Resources"] and "Distribution" not in primary["Resources"]
    for kind in ("PublicKey", "FieldLevelEncryptionProfile", "FieldLevelEncryptionConfig", "Function"):
        assert of_type(edge, f"AWS::CloudFront::{kind}") and not of_type(primary, f"AWS::CloudFront::{kind}")
    # No certificate of certificates: and no web ACL: field-level encryption alone moved it.
    manifest = read_json(apart / "manifest.json")
    assert "us-east-1" in json.dumps(manifest["regions"])


def test_origin_shield_is_in_the_region_aws_names_for_the_origins_region(apart: Path) -> None:
    origins = {o["Id"]: o for o in _config(read_json(apart / "us-east-1" / "edge.json"))["Origins"]}
    # eu-north-1 (Stockholm) has no Origin Shield; AWS's table names eu-west-2 (London) for it.
    assert origins["bucket-assets"]["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "eu-west-2"}
    assert origins["load-balancer"]["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "eu-west-2"}
    assert "OriginShield" not in origins["api-public"]  # its behavior says origin_shield: false


def test_the_public_key_profile_and_configuration_encrypt_the_fields_of_form_posts(apart: Path) -> None:
    edge = read_json(apart / "us-east-1" / "edge.json")
    [(key_id, key)] = of_type(edge, "AWS::CloudFront::PublicKey").items()
    fingerprint = cdn_edge.public_key_fingerprint(PEM)
    assert key_id == f"FieldEncryptionPublicKey{fingerprint.upper()}"  # a new key is a new resource
    assert key["Properties"]["PublicKeyConfig"]["EncodedKey"] == PEM
    assert key["Properties"]["PublicKeyConfig"]["Name"] == f"shield-prod-fle-{fingerprint}"
    profile = props(edge, "FieldEncryptionProfile")["FieldLevelEncryptionProfileConfig"]
    assert profile["EncryptionEntities"] == [
        {"FieldPatterns": ["card-number", "cvc"], "ProviderId": "shield", "PublicKeyId": {"Ref": key_id}}
    ]
    config = props(edge, "FieldEncryptionConfig")
    assert config["ContentTypeProfileConfig"]["ContentTypeProfiles"] == [
        {
            "ContentType": "application/x-www-form-urlencoded",
            "Format": "URLEncoded",
            "ProfileId": {"Fn::GetAtt": ["FieldEncryptionProfile", "Id"]},
        }
    ]
    # Other bodies (JSON) and query strings go on as they would without it.
    assert config["ContentTypeProfileConfig"]["ForwardWhenContentTypeIsUnknown"] is True
    assert config["QueryArgProfileConfig"] == {"ForwardWhenQueryArgProfileIsUnknown": True, "QueryArgProfiles": []}


def test_field_encryption_is_on_every_behavior_that_takes_posts_over_https_and_never_on_a_bucket(apart: Path) -> None:
    behaviors = _behaviors(_config(read_json(apart / "us-east-1" / "edge.json")))
    encrypted = {"Fn::GetAtt": ["FieldEncryptionConfig", "Id"]}
    assert behaviors["default"]["FieldLevelEncryptionId"] == encrypted
    assert behaviors["/api/*"]["FieldLevelEncryptionId"] == encrypted
    assert "FieldLevelEncryptionId" not in behaviors["/assets/*"]
    for name in ("default", "/api/*"):
        assert "POST" in behaviors[name]["AllowedMethods"] and "PUT" in behaviors[name]["AllowedMethods"]
        assert behaviors[name]["ViewerProtocolPolicy"] == "redirect-to-https"
    origins = {o["Id"]: o for o in _config(read_json(apart / "us-east-1" / "edge.json"))["Origins"]}
    assert origins["load-balancer"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_edge_functions_are_published_and_run_on_their_behaviors_events(apart: Path) -> None:
    edge = read_json(apart / "us-east-1" / "edge.json")
    functions = of_type(edge, "AWS::CloudFront::Function")
    assert sorted(functions) == ["EdgeFunctionIndexRewrite", "EdgeFunctionSecurityHeaders"]
    written = props(edge, "EdgeFunctionSecurityHeaders")
    assert written["AutoPublish"] is True and written["FunctionConfig"] == {
        "Comment": "HSTS on every answer",
        "Runtime": "cloudfront-js-2.0",
    }
    assert written["Name"] == "shield-prod-cdn-security-headers"
    assert "strict-transport-security" in written["FunctionCode"]
    assert props(edge, "EdgeFunctionIndexRewrite")["FunctionCode"] == cdn_edge.BUILT_IN["index-rewrite"][1]
    behaviors = _behaviors(_config(edge))
    assert behaviors["default"]["FunctionAssociations"] == [
        {"EventType": "viewer-response", "FunctionARN": {"Fn::GetAtt": ["EdgeFunctionSecurityHeaders", "FunctionARN"]}}
    ]
    assert behaviors["/assets/*"]["FunctionAssociations"] == [
        {"EventType": "viewer-request", "FunctionARN": {"Fn::GetAtt": ["EdgeFunctionIndexRewrite", "FunctionARN"]}}
    ]
    assert "FunctionAssociations" not in behaviors["/api/*"]


def test_in_cloudfronts_own_region_the_cdn_stays_in_the_primary_stack_with_a_named_shield_and_listed_paths(home: dict[str, Any]) -> None:
    config = _config(home)
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["load-balancer"]["OriginShield"] == {"Enabled": True, "OriginShieldRegion": "us-east-2"}
    assert "OriginShield" not in origins["bucket-site"]
    behaviors = _behaviors(config)
    assert "FieldLevelEncryptionId" in behaviors["/api/*"] and "FieldLevelEncryptionId" not in behaviors["default"]
    profile = props(home, "FieldEncryptionProfile")["FieldLevelEncryptionProfileConfig"]
    assert profile["EncryptionEntities"][0]["ProviderId"] == "payments"
    assert sorted(of_type(home, "AWS::CloudFront::Function")) == ["EdgeFunctionIndexRewrite", "EdgeFunctionWwwRedirect"]


def _run(name: str, event: dict[str, Any]) -> Any:
    script = cdn_edge.BUILT_IN[name][1] + f"\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));\n"
    return json.loads(subprocess.run(["node", "-e", script], check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the built-in functions")
@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/docs/", "/docs/index.html"),
        ("/docs", "/docs/index.html"),
        ("/", "/index.html"),
        ("/app.js", "/app.js"),
        ("/a.b/c", "/a.b/c/index.html"),
    ],
)
def test_index_rewrite_serves_a_folders_index(uri: str, expected: str) -> None:
    assert _run("index-rewrite", {"request": {"uri": uri, "headers": {}, "querystring": {}}})["uri"] == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the built-in functions")
def test_www_redirect_keeps_the_path_and_query_and_leaves_other_hosts_alone() -> None:
    query = {"q": {"value": "a b"}, "tag": {"value": "x", "multiValue": [{"value": "x"}, {"value": "y"}]}, "flag": {"value": ""}}
    request = {"uri": "/shop", "headers": {"host": {"value": "www.example.org"}}, "querystring": query}
    answer = _run("www-redirect", {"request": request})
    assert answer["statusCode"] == 301
    assert answer["headers"]["location"]["value"] == "https://example.org/shop?q=a b&tag=x&tag=y&flag"
    bare = {"uri": "/", "headers": {"host": {"value": "example.org"}}, "querystring": {}}
    assert _run("www-redirect", {"request": bare}) == bare


KEYS = {
    "ec": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQutNQqE1sfQhhPGOiJs6hWkDetZ0\n"
    "H5Dsxdga650QsVKECIay3AnZuAVlKSF67SUpdttVE4FbEgQjID02Vw5KZw==\n-----END PUBLIC KEY-----\n",
    "private": "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n",
    "pkcs1": "-----BEGIN RSA PUBLIC KEY-----\nMIIBCgKCAQEAyAqH\n-----END RSA PUBLIC KEY-----\n",
    "garbled": PEM.replace("MIIBIjAN", "MIIB!jAN"),
    "truncated": PEM.replace("mwIDAQAB\n", ""),
}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("ec", "field-level encryption takes an RSA 2048 key; this public key is not RSA"),
        ("private", "this is a private key: it must never be in the spec"),
        ("pkcs1", "CloudFront takes BEGIN PUBLIC KEY"),
        ("garbled", "expected one PEM block"),
        ("truncated", "does not hold a valid public key"),
    ],
)
def test_a_public_key_that_is_not_rsa_2048_is_refused(key: str, expected: str) -> None:
    assert cdn_edge.public_key_problem(PEM) is None
    assert expected in (cdn_edge.public_key_problem(KEYS[key]) or "")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("primary: eu-north-1}", "primary: ap-northeast-3}"),
            "39:18: error: AWS names no Origin Shield region for origins in ap-northeast-3",
        ),
        (
            ('"/api/*": {origin: apis.public, origin_shield: false}', '"/api/*": {origin: services.web, origin_shield: false}'),
            "one origin has one shield",
        ),
        (
            ("function handler(event) {\n            var response", "function handle(event) {\n            var response"),
            "defines `function handler(event)`",
        ),
        (("origin_shield: true", "origin_shield: eu-north-1"), "not in eu-north-1"),
        (("fields: [card-number, cvc]", "fields: [card-number, cvc, card*]"), "field pattern card* overlaps card-number"),
        (("edge_functions:\n    security-headers:", "edge_functions:\n    index-rewrite:"), "index-rewrite is a built-in function"),
    ],
)
def test_mistakes_are_refused_at_their_line(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(FIXTURE.read_text().replace(*change))
    result = ivc("validate", spec)
    assert result.exit_code == 1, result.output
    assert expected in result.stderr and result.stderr.startswith(f"{spec}:"), result.stderr


def test_function_code_over_10_kb_is_refused_at_its_line(tmp_path: Path) -> None:
    big = "            // " + "x" * 10_300 + "\n"
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        FIXTURE.read_text().replace("            var response = event.response;\n", "            var response = event.response;\n" + big)
    )
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert "a CloudFront function holds at most 10,240 (10 KB)" in result.stderr, result.stderr
