"""No request can make the product call anywhere but the configured Wix base URL, or another Wix endpoint than
the one its flow means: ids from input are one path segment, never a path, a query or a host."""

from __future__ import annotations

import contextlib

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from payment_links.config import Settings
from payment_links.wix.auth import ApiKeyAuth
from payment_links.wix.client import OPR_PATH, WixClient

from tests.support.lambda_runtime import api_event, invoke, load_function

BASE = "https://wix.test"
create_app = load_function("create")


def client_recording(seen: list[httpx.Request]) -> WixClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={"message": "not found"})

    settings_ = Settings(WIX_BASE_URL=BASE, WIX_MAX_ATTEMPTS=1)
    return WixClient(httpx.Client(transport=httpx.MockTransport(answer)), lambda: ApiKeyAuth("k", "s"), settings_)


TRICKS = ["..", ".", "../orders/x", "a/../../b", "x?y=1", "x#f", "@evil.test", "//evil.test/x", "%2e%2e"]


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(st.text(min_size=1, max_size=60), st.sampled_from(TRICKS)))
def test_an_id_from_input_stays_one_path_segment_on_the_configured_host(value: str) -> None:
    seen: list[httpx.Request] = []
    wix = client_recording(seen)
    for call, prefix in (
        (wix.get_order, "/ecom/v1/orders/"),
        (wix.get_payment_request, OPR_PATH + "/"),
        (wix.delete_payment_request, OPR_PATH + "/"),
    ):
        with contextlib.suppress(Exception):  # the 404 we answer with; only the URL matters here
            call(value)
        request = seen[-1]
        assert request.url.host == "wix.test" and request.url.scheme == "https"
        assert request.url.query == b"" and request.url.fragment == ""
        raw_path = request.url.raw_path.decode()
        assert raw_path.startswith(prefix) and "/" not in raw_path[len(prefix) :], raw_path


def test_an_order_id_that_walks_up_the_path_reaches_no_other_wix_endpoint(aws, wix) -> None:
    target = wix.add_order()
    status, body, _ = invoke(
        create_app,
        api_event("POST", "/payment-requests", {"orderId": f"../orders/{target}", "externalId": "inv-1", "title": "t", "amount": "1.00"}),
    )
    assert status == 404 and body["error"]["code"] == "ORDER_NOT_FOUND"


def test_the_wix_base_url_comes_from_configuration_not_from_the_request(aws, wix) -> None:
    order_id = wix.add_order()
    headers = {"Host": "evil.test", "X-Forwarded-Host": "evil.test", "Forwarded": "host=evil.test"}
    body = {"orderId": order_id, "externalId": "inv-1", "title": "t", "amount": "1.00"}
    status, _, _ = invoke(create_app, api_event("POST", "/payment-requests", body, headers=headers))
    assert status == 201
    assert wix.count("getOrder") == 1 and wix.count("create") == 1  # every call went to the configured base URL
