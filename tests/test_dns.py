"""DNS and certificates: a hosted zone created or existing, alias records to the CDN, the load balancer and APIs,
health checks, certificates validated by DNS, and HTTPS from CloudFront to the load balancer."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from compiler.context import Context
from compiler.errors import SpecError
from compiler.sections import BY_NAME
from compiler.sections.dns import CLOUDFRONT_ZONE
from compiler.validate import Environment, load_and_validate
from conftest import FIXTURES, GOLDEN, ivc, of_type, props, read_json, tree

FIXTURE = FIXTURES / "dns" / "dns.yaml"
ZONE = {"Fn::ImportValue": "dns-prod-dns-HostedZoneId"}
HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
services:
  web: {image: nginx, port: 80, route: {path: /}}
"""


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture compiled and linted through the CLI, warnings failing it."""
    folder = tmp_path_factory.mktemp("dns")
    result = ivc("compile", FIXTURE, "--out", folder, "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    return folder / "dns"


def template(out: Path, env: str, stack: str) -> dict[str, Any]:
    return dict(read_json(out / env / "us-east-1" / f"{stack}.json"))


def test_matches_golden(out: Path, update_golden: bool) -> None:
    golden = GOLDEN / "dns"
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    assert tree(out) == tree(golden), "dns: output differs from tests/golden; review, then run pytest --update-golden"


def test_the_zone_and_certificates_come_before_the_app_and_the_records_after_it(out: Path) -> None:
    waves = {s["name"]: s["wave"] for s in read_json(out / "prod" / "manifest.json")["stacks"]}
    assert waves["dns"] < waves["app"] < waves["edge"]


def test_prod_creates_and_retains_the_zone_and_exports_its_name_servers(out: Path) -> None:
    dns = template(out, "prod", "dns")
    zone = dns["Resources"]["HostedZone"]
    assert zone["Type"] == "AWS::Route53::HostedZone"
    assert zone["DeletionPolicy"] == zone["UpdateReplacePolicy"] == "Retain"
    assert zone["Properties"]["Name"] == "example.com"
    assert set(dns["Outputs"]) == {"HostedZoneId", "HostedZoneNameServers", "CertificateSiteArn", "CertificateApiArn"}


def test_dev_uses_the_existing_zone_by_id(out: Path) -> None:
    dns, edge = template(out, "dev", "dns"), template(out, "dev", "edge")
    assert not of_type(dns, "AWS::Route53::HostedZone")
    assert "HostedZoneId" not in dns["Outputs"]
    for option in props(dns, "CertificateSite")["DomainValidationOptions"]:
        assert option["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"
    for record in of_type(edge, "AWS::Route53::RecordSet").values():
        assert record["Properties"]["HostedZoneId"] == "Z0123456789ABCDEFGHIJ"


def test_certificates_are_validated_by_dns_in_the_zone(out: Path) -> None:
    site = props(template(out, "prod", "dns"), "CertificateSite")
    assert site["DomainName"] == "example.com"
    assert site["SubjectAlternativeNames"] == ["www.example.com"]
    assert site["ValidationMethod"] == "DNS"
    assert site["DomainValidationOptions"] == [
        {"DomainName": "example.com", "HostedZoneId": {"Ref": "HostedZone"}},
        {"DomainName": "www.example.com", "HostedZoneId": {"Ref": "HostedZone"}},
    ]


def test_cdn_records_alias_the_distribution_which_serves_their_names_with_the_certificate(out: Path) -> None:
    edge = template(out, "prod", "edge")
    for title, kind in (("RecordApexA", "A"), ("RecordApexAaaa", "AAAA"), ("RecordWwwA", "A"), ("RecordWwwAaaa", "AAAA")):
        record = props(edge, title)
        assert record["Type"] == kind
        assert record["HostedZoneId"] == ZONE
        assert record["AliasTarget"] == {
            "DNSName": {"Fn::GetAtt": ["Distribution", "DomainName"]},
            "HostedZoneId": CLOUDFRONT_ZONE,
            "EvaluateTargetHealth": False,
        }
    config = props(edge, "Distribution")["DistributionConfig"]
    assert config["Aliases"] == ["example.com", "www.example.com"]
    assert config["ViewerCertificate"]["AcmCertificateArn"] == {"Fn::ImportValue": "dns-prod-dns-CertificateSiteArn"}


def test_an_api_record_aliases_a_custom_domain_mapped_to_the_apis_stage(out: Path) -> None:
    edge = template(out, "prod", "edge")
    domain = props(edge, "RecordApiApiDomain")
    assert domain["DomainName"] == "api.example.com"
    assert domain["DomainNameConfigurations"] == [
        {
            "CertificateArn": {"Fn::ImportValue": "dns-prod-dns-CertificateApiArn"},
            "EndpointType": "REGIONAL",
            "SecurityPolicy": "TLS_1_2",
        }
    ]
    assert props(edge, "RecordApiApiMapping") == {
        "ApiId": {"Fn::ImportValue": "dns-prod-app-ApiPublicId"},
        "DomainName": {"Ref": "RecordApiApiDomain"},
        "Stage": "$default",
    }
    assert props(edge, "RecordApiA")["AliasTarget"] == {
        "DNSName": {"Fn::GetAtt": ["RecordApiApiDomain", "RegionalDomainName"]},
        "HostedZoneId": {"Fn::GetAtt": ["RecordApiApiDomain", "RegionalHostedZoneId"]},
        "EvaluateTargetHealth": False,
    }
    assert "RecordApiAaaa" not in edge["Resources"]


def test_health_checks_are_https_on_the_records_name(out: Path) -> None:
    dev = props(template(out, "dev", "edge"), "HealthCheckApi")["HealthCheckConfig"]
    assert dev == {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": "api.example.com",
        "Port": 443,
        "EnableSNI": True,
        "ResourcePath": "/health",
        "RequestInterval": 30,
        "FailureThreshold": 3,
    }
    prod = props(template(out, "prod", "edge"), "HealthCheckApi")["HealthCheckConfig"]
    assert (prod["RequestInterval"], prod["FailureThreshold"]) == (10, 2)
    assert "HealthCheckApiId" in template(out, "prod", "edge")["Outputs"]


def _environment(tmp_path: Path, body: str, env: str = "dev") -> Environment:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + textwrap.dedent(body) + f"environments:\n  {env}: {{}}\n")
    return load_and_validate(spec_file)[0]


def _built(environment: Environment, section: str) -> dict[str, Any]:
    """One section's resources, built alone: builders are pure."""
    ctx = Context("shop", environment.name, "us-east-1", "primary", (), environment.spec)
    fragment = BY_NAME[section].builds(environment.spec, ctx)
    return {resource.title: resource.to_dict() for resource in fragment.resources}


