"""Rendering a payment link message: the customer's language, the escalation stage, and the product's templates.

Language: the customer's ``locale`` (which create fills from the Wix order's ``buyerLanguage``), else the
deployment's or the site's ``DEFAULT_LOCALE``, else English; a language without a catalog falls back the same way.
Amounts and dates are formatted with CLDR data through Babel for that locale and the request's currency
(``$40.00``, ``40,00 €``, ``￥4,000``); dates in the customer's time zone.

Stage (the wording): ``INITIAL`` for the first link and a resend; for reminders the ``ReminderStages`` entry of
the step (``FRIENDLY``, then ``FIRM``), and ``FINAL`` when the request expires before the next step would be due.

Templates run in Jinja2's immutable sandbox with autoescape on for HTML, so a title such as
``<script>`` arrives as text, and a template cannot reach Python objects beyond the values given to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_currency
from jinja2 import BaseLoader, ChoiceLoader, DictLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from payment_links.config import Settings
from payment_links.domain.payment_request import KIND_INITIAL, KIND_REMINDER, KIND_RESEND, PaymentRequest
from payment_links.domain.reminders import zone
from payment_links.messages import sms as sms_segments
from payment_links.messages.catalogs import SHIPPED_LANGUAGES, SOURCE_LANGUAGE, translations

TEMPLATES = Path(__file__).parent / "templates"
logger = Logger(child=True)

INITIAL = "INITIAL"
FRIENDLY = "FRIENDLY"
FIRM = "FIRM"
FINAL = "FINAL"
REMINDER_STAGES = (FRIENDLY, FIRM, FINAL)
STAGES = (INITIAL, *REMINDER_STAGES)
KINDS = (KIND_INITIAL, KIND_RESEND, KIND_REMINDER)


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    locale: str
    stage: str
    list_unsubscribe: str | None = None  # reminders only (bulk mail): the List-Unsubscribe header (notify.mime)


@dataclass(frozen=True)
class Sms:
    text: str
    locale: str
    stage: str
    segments: sms_segments.Segments


@dataclass(frozen=True)
class Occasion:
    """Which message this is: its kind, the reminder's step (1-based) and whether it is the last before expiry."""

    kind: str
    step: int | None = None
    final: bool = False


def stage_of(occasion: Occasion, settings: Settings) -> str:
    if occasion.kind != KIND_REMINDER:
        return INITIAL
    if occasion.final:
        return FINAL
    stages = settings.reminder_stages or (FRIENDLY,)
    return stages[min(max(occasion.step or 1, 1), len(stages)) - 1]


def message_locale(record: PaymentRequest | None, settings: Settings) -> Locale:
    """The customer's locale if we have a catalog of its language, else the default, else English."""
    for candidate in (record.customer.locale if record else None, settings.default_locale, SOURCE_LANGUAGE):
        locale = shipped_locale(candidate)
        if locale is not None:
            return locale
    raise AssertionError("English is always shipped")


def shipped_locale(tag: str | None) -> Locale | None:
    """``pt-BR``, ``fr_CA``, ``he``...: the locale (with its region when CLDR has it), if its language is shipped."""
    if not tag:
        return None
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        try:
            locale = Locale.parse(tag.replace("-", "_").split("_")[0])
        except (ValueError, UnknownLocaleError):
            return None
    return locale if locale.language in SHIPPED_LANGUAGES else None


def format_money(amount: Decimal, currency: str, locale: Locale) -> str:
    return format_currency(amount, currency, locale=locale)


def format_expiry(at: datetime, tz: Any, locale: Locale) -> str:
    """``31 December 2026 at 12:00 UTC``, ``31. Dezember 2026 um 13:00 CET``: CLDR's long date and short time, joined
    by the locale's own pattern, in the customer's zone (its abbreviation appended: the customer may travel)."""
    local = at.astimezone(tz)
    joined = str(get_datetime_format("long", locale=locale))
    date_text = format_date(local, format="long", locale=locale)
    time_text = format_time(local, format="short", locale=locale)
    return joined.replace("{1}", date_text).replace("{0}", time_text).replace("'", "") + f" {local.tzname()}"


