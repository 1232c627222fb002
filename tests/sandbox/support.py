"""Helpers for the sandbox tests: a tiny webhook receiver, polling, and shortcuts for common API calls."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API_HEADERS = {"Authorization": "local-wix-key", "wix-site-id": "local-site"}
OPR = "/ecom/v1/order-payment-requests"
APP_ID = "local-app-id"
APP_SECRET = "local-app-secret"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.02) -> Any:
    """Poll until ``predicate`` returns something truthy; fail the test if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass
class ReceivedWebhook:
    body: str
    content_type: str
    at: float


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class WebhookReceiver:
    """Accepts POSTs on a free port; answers with the queued statuses first, then ``default_status``."""

    default_status: int = 200
    queued_statuses: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0
    received: list[ReceivedWebhook] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True, request_handler=_Quiet)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/webhooks/wix"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies(self) -> list[str]:
        with self._lock:
            return [r.body for r in self.received]

    def _app(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self._lock:
            self.received.append(ReceivedWebhook(request.get_data(as_text=True), request.content_type, time.monotonic()))
            status = self.queued_statuses.pop(0) if self.queued_statuses else self.default_status
        return Response("", status=status)(environ, start_response)


def create_order(client: httpx.Client, balance: str = "40.00", **fields: Any) -> dict[str, Any]:
    body = {"balance": balance, "currency": "USD", "buyer": {"email": "buyer@example.com"}, **fields}
    response = client.post("/_sandbox/orders", json=body)
    assert response.status_code == 201, response.text
    return response.json()["order"]


def create_payment_request(client: httpx.Client, order_id: str, **fields: Any) -> dict[str, Any]:
    entity = {
        "orderId": order_id,
        "amount": {"amount": "10.00"},
        "title": "Deposit",
        "source": {"externalId": "ext-1"},
        **fields,
    }
    response = client.post(OPR, json={"orderPaymentRequest": entity})
    assert response.status_code == 200, response.text
    return response.json()["orderPaymentRequest"]


def error_code(response: httpx.Response) -> str:
    return response.json()["details"]["applicationError"]["code"]


def token_response(client: httpx.Client, instance_id: str) -> httpx.Response:
    """Ask the token endpoint for an access token of ``instance_id`` with the sandbox's app credentials."""
    body = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET, "instance_id": instance_id}
    return client.post("/oauth2/token", json=body)


def oauth_client(base_url: str, instance_id: str) -> httpx.Client:
    """A client acting for one site through an OAuth token, as a Wix app backend does (no site id header)."""
    with httpx.Client(base_url=base_url, timeout=10) as anonymous:
        response = token_response(anonymous, instance_id)
    assert response.status_code == 200, response.text
    return httpx.Client(base_url=base_url, headers={"Authorization": response.json()["access_token"]}, timeout=10)


def unwrap_webhook(token: str, public_pem: bytes) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Verify a pushed webhook with the public key and undo its layers: ``(claims, envelope, data)``."""
    claims = jwt.decode(token, public_pem, algorithms=["RS256"])
    envelope = json.loads(claims["data"])
    return claims, envelope, json.loads(envelope["data"])
