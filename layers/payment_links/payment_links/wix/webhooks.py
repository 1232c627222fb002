"""Wix webhooks: the app's public keys, RS256 verification of the JWT body, and the envelope models.

What Wix POSTs (wix-api.md §4.2) is a JWT whose ``data`` claim is a JSON string ``{eventType, instanceId,
data, identity}``; its own ``data`` is a JSON string of the domain event ``{id, entityId, slug, ...}``.
Only RS256 with one of the configured keys is accepted, and ``exp`` is required; nothing in the token
(not even its ``kid``) is trusted before the signature checks out. Several keys may be configured at once
so a rotated key can be added before Wix switches to it.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from payment_links import safe_json
from payment_links.secrets import get_secret_text

ALGORITHM = "RS256"
EVENT_TYPE_PREFIX = "wix.ecom.v1.order_payment_request_"
# App management (legacy-style events: the event type is the bare message name; the instance is the envelope's).
APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"
# Seconds of clock skew tolerated on exp/iat: Lambda's clock and Wix's may disagree slightly.
CLOCK_SKEW_SECONDS = 30

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)
# Flattened PEMs (CloudFormation parameters are one line) carry spaces or literal "\n" where newlines were.
_PEM_NOISE = re.compile(r"\\n|\\r|\s")
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$")
# A JOSE header is a flat object of a few short fields (Wix's: alg, kid); anything longer or nested is not Wix's.
MAX_HEADER_CHARS = 1024
MAX_HEADER_DEPTH = 2


# -- rejections ----------------------------------------------------------------------------------------------


class WebhookRejected(Exception):
    """The body was refused; ``reason`` is a short metric-friendly word, never secret material."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class NotAJwt(WebhookRejected):
    """The body is not a compact JWS at all (400)."""


class InvalidWebhookSignature(WebhookRejected):
    """A JWT that does not verify: wrong key, forged, expired, wrong algorithm, missing claims (401)."""


class WebhookKeysMissing(Exception):
    """No usable public key is configured: the operator must set the secret (our fault, not the sender's)."""


# -- keys ----------------------------------------------------------------------------------------------------


def _normalise_pem(kind: str, body: str) -> str:
    b64 = _PEM_NOISE.sub("", body)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return "\n".join([f"-----BEGIN {kind}-----", *lines, f"-----END {kind}-----", ""])


def _pem_texts(secret_text: str) -> list[str]:
    text = secret_text.strip()
    if text.startswith("["):
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise WebhookKeysMissing("the webhook key secret is neither a PEM nor a JSON list of PEMs") from exc
        if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
            raise WebhookKeysMissing("the webhook key secret's JSON must be a list of PEM strings")
        return [pem for entry in entries for pem in _pem_texts(entry)]
    blocks = _PEM_BLOCK.findall(text)
    if blocks:
        return [_normalise_pem(kind, body) for kind, body in blocks]
    # A bare base64 SubjectPublicKeyInfo, as some dashboards show it without the armour lines.
    return [_normalise_pem("PUBLIC KEY", text)] if text else []


@lru_cache(maxsize=8)
def parse_public_keys(secret_text: str) -> tuple[RSAPublicKey, ...]:
    """The RSA public keys in a secret's text: one PEM, several PEMs, or a JSON list of PEMs.

    Cached by text, so a warm function parses a key once and a rotated secret is parsed when it changes.
    """
    keys = []
    for pem in _pem_texts(secret_text):
        try:
            key = load_pem_public_key(pem.encode())
        except ValueError as exc:
            raise WebhookKeysMissing("the webhook key secret holds a PEM that is not a public key") from exc
        if not isinstance(key, RSAPublicKey):
            raise WebhookKeysMissing("the webhook key secret holds a non-RSA key; Wix signs with RS256")
        keys.append(key)
    if not keys:
        raise WebhookKeysMissing("the webhook key secret is empty")
    return tuple(keys)


def public_keys_from_secret(secret_name: str) -> tuple[RSAPublicKey, ...]:
    """The configured keys, read through the cached Secrets Manager provider."""
    try:
        text = get_secret_text(secret_name)
    except Exception as exc:  # the provider wraps every AWS failure in its own error types
        raise WebhookKeysMissing(f"the webhook key secret cannot be read ({type(exc).__name__})") from exc
    return parse_public_keys(text)


# -- envelope models -----------------------------------------------------------------------------------------


class WebhookModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Identity(WebhookModel):
    identity_type: str | None = None
    member_id: str | None = None
    wix_user_id: str | None = None
    app_id: str | None = None
    anonymous_visitor_id: str | None = None


class WebhookEnvelope(WebhookModel):
    """The middle layer. ``data`` stays a string until we know the event is one we handle."""

    event_type: str
    instance_id: str | None = None
    data: str
    identity: Identity | None = None
    # When Wix signed it (the token's ``iat``): app-lifecycle events carry no sequence, so this orders them.
    issued_at: int | None = None

    @field_validator("data", mode="before")
    @classmethod
    def _data_as_text(cls, value: Any) -> Any:
        return json.dumps(value) if isinstance(value, dict) else value

    @field_validator("identity", mode="before")
    @classmethod
    def _identity(cls, value: Any) -> Any:
        # Stringified JSON per the docs; it only informs logs, so an unreadable one is dropped, not fatal.
        if isinstance(value, str):
            try:
                value = safe_json.loads(value)
            except ValueError:
                return None
        return value if isinstance(value, dict) else None

    @property
    def kind(self) -> str | None:
        """``paid``, ``updated``... for Order Payment Request events; None for any other event type."""
        return self.event_type.removeprefix(EVENT_TYPE_PREFIX) if self.event_type.startswith(EVENT_TYPE_PREFIX) else None


