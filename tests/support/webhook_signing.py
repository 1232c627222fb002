"""Signing Wix webhooks in tests, exactly as Wix does: RSA key pairs, the three-layer envelope, and the JWT.

The body Wix POSTs is an RS256 JWT with claims ``{data: "<json>", iat, exp}``; ``data`` is
``{eventType, instanceId, data: "<json>", identity: "<json>"}`` and its ``data`` the domain event
(wix-api.md §4.2). Also here: the forgeries a receiver must refuse (``alg: none``, HS256 keyed with
the public key, a tampered signature). ``default_keys()`` is the pair whose public half ``start_moto()``
puts in the webhook key secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

EVENT_TYPE_PREFIX = "wix.ecom.v1.order_payment_request_"
INSTANCE_ID = "test-instance"


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    public_pem: bytes

    @property
    def public_text(self) -> str:
        return self.public_pem.decode()

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        # Parsed once: loading a PEM validates the RSA key (~60 ms of CPU), which signing every event would repeat.
        key = serialization.load_pem_private_key(self.private_pem, password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key

    @property
    def public_one_line(self) -> str:
        """The public PEM with its newlines flattened, as a CloudFormation parameter carries it."""
        return " ".join(self.public_text.split())


def new_key_pair(bits: int = 2048) -> KeyPair:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private_pem, public_pem)


@lru_cache(maxsize=1)
def default_keys() -> KeyPair:
    return new_key_pair()


# -- the layers of a Wix event -------------------------------------------------------------------------------


def opr_entity(
    request_id: str,
    order_id: str = "order-1",
    status: str = "UNPAID",
    amount: str = "25.00",
    currency: str = "USD",
    title: str = "Balance due",
    description: str | None = None,
    external_id: str = "inv-1",
) -> dict[str, Any]:
    """An Order Payment Request as Wix puts it in an event (REST shape, camelCase)."""
    return {
        "id": request_id,
        "source": {"externalId": external_id, "appId": "test-app"},
        "status": status,
        "orderId": order_id,
        "orderNumber": "10001",
        "amount": {"amount": amount, "formattedAmount": f"${amount}"},
        "currency": currency,
        "title": title,
        "description": description,
        "createdDate": "2026-05-01T10:00:00.000Z",
        "updatedDate": "2026-05-01T10:00:00.000Z",
    }


def domain_event(
    kind: str,
    entity: dict[str, Any],
    *,
    event_id: str | None = None,
    sequence: int | str | None = None,
    event_time: str = "2026-05-02T12:00:00.000Z",
) -> dict[str, Any]:
    """The innermost layer for ``kind`` (created, updated, deleted, paid, expired, voided)."""
    event: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "entityFqdn": "wix.ecom.v1.order_payment_request",
        "slug": kind,
        "entityId": entity["id"],
        "eventTime": event_time,
        "triggeredByAnonymizeRequest": False,
    }
    if sequence is not None:
        event["entityEventSequence"] = str(sequence)
    if kind == "created":
        event["createdEvent"] = {"entity": entity}
    elif kind == "updated":
        event["updatedEvent"] = {"currentEntity": entity}
    elif kind == "deleted":
        event["deletedEvent"] = {"deletedEntity": entity}
    else:
        event["actionEvent"] = {"body": {"orderPaymentRequest": entity}}
    return event


def envelope(event_type: str, data: dict[str, Any], instance_id: str = INSTANCE_ID) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "instanceId": instance_id,
        "data": json.dumps(data),
        "identity": json.dumps({"identityType": "APP", "appId": "test-app"}),
    }


def claims_for(env: dict[str, Any], *, expires_in: int = 300, issued_at: int | None = None) -> dict[str, Any]:
    iat = int(time.time()) if issued_at is None else issued_at
    return {"data": json.dumps(env), "iat": iat, "exp": iat + expires_in}


def sign(claims: dict[str, Any], keys: KeyPair, kid: str = "test-kid") -> str:
    return jwt.encode(claims, keys.private_key, algorithm="RS256", headers={"kid": kid})


def signed_event(
    kind: str,
    entity: dict[str, Any],
    keys: KeyPair | None = None,
    *,
    event_id: str | None = None,
    sequence: int | str | None = None,
    event_time: str = "2026-05-02T12:00:00.000Z",
    instance_id: str = INSTANCE_ID,
    expires_in: int = 300,
) -> str:
    """A complete webhook body, as Wix would POST it, for an Order Payment Request event."""
    inner = domain_event(kind, entity, event_id=event_id, sequence=sequence, event_time=event_time)
    return sign(claims_for(envelope(EVENT_TYPE_PREFIX + kind, inner, instance_id), expires_in=expires_in), keys or default_keys())


def signed_order_event(
    slug: str,
    order: dict[str, Any],
    *,
    event_id: str | None = None,
    body: dict[str, Any] | None = None,
    instance_id: str = INSTANCE_ID,
    keys: KeyPair | None = None,
) -> str:
    """Wix's order events (``payment_status_updated``, ``canceled``): an actionEvent with the body as a JSON string
    (``bodyAsJson``, as REST sends it), about the order."""
    inner = {
        "id": event_id or str(uuid.uuid4()),
        "entityFqdn": "wix.ecom.v1.order",
        "slug": slug,
        "entityId": order["id"],
        "eventTime": "2026-05-02T12:00:00.000Z",
        "actionEvent": {"bodyAsJson": json.dumps({"order": order, **(body or {})})},
    }
    return sign(claims_for(envelope(f"wix.ecom.v1.order_{slug}", inner, instance_id)), keys or default_keys())


# -- forgeries -----------------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())


def unsigned_token(claims: dict[str, Any]) -> str:
    """``alg: none``: no signature at all."""
    return _segments({"alg": "none", "typ": "JWT"}, claims) + "."


def hs256_with_public_key(claims: dict[str, Any], keys: KeyPair) -> str:
    """The classic confusion attack: HMAC-SHA256 keyed with the (public) verification key."""
    signing_input = _segments({"alg": "HS256", "typ": "JWT"}, claims)
    signature = hmac.new(keys.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def with_forged_signature(token: str) -> str:
    """The same header and claims with a different (garbage) signature of the right length."""
    head, payload, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0xFF
    return f"{head}.{payload}.{_b64(bytes(raw))}"


def with_claims_swapped(token: str, claims: dict[str, Any]) -> str:
    """Someone else's claims under a genuine header and signature."""
    head, _payload, signature = token.split(".")
    return f"{head}.{_b64(json.dumps(claims).encode())}.{signature}"
