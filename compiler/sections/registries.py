"""Registries: ECR repositories for the spec's own images, scanned, immutable, pruned, encrypted and retained.

A repository is named as the spec writes it, because `image: ecr:<repository>:<tag>` names it. Tags are
immutable unless the spec opts out, every push is scanned, a lifecycle policy keeps the last `keep` images
and expires untagged ones after a day, and images are encrypted with the environment key (or AES-256 when
the spec says so). A service whose image is in one of these repositories may pull from that one only, and
decrypt with the environment key when the repository is KMS-encrypted (see services.py).

When services stand by in the DR region (site.py), their repositories are made there too, with the same settings
and the DR region's environment key, and the primary's registry replicates every push to them. The repositories
are made first (the primary's stack deploys after the DR region's), because a repository that replication creates
gets ECR's defaults instead. Replication is one setting of the account's registry in the primary region: one
environment per account and region can hold it (docs/recovery.md).
"""

from __future__ import annotations

import json
from typing import Any

from troposphere import GetAtt, Ref, Sub, ecr

from ..context import Context, Fragment, camel
from .base import Section, Spec
from .secrets import key_arn
from .site import site_spec

STACK = "data"
KIND = "registries"
UNTAGGED_DAYS = 1  # untagged images (superseded layers of a re-pushed build) expire after a day


def title(name: str) -> str:
    return f"Registry{camel(name)}"


def of_image(spec: Spec, image: str) -> str | None:
    """The registry of the spec an `ecr:<repository>:<tag>` image lives in, or None."""
    if not image.startswith("ecr:"):
        return None
    repository = image[len("ecr:") :].split("@")[0].split(":")[0]
    return repository if repository in spec.get(KIND, {}) else None


def kms_encrypted(spec: Spec, name: str) -> bool:
    return bool(spec.get(KIND, {})[name]["encryption"] == "kms")


def lifecycle(keep: int) -> str:
    """Untagged images go after a day; of the rest, the newest ``keep`` stay."""
    rules = [
        {
            "rulePriority": 1,
            "description": f"Expire untagged images after {UNTAGGED_DAYS} day",
            "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": UNTAGGED_DAYS},
            "action": {"type": "expire"},
        },
        {
            "rulePriority": 2,
            "description": f"Keep the last {keep} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
            "action": {"type": "expire"},
        },
    ]
    return json.dumps({"rules": rules}, sort_keys=True)


def replicated(spec: Spec) -> list[str]:
    """The repositories the DR site pulls from, which the primary's registry replicates to the DR region."""
    site = site_spec(spec)
    return sorted(site["registries"]) if site else []


def build(registries: dict[str, Any], ctx: Context) -> Fragment:
    out = Fragment()
    if ctx.role == "primary" and (names := replicated(ctx.spec)):
        secondary = ctx.spec["regions"]["secondary"]
        out.at = (KIND,)
        out.add(
            ecr.ReplicationConfiguration(
                "RegistryReplication",
                ReplicationConfiguration=ecr.ReplicationConfigurationProperty(
                    Rules=[
                        ecr.ReplicationRule(
                            Destinations=[ecr.ReplicationDestination(Region=secondary, RegistryId=Ref("AWS::AccountId"))],
                            # A prefix is ECR's only filter: a longer name with the same start is replicated too.
                            RepositoryFilters=[ecr.RepositoryFilter(Filter=name, FilterType="PREFIX_MATCH") for name in names],
                        )
                    ]
                ),
            )
        )
        out.after.add((secondary, STACK))  # the repositories there exist before the first image is replicated
    for name, registry in sorted(registries.items()):
        out.at = (KIND, name)
        if registry["encryption"] == "kms":
            encryption = ecr.EncryptionConfiguration(EncryptionType="KMS", KmsKey=key_arn(ctx, same_stack=True))
        else:
            encryption = ecr.EncryptionConfiguration(EncryptionType="AES256")
        repository = out.add(
            ecr.Repository(
                title(name),
                RepositoryName=name,
                ImageScanningConfiguration=ecr.ImageScanningConfiguration(ScanOnPush=registry["scan_on_push"]),
                ImageTagMutability="MUTABLE" if registry["mutable_tags"] else "IMMUTABLE",
                EncryptionConfiguration=encryption,
                LifecyclePolicy=ecr.LifecyclePolicy(LifecyclePolicyText=lifecycle(registry["keep"])),
                Tags=ctx.resource_tags(name),
                DeletionPolicy="Retain",
                UpdateReplacePolicy="Retain",
            )
        )
        out.export(ctx, STACK, f"{title(name)}Arn", GetAtt(repository, "Arn"), f"ARN of ECR repository {name}.")
        out.export(
            ctx,
            STACK,
            f"{title(name)}Uri",
            Sub(f"${{AWS::AccountId}}.dkr.ecr.${{AWS::Region}}.${{AWS::URLSuffix}}/{name}"),
            f"URI of ECR repository {name}, to push and pull images.",
        )
    return out


# --- this section's piece of the spec language (assembled into schemas/ivc.schema.json by `ivc schema --write`) ---

NAME_PATTERN = "^[a-z][a-z0-9]*([._-][a-z0-9]+)*$"
PROPERTIES: dict[str, Any] = {
    KIND: {
        "description": "ECR repositories for this system's images, named as written: `image: ecr:<name>:<tag>` of a service names "
        "one. Scanned on push, immutable tags, the last images kept, encrypted with the environment key, retained on delete.",
        "type": "object",
        "propertyNames": {"pattern": NAME_PATTERN, "maxLength": 100},
        "additionalProperties": {"$ref": "#/$defs/registry"},
        "default": {},
        "examples": [{"socialflow-backend": {"keep": 5}}],
    }
}
DEFS: dict[str, Any] = {
    "registry": {
        "description": "One ECR repository.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "scan_on_push": {"description": "Scan every pushed image for known vulnerabilities.", "type": "boolean", "default": True},
            "mutable_tags": {
                "description": "Let a push move an existing tag to another image. Default: tags are immutable, so a tag "
                "always names the image that was tested and released.",
                "type": "boolean",
                "default": False,
            },
            "keep": {
                "description": "Images to keep; older ones expire. Untagged images expire after a day.",
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
                "default": 5,
            },
            "encryption": {
                "description": "`kms` (the environment key; services that pull may decrypt with it) or `AES256` (ECR's own key).",
                "enum": ["kms", "AES256"],
                "default": "kms",
            },
        },
    }
}
OVERLAY: dict[str, Any] = {
    KIND: {"description": "Changes to registries in this environment, merged over the spec's.", "type": ["object", "null"]}
}

SECTION = Section(KIND, PROPERTIES, DEFS, OVERLAY, build=build, stack=STACK, site=True)
