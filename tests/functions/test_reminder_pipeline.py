"""Reminders at scale: one Wix Query per batch instead of a Get per reminder, the saved URL reused while recent,
and the sweep's batches on SQS sent by the resend function's workers (partial batch failures reported)."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import boto3
import pytest
import time_machine

from local.queue_workers import sqs_event
from tests.functions.test_sweep_support import (
    at,
    create_request,
    get_request,
    reminder_emails,
    resend_app,
    run_sweep,
)
from tests.support.aws_env import reset_process_state
from tests.support.lambda_runtime import LambdaContext

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"


def wix_calls_after(wix: Any, mark: int) -> list[str]:
    return [name for name, _ in wix.calls[mark:] if name != "token"]


BATCH_CALLS = ["query", "searchOrders", "query"]  # the requests' statuses, their orders, the orders' UNPAID requests


def test_a_batch_of_due_reminders_costs_three_wix_calls_and_no_url_call(aws, wix):
    ids = [create_request(wix, CREATED)["id"] for _ in range(5)]
    mark = len(wix.calls)

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 5 and summary["batches"] == 1
    assert wix_calls_after(wix, mark) == BATCH_CALLS  # the saved URLs are a day old: within UrlMaxAgeHours
    for request_id in ids:
        assert wix.url_for(request_id) in " ".join(m.body for m in reminder_emails(aws))


def test_what_wix_reports_final_or_does_not_return_is_reconciled_without_a_send(aws, wix):
    paid, voided, gone, unpaid = (create_request(wix, CREATED)["id"] for _ in range(4))
    wix.set_status(paid, "PAID")
    wix.set_status(voided, "VOIDED")
    del wix.requests[gone]
    mark = len(wix.calls)

    summary = run_sweep(DAY_1)

    assert wix_calls_after(wix, mark) == BATCH_CALLS
    assert summary["sent"] == 1 and summary["skipped"] == {"PAID": 1, "VOIDED": 1, "NOT_FOUND_AT_WIX": 1}
    assert get_request(paid)["status"] == "PAID" and get_request(voided)["status"] == "VOIDED"
    assert get_request(gone)["reminders"]["stoppedReason"] == "NOT_FOUND_AT_WIX"
    assert len(reminder_emails(aws)) == 1 and get_request(unpaid)["reminders"]["sent"] == 1


def test_a_url_older_than_url_max_age_hours_is_fetched_again_and_saved(aws, wix, monkeypatch):
    monkeypatch.setenv("URL_MAX_AGE_HOURS", "12")
    reset_process_state()
    created = create_request(wix, CREATED)
    mark = len(wix.calls)

    run_sweep(DAY_1)

    assert wix_calls_after(wix, mark) == [*BATCH_CALLS, "url"]
    stored = get_request(created["id"])
    assert stored["reminders"]["sent"] == 1 and stored["url"] == wix.url_for(created["id"])


# ---- the queue and its workers ----------------------------------------------------------------------------


@pytest.fixture
def queue(aws, monkeypatch) -> str:
    sqs = boto3.client("sqs", region_name=os.environ["AWS_DEFAULT_REGION"])
    url = sqs.create_queue(QueueName="reminders")["QueueUrl"]
    monkeypatch.setenv("REMINDER_QUEUE_URL", url)
    reset_process_state()
    return url


def received(queue_url: str) -> list[dict[str, Any]]:
    """What the sweep (travelling to DAY_1) enqueued, received a minute later (moto ages messages on the clock)."""
    sqs = boto3.client("sqs", region_name=os.environ["AWS_DEFAULT_REGION"])
    messages: list[dict[str, Any]] = []
    with time_machine.travel(at(DAY_1) + timedelta(minutes=1), tick=False):
        while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", []):
            messages.extend(batch)
    return messages


def work(messages: list[dict[str, Any]]) -> dict[str, Any]:
    with time_machine.travel(at(DAY_1) + timedelta(minutes=1), tick=False):
        event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:reminders", "us-east-1")
        return dict(resend_app.lambda_handler(event, LambdaContext(remaining_ms=300_000)))


def test_the_sweep_only_enqueues_and_the_workers_send_each_reminder_once(aws, wix, queue, monkeypatch):
    from payment_links.flows import sweep

    monkeypatch.setattr(sweep, "BATCH_SIZE", 2)
    ids = [create_request(wix, CREATED)["id"] for _ in range(5)]

    summary = run_sweep(DAY_1)

    assert summary["due"] == 5 and summary["batches"] == 3 and summary["sent"] == 0 and summary["sweepId"]
    assert reminder_emails(aws) == []  # nothing sent by the sweep itself
    messages = received(queue)
    bodies = [json.loads(m["Body"]) for m in messages]
    assert sorted(i for body in bodies for i in body["ids"]) == sorted(ids)
    assert {body["sweepId"] for body in bodies} == {summary["sweepId"]} and all(body["time"] == DAY_1 for body in bodies)

    assert work(messages) == {"batchItemFailures": []}
    assert work(messages) == {"batchItemFailures": []}  # a redelivered batch sends nothing again
    assert len(reminder_emails(aws)) == 5
    assert all(get_request(i)["reminders"]["sent"] == 1 for i in ids)


def test_a_message_that_cannot_be_read_is_reported_failed_and_the_rest_of_the_batch_goes_out(aws, wix, queue):
    create_request(wix, CREATED)
    run_sweep(DAY_1)
    [good] = received(queue)
    bad = {**good, "MessageId": "garbage", "Body": '{"sweepId": "x", "ids": ["a"]'}

    response = work([bad, good])

    assert response == {"batchItemFailures": [{"itemIdentifier": "garbage"}]}
    assert len(reminder_emails(aws)) == 1


def test_a_batch_that_waited_in_the_queue_is_sent_as_of_when_it_is_worked(aws, wix, queue):
    from payment_links.flows.reminder_queue import ReminderBatch, batch_now

    batch = ReminderBatch(sweepId="s", time=at(DAY_1), ids=["x"])
    sent_at_ms = 1_700_000_000_000
    assert batch_now(batch, sent_at_ms, real_now=sent_at_ms / 1000 + 90) == at(DAY_1) + timedelta(seconds=90)
    assert batch_now(batch, sent_at_ms, real_now=sent_at_ms / 1000 - 5) == at(DAY_1)  # clocks apart: never earlier


# ---- the order decides (orders settled elsewhere) -------------------------------------------------------------


def test_an_order_paid_another_way_stops_the_reminders_and_voids_the_request_at_wix(aws, wix):
    created = create_request(wix, CREATED)
    wix.settle_order(created["orderId"])  # the merchant marked it paid: the request stays UNPAID at Wix

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 0 and summary["skipped"] == {"ORDER_SETTLED": 1} and reminder_emails(aws) == []
    stored = get_request(created["id"])
    assert stored["status"] == "VOIDED" and stored["reminders"]["stoppedReason"] == "ORDER_SETTLED"
    assert wix.requests[created["id"]]["status"] == "VOIDED"
    assert any(h["event"] == "REMINDERS_STOPPED" and h["detail"].startswith("ORDER_SETTLED") for h in stored["history"])
    assert run_sweep("2026-05-06T12:00:00Z")["due"] == 0


def test_with_void_when_order_settled_off_the_request_is_left_unpaid_but_not_reminded(aws, wix, monkeypatch):
    monkeypatch.setenv("VOID_WHEN_ORDER_SETTLED", "false")
    reset_process_state()
    created = create_request(wix, CREATED)
    wix.settle_order(created["orderId"])

    assert run_sweep(DAY_1)["skipped"] == {"ORDER_SETTLED": 1}
    stored = get_request(created["id"])
    assert stored["status"] == "UNPAID" and stored["reminders"]["stoppedReason"] == "ORDER_SETTLED"
    assert wix.requests[created["id"]]["status"] == "UNPAID" and wix.count("void") == 0


def test_a_partial_payment_elsewhere_stops_reminders_for_more_than_is_open(aws, wix):
    created = create_request(wix, CREATED, amount="25.00")  # the order owes 40.00
    wix.settle_order(created["orderId"], amount="20.00")  # 20.00 open, the request asks 25.00

    summary = run_sweep(DAY_1)

    assert summary["skipped"] == {"ORDER_BALANCE_CHANGED": 1} and reminder_emails(aws) == []
    stored = get_request(created["id"])
    assert stored["status"] == "UNPAID" and stored["reminders"]["stoppedReason"] == "ORDER_BALANCE_CHANGED"
    assert any(h["detail"] == "ORDER_BALANCE_CHANGED: 20.00 USD open" for h in stored["history"])


def test_two_requests_on_one_order_the_other_still_reminded_while_what_is_open_covers_it(aws, wix):
    order_id = wix.add_order(balance="40.00")
    first = create_request(wix, CREATED, order_id=order_id, amount="15.00")
    second = create_request(wix, CREATED, order_id=order_id, amount="15.00", external_id="inv-second")
    wix.set_status(first["id"], "PAID")
    wix.settle_order(order_id, amount="15.00")  # the first one's payment: 25.00 open, 15.00 of it asked by the second

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 1 and summary["skipped"] == {"PAID": 1}
    assert get_request(second["id"])["reminders"]["sent"] == 1


def test_a_resend_for_an_order_settled_another_way_is_409_order_not_payable_and_sends_nothing(aws, wix):
    from tests.support.lambda_runtime import api_event, invoke

    created = create_request(wix, CREATED)
    sent_before = len(aws.sent_emails())
    wix.settle_order(created["orderId"])

    status, body, _ = invoke(resend_app, api_event("POST", f"/payment-requests/{created['id']}/resend", {}))
    assert status == 409 and body["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert body["error"]["details"][0]["reason"] == "ORDER_SETTLED"

    status, body, _ = invoke(resend_app, api_event("POST", f"/orders/{created['orderId']}/payment-requests/resend", {}))
    assert status == 409 and body["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert len(aws.sent_emails()) == sent_before


def test_a_resend_asking_more_than_is_open_is_409_with_what_is_open(aws, wix):
    from tests.support.lambda_runtime import api_event, invoke

    created = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(created["orderId"], amount="30.00")  # 10.00 open

    status, body, _ = invoke(resend_app, api_event("POST", f"/payment-requests/{created['id']}/resend", {}))
    assert status == 409 and body["error"]["details"][0]["reason"] == "ORDER_BALANCE_CHANGED"
    assert body["error"]["details"][0]["open"] == "10.00"
