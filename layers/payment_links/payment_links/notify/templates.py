"""Message texts. Our own templates (SES templated e-mail is not in moto); every value is HTML-escaped."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from payment_links.domain.money import format_amount
from payment_links.domain.payment_request import KIND_REMINDER, PaymentRequest

SMS_MAX_CHARS = 300


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def _greeting(record: PaymentRequest) -> str:
    first_name = (record.customer.name or "").split(" ")[0]
    return f"Hello {first_name}," if first_name else "Hello,"


def _order_label(record: PaymentRequest) -> str:
    return f"order #{record.order_number}" if record.order_number else "your order"


def render_email(record: PaymentRequest, url: str, kind: str, store_name: str, unsubscribe_url: str | None) -> Email:
    amount = f"{format_amount(record.amount, record.currency)} {record.currency}"
    lead = "A reminder: a payment is still open" if kind == KIND_REMINDER else "A payment is requested"
    subject = f"{'Reminder: ' if kind == KIND_REMINDER else ''}{record.title} ({amount}) for {_order_label(record)}"
    lines = [
        _greeting(record),
        "",
        f"{lead} for {_order_label(record)} at {store_name}: {record.title}, {amount}.",
    ]
    if record.description:
        lines.append(record.description)
    if record.expiration_date:
        lines.append(f"The link is valid until {record.expiration_date:%Y-%m-%d %H:%M} UTC.")
    lines += ["", f"Pay securely here: {url}", ""]
    if unsubscribe_url:
        lines.append(f"To stop e-mail reminders for this payment: {unsubscribe_url}")
    text = "\n".join(lines)

    html_parts = [
        '<!doctype html><html><body style="font-family:sans-serif;max-width:560px">',
        f"<p>{escape(_greeting(record))}</p>",
        f"<p>{escape(lead)} for {escape(_order_label(record))} at {escape(store_name)}:</p>",
        f"<p><strong>{escape(record.title)}</strong><br>{escape(amount)}</p>",
    ]
    if record.description:
        html_parts.append(f"<p>{escape(record.description)}</p>")
    if record.expiration_date:
        html_parts.append(f"<p>The link is valid until {record.expiration_date:%Y-%m-%d %H:%M} UTC.</p>")
    html_parts.append(
        f'<p><a href="{escape(url, quote=True)}" style="background:#116dff;color:#fff;padding:10px 18px;'
        'border-radius:4px;text-decoration:none">Pay now</a></p>'
    )
    if unsubscribe_url:
        html_parts.append(
            f'<p style="font-size:12px;color:#666"><a href="{escape(unsubscribe_url, quote=True)}">'
            "Stop e-mail reminders for this payment</a></p>"
        )
    html_parts.append("</body></html>")
    return Email(subject=subject, text=text, html="".join(html_parts))


def render_sms(record: PaymentRequest, url: str, kind: str, store_name: str) -> str:
    amount = f"{format_amount(record.amount, record.currency)} {record.currency}"
    prefix = "Reminder: " if kind == KIND_REMINDER else ""
    message = f"{prefix}{store_name}: {amount} due for {_order_label(record)}. Pay here: {url}"
    if kind == KIND_REMINDER:
        message += " Reply STOP to opt out."
    return message[:SMS_MAX_CHARS]
