"""Deployment smoke test: the translated template, with the built code in S3, deployed into moto's CloudFormation.

The stack must reach CREATE_COMPLETE and its resources must be present and wired to each other. moto does not
run the functions. The resource types moto cannot create are listed in ``moto_stack.NOT_CREATABLE_BY_MOTO``
with the reason; they are checked on the translated template (here and in the rules) instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.template.cfn import props, render, resources, translated_template
from tests.template.moto_stack import (
    BUCKET,
    MERCHANT_PARAMETERS,
    NOT_CREATABLE_BY_MOTO,
    REGION,
    STACK_NAME,
    build_artifacts,
    template_for_moto,
)


@dataclass
class Deployed:
    stack: dict[str, Any]
    template: dict[str, Any]  # what was deployed
    physical: dict[str, str]  # logical id -> physical id
    removed: dict[str, dict[str, Any]]
    artifacts: dict[str, bytes]

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    artifacts = build_artifacts(Path(tmp_path_factory.mktemp("sam-build")))
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        keys = {}
        for logical_id, archive in artifacts.items():
            keys[logical_id] = f"{STACK_NAME}/{logical_id}.zip"
            s3.put_object(Bucket=BUCKET, Key=keys[logical_id], Body=archive)
        template, removed = template_for_moto(keys)
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(template),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in MERCHANT_PARAMETERS.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cloudformation.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        summaries = cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
        physical = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
        yield Deployed(stack, template, physical, removed, artifacts)


def test_stack_reaches_create_complete(deployed: Deployed) -> None:
    assert deployed.stack["StackStatus"] == "CREATE_COMPLETE", deployed.stack.get("StackStatusReason")


def test_only_the_listed_resource_types_were_left_to_the_translated_template(deployed: Deployed) -> None:
    left_out = {res["Type"] for res in deployed.removed.values()}
    assert left_out <= set(NOT_CREATABLE_BY_MOTO)
    assert set(deployed.template["Resources"]) - set(deployed.physical) == set(), "moto skipped a type not in NOT_CREATABLE_BY_MOTO"


def test_tables_functions_layer_api_bus_queues_and_dashboard_are_present(deployed: Deployed) -> None:
    cfn = deployed.template
    for resource_type in (
        "AWS::DynamoDB::Table",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::ApiGateway::RestApi",
        "AWS::Events::EventBus",
        "AWS::Events::Rule",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Dashboard",
        "AWS::SSM::Parameter",
        "AWS::IAM::Role",
        "AWS::IAM::ManagedPolicy",
    ):
        for logical_id in resources(cfn, resource_type):
            assert logical_id in deployed.physical, f"{resource_type} {logical_id} was not created"
    tables = deployed.client("dynamodb").list_tables()["TableNames"]
    assert {deployed.physical["PaymentRequestsTable"], deployed.physical["IdempotencyTable"]} <= set(tables)
    table = deployed.client("dynamodb").describe_table(TableName=deployed.physical["PaymentRequestsTable"])["Table"]
    indexes = table["GlobalSecondaryIndexes"]
    assert {index["IndexName"] for index in indexes} == {"ByOrder", "DueReminders", "BySite"}


def test_functions_run_the_uploaded_code_with_their_settings(deployed: Deployed) -> None:
    lambda_ = deployed.client("lambda")
    for logical_id in ("CreateFunction", "ResendFunction", "WebhookFunction"):
        config = lambda_.get_function_configuration(FunctionName=deployed.physical[logical_id])
        assert config["Runtime"] == "python3.13"
        assert config["CodeSize"] == len(deployed.artifacts[logical_id])
        env = config["Environment"]["Variables"]
        assert env["TABLE_NAME"] == deployed.physical["PaymentRequestsTable"]
        assert env["IDEMPOTENCY_TABLE_NAME"] == deployed.physical["IdempotencyTable"]
        assert env["EVENT_BUS_NAME"] == f"{STACK_NAME}-payment-links"
        assert env["WIX_CREDENTIALS_SECRET"] == MERCHANT_PARAMETERS["WixCredentialsSecretArn"]
        assert env["WIX_WEBHOOK_KEYS_SECRET"] == MERCHANT_PARAMETERS["WixWebhookPublicKeySecretArn"]
        assert env["SENDER_EMAIL"] == MERCHANT_PARAMETERS["SenderEmail"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == f"PaymentLinks/{STACK_NAME}"
        assert env["UNSUBSCRIBE_BASE_URL"] == f"ssm:/payment-links/{STACK_NAME}/api-url"
        assert config["Role"].endswith(deployed.physical[f"{logical_id}Role"])


def test_function_properties_moto_drops_are_wired_in_the_template(deployed: Deployed) -> None:
    """moto's Lambda model ignores Architectures, Layers, TracingConfig and LoggingConfig: read them from the template."""
    functions = resources(deployed.template, "AWS::Lambda::Function")
    (layer_id,) = resources(deployed.template, "AWS::Lambda::LayerVersion")
    for logical_id, function in functions.items():
        assert render(props(function)["Architectures"]) == "[${Architecture}]", logical_id
        assert [render(v) for v in props(function)["Layers"]] == ["${" + layer_id + "}"], logical_id
        assert props(function)["TracingConfig"] == {"Mode": "Active"}, logical_id
        assert render(props(function)["LoggingConfig"]["LogGroup"]) == "${" + logical_id + "LogGroup}", logical_id


