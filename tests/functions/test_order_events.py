"""Wix's order events on the webhook route (Order Payment Status Updated, Order Canceled): the same rule as the
reminder workers, applied at once, with Wix's present state as the truth."""

from __future__ import annotations

import random

from tests.functions.test_sweep_support import create_request, get_request
from tests.functions.test_webhook_api import post
from tests.support.webhook_signing import signed_order_event

CREATED = "2026-05-04T12:00:00Z"


def test_an_order_paid_another_way_stops_and_voids_its_open_requests_once_however_often_it_is_delivered(aws, wix):
    order_id = wix.add_order(balance="40.00")
    first = create_request(wix, CREATED, order_id=order_id, amount="15.00")
    second = create_request(wix, CREATED, order_id=order_id, amount="25.00", external_id="inv-second")
    wix.settle_order(order_id)
    event = signed_order_event("payment_status_updated", wix.orders[order_id], body={"previousPaymentStatus": "NOT_PAID"})

    deliveries = [post(event) for _ in range(3)]

    assert [(status, body["outcome"]) for status, body, _ in deliveries] == [(200, "applied"), (200, "unchanged"), (200, "unchanged")]
    for created in (first, second):
        stored = get_request(created["id"])
        assert stored["status"] == "VOIDED" and stored["reminders"]["stoppedReason"] == "ORDER_SETTLED"
        assert wix.requests[created["id"]]["status"] == "VOIDED"
        assert [h["event"] for h in stored["history"]].count("REMINDERS_STOPPED") == 1
    assert wix.count("void") == 2


def test_a_partial_payment_event_stops_only_the_requests_asking_more_than_is_open(aws, wix):
    order_id = wix.add_order(balance="40.00")
    small = create_request(wix, CREATED, order_id=order_id, amount="10.00")
    large = create_request(wix, CREATED, order_id=order_id, amount="25.00", external_id="inv-large")
    wix.settle_order(order_id, amount="10.00")  # 30.00 open: 10.00 + 25.00 asked

    events = [signed_order_event("payment_status_updated", wix.orders[order_id]) for _ in range(3)]
    random.shuffle(events)
    outcomes = [post(event)[1]["outcome"] for event in events]

    assert sorted(outcomes) == ["applied", "unchanged", "unchanged"]
    # Each is measured against the order's balance less the *other* open requests: 30 - 25 = 5 < 10 for the small
    # one, 30 - 10 = 20 < 25 for the large one: both ask more than is open for them.
    assert get_request(small["id"])["reminders"]["stoppedReason"] == "ORDER_BALANCE_CHANGED"
    assert get_request(large["id"])["reminders"]["stoppedReason"] == "ORDER_BALANCE_CHANGED"
    assert get_request(large["id"])["status"] == "UNPAID" and wix.count("void") == 0


def test_an_order_event_wix_does_not_bear_out_changes_nothing(aws, wix):
    created = create_request(wix, CREATED)
    claimed = {**wix.orders[created["orderId"]], "paymentStatus": "PAID"}  # the event says paid; Wix says NOT_PAID

    status, body, _ = post(signed_order_event("payment_status_updated", claimed))

    assert (status, body["outcome"]) == (200, "unchanged")
    stored = get_request(created["id"])
    assert stored["status"] == "UNPAID" and stored["reminders"]["nextAt"] is not None


def test_an_order_canceled_event_settles_its_requests(aws, wix):
    created = create_request(wix, CREATED)
    wix.orders[created["orderId"]]["status"] = "CANCELED"

    status, body, _ = post(signed_order_event("canceled", wix.orders[created["orderId"]]))

    assert (status, body["outcome"]) == (200, "applied")
    assert get_request(created["id"])["reminders"]["stoppedReason"] == "ORDER_SETTLED"


def test_an_order_event_for_an_order_with_no_request_of_ours_costs_no_wix_call(aws, wix):
    order_id = wix.add_order(balance="40.00")
    mark = len(wix.calls)

    status, body, _ = post(signed_order_event("payment_status_updated", wix.orders[order_id]))

    assert (status, body["outcome"]) == (200, "unchanged") and wix.calls[mark:] == []
