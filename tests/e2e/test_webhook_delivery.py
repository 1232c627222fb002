"""Wix webhooks as Wix really delivers them: duplicated, reordered, late, and sometimes not from Wix at all."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.wix_sandbox import PRIVATE_KEY_FILE, build_webhook_jwt

from .support import Customer, Stack, wait_until

pytestmark = pytest.mark.e2e


def _history_events(stack: Stack, request_id: str) -> list[str]:
    return [entry["event"] for entry in stack.get(request_id)["history"]]


def test_every_copy_of_a_duplicated_delivery_is_accepted_and_applied_once(stack: Stack):
    stack.set_webhook_policy(copies=3)
    order = stack.create_order(Customer.new())
    created = stack.create_payment_request(order["id"])

    assert stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay").status_code == 200

    paid = wait_until(lambda: len(stack.deliveries(created["id"], "paid")) == 3 and stack.deliveries(created["id"], "paid"))
    assert [d["status"] for d in paid] == [200, 200, 200]
    assert len({d["eventId"] for d in paid}) == 1  # three copies of one event
    assert stack.get(created["id"])["status"] == "PAID"
    assert _history_events(stack, created["id"]).count("PAID") == 1


def test_shuffled_deliveries_end_in_the_latest_state(stack: Stack):
    stack.set_webhook_policy(copies=2, shuffle=True)
    order = stack.create_order(Customer.new())
    created = stack.create_payment_request(order["id"])  # pushes "created" ...
    assert stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay").status_code == 200  # ... and "paid"

    deliveries = wait_until(lambda: len(stack.deliveries(created["id"])) >= 4 and stack.deliveries(created["id"]))
    assert all(d["status"] == 200 for d in deliveries)
    assert stack.get(created["id"])["status"] == "PAID"
    assert _history_events(stack, created["id"]).count("PAID") == 1


def test_a_stale_event_arriving_after_payment_never_moves_the_request_back(stack: Stack, state_dir):
    order = stack.create_order(Customer.new())
    created = stack.create_payment_request(order["id"])
    unpaid_snapshot = stack.wix_request(created["id"])
    assert stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay").status_code == 200
    stack.wait_for_status(created["id"], "PAID")

    # Late events from before the payment, signed with the sandbox's key as a developer can (.local/*.pem).
    private_key = (state_dir / PRIVATE_KEY_FILE).read_bytes()
    earlier = unpaid_snapshot["updatedDate"]
    stale_update = build_webhook_jwt("updated", unpaid_snapshot, private_key, event_time=earlier, sequence="1")
    stale_expiry = build_webhook_jwt("expired", {**unpaid_snapshot, "status": "EXPIRED"}, private_key, event_time=earlier)
    for body in (stale_update, stale_expiry, stale_update):  # the last one is a replay of the first
        response = stack.anonymous.post("/webhooks/wix", content=body, headers={"Content-Type": "text/plain"})
        assert response.status_code == 200, response.text

    view = stack.get(created["id"])
    assert view["status"] == "PAID"
    assert [e for e in _history_events(stack, created["id"]) if e in ("PAID", "EXPIRED", "VOIDED")] == ["PAID"]


def test_an_event_signed_with_another_key_is_refused_and_changes_nothing(stack: Stack):
    order = stack.create_order(Customer.new())
    created = stack.create_payment_request(order["id"])
    entity = {**stack.wix_request(created["id"]), "status": "PAID"}
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = build_webhook_jwt("paid", entity, other_key, event_id=str(uuid.uuid4()))

    response = stack.anonymous.post("/webhooks/wix", content=forged, headers={"Content-Type": "text/plain"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert stack.get(created["id"])["status"] == "UNPAID"
