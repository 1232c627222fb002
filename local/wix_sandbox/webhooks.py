"""Signed Wix webhooks: the sandbox's key pair, the JWT envelope, and background delivery.

The body Wix POSTs is an RS256 JWT whose ``data`` claim is a JSON string of ``{eventType, instanceId, data,
identity}``, whose own ``data`` is a JSON string of the domain event (wix-api.md §4.2). ``build_webhook_jwt``
builds exactly that, so tests and developers can sign events of their own with the sandbox's private key.
Delivery runs on one background thread so an API call never waits for the receiver; it honours the delivery
policy (copies, shuffle, delay) and retries a failed delivery a few times, quickly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .formats import format_timestamp, new_id, utc_now
from .state import SandboxState

PRIVATE_KEY_FILE = "wix-webhook-private.pem"
PUBLIC_KEY_FILE = "wix-webhook-public.pem"
ENTITY_FQDN = "wix.ecom.v1.order_payment_request"
EVENT_TYPE_PREFIX = "wix.ecom.v1.order_payment_request_"
TOKEN_LIFETIME_SECONDS = 300
DEFAULT_INSTANCE_ID = "local-instance"
DEFAULT_APP_ID = "local-app-id"


# -- keys ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebhookKeys:
    private_pem: bytes
    public_pem: bytes
    # Parsed once: loading a PEM validates the RSA key, which costs tens of milliseconds each time.
    private_key: rsa.RSAPrivateKey = field(compare=False, repr=False)

    @classmethod
    def from_private_pem(cls, private_pem: bytes) -> WebhookKeys:
        private_key = serialization.load_pem_private_key(private_pem, password=None)
        return cls(private_pem, _public_pem(private_key), private_key)

    @cached_property
    def kid(self) -> str:
        return key_id(self.public_pem)


def key_id(public_pem: bytes) -> str:
    """A short, stable ``kid`` derived from the public key (Wix's are short opaque strings)."""
    public_key = serialization.load_pem_public_key(public_pem)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()[:8]


def load_or_create_keys(key_dir: str | Path) -> WebhookKeys:
    """The RSA key pair in ``key_dir``, created on first use and reused after."""
    directory = Path(key_dir)
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if private_path.exists():
        keys = WebhookKeys.from_private_pem(private_path.read_bytes())
        if not public_path.exists() or public_path.read_bytes() != keys.public_pem:
            public_path.write_bytes(keys.public_pem)
        return keys
    directory.mkdir(parents=True, exist_ok=True)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created owner-only before the key is written into it.
    private_path.touch(mode=0o600)
    private_path.write_bytes(private_pem)
    keys = WebhookKeys(private_pem, _public_pem(private_key), private_key)
    public_path.write_bytes(keys.public_pem)
    return keys


def _public_pem(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# -- events and the JWT envelope -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntityEvent:
    """One domain event about an order payment request, captured when it happened."""

    slug: str  # created, updated, deleted, paid, expired, voided
    entity: dict[str, Any]
    event_id: str = field(default_factory=new_id)
    event_time: str = field(default_factory=lambda: format_timestamp(utc_now()))
    sequence: str | None = None

    @property
    def event_type(self) -> str:
        return EVENT_TYPE_PREFIX + self.slug

    @property
    def entity_id(self) -> str:
        return self.entity["id"]


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
        kid = key_id(_public_pem(private_key))
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
    )
    envelope = build_envelope(event, instance_id=instance_id, app_id=app_id)
    return sign_event(envelope, private_key, kid=kid, issued_at=issued_at, lifetime_seconds=lifetime_seconds)


def decode_webhook_jwt(token: str, public_key_pem: bytes | str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a webhook body and unwrap it: returns ``(envelope, domain_event)``."""
    claims = jwt.decode(token, public_key_pem, algorithms=["RS256"], options={"verify_aud": False})
    envelope = json.loads(claims["data"])
    return envelope, json.loads(envelope["data"])


# -- delivery ------------------------------------------------------------------------------------------------


class WebhookDispatcher:
    """Pushes events to the webhook URL from a background thread, following the state's delivery policy."""

    def __init__(
        self,
        state: SandboxState,
        keys: WebhookKeys,
        *,
        url: str | None,
        instance_id: str = DEFAULT_INSTANCE_ID,
        app_id: str = DEFAULT_APP_ID,
        shuffle_window_seconds: float = 0.3,
        request_timeout_seconds: float = 5.0,
        retry_delays_seconds: tuple[float, ...] = (0.2, 0.5),
    ):
        self.state = state
        self.keys = keys
        self.url = url
        self.instance_id = instance_id
        self.app_id = app_id
        self.shuffle_window_seconds = shuffle_window_seconds
        self.request_timeout_seconds = request_timeout_seconds
        self.retry_delays_seconds = retry_delays_seconds
        self._queue: Queue[EntityEvent | None] = Queue()  # None asks the worker to stop
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def start(self) -> None:
        self._stopping.clear()
        # Drop the stop sentinel a previous stop() may have left, keeping any events still waiting.
        waiting = [event for event in list(self._queue.queue) if event is not None]
        self._queue = Queue()
        for event in waiting:
            self._queue.put(event)
        self._thread = threading.Thread(target=self._run, name="wix-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._queue.put(None)  # wakes the worker now rather than at its next poll
        if self._thread:
            self._thread.join(timeout=5)
        if self._client:
            self._client.close()
            self._client = None

    def publish(self, event: EntityEvent) -> None:
        """Queue an event for delivery; never blocks on the receiver."""
        with self._idle:
            self._pending += 1
        self._queue.put(event)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every published event has been delivered (or given up on)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.5)
            except Empty:
                continue
            if first is None:
                break
            policy = self.state.get_webhook_policy()
            batch = [first]
            if policy.shuffle:
                batch += self._collect_for(self.shuffle_window_seconds)
            deliveries = [(event, copy) for event in batch for copy in range(1, policy.copies + 1)]
            if policy.shuffle:
                random.shuffle(deliveries)
            for event, copy in deliveries:
                if policy.delay_ms and self._stopping.wait(policy.delay_ms / 1000):
                    break
                self._deliver(event, copy)
            with self._idle:
                self._pending -= len(batch)
                self._idle.notify_all()

    def _collect_for(self, seconds: float) -> list[EntityEvent]:
        """Events published within the window, so a shuffle has something to reorder."""
        collected = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = self._queue.get(timeout=remaining)
            except Empty:
                break
            if event is None:
                self._stopping.set()
                break
            collected.append(event)
        return collected

    def _deliver(self, event: EntityEvent, copy: int) -> None:
        url = self.url
        attempts = 1 + len(self.retry_delays_seconds)
        for attempt in range(1, attempts + 1):
            body = sign_event(
                build_envelope(event, instance_id=self.instance_id, app_id=self.app_id),
                self.keys.private_key,
                kid=self.keys.kid,
            )
            record = {
                "eventId": event.event_id,
                "eventType": event.event_type,
                "slug": event.slug,
                "entityId": event.entity_id,
                "entityEventSequence": event.sequence,
                "copy": copy,
                "attempt": attempt,
                "url": url,
                "status": None,
                "error": None,
                "at": format_timestamp(utc_now()),
                "jwt": body,
            }
            if url is None:
                record["error"] = "no webhook URL configured"
                self.state.record_delivery(record)
                return
            if self._client is None:
                # Made on first use: building an HTTP client (with its TLS context) is slow, and most runs never need one.
                self._client = httpx.Client(timeout=self.request_timeout_seconds)
            started = time.monotonic()
            try:
                response = self._client.post(url, content=body, headers={"Content-Type": "text/plain"})
                record["status"] = response.status_code
            except httpx.HTTPError as error:
                record["error"] = f"{type(error).__name__}: {error}"
            record["durationMs"] = round((time.monotonic() - started) * 1000)
            self.state.record_delivery(record)
            if record["status"] == 200 or attempt == attempts:
                return
            if self._stopping.wait(self.retry_delays_seconds[attempt - 1]):
                return
