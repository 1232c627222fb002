"""Customer contact details: defaults from the Wix order, phone normalisation, reachable channels, masking."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:  # annotation only: the webhook's cold start should not build every Wix model
    from payment_links.wix.models import Order

EMAIL = "EMAIL"
SMS = "SMS"
ALL_CHANNELS = (EMAIL, SMS)

_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE_NOISE = re.compile(r"[\s\-().]")


class Customer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None


def normalize_phone(raw: str | None) -> str | None:
    """E.164 or None. Wix does not promise E.164, and SNS only takes it."""
    if not raw:
        return None
    candidate = _PHONE_NOISE.sub("", raw)
    if candidate.startswith("00"):
        candidate = "+" + candidate[2:]
    return candidate if _E164.match(candidate) else None


def is_valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value)) and len(value) <= 254


def customer_from_order(order: Order) -> Customer:
    billing = order.billing_info.contact_details if order.billing_info else None
    recipient = order.recipient_info.contact_details if order.recipient_info else None
    phone = (billing.phone if billing else None) or (recipient.phone if recipient else None)
    names = billing if billing and (billing.first_name or billing.last_name) else recipient
    name = " ".join(part for part in ((names.first_name, names.last_name) if names else ()) if part) or None
    return Customer(
        email=order.buyer_info.email or None,
        phone=normalize_phone(phone),
        name=name,
        locale=order.buyer_language or order.site_language,
    )


def merge_customer(given: Customer | None, from_order: Customer) -> Customer:
    """What the caller gave wins field by field; the rest comes from the order."""
    given = given or Customer()
    return Customer(
        email=given.email or from_order.email,
        phone=normalize_phone(given.phone) if given.phone else from_order.phone,
        name=given.name or from_order.name,
        locale=given.locale or from_order.locale,
        time_zone=given.time_zone or from_order.time_zone,
    )


def reachable_channels(customer: Customer) -> list[str]:
    channels = []
    if customer.email:
        channels.append(EMAIL)
    if customer.phone:
        channels.append(SMS)
    return channels


def mask_email(email: str | None) -> str | None:
    """``jane@example.com`` → ``j***@example.com``."""
    if not email or "@" not in email:
        return None
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    """``+15551234567`` → ``+1******4567``: country code and last four digits only."""
    if not phone:
        return None
    digits = phone.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return f"+{digits[0]}{'*' * (len(digits) - 5)}{digits[-4:]}"
