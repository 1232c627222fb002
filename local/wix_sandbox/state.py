"""The sandbox's in-memory store: sites, orders, payment requests, the call and delivery logs, faults and settings.

One re-entrant lock guards everything, so a domain operation can check and change several records atomically.
Orders and payment requests sit in one id-keyed table each (ids are GUIDs, unique across sites as at Wix); which
site owns each one is kept beside them in ``owners``, so the entities stay exactly in Wix's shape. The business
records (sites, orders, payment requests, owners, counters) can be persisted to a JSON file so a developer's
sandbox survives a restart; logs, faults and OAuth tokens are deliberately kept in memory only.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from .config import DEMO_INSTANCE_IDS, SITE_A_INSTANCE_ID
from .formats import utc_now
from .sites import Site, normalize_instance_id

# Endpoint names a fault can target; "*" targets every one of them.
FAULT_ENDPOINTS = ("create", "get", "update", "delete", "query", "url", "void", "getOrder", "searchOrders")
# The token endpoint is not one of Wix's business endpoints, so "*" leaves it alone; it can be targeted by name.
FAULT_TARGETS = (*FAULT_ENDPOINTS, "token", "*")

LOG_LIMIT = 10_000
FIRST_ORDER_NUMBER = 10001


@dataclass(frozen=True)
class Fault:
    """An injected failure for one endpoint (or ``*``); ``count`` None means until cleared."""

    endpoint: str
    status: int | None = None
    count: int | None = None
    latency_ms: int = 0
    timeout: bool = False
    retry_after: int | None = None
    body: str | None = None
    instance_id: str | None = None  # only this site's calls (None: every site's)

    def to_wire(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "instanceId": self.instance_id,
            "status": self.status,
            "count": self.count,
            "latencyMs": self.latency_ms,
            "timeout": self.timeout,
            "retryAfter": self.retry_after,
            "body": self.body,
        }


@dataclass(frozen=True)
class WebhookPolicy:
    """How pushed webhooks are delivered: duplicated, reordered, delayed."""

    copies: int = 1
    shuffle: bool = False
    delay_ms: int = 0

    def to_wire(self) -> dict[str, Any]:
        return {"copies": self.copies, "shuffle": self.shuffle, "delayMs": self.delay_ms}


class IssuedToken(NamedTuple):
    expires_at: datetime
    instance_id: str


class SandboxState:
    """Everything the sandbox remembers, behind one lock.

    ``home_instance_id`` is the site API-key mode reaches and control routes default to; it always exists, as do
    the demo sites.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, home_instance_id: str = SITE_A_INSTANCE_ID):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self.home_instance_id = normalize_instance_id(home_instance_id)
        self._clear()
        if self.path and self.path.exists():
            self._load()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.sites: dict[str, Site] = {}
        self._add_standard_sites()
        self.orders: dict[str, dict[str, Any]] = {}
        self.payment_requests: dict[str, dict[str, Any]] = {}
        # Insertion position per payment request: the tie-breaker that keeps query pages stable.
        self.positions: dict[str, int] = {}
        self.entity_sequences: dict[str, int] = {}
        self.next_position = 1
        self.next_order_number = FIRST_ORDER_NUMBER
        # Order or payment request id -> the instance id of the site it belongs to.
        self.owners: dict[str, str] = {}
        self.calls: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.faults: dict[tuple[str, str | None], Fault] = {}  # (endpoint or "*", instance or None for every site)
        self.webhook_policy = WebhookPolicy()
        self.tokens: dict[str, IssuedToken] = {}

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.commit()

    def commit(self) -> None:
        """Persist the business records, if a file was given. Call with the lock held."""
        if not self.path:
            return
        snapshot = {
            "sites": [site.to_wire() for site in self.sites.values()],
            "orders": self.orders,
            "paymentRequests": self.payment_requests,
            "positions": self.positions,
            "entitySequences": self.entity_sequences,
            "nextPosition": self.next_position,
            "nextOrderNumber": self.next_order_number,
            "owners": self.owners,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves half a file behind.
        temporary = self.path.with_suffix(self.path.suffix + ".tmp")
        temporary.write_text(json.dumps(snapshot, indent=1))
        os.replace(temporary, self.path)

    def _load(self) -> None:
        snapshot = json.loads(self.path.read_text())
        self.orders = snapshot.get("orders", {})
        self.payment_requests = snapshot.get("paymentRequests", {})
        self.positions = snapshot.get("positions", {})
        self.entity_sequences = snapshot.get("entitySequences", {})
        self.next_position = snapshot.get("nextPosition", len(self.positions) + 1)
        self.next_order_number = snapshot.get("nextOrderNumber", FIRST_ORDER_NUMBER)
        # A file from before sites existed has no owners: everything in it was the home site's, and so was its switch.
        self.owners = snapshot.get("owners", {})
        if "sites" in snapshot:
            self.sites = {site.instance_id: site for site in map(Site.from_wire, snapshot["sites"])}
            self._add_standard_sites()
        else:
            self.sites[self.home_instance_id].payment_page_published = snapshot.get("paymentPagePublished", True)

    def _add_standard_sites(self) -> None:
        for instance_id in (self.home_instance_id, *DEMO_INSTANCE_IDS):
            self.sites.setdefault(instance_id, Site(instance_id))

    # -- sites and ownership ---------------------------------------------------------------------------------

    def site(self, instance_id: str) -> Site | None:
        """The stored site (mutable: change it with the lock held), or None."""
        with self.lock:
            return self.sites.get(normalize_instance_id(instance_id))

    def owner_of(self, entity_id: str) -> str:
        """The instance id of the site an order or payment request belongs to."""
        with self.lock:
            return self.owners.get(entity_id, self.home_instance_id)

    def belongs_to(self, entity_id: str, instance_id: str | None) -> bool:
        """Whether a caller scoped to ``instance_id`` may see the entity; None is the unscoped sandbox itself."""
        return instance_id is None or self.owner_of(entity_id) == normalize_instance_id(instance_id)

    # -- counters --------------------------------------------------------------------------------------------

    def allocate_order_number(self) -> str:
        with self.lock:
            number = self.next_order_number
            self.next_order_number += 1
            return str(number)

    def allocate_position(self, request_id: str) -> None:
        with self.lock:
            self.positions[request_id] = self.next_position
            self.next_position += 1

    def next_entity_sequence(self, entity_id: str) -> str:
        """The entity's next ``entityEventSequence``: monotonic per entity, as a string like Wix sends it."""
        with self.lock:
            sequence = self.entity_sequences.get(entity_id, 0) + 1
            self.entity_sequences[entity_id] = sequence
            return str(sequence)

    # -- logs ------------------------------------------------------------------------------------------------

    def record_call(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.calls.append(entry)

    def list_calls(self, endpoint: str | None = None, instance_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                dict(c)
                for c in self.calls
                if (endpoint is None or c.get("endpoint") == endpoint) and (instance_id is None or c.get("instanceId") == instance_id)
            ]

    def record_delivery(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append(entry)

    def list_deliveries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(d) for d in self.deliveries]

    # -- faults ----------------------------------------------------------------------------------------------

    def set_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults[(fault.endpoint, fault.instance_id)] = fault

    def clear_faults(self, endpoint: str | None = None) -> None:
        with self.lock:
            if endpoint is None:
                self.faults.clear()
            else:
                for key in [key for key in self.faults if key[0] == endpoint]:
                    del self.faults[key]

    def list_faults(self) -> list[Fault]:
        with self.lock:
            return list(self.faults.values())

    def take_fault(self, endpoint: str, instance_id: str | None = None) -> Fault | None:
        """The fault that applies to this call of site ``instance_id``, using up one of its count: the site's own
        fault for the endpoint first, then every site's, then the same for ``*``."""
        with self.lock:
            candidates = [(endpoint, instance_id), (endpoint, None)]
            if endpoint in FAULT_ENDPOINTS:
                candidates += [("*", instance_id), ("*", None)]
            key = next((k for k in candidates if k in self.faults and (k[1] is None or k[1] == instance_id)), None)
            if key is None:
                return None
            fault = self.faults[key]
            if fault.count is not None:
                remaining = fault.count - 1
                if remaining <= 0:
                    del self.faults[key]
                else:
                    self.faults[key] = replace(fault, count=remaining)
            return fault

    # -- webhook policy --------------------------------------------------------------------------------------

    def set_webhook_policy(self, policy: WebhookPolicy) -> None:
        with self.lock:
            self.webhook_policy = policy

    def get_webhook_policy(self) -> WebhookPolicy:
        with self.lock:
            return self.webhook_policy

    # -- OAuth tokens ----------------------------------------------------------------------------------------

    def issue_token(self, lifetime: timedelta, instance_id: str) -> str:
        token = "OauthNG.JWS." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = IssuedToken(utc_now() + lifetime, normalize_instance_id(instance_id))
        return token

    def token_instance(self, token: str) -> str | None:
        """The instance a live token is bound to; None if it is unknown, expired, or the app has left that site."""
        with self.lock:
            issued = self.tokens.get(token)
            if issued is None or issued.expires_at <= utc_now():
                return None
            site = self.sites.get(issued.instance_id)
            # Removal revokes tokens already; checking here too keeps a token dead even if that ever changes.
            return issued.instance_id if site is not None and site.installed else None

    def revoke_tokens(self, instance_id: str) -> None:
        """Forget every token of the site, so reinstalling the app does not bring old ones back."""
        with self.lock:
            instance_id = normalize_instance_id(instance_id)
            self.tokens = {token: issued for token, issued in self.tokens.items() if issued.instance_id != instance_id}
