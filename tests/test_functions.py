"""Functions: one role each, encrypted log groups, code as a release, VPC only when needed, triggers and `uses:`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import ivc, read_json


def template(compiled: Path, stack: str, env: str = "dev") -> Any:
    return read_json(compiled / "functions" / env / "eu-west-1" / f"{stack}.json")


def resources(compiled: Path, kind: str, env: str = "dev") -> dict[str, Any]:
    return {k: v for k, v in template(compiled, "app", env)["Resources"].items() if v["Type"] == kind}


def statements(role: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (policy,) = role["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def imported(name: str) -> dict[str, str]:
    return {"Fn::ImportValue": f"functions-dev-{name}"}


FUNCTIONS = ("nightly", "notify", "thumbnails", "worker")


def test_each_function_has_its_own_role_trusted_by_lambda_of_this_account(compiled: Path) -> None:
    functions = resources(compiled, "AWS::Lambda::Function")
    assert sorted(functions) == [f"Function{n.capitalize()}" for n in FUNCTIONS]
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    assert len(set(roles)) == len(roles)
    app = template(compiled, "app")["Resources"]
    for role in roles:
        (trust,) = app[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_log_group_name_retention_and_key(compiled: Path) -> None:
    for env, name in (("dev", "/aws/lambda/dev-nightly"), ("prod", "/functions/prod/functions/nightly")):
        app = template(compiled, "app", env)["Resources"]
        group = app["FunctionNightlyLogGroup"]["Properties"]
        assert group["LogGroupName"] == name
        assert group["RetentionInDays"] == 14
        assert group["KmsKeyId"] == {"Fn::ImportValue": f"functions-{env}-keys-EnvironmentKeyArn"}
        assert app["FunctionNightly"]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": "FunctionNightlyLogGroup"}}
    # The environment key lets CloudWatch Logs encrypt the group the spec named outside /<system>/<env>/.
    key = template(compiled, "keys")["Resources"]["EnvironmentKey"]["Properties"]["KeyPolicy"]["Statement"]
    allowed = next(s for s in key if s["Sid"] == "LogsEncryptThisEnvironmentsLogGroups")["Condition"]["ArnLike"]
    assert {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/dev-nightly"} in allowed[
        "kms:EncryptionContext:aws:logs:arn"
    ]
    role = template(compiled, "app")["Resources"]["FunctionNightlyRole"]
    assert statements(role)["WriteOwnLogs"]["Resource"] == [{"Fn::GetAtt": ["FunctionNightlyLogGroup", "Arn"]}]


def test_code_is_a_release_parameter(compiled: Path) -> None:
    app = template(compiled, "app")
    assert app["Parameters"]["FunctionWorkerCodeKey"] == {
        "Type": "String",
        "Default": "worker/1.4.2.zip",
        "Description": "Release of functions.worker: the code's S3 key",
        "MinLength": 1,
    }
    worker = app["Resources"]["FunctionWorker"]["Properties"]
    assert worker["Code"] == {"S3Bucket": "functions-artifacts", "S3Key": {"Ref": "FunctionWorkerCodeKey"}}
    assert (worker["PackageType"], worker["Runtime"], worker["Handler"]) == ("Zip", "python3.13", "worker.handler")
    assert app["Parameters"]["FunctionNightlyImageTag"]["Default"] == "2.0.0"
    nightly = app["Resources"]["FunctionNightly"]["Properties"]
    assert nightly["Code"] == {
        "ImageUri": {"Fn::Sub": "${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/nightly:${FunctionNightlyImageTag}"}
    }
    assert nightly["PackageType"] == "Image" and "Runtime" not in nightly and "Handler" not in nightly


def test_settings_memory_timeout_architecture_tracing_concurrency(compiled: Path) -> None:
    functions = resources(compiled, "AWS::Lambda::Function")
    worker, nightly = functions["FunctionWorker"]["Properties"], functions["FunctionNightly"]["Properties"]
    assert (worker["MemorySize"], worker["Timeout"], worker["Architectures"]) == (512, 120, ["arm64"])
    assert worker["ReservedConcurrentExecutions"] == 5
    assert worker["TracingConfig"] == {"Mode": "Active"}
    assert (nightly["MemorySize"], nightly["Timeout"], nightly["Architectures"]) == (256, 900, ["x86_64"])
    assert "TracingConfig" not in nightly and "ReservedConcurrentExecutions" not in nightly
    assert worker["FunctionName"] == "functions-dev-worker"
    assert worker["KmsKeyArn"] == imported("keys-EnvironmentKeyArn")


def test_only_a_function_using_something_in_the_vpc_joins_it_behind_its_own_group(compiled: Path) -> None:
    functions = resources(compiled, "AWS::Lambda::Function")
    assert [n for n, f in functions.items() if "VpcConfig" in f["Properties"]] == ["FunctionWorker"]
    assert functions["FunctionWorker"]["Properties"]["VpcConfig"] == {
        "SecurityGroupIds": [imported("security-FunctionWorkerSecurityGroup")],
        "SubnetIds": {"Fn::Split": [",", imported("network-AppSubnetIds")]},
    }
    security = template(compiled, "security")["Resources"]
    assert "FunctionWorkerSecurityGroup" in security and "FunctionNotifySecurityGroup" not in security
    rule = security["DatabaseMainIngressFromFunctionWorker"]["Properties"]
    assert rule["GroupId"] == {"Fn::GetAtt": ["DatabaseMainSecurityGroup", "GroupId"]}
    assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["FunctionWorkerSecurityGroup", "GroupId"]}
    assert (rule["FromPort"], rule["ToPort"]) == (5432, 5432)
    assert rule["Description"] == "Port 5432 from function worker, which uses databases.main"
    assert security["CacheSessionsIngressFromFunctionWorker"]["Properties"]["FromPort"] == 6379
    role = statements(template(compiled, "app")["Resources"]["FunctionWorkerRole"])
    assert role["CreateOwnNetworkInterfaces"]["Resource"][-1]["Fn::Join"][1][1] == imported("security-FunctionWorkerSecurityGroup")
    assert "ec2:Vpc" in role["ManageNetworkInterfacesInVpc"]["Condition"]["ArnEquals"]
    assert "CreateOwnNetworkInterfaces" not in statements(template(compiled, "app")["Resources"]["FunctionNotifyRole"])


def test_secrets_arrive_as_arns_never_values(compiled: Path) -> None:
    worker = resources(compiled, "AWS::Lambda::Function")["FunctionWorker"]["Properties"]["Environment"]["Variables"]
    assert worker["API_KEY_SECRET_ARN"] == imported("data-SecretApiKeyArn")
    assert worker["DATABASE_MAIN_PASSWORD_SECRET_ARN"] == imported("data-DatabaseMainSecretArn")
    assert worker["DATABASE_MAIN_PASSWORD_SECRET_KEY"] == "password"
    assert worker["DATABASE_MAIN_HOST"] == imported("data-DatabaseMainAddress")
    assert worker["BUCKET_UPLOADS"] == imported("data-BucketUploadsName")
    assert (worker["LOG_LEVEL"], worker["DRY_RUN"]) == ("info", "false")
    role = statements(template(compiled, "app")["Resources"]["FunctionWorkerRole"])
    assert role["ReadUsedSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert imported("data-SecretApiKeyArn") in role["ReadUsedSecrets"]["Resource"]
    assert role["ReadBucketUploadsObjects"]["Action"] == ["s3:GetObject"]
    assert "resolve:secretsmanager" not in json.dumps(template(compiled, "app"))


def test_queue_trigger_maps_the_queue_with_partial_batch_failures_and_consume_rights(compiled: Path) -> None:
    mapping = template(compiled, "app")["Resources"]["FunctionWorkerTrigger1"]
    assert mapping["Type"] == "AWS::Lambda::EventSourceMapping"
    assert mapping["Properties"] == {
        "BatchSize": 5,
        "Enabled": True,
        "EventSourceArn": imported("data-QueueJobsArn"),
        "FunctionName": {"Ref": "FunctionWorker"},
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
    }
    role = statements(template(compiled, "app")["Resources"]["FunctionWorkerRole"])
    assert "sqs:ReceiveMessage" in role["ConsumeQueueJobs"]["Action"]
    assert role["ConsumeQueueJobs"]["Resource"] == [imported("data-QueueJobsArn")]
    # The lead's queue: visibility is six times the consumer's timeout.
    assert template(compiled, "data")["Resources"]["QueueJobs"]["Properties"]["VisibilityTimeout"] == 720


def test_schedule_trigger_has_its_time_zone_and_a_role_that_invokes_only_this_function(compiled: Path) -> None:
    app = template(compiled, "app")["Resources"]
    schedule = app["FunctionNightlyTrigger1"]["Properties"]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/London"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["Target"] == {
        "Arn": {"Fn::GetAtt": ["FunctionNightly", "Arn"]},
        "RoleArn": {"Fn::GetAtt": ["FunctionNightlyTrigger1Role", "Arn"]},
    }
    role = app["FunctionNightlyTrigger1Role"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert statements(app["FunctionNightlyTrigger1Role"])["InvokeThisFunction"]["Resource"] == [{"Fn::GetAtt": ["FunctionNightly", "Arn"]}]
    assert app["FunctionNotifyTrigger2"]["Properties"]["ScheduleExpressionTimezone"] == "UTC"


def test_bucket_trigger_is_an_eventbridge_rule_with_a_permission_scoped_by_the_rule(compiled: Path) -> None:
    app = template(compiled, "app")["Resources"]
    rule = app["FunctionThumbnailsTrigger1"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": [imported("data-BucketUploadsName")]}, "object": {"key": [{"prefix": "incoming/"}]}},
    }
    assert rule["EventBusName"] == "default"
    permission = app["FunctionThumbnailsTrigger1Permission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["FunctionThumbnailsTrigger1", "Arn"]}


def test_topic_trigger_subscribes_with_a_permission_scoped_by_the_topic(compiled: Path) -> None:
    app = template(compiled, "app")["Resources"]
    subscription = app["FunctionNotifyTrigger1"]
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert subscription["Properties"]["Protocol"] == "lambda"
    assert subscription["Properties"]["TopicArn"] == imported("data-TopicOrdersArn")
    permission = app["FunctionNotifyTrigger1Permission"]["Properties"]
    assert (permission["Principal"], permission["SourceArn"]) == ("sns.amazonaws.com", imported("data-TopicOrdersArn"))


def test_dead_letter_queue_and_the_right_to_send_to_it(compiled: Path) -> None:
    app = template(compiled, "app")["Resources"]
    assert app["FunctionThumbnails"]["Properties"]["DeadLetterConfig"] == {"TargetArn": imported("data-QueueFailedArn")}
    role = statements(app["FunctionThumbnailsRole"])
    assert "sqs:SendMessage" in role["SendQueueFailed"]["Action"]
    assert role["SendQueueFailed"]["Resource"] == [imported("data-QueueFailedArn")]


def test_a_function_may_invoke_exactly_the_function_it_uses(compiled: Path) -> None:
    app = template(compiled, "app")
    notify = app["Resources"]["FunctionNotify"]["Properties"]["Environment"]["Variables"]
    assert notify["FUNCTION_WORKER_NAME"] == "functions-dev-worker"
    invoke = statements(app["Resources"]["FunctionNotifyRole"])["InvokeFunctionWorker"]
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    arn = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:functions-dev-worker"
    assert invoke["Resource"] == [{"Fn::Sub": arn}]
    assert app["Outputs"]["FunctionWorkerArn"]["Export"]["Name"] == "functions-dev-app-FunctionWorkerArn"
    assert app["Outputs"]["FunctionWorkerName"]["Export"]["Name"] == "functions-dev-app-FunctionWorkerName"


HEAD = """\
ivc: 1
system: shop
regions: {primary: us-east-1}
network: {cidr: 10.9.0.0/22, tiers: [public, private], nat: none, subnet_prefix: 26, flow_logs: {enabled: false}}
"""


def problems(tmp_path: Path, body: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body + "environments:\n  dev: {}\n")
    result = ivc("validate", spec)
    assert "internal error" not in result.output and "Traceback" not in result.output
    return [line.removeprefix(f"{spec}:") for line in result.stderr.splitlines() if ": error: " in line]


CODE = "code: s3:artifacts/a.zip, runtime: python3.13, handler: a.handler"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "functions:\n  a: {code: ecr:a:1, runtime: python3.13}\n",
            "6:31: error: functions.a runs a container image, whose own runtime Lambda uses; remove runtime",
        ),
        (
            "functions:\n  a: {code: s3:artifacts/a.zip, handler: a.handler}\n",
            "6:13: error: functions.a has code from S3 and needs a runtime",
        ),
        (f"functions:\n  a: {{{CODE}, memory: 64}}\n", "6:82: error: functions.a.memory is 64; it must be at least 128"),
        (f"functions:\n  a: {{{CODE}, timeout: 901}}\n", "6:83: error: functions.a.timeout is 901; it must be at most 900"),
        (f"functions:\n  a: {{{CODE}, concurrency: 0}}\n", "6:87: error: functions.a.concurrency is 0; it must be at least 1"),
        (
            f"queues:\n  q: {{fifo: true}}\nfunctions:\n  a: {{{CODE}, on: [{{queue: queues.q, batch: 11}}]}}\n",
            "8:104: error: queues.q is a FIFO queue, which hands a function at most 10 messages per batch, not 11",
        ),
        (
            f"functions:\n  a: {{{CODE}, on: [{{queue: queues.q}}]}}\n",
            "6:87: error: functions.a is triggered by queues.q, which does not exist (queues: none are declared)",
        ),
        (
            f"functions:\n  a: {{{CODE}, on: [{{schedule: rate(5 minutes), prefix: x/}}]}}\n",
            "6:115: error: prefix belongs to bucket triggers, not to a schedule trigger",
        ),
        (
            f"functions:\n  a: {{{CODE}, on: [{{topic: topics.t, batchh: 1}}]}}\n",
            "6:97: error: unknown key 'batchh' in functions.a.on[0]; did you mean 'batch'?",
        ),
        (
            f"services:\n  web: {{image: nginx, uses: [functions.a:read]}}\nfunctions:\n  a: {{{CODE}}}\n",
            "6:30: error: functions take :invoke, not :read; write functions.a:invoke or leave it out",
        ),
    ],
    ids=[
        "image-runtime",
        "s3-runtime",
        "memory",
        "timeout",
        "concurrency",
        "fifo-batch",
        "missing-queue",
        "option-of-another-source",
        "trigger-key-typo",
        "service-use-access",
    ],
)
def test_validate_finds_it_at_the_spec_line(tmp_path: Path, body: str, expected: str) -> None:
    assert problems(tmp_path, body) == [expected]


def test_a_service_may_invoke_a_function(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        HEAD
        + "databases:\n  main: {instance: db.t4g.micro}\n"
        + f"functions:\n  a: {{{CODE}}}\nservices:\n  web: {{image: nginx, uses: [functions.a]}}\nenvironments:\n  dev: {{}}\n"
    )
    result = ivc("compile", spec, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    app = read_json(tmp_path / "out" / "shop" / "dev" / "us-east-1" / "app.json")["Resources"]
    task = statements(app["ServiceWebTaskRole"])["InvokeFunctionA"]
    assert task["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:shop-dev-a"}]
    container = app["ServiceWebTaskDefinition"]["Properties"]["ContainerDefinitions"][0]
    assert {"Name": "FUNCTION_A_NAME", "Value": "shop-dev-a"} in container["Environment"]


def test_a_function_may_ask_for_the_vpc_and_then_needs_a_network(tmp_path: Path) -> None:
    from compiler.errors import SpecError
    from compiler.validate import load_and_validate

    body = (
        "ivc: 1\nsystem: shop\nregions: {primary: us-east-1}\nfunctions:\n"
        "  f: {runtime: python3.12, handler: a.b, code: s3:shop-code/f.zip, vpc: true}\nenvironments: {dev: {}}\n"
    )
    (tmp_path / "spec.yaml").write_text(body)
    with pytest.raises(SpecError) as error:
        load_and_validate(tmp_path / "spec.yaml")
    assert [d.render().split(":", 1)[1] for d in error.value.diagnostics] == [
        "5:73: error: functions.f runs in the VPC: add a network section"
    ]
