"""Concurrency against moto's server mode: duplicates of one intent create, resend and remind exactly once.

Every conditional write here is a real HTTP call to DynamoDB's API (moto's server), made from many threads at
once, each invoking its own warm copy of the function as concurrent Lambda containers would.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from payment_links.deps import get_dependencies
from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PaymentRequest, ReminderPlan

from tests.reliability import figures
from tests.reliability.harness import Cloud, Containers, WixSandbox, run_concurrently, scheduled_event
from tests.support.lambda_runtime import LambdaContext, api_event

pytestmark = pytest.mark.slow

CREATED = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
DUE = CREATED + timedelta(days=1)  # the first step of P1D,P3D; noon UTC, outside quiet hours


def duplicates(counts: Counter[Any]) -> int:
    return sum(count - 1 for count in counts.values() if count > 1)


# Duplicates of one create racing the first: each would make its own Wix request without the idempotency record
# (make mutants: no-idempotency makes 2 to 25 here), and together they load the idempotency store's polling.
CONCURRENT_CREATES = 25


def test_concurrent_identical_creates_make_one_wix_request_and_send_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(balance="40.00", email="jane@example.com", phone="+12015550123")
    body = {"orderId": order_id, "externalId": "inv-at-once", "title": "Balance due", "amount": "25.00"}
    # A slow Wix create: the duplicates arrive while the first is in flight, before anything is stored or
    # findable at Wix by its externalId, so only the idempotency record stands between them and Wix.
    sandbox.fault("create", latencyMs=400)
    creates = Containers("create", CONCURRENT_CREATES)

    results = run_concurrently(CONCURRENT_CREATES, lambda _n: creates.call(api_event("POST", "/payment-requests", body)))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    statuses = Counter(status for status, _, _ in results)
    # A duplicate that waited longer than its limit for the first create (a loaded machine) gets the documented
    # 409 REQUEST_IN_PROGRESS with Retry-After; its retry then gets the first result, as any caller's would.
    in_progress = [(response, headers) for status, response, headers in results if status == 409]
    assert all(r["error"]["code"] == "REQUEST_IN_PROGRESS" and int(h["retry-after"]) >= 1 for r, h in in_progress), in_progress
    retried = [creates.call(api_event("POST", "/payment-requests", body)) for _ in in_progress]
    answered = [result for result in results if result[0] != 409] + retried
    wix_creates = sandbox.count("create")
    emails, sms = cloud.emails(to="jane@example.com"), cloud.sms()
    sent_twice = duplicates(Counter(m.destinations["ToAddresses"][0] for m in emails))
    figures.add("concurrency", cases=CONCURRENT_CREATES, duplicates=(wix_creates - 1) + sent_twice)
    figures.add("concurrency", server_errors=sum(1 for status, _, _ in results if status >= 500))
    assert statuses[201] == 1 and statuses[200] + statuses[409] == CONCURRENT_CREATES - 1, statuses
    assert Counter(status for status, _, _ in answered) == {201: 1, 200: CONCURRENT_CREATES - 1}
    assert len({response["id"] for _, response, _ in answered}) == 1
    assert wix_creates == 1
    assert len(emails) == 1 and len(sms) == 1


def test_fifty_concurrent_resends_inside_the_cooldown_send_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    order_id = sandbox.create_order(balance="40.00", email="jane@example.com", phone="+12015550123")
    body = {"orderId": order_id, "externalId": "inv-resend", "title": "Balance due", "amount": "25.00"}
    # Created (and first sent) ten minutes ago: past the five-minute cooldown, so one resend may go now.
    with time_machine.travel(datetime.now(UTC) - timedelta(minutes=10), tick=True):
        status, created, _ = Containers("create", 1).call(api_event("POST", "/payment-requests", body))
    assert status == 201, created
    resends = Containers("resend", 50)
    path = f"/payment-requests/{created['id']}/resend"

    results = run_concurrently(50, lambda _n: resends.call(api_event("POST", path)))

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors[:3]
    statuses = Counter(status for status, _, _ in results)
    emails, sms = cloud.emails(to="jane@example.com"), cloud.sms()
    figures.add("concurrency", cases=50, duplicates=max(len(emails) - 2, 0) + max(len(sms) - 2, 0))
    figures.add("concurrency", server_errors=sum(1 for status, _, _ in results if status >= 500))
    assert statuses == {200: 1, 429: 49}, statuses
    refused = [(response, headers) for status, response, headers in results if status == 429]
    assert {response["error"]["code"] for response, _ in refused} == {"RESEND_COOLDOWN"}
    assert all(int(headers["retry-after"]) > 0 for _, headers in refused)
    assert len(emails) == 2 and len(sms) == 2  # the first link and one resend, on each channel
    assert sandbox.count("url") == 1  # only the resend that won the slot asked Wix for the URL
    record = get_dependencies().store.get(created["id"])
    assert record is not None
    assert Counter(n.kind for n in record.notifications) == {"INITIAL": 2, "RESEND": 2}


def seed_due_requests(cloud: Cloud, sandbox: WixSandbox, count: int) -> list[str]:
    """``count`` UNPAID requests at Wix, stored with their first reminder due at DUE.

    Written in batches as the store maps them: creating 1,000 through the API would test the create function,
    and moto copies the whole table on every transaction."""
    order_id = sandbox.create_order(balance="100000.00")
    store = get_dependencies().store
    ids = []
    with cloud.table().batch_writer() as batch:
        for n in range(count):
            request_id = sandbox.create_request(order_id, amount="10.00", external_id=f"inv-{n}")
            record = PaymentRequest(
                id=request_id,
                order_id=order_id,
                order_number="10001",
                amount="10.00",
                currency="USD",
                title="Balance due",
                created_at=CREATED,
                updated_at=CREATED,
                customer=Customer(email=f"customer-{n}@example.com", name="Jane Doe"),
                channels=["EMAIL"],
                reminders=ReminderPlan(schedule=["P1D", "P3D"], next_step=0, next_at=DUE),
                last_sent_at=CREATED,
                version=1,
            )
            batch.put_item(Item=store._item(record))
            ids.append(request_id)
    return ids


# Enough that the two sweeps contend for most requests (each pages through every one) and, without the version
# check on the claim, send dozens twice (make mutants: no-conditional-save); small enough for a loaded CI box.
OVERLAPPING_DUE = 200


def test_two_overlapping_sweeps_over_due_requests_send_each_reminder_once(cloud: Cloud, sandbox: WixSandbox) -> None:
    ids = seed_due_requests(cloud, sandbox, OVERLAPPING_DUE)
    sweeps = Containers("resend", 2)
    event = scheduled_event(DUE + timedelta(minutes=1))

    summaries = run_concurrently(2, lambda _n: sweeps.invoke(event, LambdaContext(remaining_ms=900_000)))

    errors = [s for s in summaries if isinstance(s, BaseException)]
    assert not errors, errors
    # On a loaded machine some Wix calls outlast the rig's 0.5 s read timeout: those reminders are deferred (a
    # systemic failure, still due) and the next scheduled runs send them. Nothing else may fail or be skipped.
    follow_ups = []
    while summaries[-1]["remaining"] and len(follow_ups) < 5:
        later = scheduled_event(DUE + timedelta(minutes=16 + 15 * len(follow_ups)))
        follow_ups.append(sweeps.invoke(later, LambdaContext(remaining_ms=900_000)))
        summaries.append(follow_ups[-1])
    reminders = Counter(m.destinations["ToAddresses"][0] for m in cloud.emails(subject_prefix="Reminder:"))
    figures.add("concurrency", cases=OVERLAPPING_DUE, duplicates=duplicates(reminders))
    assert duplicates(reminders) == 0, f"{duplicates(reminders)} reminders sent twice"
    assert len(reminders) == OVERLAPPING_DUE, summaries  # none lost either
    assert sum(summary["sent"] for summary in summaries) == OVERLAPPING_DUE
    assert all(set(summary["failures"]) <= {"WIX_UNAVAILABLE"} for summary in summaries), summaries
    assert summaries[-1]["remaining"] == 0, summaries
    store = get_dependencies().store
    for request_id in ids[::19]:
        record = store.get(request_id)
        assert record is not None and record.reminders.sent == 1 and record.reminders.next_at == CREATED + timedelta(days=3)
        assert [h.event for h in record.history].count("REMINDER_SENT") == 1
