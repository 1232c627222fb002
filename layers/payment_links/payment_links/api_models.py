"""Pydantic models of the product's HTTP API: what storefronts send and what they get back.

These are the boundary: the resolvers validate bodies against them and build the OpenAPI document
from them. Field names are camelCase on the wire.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from payment_links.config import get_settings
from payment_links.domain.contacts import ContactRefused, Customer, mask_email, mask_phone, parse_email, parse_phone
from payment_links.domain.money import format_amount, parse_amount_text
from payment_links.domain.payment_request import PaymentRequest, ReminderPlan
from payment_links.domain.reminders import is_valid_time_zone, validate_schedule

Channel = Literal["EMAIL", "SMS"]

# Validation context of a request the product makes itself (flows.reissue): it may use the reserved externalIds.
INTERNAL = {"internal": True}
RESERVED_EXTERNAL_ID_PREFIX = "reissue:"


def _no_control_characters(value: object) -> object:
    """CR, LF, NUL and every other C0/C1 control (and the Unicode line separators): text fields end up in e-mail
    subjects and SMS, where ``Hi\r\nBcc: …`` must never arrive as it came."""
    if isinstance(value, str) and any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in value):
        raise ValueError("must not contain control characters such as line breaks, tabs or NUL")
    return value


# Before the constraints strip whitespace: a trailing CR or LF is refused too, not trimmed into a valid value.
NoControlCharacters = BeforeValidator(_no_control_characters)
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True), NoControlCharacters]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True), NoControlCharacters]
Description = Annotated[str, StringConstraints(max_length=300), NoControlCharacters]
Name = Annotated[str, StringConstraints(max_length=200, strip_whitespace=True), NoControlCharacters]
EmailText = Annotated[str, StringConstraints(max_length=254, strip_whitespace=True), NoControlCharacters]
PhoneText = Annotated[str, StringConstraints(max_length=40, strip_whitespace=True), NoControlCharacters]
ZoneText = Annotated[str, StringConstraints(max_length=64), NoControlCharacters]


class InputModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class CustomerInput(InputModel):
    email: EmailText | None = None
    phone: PhoneText | None = None
    name: Name | None = None
    locale: Annotated[str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")] | None = None
    time_zone: ZoneText | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return parse_email(value)
        except ContactRefused as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return parse_phone(value, get_settings().sms_allowed_countries)
        except ContactRefused as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value and not is_valid_time_zone(value):
            raise ValueError("not an IANA time zone such as America/New_York")
        return value or None

    def to_customer(self) -> Customer:
        return Customer(**self.model_dump())


class RemindersInput(InputModel):
    enabled: bool = True
    schedule: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(max_length=20)] | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: list[str] | None) -> list[str] | None:
        return validate_schedule(value) if value is not None else None


class CreatePaymentRequestInput(InputModel):
    order_id: Text100
    external_id: Text100
    amount: Decimal | None = Field(
        None, description='Decimal string of ASCII digits, e.g. "25.00" (a JSON number is refused); defaults to what is open'
    )
    title: Title
    description: Description | None = None
    expiration_date: datetime | None = None
    customer: CustomerInput | None = None
    channels: Annotated[list[Channel], Field(min_length=1, max_length=2)] | None = None
    reminders: RemindersInput | None = None

    @field_validator("external_id")
    @classmethod
    def _not_reserved(cls, value: str, info: ValidationInfo) -> str:
        if value.lower().startswith(RESERVED_EXTERNAL_ID_PREFIX) and not (info.context or {}).get("internal"):
            raise ValueError(f"externalIds starting with {RESERVED_EXTERNAL_ID_PREFIX!r} are reserved for requests the product reissues")
        return value

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_decimal_text(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError('send the amount as a decimal string such as "25.00", not a JSON number')
        return parse_amount_text(value)

    @field_validator("expiration_date")
    @classmethod
    def _future(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("must carry a time zone offset, e.g. 2026-12-31T23:59:00Z")
        if value <= datetime.now(UTC):
            raise ValueError("must be in the future (Wix would create the request already expired)")
        return value

    @model_validator(mode="after")
    def _unique_channels(self) -> CreatePaymentRequestInput:
        if self.channels and len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")
        return self

    def content_hash(self) -> str:
        """What 'the same content' means for a replayed externalId: every field the caller sent."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True, exclude_none=True), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


class ResendInput(InputModel):
    channels: Annotated[list[Channel], Field(min_length=1, max_length=2)] | None = None
    customer: CustomerInput | None = Field(
        None, description="Contacts to send to; each must be one the order or the request already has (see AllowContactOverride)"
    )


