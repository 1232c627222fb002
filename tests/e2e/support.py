"""Helpers for the end-to-end tests: HTTP clients for the running stack and the steps every flow repeats.

Everything goes over HTTP, as a merchant's developer, a customer or Wix would: the API (with the API key),
the Wix sandbox (its Wix API, payment pages and ``/_sandbox`` control routes) and ``/_local`` routes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

API_KEY = "local-dev-key"
WIX_HEADERS = {"Authorization": "local-wix-key", "wix-site-id": "local-site"}
OPR = "/ecom/v1/order-payment-requests"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll until ``predicate`` returns something truthy (webhooks arrive asynchronously, as from Wix)."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(0.05)


@dataclass
class Customer:
    email: str
    phone: str
    first_name: str = "Jane"

    @classmethod
    def new(cls) -> Customer:
        tag = uuid.uuid4().hex[:10]
        # Never ending in 99: moto's SNS treats such numbers as opted out.
        return cls(email=f"buyer-{tag}@example.com", phone=f"+1201555{uuid.uuid4().int % 10**4:04d}")


@dataclass
class Stack:
    """Clients for one running local stack."""

    api: httpx.Client  # sends the API key
    anonymous: httpx.Client  # the API port without a key
    sandbox: httpx.Client

    # -- the sandbox ---------------------------------------------------------------------------------------------

    def create_order(self, customer: Customer, balance: str = "25.00") -> dict[str, Any]:
        buyer = {"email": customer.email, "phone": customer.phone, "firstName": customer.first_name, "lastName": "Doe"}
        response = self.sandbox.post("/_sandbox/orders", json={"balance": balance, "currency": "USD", "buyer": buyer})
        assert response.status_code == 201, response.text
        return response.json()["order"]

    def wix_request(self, request_id: str) -> dict[str, Any]:
        response = self.sandbox.get(f"{OPR}/{request_id}", headers=WIX_HEADERS)
        assert response.status_code == 200, response.text
        return response.json()["orderPaymentRequest"]

    def deliveries(self, entity_id: str, slug: str | None = None) -> list[dict[str, Any]]:
        response = self.sandbox.get("/_sandbox/webhooks")
        assert response.status_code == 200, response.text
        return [d for d in response.json()["deliveries"] if d["entityId"] == entity_id and (slug is None or d["slug"] == slug)]

    def set_webhook_policy(self, copies: int = 1, shuffle: bool = False, delay_ms: int = 0) -> None:
        response = self.sandbox.put("/_sandbox/webhooks", json={"copies": copies, "shuffle": shuffle, "delayMs": delay_ms})
        assert response.status_code == 200, response.text

    # -- the API -------------------------------------------------------------------------------------------------

    def create_payment_request(self, order_id: str, **fields: Any) -> dict[str, Any]:
        body = {"orderId": order_id, "externalId": f"e2e-{uuid.uuid4().hex}", "title": "Balance", **fields}
        response = self.api.post("/payment-requests", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, request_id: str) -> dict[str, Any]:
        response = self.api.get(f"/payment-requests/{request_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_status(self, request_id: str, status: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            view = self.get(request_id)
            return view if view["status"] == status else None

        return wait_until(reached, what=f"status {status}")

    def outbox(self, to: str) -> dict[str, list[dict[str, Any]]]:
        response = self.api.get("/_local/outbox.json", params={"to": to})
        assert response.status_code == 200, response.text
        return response.json()

    def emails_to(self, customer: Customer) -> list[dict[str, Any]]:
        return self.outbox(customer.email)["emails"]

    def sms_to(self, customer: Customer) -> list[dict[str, Any]]:
        return self.outbox(customer.phone)["sms"]

    def sweep(self, at: str) -> dict[str, Any]:
        response = self.api.post("/_local/sweep", json={"time": at})
        assert response.status_code == 200, response.text
        return response.json()


def first_reminder_time(created_at: str) -> str:
    """Noon UTC at least one day (the first P1D step) after creation: due, and outside quiet hours."""
    created = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    noon = (created + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    if noon < created + timedelta(days=1):
        noon += timedelta(days=1)
    return noon.astimezone(UTC).isoformat().replace("+00:00", "Z")
