"""What API Gateway enforces before any function runs, in the template and in the local stack alike:
the API key on every storefront route, the payload limit, and bodies that are not text."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from local.stack import API_KEY, LocalStack
from local.template import api_routes

STOREFRONT = [r for r in api_routes() if r["api_key_required"]]
OPERATOR = [r for r in api_routes() if r["authorizer"] == "AWS_IAM"]
PUBLIC = [r for r in api_routes() if r not in STOREFRONT and r not in OPERATOR]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: str(uuid.uuid4()), path)


def test_the_template_requires_the_api_key_on_every_storefront_route_and_only_there() -> None:
    assert len(STOREFRONT) == 10, STOREFRONT  # create, get, list, void, preview, resend, lost link, settings get and put, stats
    assert all(route["authorizer"] == "SiteKeyAuthorizer" for route in STOREFRONT)
    assert {route["path"] for route in OPERATOR} == {"/sites/{instanceId}/api-keys", "/sites/{instanceId}/api-keys/{keyId}"}
    assert not any(route["api_key_required"] for route in OPERATOR)
    # The webhook authenticates by its JWT signature; unsubscribe links are opened by customers.
    assert {route["path"] for route in PUBLIC} >= {"/webhooks/wix"}
    assert not any(route["api_key_required"] for route in PUBLIC)


@pytest.mark.parametrize("route", STOREFRONT, ids=lambda r: f"{r['method']} {r['path']}")
@pytest.mark.parametrize("key", [None, "", "wrong-key", "x" + API_KEY, API_KEY.upper()], ids=["none", "empty", "wrong", "prefixed", "case"])
def test_a_storefront_route_without_the_right_key_is_refused_at_the_gateway_and_reaches_nothing(
    local_stack: LocalStack, sandbox: httpx.Client, route: dict[str, str], key: str | None
) -> None:
    calls_before = len(sandbox.get("/_sandbox/calls").json()["calls"])
    headers = {} if key is None else {"x-api-key": key}
    body = {"orderId": "order-1", "externalId": "inv-1", "title": "t", "amount": "1.00"}
    response = httpx.request(route["method"], local_stack.api_url + concrete(route["path"]), headers=headers, json=body, timeout=30)
    # No key at all: the site-key authorizer's identity source is missing (401); a wrong one: the key check (403).
    assert (response.status_code, response.json()) == ((401, {"message": "Unauthorized"}) if not key else (403, {"message": "Forbidden"}))
    assert len(sandbox.get("/_sandbox/calls").json()["calls"]) == calls_before  # no function ran


def test_the_webhook_route_needs_no_key_its_signature_is_the_authentication(local_stack: LocalStack) -> None:
    response = httpx.post(local_stack.api_url + "/webhooks/wix", content="not-a-jwt", headers={"Content-Type": "text/plain"}, timeout=30)
    assert response.status_code == 400 and response.json()["error"]["code"] == "MALFORMED_WEBHOOK"


def test_a_body_over_the_payload_limit_is_refused_with_413_before_any_function(local_stack: LocalStack) -> None:
    big = b"{" + b" " * (10 * 1024 * 1024) + b"}"
    response = httpx.post(
        local_stack.api_url + "/payment-requests",
        content=big,
        headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413


def test_a_webhook_body_over_its_own_limit_is_refused_with_413(local_stack: LocalStack) -> None:
    response = httpx.post(local_stack.api_url + "/webhooks/wix", content="a." * 40_000, headers={"Content-Type": "text/plain"}, timeout=30)
    assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_large_json_body_on_a_storefront_route_is_a_4xx_not_a_500(local_stack: LocalStack) -> None:
    body = {"orderId": "o", "externalId": "e", "title": "x" * 1_000_000}
    response = httpx.post(local_stack.api_url + "/payment-requests", json=body, headers={"x-api-key": API_KEY}, timeout=60)
    assert response.status_code == 422 and response.json()["error"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("path", ["/payment-requests", "/payment-requests/x/resend", "/orders/o/payment-requests/resend"])
def test_a_body_that_is_not_utf8_is_a_400_not_a_500(local_stack: LocalStack, path: str) -> None:
    response = httpx.post(
        local_stack.api_url + path,
        content=b"\x12Z\xff-m",
        headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_FAILED"


@pytest.mark.parametrize("route", OPERATOR, ids=lambda r: f"{r['method']} {r['path']}")
@pytest.mark.parametrize("headers", [{}, {"x-api-key": API_KEY}, {"x-operator-key": "wrong"}], ids=["none", "storefront-key", "wrong"])
def test_an_operator_route_needs_iam_and_a_storefront_key_is_not_enough(local_stack: LocalStack, route: dict[str, str], headers) -> None:
    response = httpx.request(route["method"], local_stack.api_url + concrete(route["path"]), headers=headers, timeout=30)
    assert response.status_code == 403
