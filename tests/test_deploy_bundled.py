"""The keys, network and security stacks of every bundled environment, deployed to moto and read back.

Each environment of specs/*/spec.yaml, compiled once for the session, is deployed by `ivc deploy --stack`
(StackSets, as for AWS) one layer at a time in wave order, to a moto server reset for it. What moto then
holds is read through each service's own API, not through CloudFormation: the key (enabled, under its
alias, tagged), the flow-log group (its name and retention), the flow log (on the VPC, into that group,
delivered by its role), the security groups.

A load balancer behind CloudFront admits only CloudFront's origin-facing prefix list, whose ID `ivc deploy` looks
up in moto's EC2 and passes as the security stack's parameter; moto's CloudFormation builds that rule only
through tests/moto_fixed_server.py, and ``describe_security_groups`` shows it admitting that list.

moto keeps less than AWS would: its CloudFormation passes a log group's ``KmsKeyId`` where its Logs reads
``kmsKeyId``, so the group it builds is not encrypted and ``describe_log_groups`` shows no key. That the
flow-log group is encrypted with the environment key, imported from the keys stack, and that the key's
policy lets CloudWatch Logs use it for that group, is proven by cfn-lint, the golden templates and
tests/test_keys.py, not here. The keys stack builds at all only through tests/moto_fixed_server.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from conftest import ROOT, MotoServer, ivc, of_type, read_json

LAYERS = ("keys", "network", "security")


ENVIRONMENTS = sorted((p.parent.parent.name, p.parent.name) for p in (ROOT / "output").glob("*/*/manifest.json"))


def client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def tags(items: list[dict[str, str]], key: str = "Key", value: str = "Value") -> dict[str, str]:
    return {item[key]: item[value] for item in items}


@pytest.mark.parametrize(("system", "env"), ENVIRONMENTS, ids=[f"{s}-{e}" for s, e in ENVIRONMENTS])
def test_keys_network_and_security_deploy_and_read_back(compiled: Path, aws: MotoServer, system: str, env: str) -> None:
    folder = compiled / system / env
    stacks = {(s["region"], s["name"]): read_json(folder / s["file"]) for s in read_json(folder / "manifest.json")["stacks"]}
    layers = [layer for layer in LAYERS if any(name == layer for _, name in stacks)]
    assert layers[:2] == ["keys", "network"], "every bundled environment has a key and a network moto can build"
    for layer in layers:  # LAYERS is their wave order: each imports only from the ones before
        result = ivc("deploy", ROOT / "specs" / system, "--env", env, "--out", compiled, "--stack", layer, "--yes")
        assert result.exit_code == 0, result.output

    for region in sorted({region for region, _ in stacks}):
        kms = client("kms", region)
        key = kms.describe_key(KeyId=f"alias/{system}-{env}")["KeyMetadata"]
        assert key["Enabled"] and key["KeyState"] == "Enabled"
        assert key["Arn"].startswith(f"arn:aws:kms:{region}:")
        key_tags = tags(kms.list_resource_tags(KeyId=key["KeyId"])["Tags"], "TagKey", "TagValue")
        assert key_tags.items() >= {"System": system, "Environment": env, "ManagedBy": "ivc", "Name": f"{system}-{env}-key"}.items()

        exports = {e["Name"]: e["Value"] for e in client("cloudformation", region).list_exports()["Exports"]}
        assert exports[f"{system}-{env}-keys-EnvironmentKeyArn"] == key["Arn"]
        vpc = exports[f"{system}-{env}-network-VpcId"]

        network = stacks[(region, "network")]["Resources"]
        group = network["FlowLogGroup"]["Properties"]
        [stored] = client("logs", region).describe_log_groups(logGroupNamePrefix=group["LogGroupName"])["logGroups"]
        assert stored["logGroupName"] == f"/{system}/{env}/network/flow-logs"
        assert stored["retentionInDays"] == group["RetentionInDays"]

        ec2 = client("ec2", region)
        [flow] = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]
        assert flow["LogGroupName"] == stored["logGroupName"]
        assert flow["TrafficType"] == network["FlowLog"]["Properties"]["TrafficType"]
        role = client("iam", region).get_role(RoleName=flow["DeliverLogsPermissionArn"].rsplit("/", 1)[1])["Role"]
        assert "vpc-flow-logs.amazonaws.com" in str(role["AssumeRolePolicyDocument"])

        expected = {
            tags(resource["Properties"]["Tags"])["Name"]
            for name in layers[1:]
            if (region, name) in stacks
            for resource in of_type(stacks[(region, name)], "AWS::EC2::SecurityGroup").values()
        }
        groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
        found = {tags(g.get("Tags", [])).get("Name") for g in groups if g["GroupName"] != "default"}
        assert found == expected
        if "security" in layers and (region, "security") in stacks:
            assert expected, "a security stack holds security groups"
        admits_cdn = [
            rule["Properties"]
            for rule in of_type(stacks.get((region, "security"), {"Resources": {}}), "AWS::EC2::SecurityGroupIngress").values()
            if "SourcePrefixListId" in rule["Properties"]
        ]
        if admits_cdn:  # the load balancer behind CloudFront: only CloudFront's origin-facing addresses, on one port
            [cloudfront] = ec2.describe_managed_prefix_lists(
                Filters=[{"Name": "prefix-list-name", "Values": ["com.amazonaws.global.cloudfront.origin-facing"]}]
            )["PrefixLists"]
            [balancer] = [g for g in groups if tags(g.get("Tags", [])).get("Name") == f"{system}-{env}-load-balancer"]
            assert [(p["FromPort"], [x["PrefixListId"] for x in p["PrefixListIds"]], p["IpRanges"]) for p in balancer["IpPermissions"]] == [
                (admits_cdn[0]["FromPort"], [cloudfront["PrefixListId"]], [])
            ]
