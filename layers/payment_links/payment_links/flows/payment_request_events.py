"""Verified Wix Order Payment Request events applied to the stored requests, each exactly once; Wix is the truth.

load the request (or, never seen before, fetch it from Wix and adopt it as an external request) → the request
must belong to the event's site → a terminal claim (paid, expired, voided, an update to a terminal status) is
confirmed with a Get at Wix and Wix's answer is applied, not the event's → the change is written together with the
event id in one transaction (or, when nothing changes, the event id is marked seen) → a pending
PaymentRequestPaid is published.

An event is a trigger, not evidence: a validly signed ``updated`` carrying ``PAID`` while Wix still says UNPAID
moves nothing. Because a real payment must never be lost to a lagging read, such an event is answered 503 (Wix
delivers it again: +1 min, +10 min, +1 h, …) without being marked seen, and the record's history says so.
A redelivered event finds its id taken and changes nothing. An event older than the last one applied
(``entityEventSequence``) is ignored. Terminal statuses are never left (``apply_status``).
"""

from __future__ import annotations

from collections.abc import Callable
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
    apply_status,
)
from payment_links.domain.reminders import external_reminder_plan, schedule_next
from payment_links.flows.paid_events import publish_pending_paid_event
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.store import EventAlreadySeen, StaleRecord
from payment_links.wix import webhooks

if TYPE_CHECKING:
    from payment_links.config import Settings
    from payment_links.store import PaymentRequestStore
    from payment_links.wix.client import WixClient
    from payment_links.wix.models import OrderPaymentRequest

logger = Logger(child=True)

HANDLED_KINDS = frozenset({"created", "updated", "deleted", "paid", "expired", "voided"})
STATUS_OF_KIND = {"paid": PAID, "expired": EXPIRED, "voided": VOIDED}
# Wix redelivers for about 46 hours; event ids are remembered well past that.
EVENT_TTL_SECONDS = 7 * 24 * 3600
MAX_ATTEMPTS = 5
# How soon Wix should deliver an unconfirmed event again (its own schedule starts at one minute).
UNCONFIRMED_RETRY_AFTER_SECONDS = 60

APPLIED = "applied"  # the request changed (or was recorded for the first time)
UNCHANGED = "unchanged"  # a new event that changes nothing, e.g. a late EXPIRED for a PAID request
STALE = "stale"  # older than the last event applied to this request
DUPLICATE = "duplicate"  # this event id was processed before
IGNORED = "ignored"  # not an event we act on, or about a request Wix does not know
FOREIGN_INSTANCE = "foreign_instance"  # an event of another Wix site than the one this request (deployment) serves

EVENT_CORRECTED = "EVENT_CORRECTED"
EVENT_NOT_CONFIRMED = "EVENT_NOT_CONFIRMED"


class EventDeps(Protocol):
    """What applying an event needs; ``payment_links.deps.Dependencies`` has all of it."""

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


class _WixTruth:
    """The request as Wix has it, asked for at most once per delivery (None: Wix does not know it)."""

    def __init__(self, request_id: str, deps: EventDeps) -> None:
        self._request_id = request_id
        self._deps = deps
        self._asked = False
        self._found: OrderPaymentRequest | None = None

    def get(self) -> OrderPaymentRequest | None:
        if not self._asked:
            try:
                with wix_errors_as_domain():
                    self._found = self._deps.wix.get_payment_request(self._request_id)
            except (errors.PaymentRequestNotFound, errors.WixRefused):
                self._found = None
            self._asked = True
        return self._found


def claimed_status(kind: str, event: webhooks.DomainEvent) -> str | None:
    """The terminal status an event claims for its request, if it claims one."""
    if kind in STATUS_OF_KIND:
        return STATUS_OF_KIND[kind]
    entity = event.entity
    if kind == "updated" and entity is not None and entity.status in TERMINAL_STATUSES:
        return entity.status
    return None


def apply_event(kind: str, event: webhooks.DomainEvent, instance_id: str | None, deps: EventDeps) -> str:
    """Apply one Order Payment Request event; returns its outcome (APPLIED, DUPLICATE...). Raises
    ``errors.EventNotConfirmed`` when Wix does not (yet) confirm the event's terminal claim."""
    wix = _WixTruth(event.entity_id, deps)
    for _ in range(MAX_ATTEMPTS):
        record = deps.store.get(event.entity_id)
        if record is None:
            if deps.store.event_seen(event.id):
                return DUPLICATE
            found = None if kind == "deleted" else wix.get()
            if found is None:  # nothing to delete, or a request Wix does not know (another site's?)
                return IGNORED if deps.store.mark_event_seen(event.id, EVENT_TTL_SECONDS) else DUPLICATE
            record = _adopt(found, instance_id, deps)
        elif _pinned_elsewhere(record, instance_id):
            logger.warning("event of another Wix instance than the request's ignored")
            return FOREIGN_INSTANCE
        claim = claimed_status(kind, event)
        confirmed = None
        if claim is not None and not record.is_terminal:
            confirmed = confirmed_status(record, kind, claim, event, wix, deps)
            if confirmed is None:  # Wix does not know the request
                return IGNORED if deps.store.mark_event_seen(event.id, EVENT_TTL_SECONDS) else DUPLICATE
        outcome, dirty = change_for_event(record, kind, event, instance_id, deps.clock(), confirmed)
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


