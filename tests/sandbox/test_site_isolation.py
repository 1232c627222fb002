"""Several sites: each Wix route sees only the caller's site, and an OAuth token acts for its own instance only."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from local.wix_sandbox import SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID

from .support import OPR, create_order, create_payment_request, error_code, oauth_client, token_response, unwrap_webhook


@pytest.fixture
def site_a(sandbox) -> Iterator[httpx.Client]:
    """Site A through an OAuth token (the API-key ``client`` fixture reaches site A too)."""
    with oauth_client(sandbox.url, SITE_A_INSTANCE_ID) as http:
        yield http


@pytest.fixture
def site_b(sandbox) -> Iterator[httpx.Client]:
    with oauth_client(sandbox.url, SITE_B_INSTANCE_ID) as http:
        yield http


@pytest.fixture
def b_order(client) -> dict:
    return create_order(client, "50.00", instanceId=SITE_B_INSTANCE_ID)


@pytest.fixture
def b_request(site_b, b_order) -> dict:
    return create_payment_request(site_b, b_order["id"], title="B's request")


def _as_if_missing(call: Callable[[str], httpx.Response], hidden_id: str, code: str) -> None:
    """The other site's id gets exactly the 404 a never-existing id gets: nothing tells the caller it is real."""
    missing_id = str(uuid.uuid4())
    hidden, missing = call(hidden_id), call(missing_id)
    assert (hidden.status_code, missing.status_code) == (404, 404), hidden.text
    assert error_code(hidden) == code
    assert hidden.json() == json.loads(missing.text.replace(missing_id, hidden_id))


def _query_ids(client: httpx.Client, query: dict | None = None) -> list[str]:
    response = client.post(f"{OPR}/query", json={"query": query or {}})
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["orderPaymentRequests"]]


# -- orders ----------------------------------------------------------------------------------------------------


def test_get_order_sees_only_the_callers_sites_orders(client, site_a, site_b, order, b_order):
    assert site_b.get(f"/ecom/v1/orders/{b_order['id']}").json()["order"]["id"] == b_order["id"]
    assert site_a.get(f"/ecom/v1/orders/{order['id']}").status_code == 200
    for caller in (client, site_a):
        _as_if_missing(lambda order_id, c=caller: c.get(f"/ecom/v1/orders/{order_id}"), b_order["id"], "ORDER_NOT_FOUND")
    _as_if_missing(lambda order_id: site_b.get(f"/ecom/v1/orders/{order_id}"), order["id"], "ORDER_NOT_FOUND")


def test_creating_a_request_for_another_sites_order_is_404_and_creates_nothing(site_a, site_b, b_order):
    entity = {"amount": {"amount": "5.00"}, "title": "t", "source": {"externalId": "x"}}
    _as_if_missing(
        lambda order_id: site_a.post(OPR, json={"orderPaymentRequest": {**entity, "orderId": order_id}}), b_order["id"], "ORDER_NOT_FOUND"
    )
    assert _query_ids(site_a) == [] and _query_ids(site_b) == []


# -- payment requests ------------------------------------------------------------------------------------------


