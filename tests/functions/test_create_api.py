"""The create function through API Gateway events, against moto and Wix mocked at HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.lambda_runtime import api_event, invoke, load_function

create_app = load_function("create")


def create(body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    return invoke(create_app, api_event("POST", "/payment-requests", body))


def body_for(order_id: str, external_id: str = "inv-1", **extra: Any) -> dict[str, Any]:
    return {"orderId": order_id, "externalId": external_id, "title": "Balance due", **extra}


def test_create_sends_link_by_email_and_sms_and_stores_the_request(aws, wix):
    order_id = wix.add_order(balance="40.00")
    status, body, _ = create(body_for(order_id, amount="25.00"))

    assert status == 201, body
    assert body["status"] == "UNPAID"
    assert body["amount"] == "25.00" and body["currency"] == "USD"
    assert body["url"] == wix.url_for(body["id"])
    assert body["customer"] == {"email": "j***@example.com", "phone": "+1******0123"}
    assert [(n["channel"], n["kind"], n["status"]) for n in body["notifications"]] == [("EMAIL", "INITIAL", "SENT"), ("SMS", "INITIAL", "SENT")]
    assert body["reminders"]["schedule"] == ["P1D", "P3D", "P7D"] and body["reminders"]["nextAt"]
    emails = aws.sent_emails()
    assert len(emails) == 1 and emails[0].destinations["ToAddresses"] == ["jane@example.com"]
    assert wix.url_for(body["id"]) in emails[0].body
    sms = aws.sent_sms()
    assert len(sms) == 1 and sms[0][0] == "+15555550123" and wix.url_for(body["id"]) in sms[0][1]
    assert wix.requests[body["id"]]["source"]["externalId"] == "inv-1"

    status, stored, _ = invoke(create_app, api_event("GET", f"/payment-requests/{body['id']}"))
    assert status == 200 and stored["id"] == body["id"] and stored["history"][0]["event"] == "CREATED"