def _pinned_elsewhere(record: PaymentRequest, instance_id: str | None) -> bool:
    """The request belongs to another Wix instance than the event's (pinned by the first event seen)."""
    return bool(record.instance_id and instance_id and record.instance_id != instance_id)


def confirmed_status(
    record: PaymentRequest, kind: str, claim: str, event: webhooks.DomainEvent, wix: _WixTruth, deps: EventDeps
) -> str | None:
    """What Wix says of a request whose event claims ``claim``: a terminal status to apply, None when Wix does not
    know the request; raises EventNotConfirmed (503, Wix delivers again) while Wix still shows it open."""
    found = wix.get()
    if found is None:
        return None
    if found.status not in TERMINAL_STATUSES:
        _note_unconfirmed(record, kind, claim, found.status, event.id, deps)
        raise errors.EventNotConfirmed(
            f"Wix does not confirm the {kind} event yet (the request is {found.status} there); deliver it again later.",
            details=[{"reason": "not_confirmed", "claimed": claim, "atWix": found.status}],
            retry_after=UNCONFIRMED_RETRY_AFTER_SECONDS,
        )
    return found.status


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def change_for_event(
    record: PaymentRequest,
    kind: str,
    event: webhooks.DomainEvent,
    instance_id: str | None,
    now: datetime,
    confirmed_status: str | None = None,
) -> tuple[str, bool]:
    """Decide what ``event`` does to ``record`` (changing it in place). Returns (outcome, needs a write).

    ``confirmed_status``: what Wix says of the request when the event claims a terminal status; it is what gets
    applied, and the history notes where it differs from the claim. None applies the claim (the caller confirmed)."""
    sequence = event.entity_event_sequence
    if sequence is not None and record.last_event_sequence is not None and sequence <= record.last_event_sequence:
        return STALE, False
    at = _aware(event.event_time) or now
    entity = event.entity
    claim = claimed_status(kind, event)
    moved = False
    if claim is not None:
        if kind == "updated" and entity is not None:
            at = _aware(entity.updated_date) or at
        status = confirmed_status or claim
        moved = apply_status(record, status, at, "webhook")
        if moved and status != claim:
            record.record(at, EVENT_CORRECTED, detail=f"the {kind} event said {claim}; Wix says {status}")
    elif kind == "updated" and entity is not None:
        if not record.is_terminal:
            # Wix only updates UNPAID requests, so an update for a terminal one is stale by definition.
            moved = _refresh_text(record, entity, at)
    elif kind == "deleted" and record.deleted_at is None:
        record.deleted_at = at
        record.stop_reminders("DELETED")
        record.record(at, "DELETED", detail="webhook")
        moved = True
    dirty = moved
    if instance_id and record.instance_id is None:
        record.instance_id = instance_id  # pinned: later events of another instance are not applied
        dirty = True
    if sequence is not None:
        record.last_event_sequence = sequence
        dirty = True
    return (APPLIED if moved else UNCHANGED), dirty


def _note_unconfirmed(record: PaymentRequest, kind: str, claim: str, at_wix: str, event_id: str, deps: EventDeps) -> None:
    """Say on the record, once per event, that an event's claim waits for Wix to confirm it (best effort: the
    503 that makes Wix deliver it again matters more than the note)."""
    if record.version == 0:
        return  # never stored: nothing to annotate
    detail = f"event {event_id}: {kind} says {claim}, Wix still says {at_wix}; waiting for Wix to deliver it again"
    now = deps.clock()

    def note(current: PaymentRequest) -> bool:
        if current.is_terminal or any(h.event == EVENT_NOT_CONFIRMED and h.detail == detail for h in current.history):
            return False
        current.record(now, EVENT_NOT_CONFIRMED, detail=detail)
        return True

    try:
        deps.store.update(record.id, note)
    except Exception:
        logger.warning("could not note an unconfirmed event", extra={"payment_request_id": record.id})


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


def _adopt(opr: OrderPaymentRequest, instance_id: str | None, deps: EventDeps) -> PaymentRequest:
    """A request we never stored, as Wix has it now, recorded as an external request (not yet saved).

    Contact details come from the order's buyer details, so the lost-link flow (and, with RemindExternalRequests,
    the reminders) can serve it. Wix being unavailable raises (the webhook answers 503 and Wix redelivers later).
    """
    customer, order_number, currency = Customer(), opr.order_number, opr.currency
    try:
        with wix_errors_as_domain(not_found=errors.OrderNotFound):
            order = deps.wix.get_order(opr.order_id)
        customer = customer_from_order(order, deps.settings.sms_allowed_countries)
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
        reminders=external_reminder_plan(settings),
    )
    record.record(created_at, "CREATED", detail="external")
    apply_status(record, opr.status, _aware(opr.updated_date) or now, "wix")
    schedule_next(record, settings, now, first_step=0)
    logger.info("adopted an external payment request", extra={"order_id": opr.order_id, "status": record.status})
    return record
