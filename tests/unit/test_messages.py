"""Messages in the customer's language: complete catalogs, CLDR formats, escalation by step, the sandbox, SMS segments."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from payment_links.config import Settings
from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PaymentRequest
from payment_links.messages import catalogs
from payment_links.messages.render import (
    FINAL,
    FIRM,
    FRIENDLY,
    INITIAL,
    Occasion,
    format_money,
    render_email,
    render_sms,
    shipped_locale,
    stage_of,
)
from payment_links.messages.sms import GSM7, UCS2, segments

LAYER = Path(catalogs.__file__).parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
OCCASIONS = [Occasion("INITIAL"), Occasion("RESEND"), Occasion("REMINDER", 1), Occasion("REMINDER", 2), Occasion("REMINDER", 3, final=True)]


def source_msgids() -> set[str]:
    """Every msgid the templates and the rendering module use, extracted as pybabel would (babel.cfg)."""
    method_map = [("payment_links/messages/**.py", "python"), ("payment_links/messages/templates/**", "jinja2")]
    options = {"payment_links/messages/templates/**": {"extensions": "jinja2.ext.i18n"}}
    found = extract_from_dir(str(LAYER), method_map, options, keywords={"_": None, "gettext": None})
    return {message for _file, _line, message, _comments, _context in found if isinstance(message, str)}


def request(locale: str | None = "en", currency: str = "USD", amount: str = "40.00", **fields: object) -> PaymentRequest:
    now = datetime(2026, 5, 4, 12, tzinfo=UTC)
    values: dict[str, object] = {
        "id": "req-1",
        "order_id": "ord-1",
        "order_number": "10001",
        "amount": Decimal(amount),
        "currency": currency,
        "title": "Balance due",
        "created_at": now,
        "updated_at": now,
        "customer": Customer(email="jane@example.com", name="Jane Doe", locale=locale, time_zone="Europe/Paris"),
        "expiration_date": datetime(2026, 6, 30, 18, tzinfo=UTC),
        **fields,
    }
    return PaymentRequest.model_validate(values)


def test_the_extraction_finds_every_message_of_the_templates():
    ids = source_msgids()
    assert len(ids) >= 20 and "Pay now" in ids and "Reply STOP to opt out." in ids


@pytest.mark.parametrize("language", [language for language in catalogs.SHIPPED_LANGUAGES if language != "en"])
def test_every_shipped_language_translates_every_msgid_with_the_same_placeholders(language):
    with catalogs.po_path(language).open("rb") as fp:
        catalog = read_po(fp, locale=language)
    missing = [msgid for msgid in source_msgids() if not (catalog.get(msgid) and catalog.get(msgid).string)]
    assert missing == [], f"{language}: no translation of {missing}"
    for message in catalog:
        if message.id:
            assert not message.fuzzy, f"{language}: fuzzy translation of {message.id!r}"
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), message.id


@pytest.mark.parametrize("language", catalogs.SHIPPED_LANGUAGES)
def test_every_language_renders_every_kind_and_step_on_both_channels(language):
    english = {o: render_email(request("en"), "https://pay.test/x", o, Settings(), "https://unsub.test/t") for o in OCCASIONS}
    for occasion in OCCASIONS:
        email = render_email(request(language), "https://pay.test/x", occasion, Settings(), "https://unsub.test/t")
        sms = render_sms(request(language), "https://pay.test/x", occasion, Settings())
        assert email.locale.startswith(language) and sms.locale.startswith(language)
        assert "https://pay.test/x" in email.text and 'href="https://pay.test/x"' in email.html and "https://pay.test/x" in sms.text
        assert "https://unsub.test/t" in email.text and "https://unsub.test/t" in email.html
        assert "%(" not in email.text + email.html + email.subject + sms.text  # every placeholder filled
        if language != "en":
            assert email.subject != english[occasion].subject and email.text != english[occasion].text


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "expected"),
    [
        ("en", "USD", "40.00", "$40.00"),
        ("en_CA", "USD", "40.00", "US$40.00"),
        ("de", "EUR", "40.00", "40,00\xa0€"),
        ("fr", "EUR", "1234.50", "1\u202f234,50\xa0€"),
        ("ja", "JPY", "4000", "￥4,000"),
        ("pt-BR", "BRL", "10.00", "R$\xa010,00"),
    ],
)
def test_amounts_are_formatted_for_the_locale_and_currency_by_cldr(locale, currency, amount, expected):
    found = shipped_locale(locale)
    assert found is not None and format_money(Decimal(amount), currency, found) == expected


def test_a_language_without_a_catalog_falls_back_to_the_default_then_english():
    assert render_email(request("sv"), "u", Occasion("INITIAL"), Settings(DEFAULT_LOCALE="de")).locale == "de"
    assert render_email(request("xx-not-a-locale"), "u", Occasion("INITIAL"), Settings()).locale == "en"
    assert render_email(request(None), "u", Occasion("INITIAL"), Settings(DEFAULT_LOCALE="fr")).locale == "fr"


def test_hebrew_is_right_to_left_and_the_expiry_is_in_the_customers_zone_and_language():
    email = render_email(request("he"), "https://pay.test/x", Occasion("REMINDER", 3, final=True), Settings())
    assert '<html lang="he" dir="rtl">' in email.html
    assert "30 ביוני 2026" in email.text and "20:00" in email.text  # 18:00 UTC is 20:00 in Paris in June


def test_escalation_by_step_friendly_then_firm_and_final_before_expiry():
    settings = Settings()
    assert [stage_of(Occasion("REMINDER", step), settings) for step in (1, 2, 3, 7)] == [FRIENDLY, FIRM, FIRM, FIRM]
    assert stage_of(Occasion("REMINDER", 1, final=True), settings) == FINAL
    assert stage_of(Occasion("INITIAL"), settings) == stage_of(Occasion("RESEND"), settings) == INITIAL
    custom = Settings(REMINDER_STAGES="FRIENDLY,FRIENDLY,FIRM")
    assert [stage_of(Occasion("REMINDER", step), custom) for step in (1, 2, 3, 4)] == [FRIENDLY, FRIENDLY, FIRM, FIRM]
    subjects = [render_email(request(), "u", o, settings).subject for o in OCCASIONS]
    assert subjects == [
        "Payment requested: Balance due ($40.00)",
        "Payment requested: Balance due ($40.00)",
        "Reminder: Balance due ($40.00)",
        "Reminder: payment overdue for Balance due ($40.00)",
        "Reminder: final notice for Balance due ($40.00)",
    ]
    final = render_email(request(), "u", OCCASIONS[-1], settings)
    assert "this link expires on June 30, 2026" in final.text


def test_values_are_escaped_in_html_and_a_template_cannot_reach_python():
    hostile = request(title="<script>alert(1)</script>", description='"><img src=x onerror=alert(1)>')
    email = render_email(hostile, "https://pay.test/x?a=1&b=2", Occasion("INITIAL"), Settings(STORE_NAME="<b>Shop</b>"))
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html and "<img" not in email.html
    assert "&lt;b&gt;Shop&lt;/b&gt;" in email.html and 'href="https://pay.test/x?a=1&amp;b=2"' in email.html
    assert "<script>alert(1)</script>" in email.subject  # a subject is text, not HTML

    from jinja2.exceptions import SecurityError
    from payment_links.messages.render import _environment

    with pytest.raises(SecurityError):
        _environment("en").from_string("{{ ''.__class__.__mro__[1].__subclasses__() }}").render()


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("a" * 306, GSM7, 2),
        ("a" * 307, GSM7, 3),
        ("€" * 80, GSM7, 1),  # extension characters take two septets each
        ("€" * 81, GSM7, 2),
        ("ü" * 160, GSM7, 1),  # in the GSM default alphabet
        ("ê" * 70, UCS2, 1),  # not in it: the whole message is UCS-2
        ("ê" * 71, UCS2, 2),
        ("日本" * 67, UCS2, 2),
        ("😀" * 35, UCS2, 1),  # outside the BMP: two UTF-16 units each
        ("😀" * 36, UCS2, 2),
    ],
)
def test_sms_segments_are_counted_in_gsm7_septets_or_ucs2_units(text, encoding, count):
    found = segments(text)
    assert (found.encoding, found.count) == (encoding, count)


def test_a_latin_sms_stays_gsm7_and_the_same_in_japanese_costs_more():
    english = render_sms(request("en"), "https://pay.test/x", Occasion("REMINDER", 1), Settings())
    japanese = render_sms(request("ja", currency="JPY", amount="4000"), "https://pay.test/x", Occasion("REMINDER", 1), Settings())
    assert english.segments.encoding == GSM7 and english.segments.count == 1
    assert japanese.segments.encoding == UCS2 and japanese.segments.count >= 2
    assert english.text.endswith("Reply STOP to opt out.") and japanese.text.endswith("配信停止はSTOPと返信してください。")
