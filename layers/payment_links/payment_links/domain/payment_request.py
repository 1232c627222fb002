"""The payment request record we keep, and the one place its status may change.

Lifecycle: UNPAID → PAID | EXPIRED | VOIDED. Terminal states are never left, so a late or replayed
event can never move a request back; ``DELETED`` is a mark beside the status, not a status.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
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
    record.stop_reminders(new_status)
    record.record(at, new_status, detail=source)
    return True
