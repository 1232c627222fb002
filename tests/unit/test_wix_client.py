"""The Wix client over HTTP (respx): auth headers, OAuth token cache, retries, error mapping, paging."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from payment_links.config import Settings
from payment_links.wix.auth import ApiKeyAuth, OAuthAuth
from payment_links.wix.client import WixClient
from payment_links.wix.errors import WixAuthError, WixNotFound, WixPreconditionFailed, WixRejected, WixUnavailable

BASE = "https://wix.test"
SETTINGS = Settings.model_validate({"WIX_BASE_URL": BASE, "WIX_RETRY_WAIT_INITIAL_SECONDS": 0.001, "WIX_RETRY_WAIT_MAX_SECONDS": 0.002})
OPR = {"id": "r1", "orderId": "o1", "status": "UNPAID", "amount": {"amount": "5.00"}, "currency": "USD", "title": "t"}


@pytest.fixture
def http():
    with httpx.Client(timeout=1) as client:
        yield client


def api_key_client(http):
    auth = ApiKeyAuth("key-1", "site-1")
    return WixClient(http, lambda: auth, SETTINGS)


@respx.mock
def test_api_key_mode_sends_the_raw_key_and_site_id(http):
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").respond(json={"orderPaymentRequest": OPR})
    assert api_key_client(http).get_payment_request("r1").id == "r1"
    sent = route.calls.last.request.headers
    assert sent["Authorization"] == "key-1" and sent["wix-site-id"] == "site-1"


@respx.mock
def test_oauth_token_is_cached_and_renewed_and_the_call_repeated_after_a_401(http):
    tokens = iter(["tok-1", "tok-2"])
    token_route = respx.post(f"{BASE}/oauth2/token").mock(
        side_effect=lambda request: httpx.Response(200, json={"access_token": next(tokens), "token_type": "Bearer", "expires_in": 14400})
    )
    seen = []

    def get(request):
        seen.append(request.headers["Authorization"])
        if len(seen) == 3:
            return httpx.Response(401, json={"message": "expired"})
        return httpx.Response(200, json={"orderPaymentRequest": OPR})

    respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").mock(side_effect=get)
    auth = OAuthAuth("app", "secret", "instance")
    client = WixClient(http, lambda: auth, SETTINGS)
    client.get_payment_request("r1")
    client.get_payment_request("r1")
    assert token_route.call_count == 1
    assert json.loads(token_route.calls.last.request.content)["grant_type"] == "client_credentials"
    client.get_payment_request("r1")  # refused once: a fresh token, the same call again, inline
    assert seen == ["tok-1", "tok-1", "tok-1", "tok-2"]
    assert token_route.call_count == 2


@respx.mock
def test_429_with_retry_after_is_retried_then_succeeds(http):
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json={"orderPaymentRequest": OPR})]
    )
    api_key_client(http).get_payment_request("r1")
    assert route.call_count == 2


@respx.mock
def test_long_retry_after_is_not_waited_out_but_reported(http):
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").respond(429, headers={"Retry-After": "120"})
    with pytest.raises(WixUnavailable) as caught:
        api_key_client(http).get_payment_request("r1")
    assert route.call_count == 1 and caught.value.retry_after == 120


@respx.mock
def test_retries_are_bounded(http):
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").respond(503)
    with pytest.raises(WixUnavailable):
        api_key_client(http).get_payment_request("r1")
    assert route.call_count == SETTINGS.wix_max_attempts


@respx.mock
@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (404, "ORDER_PAYMENT_REQUEST_NOT_FOUND", WixNotFound),
        (428, "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND", WixPreconditionFailed),
        (400, None, WixRejected),
        (403, None, WixAuthError),
    ],
)
def test_errors_are_typed_with_wix_code_and_request_id(http, status, code, error):
    body = {"message": "m", "details": {"applicationError": {"code": code, "description": "d"}}} if code else {"message": "m"}
    route = respx.post(f"{BASE}/ecom/v1/order-payment-requests/url").respond(status, json=body, headers={"x-wix-request-id": "abc"})
    with pytest.raises(error) as caught:
        api_key_client(http).get_payment_request_url("r1")
    assert caught.value.code == code and caught.value.request_id == "abc" and caught.value.status == status
    assert route.call_count == 1  # client errors are not retried


@respx.mock
def test_malformed_json_is_unavailable_and_retried(http):
    route = respx.get(f"{BASE}/ecom/v1/orders/o1").mock(
        side_effect=[httpx.Response(200, content=b"{oops"), httpx.Response(200, json={"order": {"id": "o1"}})]
    )
    assert api_key_client(http).get_order("o1").id == "o1"
    assert route.call_count == 2


@respx.mock
def test_query_follows_cursors_and_sends_only_the_cursor_after_the_first_page(http):
    pages = [
        {"orderPaymentRequests": [OPR], "pagingMetadata": {"cursors": {"next": "c2"}, "hasNext": True}},
        {"orderPaymentRequests": [OPR | {"id": "r2"}], "pagingMetadata": {"cursors": {"next": None}, "hasNext": False}},
    ]
    route = respx.post(f"{BASE}/ecom/v1/order-payment-requests/query").mock(side_effect=[httpx.Response(200, json=p) for p in pages])
    found = api_key_client(http).unpaid_for_order("o1")
    assert [r.id for r in found] == ["r1", "r2"]
    first, second = (json.loads(call.request.content)["query"] for call in route.calls)
    assert first["filter"] == {"orderId": {"$eq": "o1"}, "status": {"$eq": "UNPAID"}} and "cursor" not in first["cursorPaging"]
    assert second == {"cursorPaging": {"limit": 100, "cursor": "c2"}}


@respx.mock
def test_order_number_may_be_an_integer_on_the_wire(http):
    respx.get(f"{BASE}/ecom/v1/orders/o1").respond(
        json={"order": {"id": "o1", "number": 10042, "balanceSummary": {"balance": {"amount": "5.0"}}}}
    )
    order = api_key_client(http).get_order("o1")
    assert order.number == "10042" and str(order.balance) == "5.0"


@respx.mock
def test_each_site_has_its_own_oauth_token_and_a_401_for_one_never_touches_another(http):
    from payment_links.wix.auth import auth_from_credentials

    credentials = {"appId": "app-1", "appSecret": "secret-1"}
    issued: list[str] = []

    def token(request: httpx.Request) -> httpx.Response:
        instance = json.loads(request.content)["instance_id"]
        issued.append(instance)
        return httpx.Response(200, json={"access_token": f"tok-{instance}-{len(issued)}", "expires_in": 14400})

    respx.post(f"{BASE}/oauth2/token").mock(side_effect=token)
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1")
    route.side_effect = [
        httpx.Response(200, json={"orderPaymentRequest": OPR}),  # site A
        httpx.Response(200, json={"orderPaymentRequest": OPR}),  # site B
        httpx.Response(401, json={"message": "token expired"}),  # site A: its token is refused once
        httpx.Response(200, json={"orderPaymentRequest": OPR}),  # site A, with a fresh token
        httpx.Response(200, json={"orderPaymentRequest": OPR}),  # site B, still its first token
    ]
    site_a = WixClient(http, lambda: auth_from_credentials("OAUTH", credentials, "", "instance-a"), SETTINGS)
    site_b = WixClient(http, lambda: auth_from_credentials("OAUTH", credentials, "", "instance-b"), SETTINGS)

    site_a.get_payment_request("r1")
    site_b.get_payment_request("r1")
    site_a.get_payment_request("r1")
    site_b.get_payment_request("r1")

    assert issued == ["instance-a", "instance-b", "instance-a"]  # B never needed a new token
    used = [call.request.headers["Authorization"] for call in route.calls]
    assert used == ["tok-instance-a-1", "tok-instance-b-2", "tok-instance-a-1", "tok-instance-a-3", "tok-instance-b-2"]


@respx.mock
def test_a_refused_api_key_is_not_retried(http):
    route = respx.get(f"{BASE}/ecom/v1/order-payment-requests/r1").respond(401, json={"message": "bad key"})
    with pytest.raises(WixAuthError):
        api_key_client(http).get_payment_request("r1")
    assert route.call_count == 1
