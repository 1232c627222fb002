"""The events the sandbox pushes and how Wix wraps and signs them.

The body Wix POSTs is an RS256 JWT whose ``data`` claim is a JSON string of ``{eventType, instanceId, data,
identity}``; ``data`` and ``identity`` are JSON strings again (wix-api.md §4.2). Two kinds travel that way:
domain events about an order payment request (``wix.ecom.v1.order_payment_request_<slug>``) and the
app-management events ``AppInstalled`` / ``AppRemoved``, whose ``data`` is just ``{appId, ...}``; either way the
site is the envelope's ``instanceId``. ``build_webhook_jwt`` and ``build_app_webhook_jwt`` build exactly those, so
tests and developers can sign events of their own with the sandbox's private key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .config import SITE_A_INSTANCE_ID
from .formats import format_timestamp, new_id, parse_timestamp, utc_now
from .keys import key_id, public_pem_of

ENTITY_FQDN = "wix.ecom.v1.order_payment_request"
ORDER_ENTITY_FQDN = "wix.ecom.v1.order"
ORDER_EVENT_TYPE_PREFIX = "wix.ecom.v1.order_"
EVENT_TYPE_PREFIX = "wix.ecom.v1.order_payment_request_"
APP_INSTALLED = "AppInstalled"
APP_REMOVED = "AppRemoved"
TOKEN_LIFETIME_SECONDS = 300
# Site A: what the sandbox's own events carry for requests made in API-key mode, so self-signed events match them.
DEFAULT_INSTANCE_ID = SITE_A_INSTANCE_ID
DEFAULT_APP_ID = "local-app-id"
# Who installs and removes the app: a site owner, which Wix reports as a Wix user.
SITE_OWNER_USER_ID = "0a11ce00-0000-4000-8000-0000000000aa"


@dataclass(frozen=True)
class EntityEvent:
    """One domain event about an order payment request, captured when it happened, for the request's site."""

    slug: str  # created, updated, deleted, paid, expired, voided
    entity: dict[str, Any]
    event_id: str = field(default_factory=new_id)
    event_time: str = field(default_factory=lambda: format_timestamp(utc_now()))
    sequence: str | None = None
    instance_id: str = DEFAULT_INSTANCE_ID

    @property
    def event_type(self) -> str:
        return EVENT_TYPE_PREFIX + self.slug

    @property
    def entity_id(self) -> str:
        return self.entity["id"]

    @property
    def occurred_at(self) -> datetime:
        return parse_timestamp(self.event_time)

    def envelope(self, app_id: str) -> dict[str, Any]:
        return build_envelope(self, instance_id=self.instance_id, app_id=app_id)

    def delivery_fields(self) -> dict[str, Any]:
        return {"slug": self.slug, "entityId": self.entity_id, "entityEventSequence": self.sequence}


@dataclass(frozen=True)
class AppEvent:
    """The app was installed on or removed from a site (Wix's App Instance Installed / Removed webhooks)."""

    event_type: str  # APP_INSTALLED or APP_REMOVED
    instance_id: str
    # Set only when the site is a copy of another that had the app (Wix's duplicated-site case).
    origin_instance_id: str | None = None
    # Wix's envelope has no event id; this one only ties the sandbox's delivery records together.
    event_id: str = field(default_factory=new_id)
    occurred_at: datetime = field(default_factory=utc_now)

    def envelope(self, app_id: str) -> dict[str, Any]:
        return build_app_envelope(self.event_type, self.instance_id, app_id=app_id, origin_instance_id=self.origin_instance_id)

    def delivery_fields(self) -> dict[str, Any]:
        return {"slug": None, "entityId": None, "entityEventSequence": None}


@dataclass(frozen=True)
class OrderEvent:
    """An order changed outside any payment request (paid another way, canceled): Wix's order domain events,
    ``wix.ecom.v1.order_payment_status_updated`` (body ``{order, previousPaymentStatus}``) and
    ``wix.ecom.v1.order_canceled`` (body ``{order, restockAllItems, sendOrderCanceledEmail, customMessage}``)."""

    slug: str  # payment_status_updated, canceled
    order: dict[str, Any]  # in Get Order's shape
    body: dict[str, Any] = field(default_factory=dict)  # the action's other fields
    event_id: str = field(default_factory=new_id)
    event_time: str = field(default_factory=lambda: format_timestamp(utc_now()))
    sequence: str | None = None
    instance_id: str = DEFAULT_INSTANCE_ID

    @property
    def event_type(self) -> str:
        return ORDER_EVENT_TYPE_PREFIX + self.slug

    @property
    def entity_id(self) -> str:
        return str(self.order["id"])

    @property
    def occurred_at(self) -> datetime:
        return parse_timestamp(self.event_time)

    def envelope(self, app_id: str) -> dict[str, Any]:
        domain_event: dict[str, Any] = {
            "id": self.event_id,
            "entityFqdn": ORDER_ENTITY_FQDN,
            "slug": self.slug,
            "entityId": self.entity_id,
            "eventTime": self.event_time,
            "triggeredByAnonymizeRequest": False,
            # REST carries an action's body as a JSON string (``bodyAsJson``); the SDK shows it parsed as ``body``.
            "actionEvent": {"bodyAsJson": json.dumps({"order": self.order, **self.body})},
        }
        if self.sequence is not None:
            domain_event["entityEventSequence"] = self.sequence
        return {
            "eventType": self.event_type,
            "instanceId": self.instance_id,
            "data": json.dumps(domain_event),
            "identity": json.dumps({"identityType": "WIX_USER", "wixUserId": SITE_OWNER_USER_ID}),
        }

    def delivery_fields(self) -> dict[str, Any]:
        return {"slug": self.slug, "entityId": self.entity_id, "entityEventSequence": self.sequence}