def render_email(record: PaymentRequest, url: str, occasion: Occasion, settings: Settings, unsubscribe_url: str | None = None) -> Email:
    values = _values(record, url, occasion, settings, unsubscribe_url)
    try:
        return _render_email(values, occasion, settings.message_templates, unsubscribe_url)
    except Exception:
        if not settings.message_templates:
            raise
        # A site's template that rendered for the sample but not for this request: the customer still gets the
        # message, in the product's wording; the failure is logged (without the values) for the merchant to fix.
        logger.exception("site template failed; the product's template was used", extra={"payment_request_id": record.id})
        return _render_email(values, occasion, None, unsubscribe_url)


def _render_email(values: dict[str, Any], occasion: Occasion, templates: Mapping[str, str] | None, unsubscribe_url: str | None) -> Email:
    env = _environment(values["lang"], templates)
    subject = _one_line(env.get_template("email_subject.txt").render(values))  # whatever the catalog says
    return Email(
        subject=subject,
        text=env.get_template("email.txt").render(values).strip() + "\n",
        html=env.get_template("email.html").render(values),
        locale=values["locale"],
        stage=values["stage"],
        list_unsubscribe=unsubscribe_url if occasion.kind == KIND_REMINDER else None,
    )


def render_sms(record: PaymentRequest, url: str, occasion: Occasion, settings: Settings) -> Sms:
    values = _values(record, url, occasion, settings, None)
    try:
        text = _render_sms(values, settings.message_templates)
    except Exception:
        if not settings.message_templates:
            raise
        logger.exception("site template failed; the product's template was used", extra={"payment_request_id": record.id})
        text = _render_sms(values, None)
    return Sms(text=text, locale=values["locale"], stage=values["stage"], segments=sms_segments.segments(text))


def _render_sms(values: dict[str, Any], templates: Mapping[str, str] | None) -> str:
    text = _one_line(_environment(values["lang"], templates).get_template("sms.txt").render(values))
    # CLDR puts no-break spaces in amounts and dates; on an SMS they would turn a GSM-7 text into a UCS-2 one.
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# ---- a merchant's templates, checked when saved --------------------------------------------------------------

SAMPLE_URL = "https://example.wixsite.com/payment/sample-request"
SAMPLE_UNSUBSCRIBE_URL = "https://api.example.com/unsubscribe/sample-token"


def template_problems(templates: Mapping[str, str], settings: Settings) -> list[str]:
    """What is wrong with a merchant's templates, rendered against a sample request in every shipped language, for
    the first link and each reminder stage: a syntax error, a value that does not exist, something the sandbox
    refuses, or a message that lost its pay link (or, in a reminder, its opt-out: the unsubscribe link in an
    e-mail, the STOP line in an SMS). Empty when they may be saved."""
    from jinja2 import TemplateError

    trial = settings.model_copy(update={"message_templates": dict(templates)})
    occasions = (Occasion(KIND_INITIAL), Occasion(KIND_REMINDER, 1), Occasion(KIND_REMINDER, 2), Occasion(KIND_REMINDER, 3, True))
    problems: list[str] = []
    for language in SHIPPED_LANGUAGES:
        record = _sample_request(language)
        for occasion in occasions:
            where = f"{occasion.kind.lower()} {stage_of(occasion, trial).lower()} ({language})"
            reminder = occasion.kind == KIND_REMINDER
            unsubscribe = SAMPLE_UNSUBSCRIBE_URL if reminder else None
            try:  # the site's templates alone: render_email would fall back to ours and hide the problem
                email = _render_email(_values(record, SAMPLE_URL, occasion, trial, unsubscribe), occasion, templates, unsubscribe)
                sms_text = _render_sms(_values(record, SAMPLE_URL, occasion, trial, None), templates)
            except TemplateError as exc:
                line = getattr(exc, "lineno", None)
                problems.append(f"{where}:{f' line {line}' if line else ''} {exc.message or type(exc).__name__}")
                continue
            except Exception as exc:  # {{ 1 / 0 }} and the like: what the template computes fails
                problems.append(f"{where}: {type(exc).__name__}: {exc}")
                continue
            for name, text in (("emailText", email.text), ("emailHtml", email.html), ("sms", sms_text)):
                if SAMPLE_URL not in text:
                    problems.append(f"{where}: {name} has no pay link ({{{{ url }}}})")
            for name, text in (("emailText", email.text), ("emailHtml", email.html)):
                if reminder and SAMPLE_UNSUBSCRIBE_URL not in text:
                    problems.append(f"{where}: {name} of the e-mail has no unsubscribe link ({{{{ unsubscribe_url }}}})")
            if reminder and translations(language).gettext("Reply STOP to opt out.") not in sms_text:
                problems.append(f'{where}: the SMS has no opt-out line ({{{{ _("Reply STOP to opt out.") }}}})')
            if not email.subject:
                problems.append(f"{where}: the subject is empty")
        if problems:
            break  # one language's problems say enough; the same template fails the same way in the others
    return list(dict.fromkeys(problems))


