"""Who may receive a payment link on a resend (flows/recipients.py): contacts the order or the request already has.

A body contact that is neither is 422 CONTACT_NOT_ON_ORDER and nothing is sent; with AllowContactOverride it is one
send, never stored for reminders, recorded masked, greeted without the buyer's name.
"""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from payment_links.config import reset_settings
from payment_links.deps import reset_dependencies

from tests.functions.test_sweep_support import at, create_request, get_request, reminder_emails, resend_app, run_sweep
from tests.support.lambda_runtime import api_event, invoke

CREATED = "2026-05-04T12:00:00Z"
LATER = "2026-05-04T12:30:00Z"
STRANGER = "eve@attacker.example"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


@pytest.fixture
def override_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOW_CONTACT_OVERRIDE", "true")
    reset_settings()
    reset_dependencies()


def resend_by_id(request_id: str, body: object) -> tuple[int, Any, dict[str, str]]:
    with time_machine.travel(at(LATER), tick=False):
        return invoke(resend_app, api_event("POST", f"/payment-requests/{request_id}/resend", body))


def lost_link(order_id: str, body: object) -> tuple[int, Any, dict[str, str]]:
    with time_machine.travel(at(LATER), tick=False):
        return invoke(resend_app, api_event("POST", f"/orders/{order_id}/payment-requests/resend", body))


@pytest.mark.parametrize("route", ["by-id", "lost-link"])
@pytest.mark.parametrize(
    "contact", [{"email": STRANGER}, {"phone": "+447400900123"}, {"email": "jane@example.com", "phone": "+447400900123"}]
)
def test_a_contact_the_order_does_not_have_is_422_and_nothing_is_sent_or_stored(aws, wix, route, contact):
    created = create_request(wix, CREATED)
    sent_before = len(aws.sent_emails()), len(aws.sent_sms())

    if route == "by-id":
        status, body, _ = resend_by_id(created["id"], {"customer": contact})
    else:
        status, body, _ = lost_link(created["orderId"], {"customer": contact})

    assert status == 422 and body["error"]["code"] == "CONTACT_NOT_ON_ORDER", body
    assert {d["field"] for d in body["error"]["details"]} <= {"customer.email", "customer.phone"}
    assert (len(aws.sent_emails()), len(aws.sent_sms())) == sent_before
    stored = get_request(created["id"])
    assert stored["customer"] == created["customer"] and stored["history"] == created["history"]


def test_a_contact_the_order_has_may_be_named_even_when_the_request_was_created_for_another(aws, wix):
    # Created with the caller's own address; the order's buyer address is jane@example.com.
    created = create_request(wix, CREATED, customer={"email": "accounts@company.example"})

    status, body, _ = resend_by_id(created["id"], {"customer": {"email": "JANE@example.com"}, "channels": ["EMAIL"]})

    assert status == 200, body
    assert aws.sent_emails()[-1].destinations["ToAddresses"] == ["JANE@example.com"]
    assert get_request(created["id"])["customer"]["email"] == "a***@company.example"  # the stored contact stays


def test_the_stored_contact_is_always_allowed(aws, wix):
    created = create_request(wix, CREATED, customer={"email": "accounts@company.example"})

    status, body, _ = lost_link(created["orderId"], {"customer": {"email": "accounts@company.example"}, "channels": ["EMAIL"]})

    assert status == 200, body
    assert aws.sent_emails()[-1].destinations["ToAddresses"] == ["accounts@company.example"]


def test_with_override_allowed_a_stranger_gets_one_send_without_the_buyers_name_and_reminders_stay(aws, wix, override_allowed):
    created = create_request(wix, CREATED, reminders={"enabled": True, "schedule": ["P1D"]})

    status, body, _ = resend_by_id(created["id"], {"customer": {"email": STRANGER}, "channels": ["EMAIL"]})

    assert status == 200, body
    one_off = aws.sent_emails()[-1]
    assert one_off.destinations["ToAddresses"] == [STRANGER]
    assert "Jane" not in one_off.body and "Hello," in one_off.body
    history = get_request(created["id"])["history"]
    override = [h for h in history if h["event"] == "SENT_TO_OTHER_CONTACT"]
    assert len(override) == 1 and "e***@attacker.example" in override[0]["detail"] and STRANGER not in override[0]["detail"]
    assert get_request(created["id"])["customer"]["email"] == "j***@example.com"

    summary = run_sweep("2026-05-05T12:00:00Z")  # the next reminder goes to the request's own contact
    assert summary["sent"] == 1
    assert [m.destinations["ToAddresses"] for m in reminder_emails(aws)] == [["jane@example.com"]]


def test_with_override_an_outside_request_without_any_contact_can_be_sent_once(aws, wix, override_allowed):
    order_id = wix.add_order(email=None, phone=None)
    request_id = wix.add_request(order_id, amount="12.00")

    status, body, _ = lost_link(order_id, {"customer": {"email": "new@example.com"}})

    assert status == 200, body
    assert aws.sent_emails()[-1].destinations["ToAddresses"] == ["new@example.com"]
    assert get_request(request_id)["customer"] == {"email": None, "phone": None}


def test_without_override_an_outside_request_without_any_contact_cannot_be_pointed_anywhere(aws, wix):
    order_id = wix.add_order(email=None, phone=None)
    wix.add_request(order_id, amount="12.00")

    status, body, _ = lost_link(order_id, {"customer": {"email": "new@example.com"}})

    assert status == 422 and body["error"]["code"] == "CONTACT_NOT_ON_ORDER"
    assert aws.sent_emails() == []
