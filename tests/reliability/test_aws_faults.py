"""AWS failing under the product: DynamoDB throttling and lost conditional writes, SES and SNS refusing to send.

Errors are injected into the product's own boto3 clients (``AwsFaults``, at ``before-send``), in each service's
wire format, so botocore parses and retries them exactly as it would real ones.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from payment_links.deps import get_dependencies

from tests.reliability import figures
from tests.reliability.harness import (
    DYNAMODB_CONDITION_FAILED,
    DYNAMODB_INTERNAL_ERROR,
    DYNAMODB_THROTTLED,
    LOST_RESPONSE,
    SES_REJECTED,
    SES_THROTTLED,
    SNS_INTERNAL_ERROR,
    Cloud,
    Containers,
    WixSandbox,
    scheduled_event,
)
from tests.support.lambda_runtime import LambdaContext, api_event

pytestmark = pytest.mark.slow

SDK_ATTEMPTS = 4  # payment_links.aws: botocore standard mode, max_attempts=3 retries after the first try


def create_body(order_id: str, external_id: str | None = None) -> dict[str, Any]:
    return {"orderId": order_id, "externalId": external_id or f"inv-{uuid.uuid4().hex}", "title": "Balance due", "amount": "25.00"}


def test_throttling_on_every_dynamodb_call_of_a_create_is_absorbed_by_the_sdk_retries(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(email="jane@example.com", phone="+12015550123")
    for operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"):
        cloud.faults.fail("dynamodb", operation, DYNAMODB_THROTTLED)

    status, body, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", create_body(order_id)))

    figures.add("aws faults", cases=1)
    assert status == 201, body
    assert cloud.faults.injected[("dynamodb", "TransactWriteItems")] == 1 and cloud.faults.injected[("dynamodb", "GetItem")] == 1
    assert sandbox.count("create") == 1
    assert len(cloud.emails(to="jane@example.com")) == 1 and len(cloud.sms()) == 1


def test_persistent_throttling_of_the_record_write_answers_5xx_and_a_retry_completes_without_a_second_wix_request(
    cloud: Cloud, sandbox: WixSandbox
) -> None:
    order_id = sandbox.create_order(email="jane@example.com", phone=None)
    body = create_body(order_id)
    creates = Containers("create", 1)
    cloud.faults.fail("dynamodb", "TransactWriteItems", DYNAMODB_THROTTLED, times=SDK_ATTEMPTS)

    status, failed, headers = creates.call(api_event("POST", "/payment-requests", body))

    figures.add("aws faults", cases=2, answered_503=1 if status == 503 else 0, answered_500=1 if status == 500 else 0)
    assert status == 503, failed
    assert failed["error"]["code"] == "SERVICE_UNAVAILABLE" and int(headers["retry-after"]) >= 1
    assert get_dependencies().store.get_claim(body["externalId"]) is None  # nothing half-written on our side
    assert cloud.emails(to="jane@example.com") == []
    # The request exists at Wix; the caller's retry adopts it instead of creating a second one.
    status, created, _ = creates.call(api_event("POST", "/payment-requests", body))
    assert status == 201, created
    assert sandbox.count("create") == 1
    assert len(cloud.emails(to="jane@example.com")) == 1


def test_lost_conditional_writes_during_a_resend_are_retried_and_the_link_is_sent_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(email="jane@example.com", phone=None)
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=10), tick=True):
        status, created, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", create_body(order_id)))
    assert status == 201, created
    # Another writer got in first, three times over: each version-checked write of the record fails once more.
    cloud.faults.fail("dynamodb", "PutItem", DYNAMODB_CONDITION_FAILED, times=3)

    status, body, _ = Containers("resend", 1).call(api_event("POST", f"/payment-requests/{created['id']}/resend"))

    figures.add("aws faults", cases=1)
    assert status == 200, body
    assert cloud.faults.injected[("dynamodb", "PutItem")] == 3
    assert len(cloud.emails(to="jane@example.com")) == 2  # the first link and exactly one resend
    assert [n["kind"] for n in body["notifications"]] == ["INITIAL", "RESEND"]


def test_a_resend_whose_slot_write_is_applied_but_its_answer_lost_still_sends(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(email="jane@example.com", phone=None)
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=10), tick=True):
        status, created, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", create_body(order_id)))
    assert status == 201, created
    # The send-slot claim reaches DynamoDB and is applied, then its answer is lost: the SDK sends it again,
    # which now fails its version check against our own write.
    cloud.faults.fail("dynamodb", "PutItem", LOST_RESPONSE)

    status, body, _ = Containers("resend", 1).call(api_event("POST", f"/payment-requests/{created['id']}/resend"))

    figures.add("aws faults", cases=1)
    assert cloud.faults.injected[("dynamodb", "PutItem")] == 1
    assert status == 200, body
    assert len(cloud.emails(to="jane@example.com")) == 2  # the first link and the resend
    assert [n["kind"] for n in body["notifications"]] == ["INITIAL", "RESEND"]


def test_ses_and_sns_failures_on_create_keep_the_request_and_record_each_channel(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(email="jane@example.com", phone="+12015550123")
    cloud.faults.fail("sesv2", "SendEmail", SES_REJECTED)
    cloud.faults.fail("sns", "Publish", SNS_INTERNAL_ERROR, times=SDK_ATTEMPTS)

    status, body, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", create_body(order_id)))

    figures.add("aws faults", cases=1)
    assert status == 201, body
    assert {(n["channel"], n["status"]) for n in body["notifications"]} == {("EMAIL", "FAILED"), ("SMS", "FAILED")}
    assert [h["event"] for h in body["history"]][-1] == "LINK_NOT_SENT"
    assert sandbox.count("create") == 1


REMINDER_AT = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)


def _due_request(cloud: Cloud, sandbox: WixSandbox) -> tuple[str, str]:
    """A request created a day before REMINDER_AT, its first reminder (P1D) due then."""
    order_id = sandbox.create_order(email="jane@example.com", phone=None)
    with time_machine.travel(REMINDER_AT - timedelta(days=1, minutes=5), tick=False):
        status, created, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", create_body(order_id)))
    assert status == 201, created
    return created["id"], created["reminders"]["nextAt"]


def _sweep(at: datetime) -> dict[str, Any]:
    return dict(Containers("resend", 1).invoke(scheduled_event(at), LambdaContext(remaining_ms=300_000)))


def test_a_reminder_ses_refused_is_retried_by_the_next_sweep_and_sent_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    request_id, next_at = _due_request(cloud, sandbox)
    cloud.faults.fail("sesv2", "SendEmail", SES_THROTTLED, times=SDK_ATTEMPTS)

    first = _sweep(REMINDER_AT)
    record = get_dependencies().store.get(request_id)

    # SES's rate, not the request's fault: handed back, deferred, never counted against the request.
    assert first["sent"] == 0 and first["failures"] == {"SEND_THROTTLED": 1} and first["remaining"] == 1
    assert record is not None and record.reminders.sent == 0 and record.reminders.failures == 0
    assert [h.detail for h in record.history if h.event == "REMINDER_DEFERRED"] == ["SEND_THROTTLED"]
    assert record.reminders.next_at is not None and record.reminders.next_at.isoformat().replace("+00:00", "Z") == next_at
    second = _sweep(REMINDER_AT + timedelta(minutes=15))
    figures.add("aws faults", cases=1)
    assert second["sent"] == 1 and second["remaining"] == 0
    assert len(cloud.emails(to="jane@example.com", subject_prefix="Reminder:")) == 1
    third = _sweep(REMINDER_AT + timedelta(minutes=30))
    assert third["sent"] == 0 and len(cloud.emails(to="jane@example.com", subject_prefix="Reminder:")) == 1


def test_a_reminder_whose_claim_is_applied_but_its_answer_lost_is_still_sent_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    request_id, _ = _due_request(cloud, sandbox)
    # The claim (the record advanced past this step) is applied, its answer lost, and the SDK's retry fails the
    # version check against that very write. Read as "another sweep won", the reminder would never be sent.
    cloud.faults.fail("dynamodb", "PutItem", LOST_RESPONSE)

    first = _sweep(REMINDER_AT)

    figures.add("aws faults", cases=1)
    assert cloud.faults.injected[("dynamodb", "PutItem")] == 1
    assert first["sent"] == 1 and first["skipped"] == {}, first
    assert len(cloud.emails(to="jane@example.com", subject_prefix="Reminder:")) == 1
    record = get_dependencies().store.get(request_id)
    assert record is not None and record.reminders.sent == 1
    assert [h.event for h in record.history].count("REMINDER_SENT") == 1


def test_a_reminder_wix_could_not_confirm_is_retried_by_the_next_sweep_without_counting_a_failure(
    cloud: Cloud, sandbox: WixSandbox
) -> None:
    request_id, _ = _due_request(cloud, sandbox)
    sandbox.fault("query", status=503)  # until cleared: Wix is down for the whole first sweep

    first = _sweep(REMINDER_AT)
    sandbox.clear_faults()
    record = get_dependencies().store.get(request_id)

    assert first["sent"] == 0 and first["failures"] == {"WIX_UNAVAILABLE": 1}
    assert record is not None and record.reminders.failures == 0 and record.reminders.next_at is not None
    second = _sweep(REMINDER_AT + timedelta(minutes=15))
    figures.add("aws faults", cases=1)
    assert second["sent"] == 1
    assert len(cloud.emails(to="jane@example.com", subject_prefix="Reminder:")) == 1


def test_a_batch_dynamodb_will_not_read_is_deferred_whole_and_sent_by_the_next_sweep(cloud: Cloud, sandbox: WixSandbox) -> None:
    request_id, _ = _due_request(cloud, sandbox)
    cloud.faults.fail("dynamodb", "BatchGetItem", DYNAMODB_INTERNAL_ERROR, times=SDK_ATTEMPTS)

    first = _sweep(REMINDER_AT)

    figures.add("aws faults", cases=1)
    assert first["sent"] == 0 and first["failures"] == {"AWS_UNAVAILABLE": 1} and first["remaining"] == 1
    record = get_dependencies().store.get(request_id)
    assert record is not None and record.reminders.failures == 0  # not the request's fault
    second = _sweep(REMINDER_AT + timedelta(minutes=15))
    assert second["sent"] == 1 and len(cloud.emails(to="jane@example.com", subject_prefix="Reminder:")) == 1
