"""The payment request record we keep, and the one place its status may change.

Lifecycle: UNPAID → PAID | EXPIRED | VOIDED. Terminal states are never left, so a late or replayed
event can never move a request back; ``DELETED`` is a mark beside the status, not a status.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.alias_generators import to_camel

from payment_links.domain.contacts import Customer

UNPAID = "UNPAID"
PAID = "PAID"
EXPIRED = "EXPIRED"
VOIDED = "VOIDED"
TERMINAL_STATUSES = frozenset({PAID, EXPIRED, VOIDED})

ORIGIN_API = "API"
ORIGIN_EXTERNAL = "EXTERNAL"  # created at Wix by someone else; we learned of it by webhook or query

KIND_INITIAL = "INITIAL"
KIND_RESEND = "RESEND"
KIND_REMINDER = "REMINDER"

SEND_SENT = "SENT"
SEND_FAILED = "FAILED"
SEND_SKIPPED = "SKIPPED"


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class Notification(CamelModel):
    channel: str
    kind: str
    step: int | None = None  # a reminder's step, 1-based
    stage: str | None = None  # the wording: INITIAL, FRIENDLY, FIRM, FINAL (messages.render)
    locale: str | None = None
    segments: int | None = None  # SMS only
    status: str
    message_id: str | None = None
    at: datetime
    reason: str | None = None
    # What SES said afterwards (e-mail only): DELIVERED, BOUNCED, COMPLAINED (functions/delivery_events), and when.
    delivery: str | None = None
    delivery_at: datetime | None = None


class Click(CamelModel):
    """A customer opened a tracked link (LinkMode TRACKED): which message's link, and when."""

    channel: str
    kind: str
    step: int | None = None
    at: datetime


class Attribution(CamelModel):
    """What a payment is credited to: the last message sent before it (and, with tracked links, the last click)."""

    channel: str | None = None
    kind: str | None = None
    step: int | None = None
    message_at: datetime | None = None
    clicked_at: datetime | None = None
    seconds_to_pay: int  # from the request's creation
    seconds_from_message: int | None = None


class HistoryEntry(CamelModel):
    at: datetime
    event: str
    detail: str | None = None


class ReminderInFlight(CamelModel):
    """A claimed reminder whose send is not recorded yet (flows.reminder): while ``lease_until`` has not passed
    its worker owns it; after that, a worker that died is recovered from it. ``started``: the send was handed to
    SES/SNS, so it is never sent again. ``due_at``: when it was due; ``next_at``: the step after it."""

    step: int
    due_at: datetime
    lease_until: datetime
    next_at: datetime | None = None
    started: bool = False


class ReminderPlan(CamelModel):
    enabled: bool = True
    schedule: list[str] = Field(default_factory=list)
    sent: int = 0
    next_step: int = 0
    next_at: datetime | None = None
    failures: int = 0
    stopped_reason: str | None = None
    in_flight: ReminderInFlight | None = None


class PaymentRequest(CamelModel):
    """One Wix Order Payment Request as this product tracks it."""

    id: str
    order_id: str
    order_number: str | None = None
    external_id: str | None = None
    instance_id: str | None = None
    status: str = UNPAID
    amount: Decimal
    currency: str
    title: str
    description: str | None = None
    url: str | None = None
    # When Wix gave us ``url``: reminders reuse it until it is ``UrlMaxAgeHours`` old (flows.delivery.reminder_url).
    url_fetched_at: datetime | None = None
    expiration_date: datetime | None = None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None
    deleted_at: datetime | None = None
    origin: str = ORIGIN_API
    customer: Customer = Field(default_factory=Customer)
    channels: list[str] = Field(default_factory=list)
    opted_out_channels: list[str] = Field(default_factory=list)
    # Channels whose address bounced for good or complained (flows.email_feedback): no reminders go there.
    undeliverable_channels: list[str] = Field(default_factory=list)
    clicks: list[Click] = Field(default_factory=list)
    attribution: Attribution | None = None
    reminders: ReminderPlan = Field(default_factory=ReminderPlan)
    notifications: list[Notification] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    content_hash: str | None = None
    last_sent_at: datetime | None = None
    last_event_sequence: int | None = None
    # Outbox flag: set with the PAID transition, cleared once PaymentRequestPaid is on the bus.
    paid_event_pending: bool = False
    # Who may put it: a short lease taken by a conditional write, so concurrent deliveries publish once.
    paid_event_lease_until: datetime | None = None
    # Reissue for what is open (flows.reissue): the externalId of the new request while it is being made (the
    # durable intent a retry resumes), then the new request's id here and the old one's id on the new request.
    reissue_pending: str | None = None
    reissued_as: str | None = None
    reissued_from: str | None = None
    version: int = 0
    # What of this record the daily counters already hold (payment_links.stats.Baseline), set by the store when it
    # reads or writes the record; None for a record not yet stored. Never stored itself.
    _counted: Any = PrivateAttr(default=None)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    def record(self, at: datetime, event: str, detail: str | None = None) -> None:
        self.history.append(HistoryEntry(at=at, event=event, detail=detail))
        self.updated_at = at

    def stop_reminders(self, reason: str) -> None:
        self.reminders.next_at = None
        self.reminders.stopped_reason = reason
        self.reminders.in_flight = None  # a worker about to send it finds that out and does not

    def to_storage(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def apply_status(record: PaymentRequest, new_status: str, at: datetime, source: str) -> bool:
    """Move ``record`` to ``new_status`` if the lifecycle allows it. Returns whether anything changed.

    Only UNPAID moves, and only to a terminal status; unknown statuses from Wix are ignored (the enum
    is open and a preview API may add values we cannot interpret).
    """
    if record.status == new_status or record.is_terminal or new_status not in TERMINAL_STATUSES:
        return False
    record.status = new_status
    if new_status == PAID:
        record.paid_at = at
        record.paid_event_pending = True
        record.attribution = attribute(record, at)
    record.stop_reminders(new_status)
    record.record(at, new_status, detail=source)
    return True


def attribute(record: PaymentRequest, paid_at: datetime) -> Attribution:
    """The payment's credit: the last message that reached the customer before ``paid_at`` (a SENT notification);
    with tracked links, the message whose link was clicked last before it, when that click came after the last
    message (the customer acted on that one). How long the payment took from creation and from that message."""
    sent = [n for n in record.notifications if n.status == SEND_SENT and n.at <= paid_at]
    last = max(sent, key=lambda n: n.at) if sent else None
    clicks = [c for c in record.clicks if c.at <= paid_at]
    clicked = max(clicks, key=lambda c: c.at) if clicks else None
    channel, kind, step = (last.channel, last.kind, last.step or 0) if last else (None, None, None)
    message_at = last.at if last else None
    if clicked is not None and (last is None or clicked.at >= last.at):
        channel, kind, step = clicked.channel, clicked.kind, clicked.step or 0
        clicked_message = [n for n in sent if n.channel == clicked.channel and n.kind == clicked.kind and (n.step or 0) == step]
        message_at = max((n.at for n in clicked_message), default=message_at)
    return Attribution(
        channel=channel,
        kind=kind,
        step=step,
        message_at=message_at,
        clicked_at=clicked.at if clicked else None,
        seconds_to_pay=max(int((paid_at - record.created_at).total_seconds()), 0),
        seconds_from_message=max(int((paid_at - message_at).total_seconds()), 0) if message_at else None,
    )
