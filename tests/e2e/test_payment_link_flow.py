"""The main seed flow over HTTP: create → e-mail and SMS with the link → pay on the page → signed webhook → PAID."""

from __future__ import annotations

import jwt
import pytest

from local.wix_sandbox import PUBLIC_KEY_FILE, decode_webhook_jwt

from .support import Customer, Stack, wait_until

pytestmark = pytest.mark.e2e


def test_created_link_is_emailed_and_texted_then_paying_marks_it_paid_and_resend_is_refused(stack: Stack, state_dir):
    customer = Customer.new()
    order = stack.create_order(customer, balance="25.00")

    created = stack.create_payment_request(order["id"])
    assert created["status"] == "UNPAID"
    assert created["amount"] == "25.00"  # the order's open balance by default
    assert created["url"] == f"{str(stack.sandbox.base_url).rstrip('/')}/pay/{created['id']}"
    assert {(n["channel"], n["status"]) for n in created["notifications"]} == {("EMAIL", "SENT"), ("SMS", "SENT")}

    (email,) = stack.emails_to(customer)
    assert created["url"] in email["links"]
    assert created["url"] in email["html"]
    assert "25.00" in email["subject"]
    (sms,) = stack.sms_to(customer)
    assert created["url"] in sms["message"]

    # The customer follows the link and presses Pay (the page's form POSTs to its own URL).
    page = stack.sandbox.get(created["url"])
    assert page.status_code == 200
    assert "Balance" in page.text and "25.00" in page.text
    paid_page = stack.sandbox.post(created["url"])
    assert paid_page.status_code == 200 and "Paid" in paid_page.text

    view = stack.wait_for_status(created["id"], "PAID")
    assert view["paidAt"] is not None
    events = [entry["event"] for entry in view["history"]]
    assert events[0] == "CREATED" and events.count("PAID") == 1
    assert view["reminders"]["nextAt"] is None

    (delivery,) = wait_until(lambda: stack.deliveries(created["id"], "paid"), what="paid delivery")
    assert delivery["status"] == 200
    # The delivered body is an RS256 JWT that verifies with the public key in the state directory.
    assert jwt.get_unverified_header(delivery["jwt"])["alg"] == "RS256"
    envelope, event = decode_webhook_jwt(delivery["jwt"], (state_dir / PUBLIC_KEY_FILE).read_bytes())
    assert envelope["eventType"] == "wix.ecom.v1.order_payment_request_paid"
    assert event["entityId"] == created["id"]

    refused = stack.api.post(f"/payment-requests/{created['id']}/resend")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "NOT_PAYABLE"
    assert len(stack.emails_to(customer)) == 1  # nothing more was sent


def test_get_and_list_by_order_show_the_stored_request_with_contacts_masked(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    created = stack.create_payment_request(order["id"])

    listed = stack.api.get("/payment-requests", params={"orderId": order["id"]})
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["paymentRequests"]] == [created["id"]]
    view = stack.get(created["id"])
    assert customer.email not in str(view) and customer.phone not in str(view)
    assert view["customer"]["email"].endswith("@example.com") and "***" in view["customer"]["email"]


def test_replayed_external_id_returns_the_first_result_and_sends_nothing_more(stack: Stack):
    customer = Customer.new()
    order = stack.create_order(customer)
    body = {"orderId": order["id"], "externalId": f"replay-{customer.email}", "title": "Balance"}
    first = stack.api.post("/payment-requests", json=body)
    replay = stack.api.post("/payment-requests", json=body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    assert len(stack.emails_to(customer)) == 1


def test_storefront_routes_need_the_api_key_and_the_webhook_route_does_not(stack: Stack):
    missing = stack.anonymous.post("/payment-requests", json={})
    wrong = stack.anonymous.get("/payment-requests/anything", headers={"x-api-key": "not-the-key"})
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    # SITE mode: the usage plan's key check; APP mode: the site-key authorizer's Deny.
    assert wrong.status_code == 403 and wrong.json()["message"] in ("Forbidden", "User is not authorized to access this resource")

    not_a_jwt = stack.anonymous.post("/webhooks/wix", content=b"hello", headers={"Content-Type": "text/plain"})
    assert not_a_jwt.status_code == 400  # reached the webhook function: no key needed there


def test_a_route_the_template_does_not_define_is_refused_like_api_gateway(stack: Stack):
    response = stack.api.delete("/payment-requests")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_bad_input_is_a_4xx_in_the_contract_shape(stack: Stack):
    response = stack.api.post("/payment-requests", json={"orderId": "x"})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"
