"""The sandbox's in-memory store: orders, payment requests, the call and delivery logs, faults and settings.

One re-entrant lock guards everything, so a domain operation can check and change several records atomically.
The business records (orders, payment requests, counters, the site switch) can be persisted to a JSON file so a
developer's sandbox survives a restart; logs, faults and tokens are deliberately kept in memory only.
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
from typing import Any

from .formats import utc_now

# Endpoint names a fault can target; "*" targets every one of them.
FAULT_ENDPOINTS = ("create", "get", "update", "delete", "query", "url", "void", "getOrder")
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

    def to_wire(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
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


class SandboxState:
    """Everything the sandbox remembers, behind one lock."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.lock = threading.RLock()
        self.path = Path(path) if path else None
        self._clear()
        if self.path and self.path.exists():
            self._load()

    # -- lifecycle -------------------------------------------------------------------------------------------

    def _clear(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.payment_requests: dict[str, dict[str, Any]] = {}
        # Insertion position per payment request: the tie-breaker that keeps query pages stable.
        self.positions: dict[str, int] = {}
        self.entity_sequences: dict[str, int] = {}
        self.next_position = 1
        self.next_order_number = FIRST_ORDER_NUMBER
        self.payment_page_published = True
        self.calls: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self.faults: dict[str, Fault] = {}
        self.webhook_policy = WebhookPolicy()
        self.tokens: dict[str, datetime] = {}

    def reset(self) -> None:
        with self.lock:
            self._clear()
            self.commit()

    def commit(self) -> None:
        """Persist the business records, if a file was given. Call with the lock held."""
        if not self.path:
            return
        snapshot = {
            "orders": self.orders,
            "paymentRequests": self.payment_requests,
            "positions": self.positions,
            "entitySequences": self.entity_sequences,
            "nextPosition": self.next_position,
            "nextOrderNumber": self.next_order_number,
            "paymentPagePublished": self.payment_page_published,
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
        self.payment_page_published = snapshot.get("paymentPagePublished", True)

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

    def list_calls(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(c) for c in self.calls if endpoint is None or c.get("endpoint") == endpoint]

    def record_delivery(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.deliveries.append(entry)

    def list_deliveries(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(d) for d in self.deliveries]

    # -- faults ----------------------------------------------------------------------------------------------

    def set_fault(self, fault: Fault) -> None:
        with self.lock:
            self.faults[fault.endpoint] = fault

    def clear_faults(self, endpoint: str | None = None) -> None:
        with self.lock:
            if endpoint is None:
                self.faults.clear()
            else:
                self.faults.pop(endpoint, None)

    def list_faults(self) -> list[Fault]:
        with self.lock:
            return list(self.faults.values())

    def take_fault(self, endpoint: str) -> Fault | None:
        """The fault that applies to this call, using up one of its count."""
        with self.lock:
            key = endpoint if endpoint in self.faults else None
            if key is None and endpoint in FAULT_ENDPOINTS and "*" in self.faults:
                key = "*"
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

    def issue_token(self, lifetime: timedelta) -> str:
        token = "OauthNG.JWS." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = utc_now() + lifetime
        return token

    def token_is_valid(self, token: str) -> bool:
        with self.lock:
            expiry = self.tokens.get(token)
            return expiry is not None and expiry > utc_now()
