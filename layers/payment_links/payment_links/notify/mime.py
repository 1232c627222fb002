"""The e-mail as it goes to SES: one multipart/alternative MIME message (plain text and HTML), and the tags that
SES's events bring back to us."""

from __future__ import annotations

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate

from payment_links.config import Settings
from payment_links.domain.payment_request import PaymentRequest
from payment_links.messages.render import Email, Occasion, stage_of
from payment_links.tenancy import Site

# SES message tags: names and values of ASCII letters, digits, '_' and '-' only, 256 characters at most.
_NOT_TAG_SAFE = re.compile(r"[^A-Za-z0-9_-]")
TAG_REQUEST = "paymentRequestId"
TAG_SITE = "siteInstanceId"
TAG_KIND = "kind"
TAG_STEP = "step"
TAG_STAGE = "stage"


def mime_message(email: Email, sender: str, to: str, store_name: str, tags: list[dict[str, str]] | None = None) -> bytes:
    message = EmailMessage(policy=SMTP)  # CRLF line ends; a header value with CR or LF is refused, never folded in
    message["From"] = Address(display_name=store_name, addr_spec=sender)
    message["To"] = to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    if tags:
        # SES's own header for a raw message's tags (it removes X-SES-* headers before sending): its bounce,
        # complaint and delivery events carry them back. Tags given as API parameters would replace these.
        message["X-SES-MESSAGE-TAGS"] = ", ".join(f"{tag['Name']}={tag['Value']}" for tag in tags)
    if email.list_unsubscribe:
        # RFC 8058 one-click: mailbox providers POST "List-Unsubscribe=One-Click" to the HTTPS URL, no page shown.
        message["List-Unsubscribe"] = f"<{email.list_unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(email.text, charset="utf-8")
    message.add_alternative(email.html, subtype="html", charset="utf-8")
    message["Content-Language"] = email.locale.replace("_", "-")  # after the content: set_content drops Content-*
    return message.as_bytes()


def email_tags(record: PaymentRequest, occasion: Occasion, settings: Settings, site: Site) -> list[dict[str, str]]:
    tags = {
        TAG_REQUEST: record.id,
        TAG_SITE: site.instance_id,
        TAG_KIND: occasion.kind,
        TAG_STEP: str(occasion.step or 0),
        TAG_STAGE: stage_of(occasion, settings),
    }
    return [{"Name": name, "Value": _NOT_TAG_SAFE.sub("_", value)[:256]} for name, value in tags.items() if value]


def tags_from_header(value: str) -> dict[str, str]:
    """``X-SES-MESSAGE-TAGS: a=1, b=2`` as {"a": "1", "b": "2"} (what SES reads from a raw message)."""
    pairs = (part.strip().partition("=") for part in value.split(","))
    return {name: tag for name, _, tag in pairs if name and tag}
