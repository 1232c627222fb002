"""The ``PaymentRequestPaid`` event on the product's EventBridge bus: put once per paid request.

An outbox on the record: ``apply_status`` sets ``paid_event_pending`` in the same write as the PAID
transition, so the intent to publish can never be lost. Whoever moved the record to PAID (webhook, void,
resend reconciliation, sweep) then calls ``publish_pending_paid_event``, which

1. takes a short lease with a conditional write, so two concurrent callers (Wix delivers duplicates in
   parallel) do not both put;
2. puts the event;
3. clears the flag (and the lease).

A crash before the put leaves the flag set: the next caller (a redelivered webhook, the sweep) puts it
once the lease has run out. Only a crash between the put and the clear can repeat the event, so
consumers should treat ``detail.id`` (one paid event per payment request) as their dedupe key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from payment_links.domain.money import format_amount
from payment_links.store import StaleRecord

if TYPE_CHECKING:
    from payment_links.config import Settings
    from payment_links.domain.payment_request import PaymentRequest
    from payment_links.store import PaymentRequestStore

logger = Logger(child=True)

SOURCE = "payment-links"
DETAIL_TYPE = "PaymentRequestPaid"
# Longer than a put with its retries can take, shorter than Wix's first redelivery (1 minute).
LEASE = timedelta(seconds=30)


class PaidEventDeps(Protocol):
    """What publishing needs; ``payment_links.deps.Dependencies`` has all of it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> PaymentRequestStore: ...
    @property
    def events(self) -> Any: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


class PaidEventNotPublished(Exception):
    """EventBridge refused the entry; the flag stays set and the next caller tries again."""


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def paid_event_detail(record: PaymentRequest) -> dict[str, Any]:
    return {
        "id": record.id,
        "orderId": record.order_id,
        "externalId": record.external_id,
        "amount": format_amount(record.amount, record.currency) if record.currency else str(record.amount),
        "currency": record.currency,
        "paidAt": _iso(record.paid_at),
        "instanceId": record.instance_id,
    }


def publish_pending_paid_event(record: PaymentRequest, deps: PaidEventDeps) -> PaymentRequest:
    """Put ``PaymentRequestPaid`` for ``record`` if its outbox flag is set, then clear the flag.

    Returns the record as stored afterwards. Raises when the put fails (the flag stays set).
    """
    if not record.paid_event_pending:
        return record
    now = deps.clock()
    lease_until = now + LEASE
    taken = False

    def take_lease(current: PaymentRequest) -> bool:
        nonlocal taken
        lease = current.paid_event_lease_until
        taken = current.paid_event_pending and (lease is None or lease <= now)
        if taken:
            current.paid_event_lease_until = lease_until
        return taken

    leased = _change(record, take_lease, deps)
    if leased is None or not taken:
        return leased or record  # already published, or another caller holds the lease right now

    try:
        _put(leased, deps)
    except Exception:
        _release(leased.id, lease_until, deps)
        raise

    def clear(current: PaymentRequest) -> bool:
        if not current.paid_event_pending:
            return False
        current.paid_event_pending = False
        current.paid_event_lease_until = None
        return True

    logger.info("PaymentRequestPaid published", extra={"payment_request_id": leased.id})
    return _change(leased, clear, deps) or leased


def _change(record: PaymentRequest, change: Callable[[PaymentRequest], bool], deps: PaidEventDeps) -> PaymentRequest | None:
    """``store.update`` starting from the copy in hand, which right after the write that set the flag is current:
    one consistent read fewer per step (a paid webhook makes 5 calls, not 7). When the copy is stale (the
    version-checked write fails) or says there is nothing to do, the store reads the record and ``change``
    decides on that, exactly as before."""
    current = record.model_copy(deep=True)
    if change(current):
        try:
            return deps.store.save(current)
        except StaleRecord:
            pass
    return deps.store.update(record.id, change)


def _put(record: PaymentRequest, deps: PaidEventDeps) -> None:
    entry: dict[str, Any] = {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(paid_event_detail(record)),
        "EventBusName": deps.settings.event_bus_name,
        "Resources": [],
    }
    if record.paid_at is not None:
        entry["Time"] = record.paid_at
    response = deps.events.put_events(Entries=[entry])
    if response.get("FailedEntryCount"):
        failed = (response.get("Entries") or [{}])[0]
        logger.error(
            "PaymentRequestPaid refused by EventBridge", extra={"payment_request_id": record.id, "error_code": failed.get("ErrorCode")}
        )
        raise PaidEventNotPublished(f"EventBridge refused PaymentRequestPaid for {record.id}: {failed.get('ErrorCode')}")


def _release(request_id: str, lease_until: datetime, deps: PaidEventDeps) -> None:
    """Best effort: drop our lease after a failed put so the next retry need not wait it out."""

    def release(current: PaymentRequest) -> bool:
        if current.paid_event_lease_until != lease_until:
            return False
        current.paid_event_lease_until = None
        return True

    try:
        deps.store.update(request_id, release)
    except Exception:  # the lease expires on its own; the put's failure is what the caller must see
        logger.warning("could not release the paid-event lease", extra={"payment_request_id": request_id})
