"""Each rule fails, naming itself, when a copy of ``template.yaml`` is broken the way a later change might break it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.template.cfn import load_sam_template, translate
from tests.template.rules import RULES, run

Template = dict[str, Any]


def _resources(t: Template) -> dict[str, Any]:
    return t["Resources"]


def _props(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]["Properties"]


def _globals(t: Template) -> dict[str, Any]:
    return t["Globals"]["Function"]


def _statement(t: Template, policy: str, sid: str) -> dict[str, Any]:
    return next(st for st in _props(t, policy)["PolicyDocument"]["Statement"] if st.get("Sid") == sid)


def _create_statement(t: Template, sid: str) -> dict[str, Any]:
    inline = next(p for p in _props(t, "CreateFunction")["Policies"] if isinstance(p, dict) and "Statement" in p)
    return next(st for st in inline["Statement"] if st.get("Sid") == sid)


def _dashboard_replace(old: str, new: str) -> Callable[[Template], None]:
    def mutate(t: Template) -> None:
        body = _props(t, "Dashboard")["DashboardBody"]
        assert old in body["Fn::Sub"]
        body["Fn::Sub"] = body["Fn::Sub"].replace(old, new)

    return mutate


# (rule, how the template is broken, what that change would look like in a pull request)
BREAKAGES: list[tuple[str, Callable[[Template], None], str]] = [
    ("FUNCTION-LOG-GROUP", lambda t: _props(t, "CreateFunction").pop("LoggingConfig"), "a function without its log group"),
    ("LOG-RETENTION", lambda t: _props(t, "ApiAccessLogGroup").pop("RetentionInDays"), "access logs kept forever"),
    ("TRACING", lambda t: _globals(t).update(Tracing="PassThrough"), "tracing switched off"),
    (
        "LEAST-PRIVILEGE",
        lambda t: _props(t, "CreateFunction")["Policies"].append({"DynamoDBCrudPolicy": {"TableName": {"Ref": "PaymentRequestsTable"}}}),
        "the broad CRUD policy template back (Scan, BatchWriteItem)",
    ),
    ("PERMISSIONS-BOUNDARY", lambda t: _globals(t).pop("PermissionsBoundary"), "the boundary dropped"),
    (
        "SES-SENDER-ONLY",
        lambda t: _statement(t, "NotifyCustomersPolicy", "SendEmailFromTheSenderIdentity").update(Resource="*"),
        "SendEmail on every identity again",
    ),
    ("CONCURRENCY", lambda t: _globals(t).pop("ReservedConcurrentExecutions"), "reserved concurrency forgotten"),
    (
        "ASYNC-FAILURES-KEPT",
        lambda t: _props(t, "PaidEventsRule")["Targets"][0].pop("DeadLetterConfig"),
        "a bus rule target without a dead-letter queue",
    ),
    ("DLQ-DEPTH-ALARM", lambda t: _resources(t).pop("ReminderSweepFailureAlarm"), "a failure queue nobody watches"),
    ("FUNCTION-ALARMS", lambda t: _resources(t).pop("WebhookFunctionThrottlesAlarm"), "a function's throttles unwatched"),
    (
        "API-ALARMS",
        lambda t: _props(t, "ApiLatencyP90Alarm").update(ExtendedStatistic="p50"),
        "latency alarm on the median instead of p90",
    ),
    (
        "PRODUCT-ALARMS",
        lambda t: _props(t, "WebhookRejectsAlarm").update(MetricName="WebhookRejects"),
        "an alarm on a metric name the code does not emit",
    ),
    ("ALARMS-NOTIFY", lambda t: _props(t, "Api5xxRateAlarm").pop("AlarmActions"), "an alarm that tells no one"),
    (
        "API-KEYS",
        lambda t: _props(t, "WebhookFunction")["Events"]["WixWebhook"]["Properties"].pop("Auth"),
        "the webhook route suddenly requiring the storefront key",
    ),
    (
        "TABLES",
        lambda t: _props(t, "PaymentRequestsTable")["PointInTimeRecoverySpecification"].update(PointInTimeRecoveryEnabled=False),
        "point-in-time recovery hard-coded off",
    ),
    ("DASHBOARD", _dashboard_replace("100 * paid / created", "paid"), "the conversion graph lost"),
    ("OUTPUTS", lambda t: t["Outputs"].pop("WebhookUrl"), "the webhook URL no longer printed"),
    (
        "ENVIRONMENT-NAMES",
        lambda t: _globals(t)["Environment"]["Variables"].update(PAYMENT_TABLE=_globals(t)["Environment"]["Variables"].pop("TABLE_NAME")),
        "an environment variable renamed in the template only",
    ),
    (
        "NO-CIRCULAR-DEPENDENCY",
        lambda t: _globals(t)["Environment"]["Variables"].update(
            UNSUBSCRIBE_BASE_URL={"Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/${StageName}"}
        ),
        "the functions handed the API's URL directly (the API already references them)",
    ),
    (
        "STORE-PERMISSIONS",
        lambda t: _create_statement(t, "PaymentRequestsReadWrite").update(Action=["dynamodb:GetItem", "dynamodb:PutItem"]),
        "a permission the store needs (Query) dropped",
    ),
    (
        "API-URL-PARAMETER",
        lambda t: _props(t, "ApiUrlParameter").update(Name={"Fn::Sub": "/payment-links/${AWS::StackName}/url"}),
        "the parameter renamed without the variable that names it",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "why"), BREAKAGES, ids=[rule for rule, _m, _w in BREAKAGES])
def test_rule_fails_and_names_itself_when_the_template_breaks_it(name: str, mutate: Callable[[Template], None], why: str) -> None:
    assert name in RULES
    broken = load_sam_template()
    mutate(broken)

    problems = run(name, translate(broken))

    assert problems, f"{name} did not notice: {why}"
    assert all(problem.startswith(f"[{name}] ") for problem in problems)
