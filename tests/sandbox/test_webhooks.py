"""Signed webhooks: envelope exactly as wix-api.md §4.2, the key pair on disk, delivery policy and retries."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from local.wix_sandbox import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    SITE_A_INSTANCE_ID,
    SandboxServer,
    build_webhook_jwt,
    decode_webhook_jwt,
    load_or_create_keys,
)

from .support import OPR, create_payment_request, wait_until


def _unwrap(token, public_pem):
    """Undo the three layers the way a receiver must: verify, then parse two nested JSON strings."""
    claims = jwt.decode(token, public_pem, algorithms=["RS256"])
    envelope = json.loads(claims["data"])
    return claims, envelope, json.loads(envelope["data"])


def _events(receiver, sandbox):
    sandbox.wait_for_webhooks()
    return [_unwrap(body, sandbox.keys.public_pem)[2] for body in receiver.bodies()]


def test_paying_pushes_a_signed_paid_event_verifiable_with_the_public_key_file(client, sandbox, receiver, order):
    created = create_payment_request(client, order["id"])
    client.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    sandbox.wait_for_webhooks()
    public_pem = (sandbox.config.key_dir / PUBLIC_KEY_FILE).read_bytes()
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")

    paid = [r for r in receiver.received if json.loads(_unwrap(r.body, public_pem)[1]["data"])["slug"] == "paid"]
    assert len(paid) == 1
    assert paid[0].content_type.startswith("text/plain")
    header = jwt.get_unverified_header(paid[0].body)
    assert header["alg"] == "RS256" and header["kid"] == sandbox.keys.kid

    claims, envelope, event = _unwrap(paid[0].body, public_pem)
    assert set(claims) == {"data", "iat", "exp"}
    assert claims["exp"] == claims["iat"] + 300
    assert abs(claims["iat"] - time.time()) < 30
    assert set(envelope) == {"eventType", "instanceId", "data", "identity"}
    assert envelope["eventType"] == "wix.ecom.v1.order_payment_request_paid"
    assert envelope["instanceId"] == SITE_A_INSTANCE_ID
    assert json.loads(envelope["identity"]) == {"identityType": "APP", "appId": "local-app-id"}
    assert uuid.UUID(event["id"])
    assert event["entityFqdn"] == "wix.ecom.v1.order_payment_request"
    assert event["slug"] == "paid"
    assert event["entityId"] == created["id"]
    assert event["eventTime"].endswith("Z")
    entity = event["actionEvent"]["body"]["orderPaymentRequest"]
    assert entity["id"] == created["id"] and entity["status"] == "PAID"


def test_a_token_signed_with_another_key_does_not_verify(client, sandbox, receiver, order, tmp_path):
    create_payment_request(client, order["id"])
    sandbox.wait_for_webhooks()
    other = load_or_create_keys(tmp_path / "other")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(receiver.bodies()[0], other.public_pem, algorithms=["RS256"])


def test_each_change_pushes_its_event_with_the_documented_body_key(client, sandbox, receiver, order):
    created = create_payment_request(client, order["id"])
    client.patch(f"{OPR}/{created['id']}", json={"orderPaymentRequest": {"title": "Renamed"}})
    client.post(f"{OPR}/void", json={"orderPaymentRequestId": created["id"]})
    expiring = create_payment_request(client, order["id"])
    client.post(f"/_sandbox/order-payment-requests/{expiring['id']}/expire")
    client.delete(f"{OPR}/{expiring['id']}")

    events = _events(receiver, sandbox)
    by_slug = {(e["slug"], e["entityId"]): e for e in events}
    assert by_slug[("created", created["id"])]["createdEvent"]["entity"]["status"] == "UNPAID"
    assert by_slug[("updated", created["id"])]["updatedEvent"]["currentEntity"]["title"] == "Renamed"
    assert by_slug[("voided", created["id"])]["actionEvent"]["body"]["orderPaymentRequest"]["status"] == "VOIDED"
    assert by_slug[("expired", expiring["id"])]["actionEvent"]["body"]["orderPaymentRequest"]["status"] == "EXPIRED"
    assert by_slug[("deleted", expiring["id"])]["deletedEvent"]["deletedEntity"]["id"] == expiring["id"]


def test_entity_event_sequence_increases_per_entity(client, sandbox, receiver, order):
    created = create_payment_request(client, order["id"])
    for title in ("a", "b", "c"):
        client.patch(f"{OPR}/{created['id']}", json={"orderPaymentRequest": {"title": title}})
    client.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    events = _events(receiver, sandbox)
    sequences = [int(e["entityEventSequence"]) for e in events if e["entityId"] == created["id"]]
    assert sorted(sequences) == [1, 2, 3, 4, 5]
    assert all(isinstance(e["entityEventSequence"], str) for e in events)


def test_an_automatic_expiry_pushes_an_expired_event(client, sandbox, receiver, order):
    created = create_payment_request(client, order["id"], expirationDate=(datetime.now(UTC) + timedelta(milliseconds=200)).isoformat())
    wait_until(lambda: any(e["slug"] == "expired" and e["entityId"] == created["id"] for e in _events(receiver, sandbox)))


def test_every_delivery_is_recorded_with_the_receivers_status(client, sandbox, receiver, order):
    created = create_payment_request(client, order["id"])
    client.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    sandbox.wait_for_webhooks()
    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert [(d["eventType"], d["entityId"], d["status"]) for d in deliveries] == [
        ("wix.ecom.v1.order_payment_request_created", created["id"], 200),
        ("wix.ecom.v1.order_payment_request_paid", created["id"], 200),
    ]
    assert all(uuid.UUID(d["eventId"]) for d in deliveries)


def test_the_api_call_does_not_wait_for_a_slow_receiver(client, sandbox, receiver, order):
    receiver.delay_seconds = 1.0
    started = time.monotonic()
    create_payment_request(client, order["id"])
    assert time.monotonic() - started < 0.5
    assert sandbox.wait_for_webhooks(timeout=5)


# -- delivery policy -------------------------------------------------------------------------------------------


def test_copies_deliver_each_event_several_times_with_the_same_event_id(client, sandbox, receiver, order):
    assert client.put("/_sandbox/webhooks", json={"copies": 3}).json()["policy"] == {
        "copies": 3,
        "shuffle": False,
        "delayMs": 0,
    }
    create_payment_request(client, order["id"])
    events = _events(receiver, sandbox)
    assert len(events) == 3
    assert len({e["id"] for e in events}) == 1


def test_shuffle_delivers_every_event_but_not_in_the_order_they_happened(client, sandbox, receiver, order):
    client.put("/_sandbox/webhooks", json={"shuffle": True})
    created = [create_payment_request(client, order["id"], source={"externalId": f"s-{n}"}) for n in range(10)]
    events = _events(receiver, sandbox)
    delivered = [e["entityId"] for e in events]
    assert sorted(delivered) == sorted(c["id"] for c in created)
    # 10 events in one shuffle window: the chance of the original order surviving is 1 in 3.6 million.
    assert delivered != [c["id"] for c in created]


def test_delay_holds_each_delivery(client, sandbox, receiver, order):
    client.put("/_sandbox/webhooks", json={"delayMs": 400})
    started = time.monotonic()
    create_payment_request(client, order["id"])
    sandbox.wait_for_webhooks()
    assert receiver.received[0].at - started >= 0.4


def test_invalid_policies_are_400(client):
    for body in ({"copies": 0}, {"copies": "2"}, {"shuffle": "yes"}, {"delayMs": -1}, {"url": 5}):
        assert client.put("/_sandbox/webhooks", json=body).status_code == 400


# -- retries ---------------------------------------------------------------------------------------------------


def test_a_failed_delivery_is_retried_and_each_attempt_recorded(client, sandbox, receiver, order):
    receiver.queued_statuses = [500, 503]
    create_payment_request(client, order["id"])
    sandbox.wait_for_webhooks()
    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 503), (3, 200)]
    assert len({d["eventId"] for d in deliveries}) == 1


def test_an_unreachable_receiver_is_retried_a_bounded_number_of_times(client, sandbox, receiver, order):
    receiver.stop()
    create_payment_request(client, order["id"])
    sandbox.wait_for_webhooks()
    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert [d["attempt"] for d in deliveries] == [1, 2, 3]
    assert all(d["status"] is None and d["error"] for d in deliveries)


def test_the_webhook_url_can_be_switched_off(client, sandbox, receiver, order):
    client.put("/_sandbox/webhooks", json={"url": None})
    create_payment_request(client, order["id"])
    sandbox.wait_for_webhooks()
    assert receiver.received == []
    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert deliveries[0]["status"] is None and "no webhook URL" in deliveries[0]["error"]


# -- keys and the signing helper -------------------------------------------------------------------------------


def test_the_key_pair_is_created_on_first_run_and_reused(tmp_path):
    key_dir = tmp_path / ".local"
    first = SandboxServer(port=0, key_dir=key_dir).keys
    private_pem = (key_dir / PRIVATE_KEY_FILE).read_bytes()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert (key_dir / PUBLIC_KEY_FILE).read_bytes() == first.public_pem
    second = SandboxServer(port=0, key_dir=key_dir).keys
    assert second == first


def test_build_webhook_jwt_signs_an_event_a_developer_can_post(sandbox):
    entity = {"id": "opr-1", "status": "PAID", "amount": {"amount": "5.00"}}
    private_pem = (sandbox.config.key_dir / PRIVATE_KEY_FILE).read_text()
    token = build_webhook_jwt("paid", entity, private_pem, event_id="evt-1", sequence="7")
    envelope, event = decode_webhook_jwt(token, sandbox.keys.public_pem)
    assert envelope["eventType"] == "wix.ecom.v1.order_payment_request_paid"
    assert event["id"] == "evt-1"
    assert event["entityEventSequence"] == "7"
    assert event["actionEvent"]["body"]["orderPaymentRequest"] == entity
    assert jwt.get_unverified_header(token)["kid"] == sandbox.keys.kid


def test_an_expired_self_signed_token_fails_verification(sandbox):
    token = build_webhook_jwt("paid", {"id": "x"}, sandbox.keys.private_pem, issued_at=datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_webhook_jwt(token, sandbox.keys.public_pem)