class WebhookEntity(WebhookModel):
    """The payment request inside an event. Lenient: a preview API's payloads may lack fields."""

    id: str | None = None
    status: str | None = None
    title: str | None = None
    description: str | None = None
    updated_date: datetime | None = None


class _CreatedBody(WebhookModel):
    entity: WebhookEntity | None = None


class _UpdatedBody(WebhookModel):
    current_entity: WebhookEntity | None = None


class _DeletedBody(WebhookModel):
    deleted_entity: WebhookEntity | None = None


class _ActionPayload(WebhookModel):
    order_payment_request: WebhookEntity | None = None


class _ActionBody(WebhookModel):
    body: _ActionPayload | None = None


class DomainEvent(WebhookModel):
    """The innermost layer: one event about one payment request. ``id`` is the dedupe key."""

    id: str = Field(min_length=1, max_length=200)
    entity_id: str = Field(min_length=1, max_length=200)
    slug: str | None = None
    event_time: datetime | None = None
    entity_event_sequence: int | None = None
    created_event: _CreatedBody | None = None
    updated_event: _UpdatedBody | None = None
    deleted_event: _DeletedBody | None = None
    action_event: _ActionBody | None = None

    @field_validator("entity_event_sequence", mode="before")
    @classmethod
    def _sequence(cls, value: Any) -> Any:
        # Documented as optional and opaque-ish: use it only when it reads as a whole number.
        if isinstance(value, str):
            return int(value) if value.strip().isdigit() else None
        return value if isinstance(value, int) else None

    @property
    def entity(self) -> WebhookEntity | None:
        if self.action_event and self.action_event.body:
            return self.action_event.body.order_payment_request
        if self.updated_event:
            return self.updated_event.current_entity
        if self.created_event:
            return self.created_event.entity
        if self.deleted_event:
            return self.deleted_event.deleted_entity
        return None


class MalformedEvent(Exception):
    """A verified envelope whose event data does not read as an Order Payment Request event."""


def parse_domain_event(envelope: WebhookEnvelope) -> DomainEvent:
    try:
        return DomainEvent.model_validate(safe_json.loads(envelope.data))
    except (ValidationError, ValueError) as exc:
        raise MalformedEvent(f"{envelope.event_type}: unreadable event data") from exc


# -- verification --------------------------------------------------------------------------------------------


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, read only to tell a JWT from anything else and to refuse other algorithms.

    Only the header segment is decoded here, so a token cut short in its signature is an invalid
    signature (401), not "not a JWT" (400).
    """
    if not _COMPACT_JWS.match(token):
        raise NotAJwt("malformed", "The body is not a JWT.")
    segment = token.split(".", 1)[0]
    if len(segment) > MAX_HEADER_CHARS:
        raise NotAJwt("malformed", "The body is not a JWT.")
    try:
        # Depth-limited: a header of ``[[[[…`` nested a thousand deep is refused, not recursed into.
        header = safe_json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)), max_depth=MAX_HEADER_DEPTH)
    except (ValueError, binascii.Error) as exc:
        raise NotAJwt("malformed", "The body is not a JWT.") from exc
    if not isinstance(header, dict):
        raise NotAJwt("malformed", "The body is not a JWT.")
    return header


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("the envelope is not a JSON object")
    return value


def verify_webhook(body: str, keys: tuple[RSAPublicKey, ...]) -> WebhookEnvelope:
    """Verify ``body`` (the raw JWT, as received) against any of ``keys`` and unwrap its envelope."""
    token = body.strip()
    header = _header(token)
    if header.get("alg") != ALGORITHM:
        # Refused before any key is used: "none" and HS256-with-the-public-key tricks end here.
        raise InvalidWebhookSignature("algorithm", "The webhook token is not signed with RS256.")
    claims: dict[str, Any] | None = None
    for key in keys:
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"require": ["exp"], "verify_aud": False},
                leeway=CLOCK_SKEW_SECONDS,
            )
            break
        except jwt.InvalidSignatureError:
            continue  # maybe the next key (rotation)
        except jwt.ExpiredSignatureError as exc:
            raise InvalidWebhookSignature("expired", "The webhook token has expired.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidWebhookSignature("claims", "The webhook token has no expiry.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidWebhookSignature("claims", "The webhook token is not valid yet.") from exc
        except jwt.InvalidTokenError as exc:
            # Truncated or tampered segments: the shape of a JWT, but nothing we can verify.
            raise InvalidWebhookSignature("signature", "The webhook token cannot be verified.") from exc
        except (RecursionError, ValueError, TypeError) as exc:
            # Whatever else the JWT library trips over in a hostile token is still a token we cannot verify.
            raise InvalidWebhookSignature("signature", "The webhook token cannot be verified.") from exc
    if claims is None:
        raise InvalidWebhookSignature("signature", "The webhook signature does not match the Wix app's public key.")
    data = claims.get("data")
    issued_at = claims.get("iat") if isinstance(claims.get("iat"), int) else None
    try:
        if isinstance(data, str):
            return WebhookEnvelope.model_validate({**_object(safe_json.loads(data)), "issuedAt": issued_at})
        if isinstance(data, dict):  # the docs' sample shows an object here, the SDK a string: take both
            return WebhookEnvelope.model_validate({**data, "issuedAt": issued_at})
    except (ValidationError, ValueError) as exc:
        raise MalformedEvent("unreadable webhook envelope") from exc
    raise MalformedEvent("verified token without a data claim")