LB_RECORD = """\
load_balancer: {certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123}
dns:
  zone: shop.example
  records: {origin: services.web}
cdn: {default: {origin: services.web, headers: [Authorization], cookies: true, ttl: 0}}
"""


def test_a_load_balancer_record_aliases_its_dns_name_in_its_canonical_zone(tmp_path: Path) -> None:
    record = _built(_environment(tmp_path, LB_RECORD), "dns")["RecordOriginA"]["Properties"]
    assert record["Name"] == "origin.shop.example"
    assert record["AliasTarget"] == {
        "DNSName": {"Fn::ImportValue": "shop-dev-app-LoadBalancerDnsName"},
        "HostedZoneId": {"Fn::ImportValue": "shop-dev-app-LoadBalancerCanonicalHostedZoneId"},
        "EvaluateTargetHealth": True,
    }


def test_cloudfront_reaches_a_load_balancer_with_a_certificate_over_https_by_its_records_name(tmp_path: Path) -> None:
    config = _built(_environment(tmp_path, LB_RECORD), "cdn")["Distribution"]["Properties"]["DistributionConfig"]
    origin = config["Origins"][0]
    assert origin["DomainName"] == "origin.shop.example"
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert origin["CustomOriginConfig"]["OriginSSLProtocols"] == ["TLSv1.2"]


