"""Messages end to end on the local stack: the customer's language from the Wix order, the escalation by step,
one-click unsubscribe headers on reminders, the preview route, and SES's bounce stopping e-mail to that address."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Customer, Stack, first_reminder_time

pytestmark = pytest.mark.e2e


def _order(stack: Stack, customer: Customer, language: str, currency: str = "EUR", balance: str = "40.00") -> dict[str, Any]:
    buyer = {"email": customer.email, "phone": customer.phone, "firstName": customer.first_name, "lastName": "Doe"}
    body = {"balance": balance, "currency": currency, "buyer": buyer, "buyerLanguage": language}
    response = stack.sandbox.post("/_sandbox/orders", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["order"])


def test_a_customer_reads_the_first_link_and_the_reminders_in_their_language_with_one_click_unsubscribe(stack: Stack):
    customer = Customer.new()
    order = _order(stack, customer, "fr")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D", "P3D"]})

    first = stack.emails_to(customer)[0]
    assert first["language"] == "fr" and first["subject"] == "Demande de paiement : Balance (40,00\xa0€)"
    assert "List-Unsubscribe" not in first["headers"] and "Payer maintenant" in first["html"]
    sms = stack.sms_to(customer)[0]["message"]
    assert " : 40,00 € à régler pour la commande nº " in sms and sms.endswith(created["url"])  # no opt-out line on the first link

    stack.sweep(first_reminder_time(created["createdAt"]))

    reminder = next(e for e in stack.emails_to(customer) if e["subject"].startswith("Rappel"))
    assert reminder["subject"] == "Rappel : Balance (40,00\xa0€)" and reminder["language"] == "fr"
    assert reminder["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = reminder["headers"]["List-Unsubscribe"].strip("<>")
    view = stack.get(created["id"])
    assert [(n["kind"], n["stage"], n["locale"]) for n in view["notifications"] if n["channel"] == "EMAIL"] == [
        ("INITIAL", "INITIAL", "fr"),
        ("REMINDER", "FRIENDLY", "fr"),
    ]

    # A mailbox provider's one-click POST (RFC 8058): form-encoded, no API key, no page in between.
    answer = stack.anonymous.post(
        unsubscribe, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 200
    assert "EMAIL" in [h["detail"].split(":")[0] for h in stack.get(created["id"])["history"] if h["event"] == "OPTED_OUT"]


def test_the_preview_shows_the_firm_reminder_in_hebrew_right_to_left_and_sends_nothing(stack: Stack):
    customer = Customer.new()
    order = _order(stack, customer, "he", currency="ILS", balance="120.00")
    created = stack.create_payment_request(order["id"], amount="120.00", reminders={"enabled": True, "schedule": ["P1D", "P3D"]})
    sent = len(stack.emails_to(customer))

    response = stack.api.post(f"/payment-requests/{created['id']}/preview", json={"kind": "REMINDER", "step": 2, "channel": "EMAIL"})

    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["language"] == "he" and shown["stage"] == "FIRM" and 'dir="rtl"' in shown["html"]
    assert shown["subject"].startswith("תזכורת: תשלום באיחור") and "/unsubscribe/" in shown["text"]
    assert len(stack.emails_to(customer)) == sent


def test_a_permanent_bounce_stops_email_reminders_to_that_address_and_sms_goes_on(stack: Stack):
    customer = Customer.new()
    order = _order(stack, customer, "en", currency="USD")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})

    response = stack.api.post("/_local/bounce", json={"email": customer.email, "type": "Permanent"})

    assert response.status_code == 200 and response.json()["outcome"] == "applied"
    view = stack.get(created["id"])
    assert view["notifications"][0]["delivery"] == "BOUNCED"
    assert "EMAIL_UNDELIVERABLE" in [h["event"] for h in view["history"]]

    stack.sweep(first_reminder_time(created["createdAt"]))

    assert [e for e in stack.emails_to(customer) if e["subject"].startswith("Reminder")] == []
    assert any(s["message"].startswith("Reminder:") for s in stack.sms_to(customer))
    assert stack.api.post("/_local/bounce", json={"email": "nobody@example.com"}).status_code == 404
    assert stack.api.post("/_local/bounce", json={"email": customer.email, "type": "Soft"}).status_code == 422


def test_an_sms_to_a_number_sns_cannot_reach_stops_sms_reminders_to_it(stack: Stack):
    customer = Customer.new()
    order = _order(stack, customer, "en", currency="USD")
    created = stack.create_payment_request(order["id"], amount="40.00", reminders={"enabled": True, "schedule": ["P1D"]})

    response = stack.api.post("/_local/bounce", json={"phone": customer.phone, "type": "Permanent"})

    assert response.status_code == 200 and response.json()["suppressed"] == 1
    stack.sweep(first_reminder_time(created["createdAt"]))
    assert not any(s["message"].startswith("Reminder:") for s in stack.sms_to(customer))
    assert any(e["subject"].startswith("Reminder") for e in stack.emails_to(customer))
    assert "SMS_UNDELIVERABLE" in [h["event"] for h in stack.get(created["id"])["history"]]
