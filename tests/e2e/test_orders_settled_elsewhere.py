"""Orders settled outside any payment request, end to end on the local stack: the sandbox's mark-paid route, the
sweep through the queue and its workers, and Wix's order event on the webhook route."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from .support import Customer, Stack, first_reminder_time, wait_until

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def webhooks_off(stack: Stack) -> Iterator[None]:
    """Wix never tells us (the stack is shared: the URL is put back afterwards)."""
    url = stack.sandbox.get("/_sandbox/webhooks").json()["url"]
    assert stack.sandbox.put("/_sandbox/webhooks", json={"url": None}).status_code == 200
    try:
        yield
    finally:
        assert stack.sandbox.put("/_sandbox/webhooks", json={"url": url}).status_code == 200


def _reminders(customer: Customer, stack: Stack) -> list[dict]:
    return [e for e in stack.emails_to(customer) if e["subject"].startswith("Reminder")]


def test_an_order_marked_paid_with_no_webhook_is_caught_by_the_next_sweep_which_sends_nothing_and_voids(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer, balance="40.00")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})
    with webhooks_off(stack):
        assert stack.sandbox.post(f"/_sandbox/orders/{order['id']}/mark-paid").status_code == 200

        summary = stack.sweep(first_reminder_time(created["createdAt"]))

    assert summary["skipped"].get("ORDER_SETTLED") == 1 and _reminders(customer, stack) == []
    view = stack.get(created["id"])
    assert view["status"] == "VOIDED" and view["reminders"]["stoppedReason"] == "ORDER_SETTLED"
    assert stack.wix_request(created["id"])["status"] == "VOIDED"  # the link stops working too


def test_the_order_event_delivered_three_times_shuffled_stops_the_reminders_at_once_and_once(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer, balance="40.00")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})
    stack.set_webhook_policy(copies=3, shuffle=True)
    try:
        assert stack.sandbox.post(f"/_sandbox/orders/{order['id']}/mark-paid").status_code == 200
        view = stack.wait_for_status(created["id"], "VOIDED")
        deliveries = wait_until(lambda: len(stack.deliveries(order["id"], "payment_status_updated")) >= 3 and stack.deliveries(order["id"]))
    finally:
        stack.set_webhook_policy()
    assert {d["status"] for d in deliveries if d["slug"] == "payment_status_updated"} == {200}
    assert view["reminders"]["stoppedReason"] == "ORDER_SETTLED"
    assert [h["event"] for h in stack.get(created["id"])["history"]].count("REMINDERS_STOPPED") == 1
    assert stack.sweep(first_reminder_time(created["createdAt"]))["sent"] == 0 and _reminders(customer, stack) == []


def test_a_partial_payment_elsewhere_stops_the_reminders_for_more_than_is_open(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer, balance="40.00")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})
    with webhooks_off(stack):
        assert stack.sandbox.post(f"/_sandbox/orders/{order['id']}/mark-paid", json={"amount": "15.00"}).status_code == 200

        summary = stack.sweep(first_reminder_time(created["createdAt"]))

    assert summary["skipped"].get("ORDER_BALANCE_CHANGED") == 1 and _reminders(customer, stack) == []
    view = stack.get(created["id"])
    assert view["status"] == "UNPAID" and view["reminders"]["stoppedReason"] == "ORDER_BALANCE_CHANGED"
    assert any(h["detail"] == "ORDER_BALANCE_CHANGED: 25.00 USD open" for h in view["history"])
    # (A resend answers 409 ORDER_NOT_PAYABLE once its cooldown allows one: tests/functions/test_reminder_pipeline.py.)


@pytest.mark.app_mode_only
def test_with_reissue_on_a_partial_payment_event_replaces_the_request_by_one_for_what_is_open(stack: Stack):
    """A site's own setting (APP mode: ``PUT /settings``); the order event schedules it, the workers make it."""
    assert stack.api.put("/settings", json={"reissueOnBalanceChange": True}).json()["reissueOnBalanceChange"] is True
    try:
        customer = Customer.new()
        order = stack.create_order(customer, balance="40.00")
        old = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})
        assert stack.sandbox.post(f"/_sandbox/orders/{order['id']}/mark-paid", json={"amount": "15.00"}).status_code == 200
        wait_until(lambda: "REISSUING" in [h["event"] for h in stack.get(old["id"])["history"]], what="the reissue scheduled")

        stack.sweep((datetime.now(UTC) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))

        view = stack.get(old["id"])
        assert view["status"] == "VOIDED" and view["reissuedAs"] and stack.wix_request(old["id"])["status"] == "VOIDED"
        new = stack.get(view["reissuedAs"])
        assert new["reissuedFrom"] == old["id"] and new["amount"] == "25.00" and new["status"] == "UNPAID"
        assert stack.wix_request(new["id"])["amount"]["amount"] == "25.00"
        links = [e for e in stack.emails_to(customer) if new["url"] in e["text"]]
        assert len(links) == 1 and _reminders(customer, stack) == []  # the new link, once; no reminder for the old
    finally:
        stack.api.put("/settings", json={})
