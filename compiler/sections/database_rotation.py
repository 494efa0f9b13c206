"""Databases, rotation side: the rotation schedule of a named credentials secret, in the app stack.

A section feeds one stack. The secret is data (databases.py builds it with the instance); the function that rotates
it is in the app stack, and Secrets Manager rotates once when a schedule is made, so the schedule is built beside
the function, after it exists: a permission that lets Secrets Manager invoke it for this secret only
(``SourceArn``), and the schedule, every ``rotation_days`` days. The function's role gets what rotating takes from
functions.py (``databases.rotation_statements``). No AWS::SecretsManager transform: see docs/databases.md.
"""

from __future__ import annotations

from troposphere import GetAtt, Ref, awslambda, secretsmanager

from ..context import Context, Fragment, camel
from . import databases, functions
from .base import Section, Spec

STACK = "app"


def rotated(spec: Spec) -> list[str]:
    return sorted(
        name
        for name, db in spec.get("databases", {}).items()
        if "rotation_days" in (db.get("secret") or {}) and "rotation_function" in db["secret"]
    )


def build(spec: Spec, ctx: Context) -> Fragment:
    out = Fragment()
    for name in rotated(spec):
        out.at = ("databases", name, "secret")
        secret = spec["databases"][name]["secret"]
        function = functions.title(secret["rotation_function"].partition(".")[2])
        title = f"Database{camel(name)}Secret"
        arn = ctx.imported(databases.STACK, f"{title}Arn")
        permission = out.add(
            awslambda.Permission(
                f"{title}RotationPermission",
                Action="lambda:InvokeFunction",
                FunctionName=Ref(function),
                Principal="secretsmanager.amazonaws.com",
                SourceArn=arn,
            )
        )
        out.add(
            secretsmanager.RotationSchedule(
                f"{title}Rotation",
                DependsOn=[permission.title],
                SecretId=arn,
                RotationLambdaARN=GetAtt(function, "Arn"),
                RotationRules=secretsmanager.RotationRules(AutomaticallyAfterDays=secret["rotation_days"]),
            )
        )
    return out


SECTION = Section("database-rotation", build=build, stack=STACK, needed=lambda spec: bool(rotated(spec)), whole_spec=True)
