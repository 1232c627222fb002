"""ReissueOnBalanceChange: a request asking more than its order still owes is voided and replaced by one for what
is open, linked both ways, exactly once however often the sweep, a worker or an order event runs into it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.functions.test_sweep_support import create_app, create_request, get_request, run_sweep
from tests.functions.test_webhook_api import post
from tests.support.aws_env import reset_process_state
from tests.support.fake_wix import wix_error
from tests.support.lambda_runtime import api_event, invoke
from tests.support.webhook_signing import signed_order_event

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"
DAY_2 = "2026-05-06T12:00:00Z"


@pytest.fixture
def reissue_on(monkeypatch):
    monkeypatch.setenv("REISSUE_ON_BALANCE_CHANGE", "true")
    reset_process_state()


def requests_of(wix: Any, order_id: str) -> list[dict[str, Any]]:
    return [r for r in wix.requests.values() if r["orderId"] == order_id]


def initial_emails_for(aws: Any, request_id: str, wix: Any) -> list[Any]:
    return [m for m in aws.sent_emails() if wix.url_for(request_id) in m.body and not m.subject.startswith("Reminder:")]


def test_a_partial_payment_elsewhere_replaces_the_request_by_one_for_what_is_open_sent_and_linked(aws, wix, reissue_on):
    old = create_request(wix, CREATED, amount="25.00")  # the order owes 40.00
    wix.settle_order(old["orderId"], amount="20.00")  # 20.00 open, the request asks 25.00

    summary = run_sweep(DAY_1)

    assert summary["skipped"] == {"ORDER_BALANCE_CHANGED": 1} and summary["sent"] == 0
    stored = get_request(old["id"])
    assert stored["status"] == "VOIDED" and stored["reminders"]["stoppedReason"] == "ORDER_BALANCE_CHANGED"
    assert wix.requests[old["id"]]["status"] == "VOIDED"
    new_id = stored["reissuedAs"]
    new = get_request(new_id)
    assert new["reissuedFrom"] == old["id"] and new["amount"] == "20.00" and new["status"] == "UNPAID"
    assert new["externalId"] == f"reissue:{old['id']}" and new["reminders"]["nextAt"] is not None
    assert ("REISSUED", new_id) in [(h["event"], h["detail"]) for h in stored["history"]]
    assert ("REISSUED_FROM", old["id"]) in [(h["event"], h["detail"]) for h in new["history"]]
    assert len(initial_emails_for(aws, new_id, wix)) == 1  # the new link reached the customer
    # What the order owes is asked exactly once: the old request voided, one new one for the rest.
    assert sorted((r["amount"]["amount"], r["status"]) for r in requests_of(wix, old["orderId"])) == [
        ("20.00", "UNPAID"),
        ("25.00", "VOIDED"),
    ]

    assert run_sweep(DAY_2)["skipped"] == {}  # nothing more to reissue; the new request's own reminder is next
    assert len(requests_of(wix, old["orderId"])) == 2


def test_without_the_parameter_the_request_only_stops(aws, wix):
    old = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(old["orderId"], amount="20.00")

    assert run_sweep(DAY_1)["skipped"] == {"ORDER_BALANCE_CHANGED": 1}
    stored = get_request(old["id"])
    assert stored["status"] == "UNPAID" and stored["reissuedAs"] is None and len(requests_of(wix, old["orderId"])) == 1


def test_a_reissue_that_wix_interrupts_after_the_void_is_finished_by_the_next_sweep_once(aws, wix, reissue_on):
    old = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(old["orderId"], amount="20.00")
    wix.fail("create", wix_error(503), wix_error(503), wix_error(503))  # the void went through; the create did not

    first = run_sweep(DAY_1)

    assert first["sent"] == 0 and wix.requests[old["id"]]["status"] == "VOIDED"
    pending = get_request(old["id"])
    assert pending["status"] == "UNPAID" and pending["reissuedAs"] is None  # the intent stands: still due
    assert "REISSUING" in [h["event"] for h in pending["history"]]

    run_sweep(DAY_2)  # Wix shows the old request VOIDED now: that is our own void, and the reissue is finished

    finished = get_request(old["id"])
    assert finished["status"] == "VOIDED" and finished["reissuedAs"] is not None
    assert sorted(r["status"] for r in requests_of(wix, old["orderId"])) == ["UNPAID", "VOIDED"]


def test_a_reissue_whose_last_write_was_lost_is_replayed_not_made_twice(aws, wix, reissue_on):
    """A worker that died after creating the new request and before linking the old: the retry finds the new
    request by its externalId (our claim) and only links it."""
    from payment_links.deps import get_dependencies
    from payment_links.flows.reissue import reissue_for_what_is_open

    old = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(old["orderId"], amount="20.00")
    run_sweep(DAY_1)
    new_id = get_request(old["id"])["reissuedAs"]

    deps = get_dependencies()

    def back_to_pending(record: Any) -> bool:  # the state the old record had before the lost write
        record.status, record.reissued_as = "UNPAID", None
        record.reissue_pending = f"reissue:{old['id']}"
        return True

    record = deps.store.update(old["id"], back_to_pending)
    assert record is not None
    assert reissue_for_what_is_open(record, deps, deps.clock(), still=lambda current: True) == "REISSUED"

    assert get_request(old["id"])["reissuedAs"] == new_id
    assert len(requests_of(wix, old["orderId"])) == 2 and wix.count("create") == 2  # the original and one reissue


def test_a_payment_on_the_old_request_before_the_void_cancels_the_reissue(aws, wix, reissue_on):
    old = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(old["orderId"], amount="10.00")  # 30.00 open: the request is covered
    wix.settle_order(old["orderId"], amount="15.00")  # ... and now 15.00: it asks too much
    wix.set_status(old["id"], "PAID")  # and yet the customer paid it: the batch's Query sees PAID first

    summary = run_sweep(DAY_1)

    assert summary["skipped"] == {"PAID": 1}
    assert get_request(old["id"])["status"] == "PAID" and len(requests_of(wix, old["orderId"])) == 1


def test_two_requests_of_one_order_are_reissued_for_no_more_than_the_order_owes(aws, wix, reissue_on):
    order_id = wix.add_order(balance="100.00")
    first = create_request(wix, CREATED, order_id=order_id, amount="60.00")
    second = create_request(wix, CREATED, order_id=order_id, amount="40.00", external_id="inv-second")
    wix.settle_order(order_id, amount="30.00")  # 70.00 open, 100.00 asked

    run_sweep(DAY_1)  # the order's reissues are made one at a time (an order lease): the other waits or is covered
    run_sweep(DAY_2)

    unpaid = [r for r in requests_of(wix, order_id) if r["status"] == "UNPAID"]
    assert sum(Decimal(r["amount"]["amount"]) for r in unpaid) == Decimal("70.00")  # what the order owes, once
    stored = [get_request(created["id"]) for created in (first, second)]
    reissued = [record for record in stored if record["reissuedAs"]]
    assert len(reissued) == 1 and len(requests_of(wix, order_id)) == 3
    kept = next(record for record in stored if not record["reissuedAs"])
    assert kept["status"] == "UNPAID" and kept["reminders"]["sent"] >= 1  # still owed in full: still reminded


def test_the_order_event_schedules_the_reissue_once_and_the_workers_make_it(aws, wix, reissue_on):
    old = create_request(wix, CREATED, amount="25.00")
    wix.settle_order(old["orderId"], amount="20.00")
    mark = wix.count("create")

    outcomes = [post(signed_order_event("payment_status_updated", wix.orders[old["orderId"]]))[1]["outcome"] for _ in range(3)]

    assert outcomes == ["applied", "unchanged", "unchanged"]
    scheduled = get_request(old["id"])
    assert [h["event"] for h in scheduled["history"]].count("REISSUING") == 1
    assert wix.count("create") == mark and wix.count("void") == 0  # nothing sent from inside Wix's 1,250 ms
    assert scheduled["reminders"]["nextAt"] is not None  # due at once for the workers

    run_sweep(datetime.now(UTC) + timedelta(minutes=1))  # the event was applied on the real clock

    assert get_request(old["id"])["reissuedAs"] is not None and len(requests_of(wix, old["orderId"])) == 2


def test_a_storefront_may_not_use_the_reserved_external_ids(aws, wix):
    order_id = wix.add_order(balance="40.00")
    body = {"orderId": order_id, "externalId": "Reissue:abc", "title": "Balance due", "amount": "10.00"}

    status, error, _ = invoke(create_app, api_event("POST", "/payment-requests", body))

    assert status == 422 and error["error"]["code"] == "VALIDATION_FAILED", error
    assert "reserved" in str(error["error"]["details"])
