"""The small pages a tracked link shows instead of a payment page: paid, expired, voided, unavailable, not valid.
In the customer's language (the messages' catalogs), autoescaped, no script, no style, nothing fetched: the
route sends them with a CSP of ``default-src 'none'``."""

from __future__ import annotations

from collections.abc import Callable

from payment_links.config import Settings
from payment_links.domain.payment_request import EXPIRED, PAID, VOIDED, PaymentRequest
from payment_links.messages.catalogs import translations
from payment_links.messages.render import _environment, message_locale

CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
UNAVAILABLE = "UNAVAILABLE"
INVALID = "INVALID"


def _texts(kind: str, store: str, gettext: Callable[[str], str]) -> tuple[str, str]:
    _ = gettext  # the extractor finds the msgids by this name
    if kind == PAID:
        return _("Already paid"), _("Thank you: this payment to %(store)s has been received.") % {"store": store}
    if kind == EXPIRED:
        return _("This payment link has expired"), _("Please ask %(store)s for a new payment link.") % {"store": store}
    if kind == VOIDED:
        return _("This payment request was cancelled"), _("Please ask %(store)s for a new payment link.") % {"store": store}
    if kind == UNAVAILABLE:
        return _("Payment page not available"), _("The payment page is not available right now. Please try again in a few minutes.")
    return _("This link is not valid"), _("Copy the whole link from the message, or ask the store for a new one.")


def render_page(kind: str, record: PaymentRequest | None, settings: Settings) -> str:
    """The page for ``kind`` (PAID, EXPIRED, VOIDED, UNAVAILABLE, INVALID), in the customer's language when the
    request is known, else the deployment's."""
    locale = message_locale(record, settings) if record is not None else message_locale(None, settings)
    title, text = _texts(kind, settings.store_name, translations(locale.language).gettext)
    values = {"lang": locale.language, "dir": "rtl" if locale.text_direction == "rtl" else "ltr", "title": title, "text": text}
    return _environment(locale.language).get_template("page.html").render(values)