def test_layer_is_published_from_the_uploaded_build(deployed: Deployed) -> None:
    lambda_ = deployed.client("lambda")
    (layer_id,) = resources(deployed.template, "AWS::Lambda::LayerVersion")
    (layer,) = [layer for layer in lambda_.list_layers()["Layers"] if layer_id in layer["LayerName"]]
    version = lambda_.get_layer_version(LayerName=layer["LayerName"], VersionNumber=layer["LatestMatchingVersion"]["Version"])
    assert version["Content"]["CodeSize"] == len(deployed.artifacts["SharedLayer"])
    assert version["CompatibleRuntimes"] == ["python3.13"]


def test_api_url_parameter_holds_the_deployed_api_url(deployed: Deployed) -> None:
    api_id = deployed.physical["Api"]
    assert api_id in {api["id"] for api in deployed.client("apigateway").get_rest_apis()["items"]}
    value = deployed.client("ssm").get_parameter(Name=f"/payment-links/{STACK_NAME}/api-url")["Parameter"]["Value"]
    assert value == f"https://{api_id}.execute-api.{REGION}.amazonaws.com/v1"


def test_api_gateway_may_invoke_each_function(deployed: Deployed) -> None:
    lambda_ = deployed.client("lambda")
    for logical_id in ("CreateFunction", "ResendFunction"):
        policy = json.loads(lambda_.get_policy(FunctionName=deployed.physical[logical_id])["Policy"])
        assert "apigateway.amazonaws.com" in {st["Principal"]["Service"] for st in policy["Statement"]}


