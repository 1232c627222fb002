"""Create, Get, Update, Delete, Get URL and Void, with their documented errors (wix-api.md §2)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from local.wix_sandbox import SandboxServer

from .support import API_HEADERS, OPR, create_order, create_payment_request, error_code

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _create(client, **entity):
    return client.post(OPR, json={"orderPaymentRequest": entity})


def _valid(order_id, **overrides):
    return {
        "orderId": order_id,
        "amount": {"amount": "25.00"},
        "title": "Balance due",
        "source": {"externalId": "invoice-1"},
        **overrides,
    }


def _violations(response):
    assert response.status_code == 400, response.text
    return {v["field"]: v["violatedRule"] for v in response.json()["details"]["validationError"]["fieldViolations"]}


# -- create ----------------------------------------------------------------------------------------------------


def test_create_returns_the_filled_in_request_and_its_payment_url(client, sandbox):
    order = create_order(client, "80.00", currency="EUR")
    response = _create(client, **_valid(order["id"], description="Remaining balance", amount={"amount": "25"}))
    assert response.status_code == 200
    body = response.json()
    entity = body["orderPaymentRequest"]
    assert uuid.UUID(entity["id"]).version == 4
    assert entity["status"] == "UNPAID"
    assert entity["orderId"] == order["id"]
    assert entity["orderNumber"] == order["number"]
    assert entity["currency"] == "EUR"
    assert entity["amount"] == {"amount": "25.00", "formattedAmount": "€25.00"}
    assert entity["title"] == "Balance due"
    assert entity["description"] == "Remaining balance"
    assert entity["source"] == {"appId": "local-app-id", "externalId": "invoice-1"}
    assert TIMESTAMP.match(entity["createdDate"]) and entity["createdDate"] == entity["updatedDate"]
    assert "expirationDate" not in entity
    assert body["orderPaymentRequestUrl"] == f"{sandbox.url}/pay/{entity['id']}"


def test_create_ignores_unknown_and_read_only_fields(client, order):
    response = _create(client, **_valid(order["id"], status="PAID", currency="JPY", color="blue"))
    entity = response.json()["orderPaymentRequest"]
    assert response.status_code == 200
    assert entity["status"] == "UNPAID"
    assert entity["currency"] == "USD"
    assert "color" not in entity


def test_create_keeps_the_optional_writable_fields(client, order):
    expiry = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    entity = _create(
        client,
        **_valid(
            order["id"],
            expirationDate=expiry.isoformat(),
            image={"id": "media-1", "altText": "logo"},
            blockedPaymentMethods=["MANUAL"],
            source={"externalId": "x", "appId": "my-app"},
        ),
    ).json()["orderPaymentRequest"]
    assert entity["expirationDate"] == expiry.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert entity["image"]["id"] == "media-1"
    assert entity["blockedPaymentMethods"] == ["MANUAL"]
    assert entity["source"]["appId"] == "my-app"


@pytest.mark.parametrize(
    "field",
    ["orderId", "amount", "title", "source"],
)
def test_create_requires_each_required_field(client, order, field):
    entity = _valid(order["id"])
    del entity[field]
    assert f"orderPaymentRequest.{field}" in _violations(_create(client, **entity))


def test_create_requires_the_amount_value_and_the_external_id(client, order):
    violations = _violations(_create(client, **_valid(order["id"], amount={}, source={})))
    assert violations == {
        "orderPaymentRequest.amount.amount": "REQUIRED_FIELD",
        "orderPaymentRequest.source.externalId": "REQUIRED_FIELD",
    }


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"title": ""}, "title", "MIN_LENGTH"),
        ({"title": "t" * 201}, "title", "MAX_LENGTH"),
        ({"description": "d" * 301}, "description", "MAX_LENGTH"),
        ({"source": {"externalId": ""}}, "source.externalId", "MIN_LENGTH"),
        ({"source": {"externalId": "e" * 101}}, "source.externalId", "MAX_LENGTH"),
        ({"amount": {"amount": "-0.01"}}, "amount.amount", "DECIMAL_GTE"),
        ({"amount": {"amount": "ten"}}, "amount.amount", "FORMAT"),
        ({"amount": {"amount": "1.001"}}, "amount.amount", "FORMAT"),
        ({"amount": {"amount": 25}}, "amount.amount", "TYPE"),
        ({"title": 7}, "title", "TYPE"),
        ({"orderId": ["x"]}, "orderId", "TYPE"),
        ({"expirationDate": "next tuesday"}, "expirationDate", "FORMAT"),
        ({"expirationDate": "2030-01-01T00:00:00"}, "expirationDate", "FORMAT"),
        ({"blockedPaymentMethods": ["CARD"]}, "blockedPaymentMethods[0]", "INVALID_ENUM_VALUE"),
        ({"blockedPaymentMethods": "MANUAL"}, "blockedPaymentMethods", "TYPE"),
    ],
)
def test_create_rejects_invalid_values(client, order, overrides, field, rule):
    violations = _violations(_create(client, **_valid(order["id"], **overrides)))
    assert violations == {f"orderPaymentRequest.{field}": rule}


def test_create_accepts_the_boundary_lengths_and_a_zero_amount(client, order):
    entity = _valid(order["id"], title="t" * 200, description="d" * 300, source={"externalId": "e" * 100})
    entity["amount"] = {"amount": "0"}
    assert _create(client, **entity).status_code == 200


def test_create_reports_every_violation_at_once(client):
    response = client.post(OPR, json={"orderPaymentRequest": {"title": ""}})
    assert set(_violations(response)) == {
        "orderPaymentRequest.orderId",
        "orderPaymentRequest.amount",
        "orderPaymentRequest.title",
        "orderPaymentRequest.source",
    }


def test_create_rejects_a_body_that_is_not_json(client):
    response = client.post(OPR, content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "validationError" in response.json()["details"]


def test_create_for_an_unknown_order_is_404_order_not_found(client):
    response = _create(client, **_valid(str(uuid.uuid4())))
    assert response.status_code == 404
    assert error_code(response) == "ORDER_NOT_FOUND"


def test_create_without_a_published_payment_page_is_428_and_works_again_once_published(client, order):
    assert client.put("/_sandbox/site", json={"paymentPagePublished": False}).status_code == 200
    response = _create(client, **_valid(order["id"]))
    assert response.status_code == 428
    assert error_code(response) == "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND"
    client.put("/_sandbox/site", json={"paymentPagePublished": True})
    assert _create(client, **_valid(order["id"])).status_code == 200


def test_create_with_a_past_expiration_date_is_created_expired(client, order):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    entity = _create(client, **_valid(order["id"], expirationDate=past)).json()["orderPaymentRequest"]
    assert entity["status"] == "EXPIRED"


# -- get -------------------------------------------------------------------------------------------------------


def test_get_returns_the_stored_request(client, order):
    created = create_payment_request(client, order["id"])
    response = client.get(f"{OPR}/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {"orderPaymentRequest": created}


def test_get_of_an_unknown_request_is_404(client):
    response = client.get(f"{OPR}/{uuid.uuid4()}")
    assert response.status_code == 404
    assert error_code(response) == "ORDER_PAYMENT_REQUEST_NOT_FOUND"


# -- update ----------------------------------------------------------------------------------------------------


def _update(client, request_id, **fields):
    return client.patch(f"{OPR}/{request_id}", json={"orderPaymentRequest": {"id": request_id, **fields}})


def test_update_changes_only_the_writable_fields(client, order):
    created = create_payment_request(client, order["id"])
    response = _update(
        client,
        created["id"],
        title="New title",
        description="New description",
        blockedPaymentMethods=["MANUAL"],
        orderId="other",
        source={"externalId": "other"},
        expirationDate="2031-01-01T00:00:00Z",
    )
    assert response.status_code == 200
    entity = response.json()["orderPaymentRequest"]
    assert (entity["title"], entity["description"], entity["blockedPaymentMethods"]) == (
        "New title",
        "New description",
        ["MANUAL"],
    )
    assert entity["orderId"] == created["orderId"]
    assert entity["source"] == created["source"]
    assert "expirationDate" not in entity
    assert entity["updatedDate"] >= created["updatedDate"]
    assert client.get(f"{OPR}/{created['id']}").json()["orderPaymentRequest"] == entity


def test_update_with_the_same_amount_is_allowed_but_a_new_amount_is_428(client, order):
    created = create_payment_request(client, order["id"])
    assert _update(client, created["id"], amount={"amount": "10.00"}, title="Same").status_code == 200
    response = _update(client, created["id"], amount={"amount": "11.00"})
    assert response.status_code == 428
    assert error_code(response) == "CANNOT_UPDATE_ORDER_PAYMENT_REQUEST_AMOUNT"


@pytest.mark.parametrize("status", ["PAID", "EXPIRED", "VOIDED"])
def test_update_of_a_settled_request_is_428(client, order, status):
    created = create_payment_request(client, order["id"])
    _settle(client, created["id"], status)
    response = _update(client, created["id"], title="Too late")
    assert response.status_code == 428
    assert error_code(response) == f"CANNOT_UPDATE_{status}_ORDER_PAYMENT_REQUEST"


def test_update_validates_the_fields_it_changes(client, order):
    created = create_payment_request(client, order["id"])
    assert _violations(_update(client, created["id"], title="")) == {"orderPaymentRequest.title": "MIN_LENGTH"}
    assert _violations(_update(client, created["id"], description=5)) == {"orderPaymentRequest.description": "TYPE"}


def test_update_of_an_unknown_request_is_404(client):
    unknown = str(uuid.uuid4())
    response = _update(client, unknown, title="x")
    assert response.status_code == 404
    assert error_code(response) == "ORDER_PAYMENT_REQUEST_NOT_FOUND"


# -- delete ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["UNPAID", "EXPIRED", "VOIDED"])
def test_delete_removes_any_request_that_is_not_paid(client, order, status):
    created = create_payment_request(client, order["id"])
    _settle(client, created["id"], status)
    response = client.delete(f"{OPR}/{created['id']}")
    assert (response.status_code, response.json()) == (200, {})
    assert client.get(f"{OPR}/{created['id']}").status_code == 404


def test_delete_of_a_paid_request_is_428(client, order):
    created = create_payment_request(client, order["id"])
    _settle(client, created["id"], "PAID")
    response = client.delete(f"{OPR}/{created['id']}")
    assert response.status_code == 428
    assert error_code(response) == "CANNOT_DELETE_PAID_ORDER_PAYMENT_REQUEST"


def test_delete_of_an_unknown_request_is_404(client):
    assert client.delete(f"{OPR}/{uuid.uuid4()}").status_code == 404


# -- get url ---------------------------------------------------------------------------------------------------


def test_get_url_returns_the_payment_link(client, order, sandbox):
    created = create_payment_request(client, order["id"])
    response = client.post(f"{OPR}/url", json={"orderPaymentRequestId": created["id"]})
    assert response.status_code == 200
    assert response.json() == {"orderPaymentRequestUrl": f"{sandbox.url}/pay/{created['id']}"}


def test_get_url_errors(client, order):
    created = create_payment_request(client, order["id"])
    unknown = client.post(f"{OPR}/url", json={"orderPaymentRequestId": str(uuid.uuid4())})
    assert (unknown.status_code, error_code(unknown)) == (404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
    assert client.post(f"{OPR}/url", json={}).status_code == 400
    client.put("/_sandbox/site", json={"paymentPagePublished": False})
    unpublished = client.post(f"{OPR}/url", json={"orderPaymentRequestId": created["id"]})
    assert (unpublished.status_code, error_code(unpublished)) == (428, "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND")


def test_payment_links_use_the_public_base_url_when_configured(key_dir):
    with (
        SandboxServer(port=0, key_dir=key_dir, public_base_url="https://pay.example.test/") as server,
        httpx.Client(base_url=server.url, headers=API_HEADERS) as http,
    ):
        order = create_order(http)
        response = http.post(OPR, json={"orderPaymentRequest": _valid(order["id"])})
    body = response.json()
    assert body["orderPaymentRequestUrl"] == f"https://pay.example.test/pay/{body['orderPaymentRequest']['id']}"


# -- void ------------------------------------------------------------------------------------------------------


def test_void_turns_an_unpaid_request_voided_and_is_idempotent(client, order):
    created = create_payment_request(client, order["id"])
    first = client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    assert (first.status_code, first.json()) == (200, {})
    assert client.get(f"{OPR}/{created['id']}").json()["orderPaymentRequest"]["status"] == "VOIDED"
    second = client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    assert (second.status_code, second.json()) == (200, {})


@pytest.mark.parametrize("status", ["PAID", "EXPIRED"])
def test_void_of_a_paid_or_expired_request_is_428(client, order, status):
    created = create_payment_request(client, order["id"])
    _settle(client, created["id"], status)
    response = client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    assert response.status_code == 428
    assert error_code(response) == f"CANNOT_VOID_{status}_ORDER_PAYMENT_REQUEST"
    assert client.get(f"{OPR}/{created['id']}").json()["orderPaymentRequest"]["status"] == status


def test_void_of_an_unknown_request_is_404_and_a_missing_id_is_400(client):
    response = client.post(f"{OPR}/void", json={"orderPaymentRequestId": str(uuid.uuid4())})
    assert (response.status_code, error_code(response)) == (404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
    assert client.post(f"{OPR}/void", json={"orderPaymentRequestId": 3}).status_code == 400


# -- unknown routes --------------------------------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_like_wix_and_are_logged(client):
    assert client.get("/ecom/v1/nothing-here").status_code == 404
    assert client.put(f"{OPR}/abc").status_code == 405
    calls = client.get("/_sandbox/calls").json()["calls"]
    assert [(c["path"], c["status"], c["endpoint"]) for c in calls[-2:]] == [
        ("/ecom/v1/nothing-here", 404, None),
        (f"{OPR}/abc", 405, None),
    ]


def _settle(client, request_id, status):
    """Move a request to ``status`` the way Wix would get there."""
    if status == "PAID":
        assert client.post(f"/_sandbox/order-payment-requests/{request_id}/pay").status_code == 200
    elif status == "EXPIRED":
        assert client.post(f"/_sandbox/order-payment-requests/{request_id}/expire").status_code == 200
    elif status == "VOIDED":
        assert client.post(f"{OPR}/void", json={"orderPaymentRequestId": request_id}).status_code == 200
