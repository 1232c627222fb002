"""Verified Wix Order Payment Request events applied to the stored requests, each exactly once.

verify → unwrap → load the request (or, never seen before, fetch it from Wix and adopt it as an
external request) → decide the change → write the change together with the event id in one
transaction (or, when nothing changes, mark the event id seen) → publish a pending PaymentRequestPaid.

A redelivered event finds its id taken and changes nothing. An event older than the last one applied
(``entityEventSequence``) is ignored. Terminal statuses are never left (``apply_status``), so however the
deliveries are shuffled a PAID request stays PAID. A crash after the write leaves the record's outbox
flag set, so the redelivery still puts the paid event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from payment_links.domain import errors
from payment_links.domain.contacts import Customer, customer_from_order, reachable_channels
from payment_links.domain.payment_request import (
    EXPIRED,
    ORIGIN_EXTERNAL,
    PAID,
    TERMINAL_STATUSES,
    UNPAID,
    VOIDED,
    PaymentRequest,
    ReminderPlan,
    apply_status,
)
from payment_links.domain.reminders import schedule_next
from payment_links.flows.paid_events import publish_pending_paid_event
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.store import EventAlreadySeen, StaleRecord
from payment_links.wix import webhooks

if TYPE_CHECKING:
    from payment_links.config import Settings
    from payment_links.store import PaymentRequestStore
    from payment_links.wix.client import WixClient

logger = Logger(child=True)

HANDLED_KINDS = frozenset({"created", "updated", "deleted", "paid", "expired", "voided"})
STATUS_OF_KIND = {"paid": PAID, "expired": EXPIRED, "voided": VOIDED}
# Wix redelivers for about 46 hours; event ids are remembered well past that.
EVENT_TTL_SECONDS = 7 * 24 * 3600
MAX_ATTEMPTS = 5

APPLIED = "applied"  # the request changed (or was recorded for the first time)
UNCHANGED = "unchanged"  # a new event that changes nothing, e.g. a late EXPIRED for a PAID request
STALE = "stale"  # older than the last event applied to this request
DUPLICATE = "duplicate"  # this event id was processed before
IGNORED = "ignored"  # not an event we act on, or about a request Wix does not know


class WebhookDeps(Protocol):
    """What the webhook needs; ``payment_links.deps.Dependencies`` has all of it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> PaymentRequestStore: ...
    @property
    def wix(self) -> WixClient: ...
    @property
    def events(self) -> Any: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


@dataclass(frozen=True)
class WebhookResult:
    outcome: str
    event_type: str
    kind: str | None = None
    event_id: str | None = None
    request_id: str | None = None


def receive_webhook(body: str, deps: WebhookDeps) -> WebhookResult:
    """Verify a raw webhook body and apply its event. Raises a DomainError for anything rejected."""
    try:
        keys = webhooks.public_keys_from_secret(deps.settings.wix_webhook_keys_secret)
    except webhooks.WebhookKeysMissing as exc:
        logger.error("webhook public key not configured", extra={"problem": str(exc)})
        raise errors.WebhookNotConfigured("The Wix webhook public key is not configured.") from exc
    try:
        envelope = webhooks.verify_webhook(body, keys)
    except webhooks.NotAJwt as exc:
        raise errors.MalformedWebhook(exc.message, details=[{"reason": exc.reason}]) from exc
    except webhooks.InvalidWebhookSignature as exc:
        raise errors.InvalidSignature(exc.message, details=[{"reason": exc.reason}]) from exc
    except webhooks.MalformedEvent as exc:
        logger.error("verified webhook is unreadable", extra={"problem": str(exc)})
        raise errors.MalformedWebhook("The event in the webhook cannot be read.", details=[{"reason": "unreadable"}]) from exc

    kind = envelope.kind
    if kind not in HANDLED_KINDS:
        logger.info("webhook event type ignored", extra={"event_type": envelope.event_type})
        return WebhookResult(IGNORED, envelope.event_type)
    try:
        event = webhooks.parse_domain_event(envelope)
    except webhooks.MalformedEvent as exc:
        logger.error("verified webhook is unreadable", extra={"problem": str(exc), "event_type": envelope.event_type})
        raise errors.MalformedWebhook("The event in the webhook cannot be read.", details=[{"reason": "unreadable"}]) from exc
    logger.append_keys(event_id=event.id, payment_request_id=event.entity_id, event_type=envelope.event_type)
    outcome = apply_event(kind, event, envelope.instance_id, deps)
    logger.info("webhook event processed", extra={"outcome": outcome})
    return WebhookResult(outcome, envelope.event_type, kind, event.id, event.entity_id)


