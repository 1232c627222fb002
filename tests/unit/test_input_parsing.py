"""What strangers send, parsed by the libraries made for it: phones, e-mail addresses, amounts, durations, JSON depth,
text fields. Each hostile class is refused with a reason, never cleaned up into a valid value."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from payment_links import safe_json
from payment_links.api_models import CreatePaymentRequestInput, ResendInput
from payment_links.domain.contacts import ContactRefused, parse_email, parse_phone, usable_phone
from payment_links.domain.money import parse_amount_text, round_down
from payment_links.domain.reminders import parse_duration
from pydantic import ValidationError


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+12015550123", "+12015550123"),
        ("+1 (201) 555-0123", "+12015550123"),
        ("0044 7400 900123", "+447400900123"),
        ("+33 6 12 34 56 78", "+33612345678"),
    ],
)
def test_a_valid_phone_is_kept_in_e164(raw, e164):
    assert parse_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("+19005551234", "premium-rate"),  # US 900: toll fraud
        ("+449012345678", "premium-rate"),  # UK 090
        ("+80012345678", "non-geographic"),  # +800, +882...: no country's regulator
        ("+15555550123", "not a valid phone number"),  # the 555 area code does not exist
        (
            "+\u0661\u0665\u0665\u0665\u0665\u0665\u0665\u0660\u0661\u0662\u0663",
            "ASCII digits only",
        ),  # Arabic-Indic digits: refused, not converted
        ("+1201555012\uff13", "ASCII digits only"),  # a full-width digit
        ("2015550123", "international format"),  # no country code
        ("+1201555O123", "ASCII digits only"),  # a letter O
        ("+12015550123\n", "ASCII digits only"),
        ("+" + "1" * 60, "ASCII digits only"),
    ],
)
def test_a_phone_that_must_not_get_an_sms_is_refused_with_a_reason(raw, why):
    with pytest.raises(ContactRefused, match=why):
        parse_phone(raw)


def test_an_sms_allow_list_refuses_other_countries():
    assert parse_phone("+447400900123", allowed_countries={"GB", "IE"}) == "+447400900123"
    with pytest.raises(ContactRefused, match="only to GB, IE"):
        parse_phone("+12015550123", allowed_countries={"GB", "IE"})
    assert usable_phone("+12015550123", {"GB"}) is None  # an order's phone outside the list: no SMS, no error


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("jane@example.com", "jane@example.com"),
        ("Jane.Doe@Example.COM", "Jane.Doe@example.com"),
        ("jo@bücher.example", "jo@xn--bcher-kva.example"),
    ],
)
def test_an_email_is_a_plain_normalised_address(raw, normalised):
    assert parse_email(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "a,b@x.com",
        "<eve@x.com>",
        "Eve <eve@x.com>",
        "eve@x.com\x00",
        "eve@x.com\r\nBcc: a@b.com",
        '"eve"@x.com',
        "josé@x.com",
        "eve@",
        "@x.com",
    ],
)
def test_an_email_that_is_not_a_plain_address_is_refused(raw):
    with pytest.raises(ContactRefused):
        parse_email(raw)


@pytest.mark.parametrize("text", ["25", "25.00", "0.5", "1000000", "0.125"])
def test_an_amount_is_a_decimal_string_of_ascii_digits(text):
    assert parse_amount_text(text) == Decimal(text)


@pytest.mark.parametrize(
    "text", ["1_0", "\u0661.00", "1e3", "-5", "+5", " 5", "5.", ".5", "1,5", "NaN", "Infinity", "1" * 16, "1.00000", "00.5"]
)
def test_any_other_amount_text_is_refused(text):
    with pytest.raises(ValueError):
        parse_amount_text(text)


@pytest.mark.parametrize(
    ("amount", "currency", "payable"),
    [("100.50", "TWD", "100.50"), ("100.509", "USD", "100.50"), ("4000.9", "JPY", "4000"), ("1.2345", "KWD", "1.234"), ("0.4", "JPY", "0")],
)
def test_an_open_balance_is_rounded_down_never_up(amount, currency, payable):
    assert round_down(Decimal(amount), currency) == Decimal(payable)


@pytest.mark.parametrize("text", ["PT99999999999999999999H", "P9999999999999999W", "P99999999W", "P\u0661D", "P1D" + " " * 100, "PT0S"])
def test_a_duration_nobody_could_mean_is_refused_not_overflowed(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_within_bounds_read_as_before():
    assert parse_duration("P1W") == timedelta(weeks=1) and parse_duration("PT36H") == timedelta(hours=36)


def test_json_nested_past_the_limit_is_refused_before_the_parser_recurses():
    with pytest.raises(json.JSONDecodeError, match="nested deeper"):
        safe_json.loads("[" * 5000)
    with pytest.raises(json.JSONDecodeError):
        safe_json.loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(json.JSONDecodeError):
        safe_json.loads("1" * 5000)  # an integer past Python's 4,300-digit limit
    assert safe_json.loads(json.dumps({"a": "[" * 40})) == {"a": "[" * 40}  # brackets inside strings do not count
    assert safe_json.nesting_depth('{"a": [1, {"b": []}]}') == 4


BASE = {"orderId": "order-1", "externalId": "inv-1", "title": "Balance due"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "Hi\r\nBcc: eve@x.com"}, "title"),
        ({"title": "Hi\x00"}, "title"),
        ({"description": "line\nbreak"}, "description"),
        ({"description": "\x85next line (C1)"}, "description"),
        ({"externalId": "inv\u2028-1"}, "externalId"),
        ({"customer": {"name": "Jane\x1b[31m"}}, "customer.name"),
        ({"amount": 25}, "amount"),
        ({"amount": 25.5}, "amount"),
        ({"amount": "1_0"}, "amount"),
        ({"expirationDate": (datetime.now(UTC) - timedelta(minutes=1)).isoformat()}, "expirationDate"),
        ({"reminders": {"schedule": ["PT99999999999999999999H"]}}, "reminders.schedule"),
        ({"customer": {"phone": "+19005551234"}}, "customer.phone"),
        ({"customer": {"email": "a,b@x.com"}}, "customer.email"),
    ],
)
def test_create_refuses_each_hostile_field_by_name(change, field):
    with pytest.raises(ValidationError) as refused:
        CreatePaymentRequestInput.model_validate({**BASE, **change})
    locations = {".".join(str(part) for part in error["loc"][:2]) for error in refused.value.errors()}
    assert any(location.startswith(field.split(".")[0]) for location in locations), locations


def test_a_resend_body_may_name_a_customer_and_validates_it_the_same_way():
    assert ResendInput.model_validate({"customer": {"email": "Jane@Example.com"}}).customer.email == "Jane@example.com"
    with pytest.raises(ValidationError):
        ResendInput.model_validate({"customer": {"phone": "+882123456789"}})
