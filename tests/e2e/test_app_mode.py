"""APP mode over HTTP: one deployment, several Wix sites, each isolated on every route.

Sites A and B are the local stack's demo sites (the app installed through the sandbox's signed AppInstalled
webhooks, each with its storefront key). Nothing of A is visible to or changeable by B's key; webhooks of one site
never touch another; a removed site's keys are refused and its reminders stop. (Runs on the APP-mode stack only:
``conftest.py`` leaves out the SITE-mode copies of these tests.)
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.authorizers import OPERATOR_KEY
from local.stack import DEMO_SITE_KEYS, LocalStack
from local.wix_sandbox import SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID

from .support import Customer, Stack, first_reminder_time, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.app_mode_only]
UNSUBSCRIBE = re.compile(r"(http://127\.0\.0\.1:\d+/unsubscribe/[A-Za-z0-9_.\-]+)")


class Site:
    """One site as its storefront sees the API: its key, and its orders at the sandbox."""

    def __init__(self, stack: Stack, local_stack: LocalStack, instance_id: str, key: str) -> None:
        self.instance_id = instance_id
        self.api = httpx.Client(base_url=local_stack.api_url, headers={"x-api-key": key}, timeout=30)
        self.stack = stack

    def order(self, customer: Customer, balance: str = "40.00") -> dict[str, Any]:
        buyer = {"email": customer.email, "phone": customer.phone, "firstName": customer.first_name, "lastName": "Doe"}
        body = {"balance": balance, "currency": "USD", "buyer": buyer, "instanceId": self.instance_id}
        response = self.stack.sandbox.post("/_sandbox/orders", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json()["order"])

    def create(self, order_id: str, external_id: str, **fields: Any) -> httpx.Response:
        return self.api.post("/payment-requests", json={"orderId": order_id, "externalId": external_id, "title": "Balance", **fields})


@pytest.fixture
def sites(stack: Stack, local_stack: LocalStack) -> Iterator[tuple[Site, Site]]:
    a = Site(stack, local_stack, SITE_A_INSTANCE_ID, DEMO_SITE_KEYS[SITE_A_INSTANCE_ID])
    b = Site(stack, local_stack, SITE_B_INSTANCE_ID, DEMO_SITE_KEYS[SITE_B_INSTANCE_ID])
    yield a, b
    a.api.close()
    b.api.close()


def test_two_sites_side_by_side_see_and_change_only_their_own_on_every_route(stack: Stack, sites: tuple[Site, Site]) -> None:
    a, b = sites
    alice, bob = Customer.new(), Customer.new()
    order_a, order_b = a.order(alice), b.order(bob)
    external_id = f"invoice-{uuid.uuid4().hex[:8]}"  # the same externalId in both sites: unique per site, not globally

    created_a, created_b = a.create(order_a["id"], external_id), b.create(order_b["id"], external_id)
    assert (created_a.status_code, created_b.status_code) == (201, 201), (created_a.text, created_b.text)
    request_a = created_a.json()["id"]

    # B's key on A's things: as if they did not exist.
    assert b.create(order_a["id"], f"steal-{uuid.uuid4().hex[:6]}").json()["error"]["code"] == "ORDER_NOT_FOUND"
    assert b.api.get(f"/payment-requests/{request_a}").json()["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"
    assert b.api.get("/payment-requests", params={"orderId": order_a["id"]}).json() == {"paymentRequests": []}
    assert b.api.post(f"/payment-requests/{request_a}/void").status_code == 404
    assert b.api.post(f"/payment-requests/{request_a}/resend", json={}).status_code == 404
    assert b.api.post(f"/orders/{order_a['id']}/payment-requests/resend", json={}).json()["error"]["code"] in (
        "ORDER_NOT_FOUND",
        "NO_UNPAID_PAYMENT_REQUEST",
    )
    assert stack.wix_request(request_a)["status"] == "UNPAID"  # nothing changed at Wix either

    # Settings are per site.
    saved = b.api.put("/settings", json={"storeName": "Bob's Bikes"})
    assert saved.status_code == 200 and saved.json()["storeName"] == "Bob's Bikes"
    assert a.api.get("/settings").json()["storeName"] != "Bob's Bikes"

    # A's own view is whole; only A's customer heard from A.
    view = a.api.get(f"/payment-requests/{request_a}").json()
    assert view["externalId"] == external_id and view["status"] == "UNPAID"
    assert [r["id"] for r in a.api.get("/payment-requests", params={"orderId": order_a["id"]}).json()["paymentRequests"]] == [request_a]
    assert len(stack.emails_to(alice)) == 1 and len(stack.emails_to(bob)) == 1
    assert "Bob's Bikes" not in stack.emails_to(alice)[0]["text"]


def test_a_payment_on_one_site_reaches_only_that_sites_request(stack: Stack, sites: tuple[Site, Site]) -> None:
    a, b = sites
    alice, bob = Customer.new(), Customer.new()
    request_a = a.create(a.order(alice)["id"], f"pay-a-{uuid.uuid4().hex[:6]}").json()["id"]
    request_b = b.create(b.order(bob)["id"], f"pay-b-{uuid.uuid4().hex[:6]}").json()["id"]

    assert stack.sandbox.post(f"/_sandbox/order-payment-requests/{request_b}/pay").status_code == 200

    wait_until(lambda: b.api.get(f"/payment-requests/{request_b}").json()["status"] == "PAID", what="B's request paid")
    assert a.api.get(f"/payment-requests/{request_a}").json()["status"] == "UNPAID"
    # The sandbox logs a delivery once our answer is back, which can be after the record shows PAID.
    (delivery,) = wait_until(lambda: stack.deliveries(request_b, "paid"), what="B's paid delivery")
    assert delivery["status"] == 200


def test_an_unsubscribe_link_opts_out_only_its_own_sites_request(stack: Stack, sites: tuple[Site, Site]) -> None:
    a, _b = sites
    alice = Customer.new()
    created = a.create(a.order(alice)["id"], f"unsub-{uuid.uuid4().hex[:6]}", reminders={"enabled": True, "schedule": ["P1D", "P3D"]})
    request_a = created.json()["id"]
    stack.sweep(first_reminder_time(created.json()["createdAt"]))
    reminder = next(e for e in stack.emails_to(alice) if e["subject"].startswith("Reminder"))
    link = UNSUBSCRIBE.search(reminder["text"])
    assert link, reminder["text"]

    assert stack.anonymous.post(link.group(1).removeprefix(str(stack.anonymous.base_url).rstrip("/"))).status_code == 200

    assert "EMAIL" in [
        h["detail"].split(":")[0] for h in a.api.get(f"/payment-requests/{request_a}").json()["history"] if h["event"] == "OPTED_OUT"
    ]


def test_operator_routes_make_and_revoke_a_sites_keys_and_a_revoked_key_stops_working(stack: Stack, local_stack: LocalStack) -> None:
    operator = {"x-operator-key": OPERATOR_KEY}
    api = httpx.Client(base_url=local_stack.api_url, timeout=30)
    made = api.post(f"/sites/{SITE_B_INSTANCE_ID}/api-keys", headers=operator)
    assert made.status_code == 201, made.text
    key, key_id = made.json()["apiKey"], made.json()["keyId"]
    assert api.get("/settings", headers={"x-api-key": key}).status_code == 200
    listed = api.get(f"/sites/{SITE_B_INSTANCE_ID}/api-keys", headers=operator).json()["apiKeys"]
    assert key_id in [k["keyId"] for k in listed] and all("apiKey" not in k for k in listed)  # shown once, never again

    assert api.delete(f"/sites/{SITE_B_INSTANCE_ID}/api-keys/{key_id}", headers=operator).status_code == 204
    assert api.delete(f"/sites/{SITE_B_INSTANCE_ID}/api-keys/nope", headers=operator).status_code == 404
    assert api.post(f"/sites/{uuid.uuid4()}/api-keys", headers=operator).json()["error"]["code"] == "SITE_NOT_FOUND"
    assert api.post(f"/sites/{SITE_B_INSTANCE_ID}/api-keys", headers={"x-api-key": DEMO_SITE_KEYS[SITE_B_INSTANCE_ID]}).status_code == 403
    api.close()


def test_a_removed_site_is_refused_its_reminders_stop_and_a_reinstall_brings_it_back(stack: Stack, local_stack: LocalStack) -> None:
    instance_id = str(uuid.uuid4())
    assert stack.sandbox.post("/_sandbox/sites", json={"instanceId": instance_id}).status_code == 201
    assert stack.sandbox.post(f"/_sandbox/sites/{instance_id}/install").status_code == 200
    operator = httpx.Client(base_url=local_stack.api_url, headers={"x-operator-key": OPERATOR_KEY}, timeout=30)
    made = wait_until(lambda: (r := operator.post(f"/sites/{instance_id}/api-keys")).status_code == 201 and r, what="the site registered")
    site = Site(stack, local_stack, instance_id, made.json()["apiKey"])
    carol = Customer.new()
    created = site.create(site.order(carol)["id"], "c-1", reminders={"enabled": True, "schedule": ["P1D"]})
    assert created.status_code == 201, created.text

    assert stack.sandbox.post(f"/_sandbox/sites/{instance_id}/remove").status_code == 200

    refused = wait_until(lambda: (r := site.api.get(f"/payment-requests/{created.json()['id']}")).status_code == 403 and r, what="refused")
    assert refused.json().get("message") or refused.json()["error"]["code"] == "SITE_NOT_ACTIVE"
    summary = stack.sweep(first_reminder_time(created.json()["createdAt"]))
    assert summary["skipped"].get("SITE_REMOVED") == 1 and summary["sent"] == 0
    assert not [e for e in stack.emails_to(carol) if e["subject"].startswith("Reminder")]

    # Installed again within its retention: its data is still there, under a new key (the old ones stay revoked).
    assert stack.sandbox.post(f"/_sandbox/sites/{instance_id}/install").status_code == 200
    again = wait_until(lambda: (r := operator.post(f"/sites/{instance_id}/api-keys")).status_code == 201 and r, what="reinstalled")
    fresh = httpx.Client(base_url=local_stack.api_url, headers={"x-api-key": again.json()["apiKey"]}, timeout=30)
    assert fresh.get(f"/payment-requests/{created.json()['id']}").json()["externalId"] == "c-1"
    for client in (operator, fresh, site.api):
        client.close()