class LostLinkResendInput(InputModel):
    channels: Annotated[list[Channel], Field(min_length=1, max_length=2)] | None = None
    external_id: Text100 | None = None
    customer: CustomerInput | None = Field(
        None, description="Contacts to send to; each must be one the order or the request already has (see AllowContactOverride)"
    )


HourMinute = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]
Locale = Annotated[str, StringConstraints(max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")]


class PreviewInput(InputModel):
    kind: Literal["INITIAL", "REMINDER"] = "INITIAL"
    step: int = Field(1, ge=1, le=20, description="The reminder's step, 1-based (REMINDER only)")
    channel: Channel = "EMAIL"


class QuietHoursInput(InputModel):
    start: HourMinute
    end: HourMinute


class SiteRemindersInput(InputModel):
    enabled: bool | None = None
    schedule: Annotated[list[Annotated[str, StringConstraints(max_length=40)]], Field(min_length=1, max_length=20)] | None = None
    max: Annotated[int, Field(ge=0, le=20)] | None = None

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: list[str] | None) -> list[str] | None:
        return validate_schedule(value) if value is not None else None


TemplateText = Annotated[str, StringConstraints(min_length=1, max_length=20_000)]


class MessageTemplatesInput(InputModel):
    """A site's own Jinja2 templates (the product's are in payment_links/messages/templates; docs/messages.md lists
    the values they may use). Each one left out stays the product's."""

    email_subject: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    email_text: TemplateText | None = None
    email_html: TemplateText | None = None
    sms: Annotated[str, StringConstraints(min_length=1, max_length=2_000)] | None = None

    def sources(self) -> dict[str, str]:
        return self.model_dump(by_alias=True, exclude_none=True)


class SiteSettingsInput(InputModel):
    """``PUT /settings``: a site's own settings. A field left out (or null) falls back to the template's parameter."""

    store_name: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True), NoControlCharacters] | None = None
    sender_email: EmailText | None = Field(
        None, description="Must be a verified SES identity of this deployment (the address or its domain)"
    )
    channels: Annotated[list[Channel], Field(min_length=1, max_length=2)] | None = None
    reminders: SiteRemindersInput | None = None
    quiet_hours: QuietHoursInput | None = None
    time_zone: ZoneText | None = None
    locale: Locale | None = None
    void_when_order_settled: bool | None = None
    reissue_on_balance_change: bool | None = None
    link_mode: Literal["DIRECT", "TRACKED"] | None = None
    templates: MessageTemplatesInput | None = None

    @field_validator("templates")
    @classmethod
    def _templates_render(cls, value: MessageTemplatesInput | None) -> MessageTemplatesInput | None:
        """Saved only if they render for every language, kind and stage, keeping the pay and opt-out links."""
        if value is None or not value.sources():
            return None
        from payment_links.messages.render import template_problems  # Jinja2 and Babel: only when templates come

        problems = template_problems(value.sources(), get_settings())
        if problems:
            raise ValueError("; ".join(problems[:5]))
        return value

    @field_validator("sender_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return parse_email(value)
        except ContactRefused as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value and not is_valid_time_zone(value):
            raise ValueError("not an IANA time zone such as America/New_York")
        return value or None

    @model_validator(mode="after")
    def _unique_channels(self) -> SiteSettingsInput:
        if self.channels and len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")
        return self

    def overrides(self) -> dict[str, object]:
        """What is stored: only what the site set."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---- responses ---------------------------------------------------------------------------------


class OutputModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _next_reminder_at(plan: ReminderPlan) -> datetime | None:
    lease = plan.in_flight
    return lease.next_at if lease is not None and plan.next_at == lease.lease_until else plan.next_at


class RemindersView(OutputModel):
    enabled: bool
    schedule: list[str]
    sent: int
    next_at: datetime | None = None
    stopped_reason: str | None = None


class NotificationView(OutputModel):
    channel: str
    kind: str
    step: int | None = None
    stage: str | None = None
    locale: str | None = None
    segments: int | None = None
    status: str
    message_id: str | None = None
    at: datetime
    reason: str | None = None
    delivery: str | None = None
    delivery_at: datetime | None = None


class HistoryView(OutputModel):
    at: datetime
    event: str
    detail: str | None = None


class AttributionView(OutputModel):
    """What the payment is credited to: the last message sent before it, the last tracked-link click before it."""

    channel: str | None = None
    kind: str | None = None
    step: int | None = None
    message_at: datetime | None = None
    clicked_at: datetime | None = None
    seconds_to_pay: int
    seconds_from_message: int | None = None


class CustomerView(OutputModel):
    email: str | None = None
    phone: str | None = None


class PaymentRequestView(OutputModel):
    id: str
    order_id: str
    order_number: str | None = None
    external_id: str | None = None
    status: str
    amount: str
    currency: str
    title: str
    description: str | None = None
    url: str | None = None
    expiration_date: datetime | None = None
    created_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None
    deleted: bool = False
    reissued_as: str | None = Field(None, description="The request that replaced this one for what its order still owes")
    reissued_from: str | None = Field(None, description="The request this one replaced")
    attribution: AttributionView | None = Field(None, description="PAID requests: what the payment is credited to")
    customer: CustomerView
    channels: list[str]
    reminders: RemindersView
    notifications: list[NotificationView]
    history: list[HistoryView]

    @classmethod
    def of(cls, record: PaymentRequest) -> PaymentRequestView:
        return cls(
            id=record.id,
            order_id=record.order_id,
            order_number=record.order_number,
            external_id=record.external_id,
            status=record.status,
            amount=format_amount(record.amount, record.currency),
            currency=record.currency,
            title=record.title,
            description=record.description,
            url=record.url,
            expiration_date=record.expiration_date,
            created_at=record.created_at,
            updated_at=record.updated_at,
            paid_at=record.paid_at,
            deleted=record.deleted_at is not None,
            reissued_as=record.reissued_as,
            reissued_from=record.reissued_from,
            attribution=AttributionView(**record.attribution.model_dump()) if record.attribution else None,
            customer=CustomerView(email=mask_email(record.customer.email), phone=mask_phone(record.customer.phone)),
            channels=record.channels,
            reminders=RemindersView(
                enabled=record.reminders.enabled,
                schedule=record.reminders.schedule,
                sent=record.reminders.sent,
                # While a reminder is being sent the record is due again only if its worker dies: show the next step.
                next_at=_next_reminder_at(record.reminders),
                stopped_reason=record.reminders.stopped_reason,
            ),
            notifications=[NotificationView(**n.model_dump()) for n in record.notifications],
            history=[HistoryView(**h.model_dump()) for h in record.history],
        )

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class PreviewView(OutputModel):
    """A message as the customer would receive it: ``subject``/``text``/``html`` for EMAIL, ``sms`` for SMS."""

    subject: str | None = None
    text: str | None = None
    html: str | None = None
    sms: str | None = None
    language: str
    stage: str = Field(description="The wording: INITIAL, FRIENDLY, FIRM or FINAL")
    segments: int | None = Field(None, description="SMS only: GSM-7 or UCS-2 segments it costs")

    def to_json(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class PaymentRequestList(OutputModel):
    payment_requests: list[PaymentRequestView]


class SiteSettingsView(OutputModel):
    """A site's settings in effect, and which of them it set itself (the rest are the template's)."""

    store_name: str
    sender_email: str
    channels: list[str]
    reminders: dict[str, object]
    quiet_hours: dict[str, str]
    time_zone: str
    locale: str
    void_when_order_settled: bool
    reissue_on_balance_change: bool
    link_mode: str
    templates: dict[str, str] = Field(default_factory=dict, description="The site's own templates; the rest are the product's")
    overridden: list[str]


class NewApiKeyView(OutputModel):
    key_id: str
    api_key: str = Field(description="Shown once: only its hash is kept")


class ApiKeyView(OutputModel):
    key_id: str
    created_at: str
    revoked_at: str | None = None


class ApiKeyList(OutputModel):
    api_keys: list[ApiKeyView]


class ErrorDetail(OutputModel):
    code: str
    message: str
    details: list[object] = Field(default_factory=list)


class ErrorResponse(OutputModel):
    error: ErrorDetail


_ERROR_DESCRIPTIONS = {
    400: "The body is not JSON",
    403: "The API key is missing or wrong, or the app is not installed on its site",
    404: "Not found (the code says what)",
    409: "Conflict with the request's state or an earlier call",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "Invalid input; details name each field",
    424: "The Wix site has no published Payment Request Page",
    429: "Sent too recently; retry after Retry-After",
    502: "Wix refused the call",
    503: "Wix or AWS is unavailable; retry after Retry-After",
}


def error_responses(*statuses: int) -> dict[int, dict[str, object]]:
    """OpenAPI ``responses`` entries for the errors a route can answer, all in the ``ErrorResponse`` shape."""
    return {
        status: {"description": _ERROR_DESCRIPTIONS[status], "content": {"application/json": {"model": ErrorResponse}}}
        for status in statuses
    }
