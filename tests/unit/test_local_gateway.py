"""The local API Gateway: the REST proxy events it builds and how it reads handler responses (no servers)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from werkzeug.test import Client

from local.functions import FunctionNotBuilt
from local.gateway import Gateway, werkzeug_path

ROUTES = [
    {"function": "Orders", "path": "/orders/{orderId}/items", "method": "POST", "api_key_required": True},
    {"function": "Orders", "path": "/orders/{orderId}", "method": "GET", "api_key_required": True},
    {"function": "Hook", "path": "/hooks/wix", "method": "POST", "api_key_required": False},
    {"function": "Missing", "path": "/missing", "method": "GET", "api_key_required": False},
]


class FakeFunction:
    def __init__(self, response: Any = None, error: Exception | None = None):
        self.events: list[dict[str, Any]] = []
        self.response = response if response is not None else {"statusCode": 200, "body": "{}"}
        self.error = error

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self.error:
            raise self.error
        return self.response


class FakeOutbox:
    observed = 0

    def observe(self) -> None:
        self.observed += 1

    def to_json(self, to: str | None = None) -> dict[str, Any]:
        return {"emails": [], "sms": []}


def make_gateway(functions: dict[str, FakeFunction], sweeps: list[Any] | None = None) -> Client:
    def run_sweep(at: datetime | None) -> dict[str, Any]:
        (sweeps if sweeps is not None else []).append(at)
        return {"sent": 0}

    gateway = Gateway(ROUTES, functions, FakeOutbox(), run_sweep, api_key="k", stage="v1", binary_media_types=["image/*"])  # type: ignore[arg-type]
    return Client(gateway)


def test_template_paths_become_werkzeug_rules():
    assert werkzeug_path("/payment-requests/{id}/void") == "/payment-requests/<id>/void"
    assert werkzeug_path("/files/{proxy+}") == "/files/<path:proxy>"


def test_a_request_becomes_a_rest_proxy_event_with_path_and_query_parameters():
    orders = FakeFunction()
    client = make_gateway({"Orders": orders})

    response = client.post("/orders/o-1/items?tag=a&tag=b&one=1", json={"x": 1}, headers={"x-api-key": "k", "X-Trace": "t"})

    assert response.status_code == 200
    (event,) = orders.events
    assert event["resource"] == "/orders/{orderId}/items" and event["path"] == "/orders/o-1/items"
    assert event["httpMethod"] == "POST" and event["pathParameters"] == {"orderId": "o-1"}
    assert event["queryStringParameters"] == {"tag": "b", "one": "1"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "one": ["1"]}
    assert event["headers"]["X-Trace"] == "t"
    assert json.loads(event["body"]) == {"x": 1} and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "v1" and context["resourcePath"] == "/orders/{orderId}/items"
    assert context["path"] == "/v1/orders/o-1/items" and context["identity"]["apiKey"] == "k"
    assert response.headers["x-amzn-RequestId"] == context["requestId"]


def test_a_binary_body_is_base64_encoded_and_a_text_one_is_not():
    hook = FakeFunction()
    client = make_gateway({"Hook": hook})

    client.post("/hooks/wix", data=b"\xff\xfe\x00raw", headers={"Content-Type": "application/octet-stream"})
    client.post("/hooks/wix", data=b"PNG", headers={"Content-Type": "image/png"})  # a binary media type
    client.post("/hooks/wix", data="eyJ.a.b", headers={"Content-Type": "text/plain"})

    (raw, png, text) = hook.events
    assert raw["isBase64Encoded"] is True and base64.b64decode(raw["body"]) == b"\xff\xfe\x00raw"
    assert png["isBase64Encoded"] is True and base64.b64decode(png["body"]) == b"PNG"
    assert (text["body"], text["isBase64Encoded"]) == ("eyJ.a.b", False)


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}])
def test_a_route_that_needs_the_key_is_forbidden_without_it_and_the_function_is_not_invoked(headers):
    orders = FakeFunction()
    response = make_gateway({"Orders": orders}).get("/orders/o-1", headers=headers)
    assert (response.status_code, response.json) == (403, {"message": "Forbidden"})
    assert orders.events == []


def test_unknown_routes_and_methods_are_missing_authentication_token():
    orders = FakeFunction()
    client = make_gateway({"Orders": orders})
    for response in (client.get("/nowhere"), client.delete("/orders/o-1", headers={"x-api-key": "k"})):
        assert (response.status_code, response.json) == (403, {"message": "Missing Authentication Token"})
    assert client.head("/orders/o-1", headers={"x-api-key": "k"}).status_code == 403  # werkzeug would answer HEAD for GET
    assert orders.events == []


@pytest.mark.parametrize(
    "function",
    [FakeFunction(error=RuntimeError("boom")), FakeFunction(response={"body": "no status"}), FakeFunction(error=FunctionNotBuilt("x"))],
)
def test_a_failing_or_malformed_handler_is_a_502_like_api_gateway(function):
    response = make_gateway({"Hook": function}).post("/hooks/wix", data="x")
    assert (response.status_code, response.json) == (502, {"message": "Internal server error"})


def test_proxy_responses_are_read_with_multi_value_headers_and_base64_bodies():
    hook = FakeFunction(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "image/png"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )
    response = make_gateway({"Hook": hook}).post("/hooks/wix", data="x")
    assert response.status_code == 201 and response.data == b"\x89PNG"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "image/png"


def test_sweep_runs_at_the_given_time_or_now_and_refuses_a_time_that_is_not_iso_8601():
    sweeps: list[Any] = []
    client = make_gateway({}, sweeps)

    assert client.post("/_local/sweep", json={"time": "2030-01-02T12:00:00Z"}).json == {"sent": 0}
    assert client.post("/_local/sweep").status_code == 200
    bad = client.post("/_local/sweep", json={"time": "soon"})
    not_json = client.post("/_local/sweep", data="{", headers={"Content-Type": "application/json"})

    assert sweeps == [datetime(2030, 1, 2, 12, tzinfo=UTC), None]
    assert bad.status_code == 422 and bad.json["error"]["code"] == "VALIDATION_FAILED"
    assert not_json.status_code == 400 and not_json.json["error"]["code"] == "VALIDATION_FAILED"


def test_the_outbox_routes_answer_and_unknown_local_routes_are_404():
    client = make_gateway({})
    assert client.get("/_local/outbox.json").json == {"emails": [], "sms": []}
    assert "Outbox" in client.get("/_local/outbox").get_data(as_text=True)
    assert client.get("/_local/nothing").json["error"]["code"] == "NOT_FOUND"
