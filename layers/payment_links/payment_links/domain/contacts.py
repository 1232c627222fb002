"""Customer contact details: parsing strangers' input, defaults from the Wix order, reachable channels, masking.

Phones go through Google's libphonenumber (``phonenumbers``): a number must be valid for its region and is kept in
E.164. Text messages are refused to numbers that cost the sender or can be rented by a fraudster (premium-rate,
shared-cost, UAN, pager, voicemail, non-geographic: SMS pumping and toll fraud), and, when the deployment names
them, to countries outside its allow-list. E-mail addresses go through ``email-validator`` (syntax only, no DNS):
a plain ``local@domain`` in ASCII (SES does not take SMTPUTF8), normalised. Neither is ever "cleaned up" into a
valid value: input in another script's digits, with a display name or control characters is refused.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

if TYPE_CHECKING:  # annotation only: the webhook's cold start should not build every Wix model
    from payment_links.wix.models import Order

EMAIL = "EMAIL"
SMS = "SMS"
ALL_CHANNELS = (EMAIL, SMS)

# What a person types around a phone number; anything else (letters, other scripts' digits, control characters)
# makes the number invalid rather than being stripped.
_PHONE_CHARACTERS = re.compile(r"\+?[0-9 ().\-]{4,40}", re.ASCII)
# libphonenumber's PhoneNumberType values that must never receive our text messages.
_SMS_REFUSED_TYPES = {4: "premium-rate", 5: "shared-cost", 9: "UAN", 8: "pager", 10: "voicemail"}
_NON_GEOGRAPHIC_REGION = "001"  # libphonenumber's region of +800, +808, +870, +881, +882, +883, +888, +979


class Customer(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None


class ContactRefused(ValueError):
    """A phone number or e-mail address that cannot be used; the message says why, for the caller."""


def parse_phone(raw: str, allowed_countries: Collection[str] = ()) -> str:
    """An international phone number that may receive a payment link by SMS, in E.164; ContactRefused otherwise.

    ``allowed_countries``: ISO 3166 region codes; empty allows every country."""
    import phonenumbers  # on first use: the webhook's cold start never needs it

    text = raw.strip(" ")
    if not _PHONE_CHARACTERS.fullmatch(text):
        raise ContactRefused("not a phone number in international format, e.g. +12015550123 (ASCII digits only)")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ContactRefused("not a phone number in international format, e.g. +12015550123") from exc
    if not phonenumbers.is_valid_number(number):
        raise ContactRefused("not a valid phone number for its country")
    region = phonenumbers.region_code_for_number(number)
    if region == _NON_GEOGRAPHIC_REGION:
        raise ContactRefused("non-geographic numbers cannot receive payment links by SMS")
    refused = _SMS_REFUSED_TYPES.get(phonenumbers.number_type(number))
    if refused:
        raise ContactRefused(f"{refused} numbers cannot receive payment links by SMS")
    if allowed_countries and region not in allowed_countries:
        raise ContactRefused(f"this deployment sends SMS only to {', '.join(sorted(allowed_countries))}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def parse_email(raw: str) -> str:
    """A plain ``local@domain`` address, normalised (the domain lower-cased, an IDN in its ASCII form)."""
    import email_validator  # on first use: compiling its grammar costs a cold start ~45 ms

    try:
        valid = email_validator.validate_email(
            raw, check_deliverability=False, allow_smtputf8=False, allow_display_name=False, allow_quoted_local=False
        )
    except email_validator.EmailNotValidError as exc:
        raise ContactRefused("not a valid e-mail address such as jane@example.com") from exc
    return str(valid.ascii_email or valid.normalized)


def usable_phone(raw: str | None, allowed_countries: Collection[str] = ()) -> str | None:
    """A phone from Wix's order data, in E.164, or None when it cannot receive our SMS (Wix does not promise E.164)."""
    if not raw:
        return None
    try:
        return parse_phone(raw, allowed_countries)
    except ContactRefused:
        return None


def usable_email(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return parse_email(raw)
    except ContactRefused:
        return None


def customer_from_order(order: Order, allowed_countries: Collection[str] = ()) -> Customer:
    billing = order.billing_info.contact_details if order.billing_info else None
    recipient = order.recipient_info.contact_details if order.recipient_info else None
    phone = usable_phone(billing.phone if billing else None, allowed_countries) or usable_phone(
        recipient.phone if recipient else None, allowed_countries
    )
    names = billing if billing and (billing.first_name or billing.last_name) else recipient
    name = " ".join(part for part in ((names.first_name, names.last_name) if names else ()) if part) or None
    return Customer(email=usable_email(order.buyer_info.email), phone=phone, name=name, locale=order.buyer_language or order.site_language)


def order_contacts(order: Order, allowed_countries: Collection[str] = ()) -> tuple[set[str], set[str]]:
    """Every e-mail address and phone the order knows (the buyer's address, the billing and recipient phones)."""
    billing = order.billing_info.contact_details if order.billing_info else None
    recipient = order.recipient_info.contact_details if order.recipient_info else None
    emails = {email for email in [usable_email(order.buyer_info.email)] if email}
    phones = {phone for phone in (usable_phone(d.phone, allowed_countries) for d in (billing, recipient) if d) if phone}
    return emails, phones


def same_email(a: str | None, b: str | None) -> bool:
    """Addresses compared as mailbox providers treat them in practice: case does not make another mailbox."""
    return bool(a and b and a.casefold() == b.casefold())


def merge_customer(given: Customer | None, from_order: Customer) -> Customer:
    """What the caller gave wins field by field; the rest comes from the order. ``given`` is already validated."""
    given = given or Customer()
    return Customer(
        email=given.email or from_order.email,
        phone=given.phone or from_order.phone,
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
    """``+12015550123`` → ``+1******0123``: country code and last four digits only."""
    if not phone:
        return None
    digits = phone.lstrip("+")
    if len(digits) <= 5:
        return "+" + "*" * len(digits)
    return f"+{digits[0]}{'*' * (len(digits) - 5)}{digits[-4:]}"