def _sample_request(language: str) -> PaymentRequest:
    from payment_links.domain.contacts import Customer

    at = datetime(2030, 1, 2, 12, tzinfo=UTC)
    return PaymentRequest(
        id="sample-request",
        order_id="sample-order",
        order_number="10001",
        amount=Decimal("40.00"),
        currency="EUR",
        title="Balance due",
        description="Second instalment",
        expiration_date=datetime(2030, 1, 9, 12, tzinfo=UTC),
        created_at=at,
        updated_at=at,
        customer=Customer(name="Jane Doe", locale=language, email="jane@example.com"),
    )


def _one_line(text: str) -> str:
    """Line breaks and runs of ASCII spaces as one space (CLDR's no-break spaces in amounts are kept)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def _values(record: PaymentRequest, url: str, occasion: Occasion, settings: Settings, unsubscribe_url: str | None) -> dict[str, Any]:
    """What a template may use: plain strings and numbers only (the sandbox sees nothing else)."""
    locale = message_locale(record, settings)
    catalog = translations(locale.language)
    tz = zone(record.customer.time_zone, settings.default_time_zone)
    expires = format_expiry(record.expiration_date, tz, locale) if record.expiration_date else None
    order = catalog.gettext("order #%(number)s") % {"number": record.order_number} if record.order_number else catalog.gettext("your order")
    return {
        "name": (record.customer.name or "").split(" ")[0] or None,
        "store": settings.store_name,
        "title": record.title,
        "description": record.description,
        "amount": format_money(record.amount, record.currency, locale),
        "order": order,
        "url": url,
        "unsubscribe_url": unsubscribe_url,
        "expires": expires,
        "stage": stage_of(occasion, settings),
        "kind": occasion.kind,
        "step": occasion.step,
        "lang": locale.language,
        "locale": str(locale),
        "dir": "rtl" if locale.text_direction == "rtl" else "ltr",
    }


class _PartialsLoader(FileSystemLoader):
    """A partial (``_lead.j2``) is included as ``_lead.html`` into HTML and as ``_lead.txt`` into text: Jinja2 decides
    autoescape by the name a template is loaded under, so the one source is escaped where it lands in HTML only."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        stem, _, extension = template.rpartition(".")
        if stem.startswith("_") and extension in ("html", "txt"):
            template = f"{stem}.j2"
        return super().get_source(environment, template)


# A merchant's templates (``PUT /settings`` ``templates``) replace ours by name; what they leave out stays ours.
TEMPLATE_NAMES = {"emailSubject": "email_subject.txt", "emailText": "email.txt", "emailHtml": "email.html", "sms": "sms.txt"}


def _environment(language: str, templates: Mapping[str, str] | None = None) -> ImmutableSandboxedEnvironment:
    sources = tuple(sorted((templates or {}).items()))
    return _cached_environment(language, sources)


@lru_cache(maxsize=64)
def _cached_environment(language: str, sources: tuple[tuple[str, str], ...]) -> ImmutableSandboxedEnvironment:
    ours = _PartialsLoader(TEMPLATES)
    loader: BaseLoader = ChoiceLoader([DictLoader({TEMPLATE_NAMES[key]: text for key, text in sources}), ours]) if sources else ours
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,  # a misspelt value fails the render (and the tests), never sends an empty gap
        extensions=["jinja2.ext.i18n"],
        keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env
