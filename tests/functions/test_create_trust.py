"""Create at its trust boundaries: money in ISO 4217 minor units and never rounded up, amounts as ASCII decimal
strings, hostile bodies answered 4xx, and a Wix request of the same externalId adopted only when it is our own."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.functions.test_create_api import body_for, create, create_app
from tests.support.lambda_runtime import api_event, invoke


@pytest.mark.parametrize(
    ("balance", "currency", "requested"),
    [
        ("100.50", "TWD", "100.50"),
        ("40.00", "USD", "40.00"),
        ("4000", "JPY", "4000"),
        ("12.345", "KWD", "12.345"),
        ("10.509", "USD", "10.50"),
    ],
)
def test_the_default_amount_is_what_is_open_to_the_currencys_minor_unit_never_more(aws, wix, balance, currency, requested):
    order_id = wix.add_order(balance=balance, currency=currency)

    status, body, _ = create(body_for(order_id))

    assert status == 201, body
    assert body["amount"] == requested and body["currency"] == currency
    assert wix.requests[body["id"]]["amount"]["amount"] == requested


def test_less_than_one_minor_unit_open_is_409_order_not_payable(aws, wix):
    order_id = wix.add_order(balance="0.4", currency="JPY")

    status, body, _ = create(body_for(order_id))

    assert status == 409 and body["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert wix.count("create") == 0


@pytest.mark.parametrize(("amount", "currency"), [("100.5", "JPY"), ("1.005", "USD"), ("1.0005", "KWD")])
def test_an_explicit_amount_finer_than_the_currency_is_422(aws, wix, amount, currency):
    order_id = wix.add_order(balance="5000", currency=currency)

    status, body, _ = create(body_for(order_id, amount=amount))

    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
    assert wix.count("create") == 0


def test_an_explicit_amount_of_exactly_what_is_open_in_twd_is_accepted(aws, wix):
    order_id = wix.add_order(balance="100.50", currency="TWD")
    assert create(body_for(order_id, "over", amount="101"))[1]["error"]["code"] == "AMOUNT_EXCEEDS_BALANCE"

    status, body, _ = create(body_for(order_id, amount="100.50"))

    assert status == 201 and body["amount"] == "100.50"


@pytest.mark.parametrize("amount", [25, 25.0, "1_0", "\u0661.00", "1e1", " 25", "25.", "-5", "0x19"])
def test_an_amount_that_is_not_an_ascii_decimal_string_is_422(aws, wix, amount):
    order_id = wix.add_order(balance="40.00")

    status, body, _ = create(body_for(order_id, amount=amount))

    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
    assert any(d["field"] == "amount" for d in body["error"]["details"])


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("[" * 5000, 400),
        ('{"orderId": ' + "[" * 3000 + "]" * 3000 + "}", 400),
        ('{"orderId": ' + "9" * 10_000 + "}", 400),
        (json.dumps({**body_for("o"), "reminders": {"schedule": ["PT99999999999999999999H"]}}), 422),
        (json.dumps({**body_for("o"), "reminders": {"schedule": ["P9999999999999999W"]}}), 422),
        (json.dumps({**body_for("o"), "title": "Hi\r\nBcc: eve@x.example"}), 422),
        (json.dumps({**body_for("o"), "customer": {"phone": "+19005551234"}}), 422),
        (json.dumps({**body_for("o"), "customer": {"phone": "+80012345678"}}), 422),
        (json.dumps({**body_for("o"), "customer": {"email": "<eve@x.example>"}}), 422),
        (json.dumps({**body_for("o"), "expirationDate": "2020-01-01T00:00:00Z"}), 422),
    ],
)
def test_hostile_bodies_are_4xx_validation_failed_never_a_500(aws, wix, raw, status):
    code, body, _ = invoke(create_app, api_event("POST", "/payment-requests", raw_body=raw))

    assert code == status and body["error"]["code"] == "VALIDATION_FAILED", body
    assert wix.count("create") == 0


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded", "application/xml"])
def test_a_body_that_is_not_json_is_415(aws, wix, content_type):
    event = api_event("POST", "/payment-requests", raw_body="orderId=1", headers={"Content-Type": content_type})

    status, body, _ = invoke(create_app, event)

    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_an_expiration_date_in_the_future_is_passed_to_wix(aws, wix):
    order_id = wix.add_order(balance="40.00")
    expires = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)

    status, body, _ = create(body_for(order_id, amount="5.00", expirationDate=expires.isoformat()))

    assert status == 201, body
    assert wix.requests[body["id"]]["expirationDate"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))


def test_a_wix_request_of_the_same_external_id_with_other_content_is_never_taken_over(aws, wix):
    order_id = wix.add_order(balance="40.00")
    dashboard = wix.add_request(order_id, amount="7.00", external_id="inv-dup")
    wix.requests[dashboard]["title"] = "Deposit"

    status, body, _ = create(body_for(order_id, "inv-dup", amount="2.00", title="Mine"))

    assert status == 409 and body["error"]["code"] == "EXTERNAL_ID_CONFLICT"
    assert set(body["error"]["details"][0]["differs"]) == {"amount", "title"}
    assert wix.count("create") == 0
    assert invoke(create_app, api_event("GET", f"/payment-requests/{dashboard}"))[0] == 404  # nothing stored either


def test_our_own_earlier_attempt_with_the_same_content_is_adopted(aws, wix):
    order_id = wix.add_order(balance="40.00")
    earlier = wix.add_request(order_id, amount="25.00", external_id="inv-lost")
    wix.requests[earlier]["title"] = "Balance due"

    status, body, _ = create(body_for(order_id, "inv-lost", amount="25.00"))

    assert status == 201 and body["id"] == earlier
    assert wix.count("create") == 0