Event = EntityEvent | AppEvent | OrderEvent


def build_domain_event(event: EntityEvent) -> dict[str, Any]:
    """The innermost layer: ``{id, entityFqdn, slug, entityId, eventTime, ..., <body>}``."""
    domain_event: dict[str, Any] = {
        "id": event.event_id,
        "entityFqdn": ENTITY_FQDN,
        "slug": event.slug,
        "entityId": event.entity_id,
        "eventTime": event.event_time,
        "triggeredByAnonymizeRequest": False,
    }
    if event.sequence is not None:
        domain_event["entityEventSequence"] = event.sequence
    if event.slug == "created":
        domain_event["createdEvent"] = {"entity": event.entity}
    elif event.slug == "updated":
        domain_event["updatedEvent"] = {"currentEntity": event.entity}
    elif event.slug == "deleted":
        domain_event["deletedEvent"] = {"deletedEntity": event.entity}
    else:
        domain_event["actionEvent"] = {"body": {"orderPaymentRequest": event.entity}}
    return domain_event


def build_envelope(event: EntityEvent, *, instance_id: str, app_id: str) -> dict[str, Any]:
    """The middle layer: ``{eventType, instanceId, data: "<json>", identity: "<json>"}``."""
    return {
        "eventType": event.event_type,
        "instanceId": instance_id,
        "data": json.dumps(build_domain_event(event)),
        "identity": json.dumps({"identityType": "APP", "appId": app_id}),
    }


def build_app_envelope(event_type: str, instance_id: str, *, app_id: str, origin_instance_id: str | None = None) -> dict[str, Any]:
    """``AppInstalled``: data ``{appId, originInstanceId}`` (null unless the site was duplicated); ``AppRemoved``: ``{appId}``."""
    data: dict[str, Any] = {"appId": app_id}
    if event_type == APP_INSTALLED:
        data["originInstanceId"] = origin_instance_id
    return {
        "eventType": event_type,
        "instanceId": instance_id,
        "data": json.dumps(data),
        "identity": json.dumps({"identityType": "WIX_USER", "wixUserId": SITE_OWNER_USER_ID}),
    }


def sign_event(
    envelope: dict[str, Any],
    private_key: bytes | str | rsa.RSAPrivateKey,
    *,
    kid: str | None = None,
    issued_at: datetime | None = None,
    lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
) -> str:
    """Sign an envelope as Wix does: claims ``{data: "<json>", iat, exp}``, RS256, with a ``kid`` header.

    ``private_key`` is the PEM (e.g. the contents of ``.local/wix-webhook-private.pem``) or a loaded key.
    """
    if isinstance(private_key, str):
        private_key = private_key.encode()
    if isinstance(private_key, bytes):
        private_key = serialization.load_pem_private_key(private_key, password=None)
    if kid is None:
        kid = key_id(public_pem_of(private_key))
    iat = int((issued_at or utc_now()).timestamp())
    claims = {"data": json.dumps(envelope), "iat": iat, "exp": iat + lifetime_seconds}
    return jwt.encode(claims, private_key, algorithm="RS256", headers={"kid": kid})


def build_webhook_jwt(
    slug: str,
    entity: dict[str, Any],
    private_key: bytes | str | rsa.RSAPrivateKey,
    *,
    instance_id: str = DEFAULT_INSTANCE_ID,
    app_id: str = DEFAULT_APP_ID,
    event_id: str | None = None,
    event_time: str | None = None,
    sequence: str | None = None,
    kid: str | None = None,
    issued_at: datetime | None = None,
    lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
) -> str:
    """A complete webhook body for an order payment request event (e.g. ``slug="paid"``)."""
    event = EntityEvent(
        slug=slug,
        entity=entity,
        event_id=event_id or new_id(),
        event_time=event_time or format_timestamp(utc_now()),
        sequence=sequence,
        instance_id=instance_id,
    )
    return sign_event(event.envelope(app_id), private_key, kid=kid, issued_at=issued_at, lifetime_seconds=lifetime_seconds)


def build_app_webhook_jwt(
    event_type: str,
    instance_id: str,
    private_key: bytes | str | rsa.RSAPrivateKey,
    *,
    app_id: str = DEFAULT_APP_ID,
    origin_instance_id: str | None = None,
    kid: str | None = None,
    issued_at: datetime | None = None,
    lifetime_seconds: int = TOKEN_LIFETIME_SECONDS,
) -> str:
    """A complete ``AppInstalled`` / ``AppRemoved`` webhook body for ``instance_id``."""
    envelope = build_app_envelope(event_type, instance_id, app_id=app_id, origin_instance_id=origin_instance_id)
    return sign_event(envelope, private_key, kid=kid, issued_at=issued_at, lifetime_seconds=lifetime_seconds)


def decode_webhook_jwt(token: str, public_key_pem: bytes | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a webhook body and unwrap it: returns ``(envelope, data)`` (the domain event, or ``{appId, ...}``)."""
    claims = jwt.decode(token, public_key_pem, algorithms=["RS256"], options={"verify_aud": False})
    envelope = json.loads(claims["data"])
    return envelope, json.loads(envelope["data"])
