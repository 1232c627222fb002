"""Reminders on the local schedule: ``POST /_local/sweep`` runs the sweep as a scheduled event at a chosen time."""

from __future__ import annotations

import pytest

from .support import Customer, Stack, first_reminder_time

pytestmark = pytest.mark.e2e


def _reminders(view: dict) -> list[dict]:
    return [n for n in view["notifications"] if n["kind"] == "REMINDER"]


def test_a_sweep_a_day_later_sends_the_due_reminder_once_with_a_working_unsubscribe_link(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    created = stack.create_payment_request(order["id"], reminders={"enabled": True, "schedule": ["P1D", "P3D"]})
    at = first_reminder_time(created["createdAt"])

    summary = stack.sweep(at)

    assert summary["time"].startswith(at[:19])  # the sweep ran as of the event's time
    assert summary["sent"] >= 1
    view = stack.get(created["id"])
    assert view["reminders"]["sent"] == 1
    assert {n["channel"] for n in _reminders(view)} == {"EMAIL", "SMS"}
    assert view["reminders"]["nextAt"] > at  # the next step (P3D) is still ahead
    reminder = next(e for e in stack.emails_to(customer) if e["subject"].startswith("Reminder"))
    assert created["url"] in reminder["links"]

    stack.sweep(at)  # the same instant again: nothing more is due for this request
    assert stack.get(created["id"])["reminders"]["sent"] == 1
    assert len([e for e in stack.emails_to(customer) if e["subject"].startswith("Reminder")]) == 1

    # The reminder's unsubscribe link points at this API and needs no API key.
    unsubscribe = next(link for link in reminder["links"] if "/unsubscribe/" in link)
    assert unsubscribe.startswith(str(stack.anonymous.base_url).rstrip("/"))
    page = stack.anonymous.get(unsubscribe, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_a_sweep_before_anything_is_due_sends_no_reminder(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    created = stack.create_payment_request(order["id"], reminders={"enabled": True, "schedule": ["P1D"]})

    stack.sweep(created["createdAt"])

    assert stack.get(created["id"])["reminders"]["sent"] == 0
    assert len(stack.emails_to(customer)) == 1  # only the initial link


def test_a_sweep_with_a_time_that_is_not_iso_8601_is_refused(stack: Stack):
    response = stack.api.post("/_local/sweep", json={"time": "next tuesday"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "time"
    assert stack.api.post("/_local/sweep", content=b"{not json").status_code == 400
