"""Orders (Get Order and the control route), paying on the payment page or by control route, and expiry."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from local.wix_sandbox import DEMO_ORDER_ID

from .support import OPR, create_order, create_payment_request, error_code, wait_until


def _order(client, order_id):
    response = client.get(f"/ecom/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    return response.json()["order"]


def _status(client, request_id):
    return client.get(f"{OPR}/{request_id}").json()["orderPaymentRequest"]["status"]


# -- orders ----------------------------------------------------------------------------------------------------


def test_control_route_creates_an_order_in_get_order_shape(client):
    response = client.post(
        "/_sandbox/orders",
        json={
            "balance": "25.00",
            "currency": "USD",
            "buyer": {"email": "sam@example.com", "phone": "+12015551234", "firstName": "Sam", "lastName": "Lee"},
        },
    )
    assert response.status_code == 201
    order = response.json()["order"]
    assert uuid.UUID(order["id"])
    assert re.fullmatch(r"\d+", order["number"])
    assert order["currency"] == "USD"
    assert order["paymentStatus"] == "NOT_PAID"
    assert order["status"] == "APPROVED"
    assert order["buyerInfo"]["email"] == "sam@example.com"
    assert order["billingInfo"]["contactDetails"] == {"firstName": "Sam", "lastName": "Lee", "phone": "+12015551234"}
    assert order["recipientInfo"]["contactDetails"]["phone"] == "+12015551234"
    assert order["priceSummary"]["total"] == {"amount": "25.00", "formattedAmount": "$25.00"}
    assert order["balanceSummary"]["balance"] == {"amount": "25.00", "formattedAmount": "$25.00"}
    assert order["balanceSummary"]["paid"]["amount"] == "0.00"
    assert order["buyerLanguage"] and order["siteLanguage"] and order["createdDate"]
    assert _order(client, order["id"]) == order


def test_order_numbers_are_distinct_strings(client):
    numbers = {create_order(client, "1.00")["number"] for _ in range(3)}
    assert len(numbers) == 3


def test_an_order_without_contact_details_has_none(client):
    order = client.post("/_sandbox/orders", json={"balance": "5"}).json()["order"]
    assert "email" not in order["buyerInfo"]
    assert order["billingInfo"]["contactDetails"] == {}


def test_an_order_can_be_created_already_settled_for_refusal_tests(client):
    paid = client.post("/_sandbox/orders", json={"balance": "0", "total": "30", "paymentStatus": "PAID"}).json()["order"]
    assert (paid["paymentStatus"], paid["balanceSummary"]["balance"]["amount"]) == ("PAID", "0.00")
    pending = client.post("/_sandbox/orders", json={"balance": "30", "paymentStatus": "PENDING"}).json()["order"]
    assert (pending["paymentStatus"], pending["balanceSummary"]["balance"]["amount"]) == ("PENDING", "0.00")
    partial = client.post("/_sandbox/orders", json={"balance": "10", "total": "30"}).json()["order"]
    assert partial["paymentStatus"] == "PARTIALLY_PAID"
    assert (partial["balanceSummary"]["balance"]["amount"], partial["balanceSummary"]["paid"]["amount"]) == ("10.00", "20.00")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"balance": "lots"},
        {"balance": "-1"},
        {"balance": True},
        {"balance": "5", "currency": "dollars"},
        {"balance": "5", "buyer": "jane"},
        {"balance": "5", "buyer": {"email": 5}},
        {"balance": "5", "paymentStatus": "MAYBE"},
        {"balance": "5", "total": "4"},
    ],
)
def test_invalid_orders_are_400_in_the_product_error_shape(client, body):
    response = client.post("/_sandbox/orders", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


def test_get_order_of_an_unknown_order_is_404(client):
    response = client.get(f"/ecom/v1/orders/{uuid.uuid4()}")
    assert response.status_code == 404
    assert error_code(response) == "ORDER_NOT_FOUND"


def test_the_demo_order_is_seeded(client):
    order = _order(client, DEMO_ORDER_ID)
    assert order["balanceSummary"]["balance"]["amount"] == "40.00"
    assert order["currency"] == "USD"
    assert order["buyerInfo"]["email"] == "jane@example.com"
    assert order["billingInfo"]["contactDetails"] == {"firstName": "Jane", "lastName": "Doe", "phone": "+12015550123"}


# -- paying ----------------------------------------------------------------------------------------------------


def test_paying_part_of_the_balance_makes_the_order_partially_paid_then_paid(client, order):
    first = create_payment_request(client, order["id"], amount={"amount": "15.00"})
    response = client.post(f"/_sandbox/order-payment-requests/{first['id']}/pay")
    assert response.status_code == 200
    assert response.json()["orderPaymentRequest"]["status"] == "PAID"
    assert response.json()["orderPaymentRequest"]["paymentGatewayOrderId"]
    after_first = _order(client, order["id"])
    assert after_first["paymentStatus"] == "PARTIALLY_PAID"
    assert after_first["balanceSummary"]["balance"]["amount"] == "25.00"
    assert after_first["balanceSummary"]["paid"]["amount"] == "15.00"

    rest = create_payment_request(client, order["id"], amount={"amount": "25.00"})
    client.post(f"/_sandbox/order-payment-requests/{rest['id']}/pay")
    settled = _order(client, order["id"])
    assert settled["paymentStatus"] == "PAID"
    assert settled["balanceSummary"]["balance"]["amount"] == "0.00"
    assert settled["balanceSummary"]["paid"]["amount"] == "40.00"


def test_an_unpaid_request_does_not_change_the_balance(client, order):
    create_payment_request(client, order["id"], amount={"amount": "15.00"})
    assert _order(client, order["id"])["balanceSummary"]["balance"]["amount"] == "40.00"


@pytest.mark.parametrize("status", ["PAID", "VOIDED", "EXPIRED"])
def test_paying_a_settled_request_is_refused_and_changes_nothing(client, order, status):
    created = create_payment_request(client, order["id"])
    if status == "PAID":
        client.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    elif status == "VOIDED":
        client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    else:
        client.post(f"/_sandbox/order-payment-requests/{created['id']}/expire")
    before = _order(client, order["id"])
    response = client.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NOT_PAYABLE"
    assert _order(client, order["id"]) == before


def test_paying_an_unknown_request_is_404(client):
    response = client.post(f"/_sandbox/order-payment-requests/{uuid.uuid4()}/pay")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")


# -- the payment page ------------------------------------------------------------------------------------------


def test_the_payment_page_shows_the_request_and_a_pay_button(client, order):
    created = create_payment_request(client, order["id"], title="Deposit <b>", description="For order & more", amount={"amount": "12.50"})
    page = httpx.get(f"{client.base_url}/pay/{created['id']}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Deposit &lt;b&gt;" in page.text  # escaped, never raw HTML from the merchant
    assert "For order &amp; more" in page.text
    assert "$12.50" in page.text and "USD" in page.text and "UNPAID" in page.text
    assert f'<form method="post" action="/pay/{created["id"]}">' in page.text
    assert "buyer@example.com" not in page.text


def test_pressing_pay_pays_the_request_and_the_page_then_says_paid(client, order):
    created = create_payment_request(client, order["id"], amount={"amount": "40.00"})
    response = httpx.post(f"{client.base_url}/pay/{created['id']}")
    assert response.status_code == 200
    assert "Paid" in response.text
    assert _status(client, created["id"]) == "PAID"
    assert _order(client, order["id"])["paymentStatus"] == "PAID"
    again = httpx.get(f"{client.base_url}/pay/{created['id']}")
    assert "Paid" in again.text and "<form" not in again.text


def test_pressing_pay_on_a_voided_request_explains_and_changes_nothing(client, order):
    created = create_payment_request(client, order["id"])
    client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    response = httpx.post(f"{client.base_url}/pay/{created['id']}")
    assert response.status_code == 409
    assert "VOIDED" in response.text and "cannot be paid" in response.text
    assert _status(client, created["id"]) == "VOIDED"
    assert _order(client, order["id"])["balanceSummary"]["paid"]["amount"] == "0.00"


def test_the_payment_page_of_an_unknown_request_is_404(client):
    assert httpx.get(f"{client.base_url}/pay/{uuid.uuid4()}").status_code == 404
    assert httpx.post(f"{client.base_url}/pay/{uuid.uuid4()}").status_code == 404


def test_the_index_page_lists_orders_and_requests(client, order):
    created = create_payment_request(client, order["id"], title="Index me")
    page = httpx.get(f"{client.base_url}/")
    assert page.status_code == 200
    assert f"/pay/{created['id']}" in page.text and "Index me" in page.text
    assert "jane@example.com" not in page.text


# -- expiry ----------------------------------------------------------------------------------------------------


def test_the_expire_control_route_expires_an_unpaid_request_once(client, order):
    created = create_payment_request(client, order["id"])
    response = client.post(f"/_sandbox/order-payment-requests/{created['id']}/expire")
    assert (response.status_code, response.json()["orderPaymentRequest"]["status"]) == (200, "EXPIRED")
    assert client.post(f"/_sandbox/order-payment-requests/{created['id']}/expire").status_code == 409


def test_a_request_expires_by_itself_when_its_expiration_date_passes(client, order):
    soon = (datetime.now(UTC) + timedelta(milliseconds=300)).isoformat()
    created = create_payment_request(client, order["id"], expirationDate=soon)
    assert created["status"] == "UNPAID"
    wait_until(lambda: _status(client, created["id"]) == "EXPIRED", timeout=3)