def apply_event(kind: str, event: webhooks.DomainEvent, instance_id: str | None, deps: WebhookDeps) -> str:
    """Apply one Order Payment Request event; returns its outcome (APPLIED, DUPLICATE...)."""
    for _ in range(MAX_ATTEMPTS):
        record = deps.store.get(event.entity_id)
        if record is None:
            if deps.store.event_seen(event.id):
                return DUPLICATE
            record = None if kind == "deleted" else _adopt(event.entity_id, instance_id, deps)
            if record is None:  # nothing to delete, or a request Wix does not know (another site's?)
                return IGNORED if deps.store.mark_event_seen(event.id, EVENT_TTL_SECONDS) else DUPLICATE
        outcome, dirty = change_for_event(record, kind, event, instance_id, deps.clock())
        if record.version == 0:
            outcome, dirty = APPLIED, True  # adopted just now: recording it is the change
        try:
            if dirty:
                record = deps.store.save_with_event(record, event.id, EVENT_TTL_SECONDS)
            elif not deps.store.mark_event_seen(event.id, EVENT_TTL_SECONDS):
                outcome = DUPLICATE
        except EventAlreadySeen:
            outcome = DUPLICATE
            record = deps.store.get(event.entity_id) or record
        except StaleRecord:
            continue  # written meanwhile (a concurrent event, or our own create): decide again on fresh data
        if record.paid_event_pending:
            # Also on a duplicate: the delivery that made the transition may have died before the put.
            publish_pending_paid_event(record, deps)
        return outcome
    raise StaleRecord(event.entity_id)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def change_for_event(
    record: PaymentRequest, kind: str, event: webhooks.DomainEvent, instance_id: str | None, now: datetime
) -> tuple[str, bool]:
    """Decide what ``event`` does to ``record`` (changing it in place). Returns (outcome, needs a write)."""
    sequence = event.entity_event_sequence
    if sequence is not None and record.last_event_sequence is not None and sequence <= record.last_event_sequence:
        return STALE, False
    at = _aware(event.event_time) or now
    entity = event.entity
    moved = False
    if kind in STATUS_OF_KIND:
        moved = apply_status(record, STATUS_OF_KIND[kind], at, "webhook")
    elif kind == "updated" and entity is not None:
        if entity.status in TERMINAL_STATUSES:
            moved = apply_status(record, entity.status, _aware(entity.updated_date) or at, "webhook")
        elif not record.is_terminal:
            # Wix only updates UNPAID requests, so an update for a terminal one is stale by definition.
            moved = _refresh_text(record, entity, at)
    elif kind == "deleted" and record.deleted_at is None:
        record.deleted_at = at
        record.stop_reminders("DELETED")
        record.record(at, "DELETED", detail="webhook")
        moved = True
    dirty = moved
    if instance_id and record.instance_id is None:
        record.instance_id = instance_id
        dirty = True
    if sequence is not None:
        record.last_event_sequence = sequence
        dirty = True
    return (APPLIED if moved else UNCHANGED), dirty


def _refresh_text(record: PaymentRequest, entity: webhooks.WebhookEntity, at: datetime) -> bool:
    changed = []
    if entity.title is not None and entity.title != record.title:
        record.title = entity.title
        changed.append("title")
    if entity.description is not None and entity.description != record.description:
        record.description = entity.description
        changed.append("description")
    if changed:
        record.record(at, "UPDATED", detail=",".join(changed))
    return bool(changed)


def _adopt(request_id: str, instance_id: str | None, deps: WebhookDeps) -> PaymentRequest | None:
    """A request we never stored, as Wix has it now, recorded as an external request (not yet saved).

    Contact details come from the order's buyer details, so the lost-link flow and reminders can serve it.
    Wix being unavailable raises (the webhook answers 503 and Wix redelivers later).
    """
    try:
        with wix_errors_as_domain():
            opr = deps.wix.get_payment_request(request_id)
    except (errors.PaymentRequestNotFound, errors.WixRefused):
        logger.info("webhook about a request Wix does not know")
        return None
    customer, order_number, currency = Customer(), opr.order_number, opr.currency
    try:
        with wix_errors_as_domain(not_found=errors.OrderNotFound):
            order = deps.wix.get_order(opr.order_id)
        customer = customer_from_order(order)
        order_number, currency = order_number or order.number, currency or order.currency
    except (errors.OrderNotFound, errors.WixRefused):
        logger.info("order of an external request not found; stored without contact details")
    now = deps.clock()
    settings = deps.settings
    created_at = _aware(opr.created_date) or now
    record = PaymentRequest(
        id=opr.id,
        order_id=opr.order_id,
        order_number=order_number,
        external_id=opr.source.external_id,
        instance_id=instance_id,
        status=UNPAID,
        amount=opr.amount.amount,
        currency=currency or "",
        title=opr.title,
        description=opr.description,
        expiration_date=_aware(opr.expiration_date),
        created_at=created_at,
        updated_at=now,
        origin=ORIGIN_EXTERNAL,
        customer=customer,
        channels=reachable_channels(customer),
        reminders=ReminderPlan(enabled=settings.reminders_enabled_by_default, schedule=list(settings.default_reminder_schedule)),
    )
    record.record(created_at, "CREATED", detail="external")
    apply_status(record, opr.status, _aware(opr.updated_date) or now, "wix")
    schedule_next(record, settings, now, first_step=0)
    logger.info("adopted an external payment request", extra={"order_id": opr.order_id, "status": record.status})
    return record