def test_every_payment_request_route_treats_another_sites_request_as_missing(client, site_a, site_b, b_request):
    request_id = b_request["id"]
    for caller in (client, site_a):
        routes: list[Callable[[str], httpx.Response]] = [
            lambda i, c=caller: c.get(f"{OPR}/{i}"),
            lambda i, c=caller: c.patch(f"{OPR}/{i}", json={"orderPaymentRequest": {"title": "Hijacked"}}),
            lambda i, c=caller: c.post(f"{OPR}/url", json={"orderPaymentRequestId": i}),
            lambda i, c=caller: c.post(f"{OPR}/void", json={"orderPaymentRequestId": i}),
            lambda i, c=caller: c.delete(f"{OPR}/{i}"),
        ]
        for route in routes:
            _as_if_missing(route, request_id, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
    unchanged = site_b.get(f"{OPR}/{request_id}").json()["orderPaymentRequest"]
    assert (unchanged["status"], unchanged["title"]) == ("UNPAID", "B's request")


def test_the_owning_site_can_use_every_route_on_its_request(site_b, b_request):
    request_id = b_request["id"]
    assert site_b.patch(f"{OPR}/{request_id}", json={"orderPaymentRequest": {"title": "Renamed"}}).status_code == 200
    assert site_b.post(f"{OPR}/url", json={"orderPaymentRequestId": request_id}).json()["orderPaymentRequestUrl"].endswith(request_id)
    assert site_b.post(f"{OPR}/void", json={"orderPaymentRequestId": request_id}).status_code == 200
    assert site_b.delete(f"{OPR}/{request_id}").status_code == 200
    assert site_b.get(f"{OPR}/{request_id}").status_code == 404


def test_query_returns_only_the_callers_sites_requests(client, site_a, site_b, order, b_order, b_request):
    a_requests = [create_payment_request(site_a, order["id"], source={"externalId": f"a-{n}"}) for n in range(2)]
    a_ids = [r["id"] for r in reversed(a_requests)]
    assert _query_ids(client) == a_ids
    assert _query_ids(site_a) == a_ids
    assert _query_ids(site_b) == [b_request["id"]]
    # Asking for B's records by name from A finds nothing at all.
    assert _query_ids(site_a, {"filter": {"id": b_request["id"]}}) == []
    assert _query_ids(site_a, {"filter": {"orderId": b_order["id"]}}) == []


def test_a_cursor_carried_to_another_site_pages_only_that_sites_requests(site_a, site_b, order, b_request):
    for n in range(3):
        create_payment_request(site_a, order["id"], source={"externalId": f"a-{n}"})
    first = site_a.post(f"{OPR}/query", json={"query": {"cursorPaging": {"limit": 1}}}).json()
    cursor = first["pagingMetadata"]["cursors"]["next"]
    elsewhere = site_b.post(f"{OPR}/query", json={"query": {"cursorPaging": {"limit": 1, "cursor": cursor}}}).json()
    assert elsewhere["orderPaymentRequests"] == []


def test_each_site_has_its_own_payment_page_switch(client, site_a, site_b, order, b_order, b_request):
    assert client.put("/_sandbox/site", json={"instanceId": SITE_B_INSTANCE_ID, "paymentPagePublished": False}).status_code == 200
    assert client.get("/_sandbox/site", params={"instanceId": SITE_B_INSTANCE_ID}).json() == {"paymentPagePublished": False}
    assert client.get("/_sandbox/site").json() == {"paymentPagePublished": True}
    entity = {"amount": {"amount": "5.00"}, "title": "t", "source": {"externalId": "x"}}
    refused = site_b.post(OPR, json={"orderPaymentRequest": {**entity, "orderId": b_order["id"]}})
    assert (refused.status_code, error_code(refused)) == (428, "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND")
    assert site_b.post(f"{OPR}/url", json={"orderPaymentRequestId": b_request["id"]}).status_code == 428
    assert site_a.post(OPR, json={"orderPaymentRequest": {**entity, "orderId": order["id"]}}).status_code == 200


def test_the_payment_page_and_control_routes_reach_any_sites_request(client, site_b, b_order, b_request):
    page = httpx.post(f"{client.base_url}/pay/{b_request['id']}")
    assert page.status_code == 200 and "Paid" in page.text
    assert site_b.get(f"/ecom/v1/orders/{b_order['id']}").json()["order"]["balanceSummary"]["paid"]["amount"] == "10.00"
    other = create_payment_request(site_b, b_order["id"], source={"externalId": "b-2"})
    assert client.post(f"/_sandbox/order-payment-requests/{other['id']}/expire").status_code == 200
    assert site_b.get(f"{OPR}/{other['id']}").json()["orderPaymentRequest"]["status"] == "EXPIRED"


def test_domain_events_carry_their_requests_site(client, sandbox, receiver, site_b, order, b_order):
    a_request = create_payment_request(client, order["id"])
    b_request = create_payment_request(site_b, b_order["id"])
    httpx.post(f"{client.base_url}/pay/{b_request['id']}")
    client.post(f"{OPR}/void", json={"orderPaymentRequestId": a_request["id"]})
    sandbox.wait_for_webhooks()
    seen = set()
    for body in receiver.bodies():
        _, envelope, event = unwrap_webhook(body, sandbox.keys.public_pem)
        seen.add((event["entityId"], event["slug"], envelope["instanceId"]))
    assert seen == {
        (a_request["id"], "created", SITE_A_INSTANCE_ID),
        (a_request["id"], "voided", SITE_A_INSTANCE_ID),
        (b_request["id"], "created", SITE_B_INSTANCE_ID),
        (b_request["id"], "paid", SITE_B_INSTANCE_ID),
    }
    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert {(d["entityId"], d["instanceId"]) for d in deliveries} == {
        (a_request["id"], SITE_A_INSTANCE_ID),
        (b_request["id"], SITE_B_INSTANCE_ID),
    }


def test_the_call_log_names_each_callers_site(client, anonymous, site_b, order, b_order):
    client.get(f"/ecom/v1/orders/{order['id']}")
    site_b.get(f"/ecom/v1/orders/{b_order['id']}")
    site_b.get(f"/ecom/v1/orders/{order['id']}")
    anonymous.get(f"/ecom/v1/orders/{order['id']}")
    calls = client.get("/_sandbox/calls", params={"endpoint": "getOrder"}).json()["calls"]
    assert [(c["authMode"], c["instanceId"], c["status"]) for c in calls] == [
        ("apiKey", SITE_A_INSTANCE_ID, 200),
        ("oauth", SITE_B_INSTANCE_ID, 200),
        ("oauth", SITE_B_INSTANCE_ID, 404),
        (None, None, 401),
    ]
    only_b = client.get("/_sandbox/calls", params={"instanceId": SITE_B_INSTANCE_ID}).json()["calls"]
    assert [c["endpoint"] for c in only_b] == ["token", "getOrder", "getOrder"]


# -- OAuth tokens ----------------------------------------------------------------------------------------------


def test_a_token_for_an_unknown_instance_is_refused(anonymous):
    for instance_id in (str(uuid.uuid4()), "not-a-guid"):
        response = token_response(anonymous, instance_id)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"


def test_a_token_for_a_site_without_the_app_is_refused_like_an_unknown_one(client, anonymous):
    instance_id = str(uuid.uuid4())
    assert client.post("/_sandbox/sites", json={"instanceId": instance_id}).json()["site"]["installed"] is False
    refused = token_response(anonymous, instance_id)
    unknown = token_response(anonymous, str(uuid.uuid4()))
    assert (refused.status_code, refused.json()) == (unknown.status_code, unknown.json())
    client.post(f"/_sandbox/sites/{instance_id}/install")
    assert token_response(anonymous, instance_id).status_code == 200


def test_removing_the_app_stops_that_sites_tokens_only(client, anonymous, site_a, site_b, b_order):
    order_path = f"/ecom/v1/orders/{b_order['id']}"
    assert site_b.get(order_path).status_code == 200
    assert client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/remove").status_code == 200

    stopped = site_b.get(order_path)
    assert (stopped.status_code, error_code(stopped)) == (401, "UNAUTHENTICATED")
    assert token_response(anonymous, SITE_B_INSTANCE_ID).status_code == 400
    assert site_a.post(f"{OPR}/query", json={}).status_code == 200

    # Reinstalling issues new tokens; the old ones stay dead.
    client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/install")
    assert site_b.get(order_path).status_code == 401
    with oauth_client(client.base_url, SITE_B_INSTANCE_ID) as fresh:
        assert fresh.get(order_path).status_code == 200


def test_the_api_key_is_the_sites_own_and_outlives_the_app(client):
    # An API key belongs to the site's account, not to the app, so removing the app does not touch it.
    client.post(f"/_sandbox/sites/{SITE_A_INSTANCE_ID}/remove")
    assert client.post(f"{OPR}/query", json={}).status_code == 200