def test_without_a_record_the_origin_stays_the_load_balancers_own_name(tmp_path: Path) -> None:
    body = LB_RECORD.replace("  records: {origin: services.web}\n", "")
    origin = _built(_environment(tmp_path, body), "cdn")["Distribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    assert origin["DomainName"] == {"Fn::ImportValue": "shop-dev-app-LoadBalancerDnsName"}


def test_prod_may_not_carry_credentials_to_a_load_balancer_over_http(tmp_path: Path) -> None:
    body = LB_RECORD.replace("load_balancer: {certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123}\n", "")
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD + textwrap.dedent(body) + "environments:\n  staging: {}\n  prod: {}\n  production: {}\n")
    result = ivc("validate", spec_file)
    assert result.exit_code == 1
    # At the Authorization header, once per environment that is prod; staging may.
    assert [line.removeprefix(f"{spec_file}:") for line in result.stderr.splitlines() if ": error: " in line] == [
        f"10:49: error: in {env}, the cdn would carry Authorization headers and cookies to the load balancer over plain HTTP: give "
        "the load balancer a certificate (load_balancer.certificate: certificates.<name> or an ACM ARN) so CloudFront "
        f"reaches it over HTTPS (in {env})"
        for env in ("prod", "production")
    ]


def _errors(tmp_path: Path, body: str, primary: str = "us-east-1") -> list[str]:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(HEAD.replace("us-east-1", primary) + textwrap.dedent(body) + "environments:\n  dev: {}\n")
    with pytest.raises(SpecError) as exc:
        load_and_validate(spec_file)
    return [d.render().split(":", 1)[1] for d in exc.value.diagnostics]


def test_a_cloudfront_certificate_arn_must_be_in_us_east_1(tmp_path: Path) -> None:
    body = """\
    cdn: {certificate: "arn:aws:acm:eu-west-1:123456789012:certificate/abc", aliases: [a.example], default: {origin: services.web}}
    """
    assert _errors(tmp_path, body) == ["7:20: error: CloudFront takes certificates from us-east-1 only; this one is in eu-west-1"]


def test_the_compiled_fixture_is_lint_clean_through_the_cli(out: Path) -> None:
    # `out` compiled with --strict: cfn-lint found nothing, warnings included, in any template.
    assert sorted(p.name for p in (out / "prod" / "us-east-1").iterdir()) == [
        "app.json",
        "data.json",
        "dns.json",
        "edge.json",
        "keys.json",
        "network.json",
        "security.json",
    ]


def test_a_rest_api_record_maps_a_custom_domain_to_the_environments_stage(tmp_path: Path) -> None:
    source = (FIXTURES / "good" / "rest_apis.yaml").read_text()
    spec = tmp_path / "restapis.yaml"
    spec.write_text(
        source.replace(
            "regions: {primary: us-east-1}\n",
            "regions: {primary: us-east-1}\ndns: {zone: example.com, records: {partners: rest_apis.partners}}\n",
        )
        + "certificates: {partners: {domains: [partners]}}\n"
    )
    result = ivc("compile", spec, "--out", tmp_path / "out", "--strict")
    assert result.exit_code == 0, result.output
    environment = next(p.name for p in (tmp_path / "out" / "restapis").iterdir())
    edge = dict(read_json(tmp_path / "out" / "restapis" / environment / "us-east-1" / "edge.json"))
    assert props(edge, "RecordPartnersApiDomain")["DomainName"] == "partners.example.com"
    assert props(edge, "RecordPartnersApiMapping") == {
        "ApiId": {"Fn::ImportValue": f"restapis-{environment}-app-RestApiPartnersId"},
        "DomainName": {"Ref": "RecordPartnersApiDomain"},
        "Stage": environment,  # the REST API's one stage is named after the environment
    }
    # Without a certificate covering the name, the record is refused at its line.
    spec.write_text(spec.read_text().replace("certificates: {partners: {domains: [partners]}}\n", ""))
    result = ivc("validate", spec)
    assert result.exit_code == 1
    assert (
        "dns record partners points at rest_apis.partners, whose custom domain needs a certificate covering partners.example.com"
        in result.output
    )