def test_reminder_schedule_invokes_the_resend_function_with_a_dead_letter_queue(deployed: Deployed) -> None:
    events = deployed.client("events")
    rule_name = deployed.physical["ResendFunctionReminderSweep"].split("/")[-1]
    rule = events.describe_rule(Name=rule_name)
    assert rule["ScheduleExpression"] == "rate(15 minutes)"
    (target_,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    function_arn = deployed.client("lambda").get_function_configuration(FunctionName=deployed.physical["ResendFunction"])["FunctionArn"]
    assert target_["Arn"] == function_arn
    assert target_["DeadLetterConfig"]["Arn"] == _queue_arn(deployed, "ReminderSweepDeadLetterQueue")


def test_paid_events_on_the_bus_reach_the_example_queue_with_a_dead_letter_queue(deployed: Deployed) -> None:
    events = deployed.client("events")
    bus = f"{STACK_NAME}-payment-links"
    assert bus in {b["Name"] for b in events.list_event_buses()["EventBuses"]}
    (rule,) = events.list_rules(EventBusName=bus)["Rules"]
    assert json.loads(rule["EventPattern"]) == {"source": ["payment-links"], "detail-type": ["PaymentRequestPaid"]}
    (target_,) = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
    assert target_["Arn"] == _queue_arn(deployed, "PaidEventsQueue")
    assert target_["DeadLetterConfig"]["Arn"] == _queue_arn(deployed, "PaidEventsDeadLetterQueue")


def test_queues_are_encrypted_and_keep_messages_for_two_weeks(deployed: Deployed) -> None:
    for logical_id in ("ReminderSweepDeadLetterQueue", "ReminderSweepFailureQueue", "PaidEventsQueue", "PaidEventsDeadLetterQueue"):
        queue = deployed.physical[logical_id]
        attributes = deployed.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        assert attributes["SqsManagedSseEnabled"] == "true"
        assert attributes["MessageRetentionPeriod"] == "1209600"


def test_log_groups_keep_thirty_days(deployed: Deployed) -> None:
    groups = {g["logGroupName"]: g for g in deployed.client("logs").describe_log_groups()["logGroups"]}
    for logical_id in ("CreateFunctionLogGroup", "ResendFunctionLogGroup", "WebhookFunctionLogGroup", "ApiAccessLogGroup"):
        assert groups[deployed.physical[logical_id]]["retentionInDays"] == 30


def test_dashboard_shows_this_deployments_functions(deployed: Deployed) -> None:
    body = json.loads(deployed.client("cloudwatch").get_dashboard(DashboardName=f"{STACK_NAME}-payment-links")["DashboardBody"])
    text = json.dumps(body)
    assert deployed.physical["WebhookFunction"] in text
    assert f"PaymentLinks/{STACK_NAME}" in text


def test_alarm_topic_exists_for_the_alarms(deployed: Deployed) -> None:
    topics = {t["TopicArn"] for t in deployed.client("sns").list_topics()["Topics"]}
    assert deployed.physical["AlarmTopic"] in topics


# ---- what moto cannot create, checked on the translated template ------------------------------------------


def test_generated_secrets_are_generated_by_secrets_manager() -> None:
    for name, secret in resources(translated_template(), "AWS::SecretsManager::Secret").items():
        generate = props(secret)["GenerateSecretString"]
        assert generate["PasswordLength"] >= 32, name


def test_access_logs_and_stage_throttling() -> None:
    cfn = translated_template()
    (stage,) = resources(cfn, "AWS::ApiGateway::Stage").values()
    assert render(props(stage)["AccessLogSetting"]["DestinationArn"]) == "${ApiAccessLogGroup.Arn}"
    assert "$context.path" not in props(stage)["AccessLogSetting"]["Format"], "the raw path would log unsubscribe tokens"
    (setting,) = props(stage)["MethodSettings"]
    assert setting["ThrottlingRateLimit"] > 0 and setting["ThrottlingBurstLimit"] > 0
    (account,) = resources(cfn, "AWS::ApiGateway::Account").values()
    assert account["Condition"] == "CreatesApiGatewayAccount" and account["DeletionPolicy"] == "Retain"


def test_webhook_is_served_by_its_snapstart_alias() -> None:
    cfn = translated_template()
    ((alias_id, alias),) = resources(cfn, "AWS::Lambda::Alias").items()
    assert render(props(alias)["FunctionName"]) == "${WebhookFunction}"
    body = json.dumps(props(cfn["Resources"]["Api"])["Body"]["paths"]["/webhooks/wix"])
    assert alias_id in body, "the webhook route must invoke the published (SnapStart) alias, not $LATEST"


def _queue_arn(deployed: Deployed, logical_id: str) -> str:
    url = deployed.physical[logical_id]
    return deployed.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
