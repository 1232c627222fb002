"""The lost-link flow by order, voiding, and a site whose Payment Request Page is not published."""

from __future__ import annotations

import pytest

from .support import OPR, WIX_HEADERS, Customer, Stack, wait_until

pytestmark = pytest.mark.e2e


def _create_at_wix(stack: Stack, order_id: str, amount: str = "40.00") -> tuple[str, str]:
    """A payment request the merchant made in Wix itself, outside this product."""
    entity = {"orderId": order_id, "amount": {"amount": amount}, "title": "Remaining balance", "source": {"externalId": "dashboard-1"}}
    response = stack.sandbox.post(OPR, json={"orderPaymentRequest": entity}, headers=WIX_HEADERS)
    assert response.status_code == 200, response.text
    return response.json()["orderPaymentRequest"]["id"], response.json()["orderPaymentRequestUrl"]


def test_lost_link_by_order_finds_the_unpaid_request_at_wix_and_sends_its_link_again(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer, balance="40.00")
    request_id, url = _create_at_wix(stack, order["id"])
    queries_before = len(stack.sandbox.get("/_sandbox/calls", params={"endpoint": "query"}).json()["calls"])

    response = stack.api.post(f"/orders/{order['id']}/payment-requests/resend", json={})

    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["paymentRequests"]] == [request_id]
    (email,) = stack.emails_to(customer)  # the contact details came from the order's buyer
    assert url in email["links"]
    (sms,) = stack.sms_to(customer)
    assert url in sms["message"]
    queries_after = len(stack.sandbox.get("/_sandbox/calls", params={"endpoint": "query"}).json()["calls"])
    assert queries_after > queries_before, "the flow asks Wix for the order's UNPAID requests"


def test_lost_link_for_an_order_with_nothing_unpaid_is_404(stack: Stack):
    order = stack.create_order(Customer.new())
    response = stack.api.post(f"/orders/{order['id']}/payment-requests/resend", json={})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NO_UNPAID_PAYMENT_REQUEST"


def test_void_voids_at_wix_stops_reminders_and_the_voided_webhook_changes_nothing_more(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    created = stack.create_payment_request(order["id"])

    response = stack.api.post(f"/payment-requests/{created['id']}/void")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "VOIDED"
    assert response.json()["reminders"]["nextAt"] is None
    assert stack.wix_request(created["id"])["status"] == "VOIDED"
    (delivery,) = wait_until(lambda: stack.deliveries(created["id"], "voided"), what="voided delivery")
    assert delivery["status"] == 200
    assert stack.get(created["id"])["status"] == "VOIDED"
    assert stack.api.post(f"/payment-requests/{created['id']}/void").status_code == 200  # idempotent
    # A voided request cannot be paid, nor its link resent.
    assert stack.sandbox.post(created["url"]).status_code == 409
    assert stack.api.post(f"/payment-requests/{created['id']}/resend").json()["error"]["code"] == "NOT_PAYABLE"


def test_a_site_without_a_published_payment_page_gets_424_and_nothing_is_sent(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    assert stack.sandbox.put("/_sandbox/site", json={"paymentPagePublished": False}).status_code == 200

    response = stack.api.post("/payment-requests", json={"orderId": order["id"], "externalId": f"np-{customer.email}", "title": "Balance"})

    assert response.status_code == 424
    assert response.json()["error"]["code"] == "PAYMENT_PAGE_NOT_PUBLISHED"
    assert stack.outbox(customer.email) == {"emails": [], "sms": []}
    assert stack.outbox(customer.phone) == {"emails": [], "sms": []}
    assert stack.api.get("/payment-requests", params={"orderId": order["id"]}).json()["paymentRequests"] == []
