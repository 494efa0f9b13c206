"""moto's server (what the ``moto_server`` command runs), with three translations moto 5.2.5 gets wrong.

moto's ``Key.create_from_cloudformation_json`` hands an ``AWS::KMS::Key``'s properties to
``KmsBackend.create_key`` as CloudFormation wrote them, but that method takes them as the KMS API sends them:

- Tags: CloudFormation writes ``[{"Key": k, "Value": v}]``; KMS tagging reads ``TagKey`` and ``TagValue``, so
  creating any tagged key from a template fails with ``KeyError: 'TagKey'``, and the stack with it.
- KeyPolicy: CloudFormation takes a JSON object; the KMS API takes it as a JSON string, and moto's
  policy check (``kms.describe_key`` and others) then fails with a 500 on the object.

The fix is those translations, ``{"Key": k, "Value": v} -> {"TagKey": k, "TagValue": v}`` and
``json.dumps(KeyPolicy)``, done before moto's own code runs; everything else is moto's. ivc tags every key,
so without them no stack holding the environment key, nor any stack importing it, builds on moto. The key
then created is real moto state, as ``kms.create_key(Policy=..., Tags=...)`` would make it: ``kms.describe_key``
and ``kms.list_resource_tags`` read it back.

moto's ``SecurityGroupIngress.create_from_cloudformation_json`` knows no ``SourcePrefixListId``: it asserts a
CIDR or a source group and fails the stack. ivc's load balancer behind CloudFront admits only CloudFront's
origin-facing prefix list, so such a rule is handed to moto's own ``authorize_security_group_ingress`` with
``prefix_list_ids``, exactly as the EC2 API's ``AuthorizeSecurityGroupIngress`` would;
``ec2.describe_security_groups`` reads the rule back. Every other rule takes moto's own path.

Run as ``python tests/moto_fixed_server.py -H 127.0.0.1 -p PORT``, the arguments of ``moto_server``.
"""

from __future__ import annotations

import json
from typing import Any

from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupIngress
from moto.kms.models import Key
from moto.server import main

_create_key_from_template = Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _as_the_kms_api_takes_it(cls: type[Key], resource_name: str, cloudformation_json: Any, *args: Any, **kwargs: Any) -> Key:
    properties = dict(cloudformation_json["Properties"])
    if isinstance(properties.get("KeyPolicy"), dict):
        properties["KeyPolicy"] = json.dumps(properties["KeyPolicy"])
    if "Tags" in properties:
        properties["Tags"] = [{"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in properties["Tags"]]
    created: Key = _create_key_from_template(cls, resource_name, {**cloudformation_json, "Properties": properties}, *args, **kwargs)
    return created


Key.create_from_cloudformation_json = classmethod(_as_the_kms_api_takes_it)  # type: ignore[method-assign,assignment]

_create_ingress_from_template = SecurityGroupIngress.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]


def _prefix_list_as_the_ec2_api_takes_it(
    cls: type[SecurityGroupIngress], resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
) -> SecurityGroupIngress:
    properties = cloudformation_json["Properties"]
    if "SourcePrefixListId" not in properties:
        created: SecurityGroupIngress = _create_ingress_from_template(
            cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
        )
        return created
    backend = ec2_backends[account_id][region_name]
    [group] = backend.describe_security_groups(group_ids=[properties["GroupId"]])
    backend.authorize_security_group_ingress(
        group_name_or_id=group.id,
        ip_protocol=properties["IpProtocol"],
        from_port=properties.get("FromPort"),
        to_port=properties.get("ToPort"),
        ip_ranges=[],
        prefix_list_ids=[{"PrefixListId": properties["SourcePrefixListId"], "Description": properties.get("Description", "")}],
    )
    return cls(group, properties)


SecurityGroupIngress.create_from_cloudformation_json = classmethod(_prefix_list_as_the_ec2_api_takes_it)  # type: ignore[method-assign,assignment]

if __name__ == "__main__":
    main()
