"""The outbox: every e-mail (SES v2) and SMS (SNS) the functions sent, read from moto's own state.

moto's server runs in this process, so its backends are read directly. moto keeps no send time, and keeps only
the HTML part of an e-mail that has both; ``observe()`` (called after every invocation) stamps each message
with the time it was first seen, and the text part is derived from the HTML.
"""

from __future__ import annotations

import email
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from html import escape
from html.parser import HTMLParser
from typing import Any

from moto.ses.models import RawMessage, ses_backends
from moto.sns.models import sns_backends

from local.environment import ACCOUNT_ID


class _TextAndLinks(HTMLParser):
    """Plain text of an HTML e-mail, with each link's target after its label, as a text e-mail would show it."""

    BLOCKS = frozenset({"p", "br", "div", "tr", "li", "h1", "h2", "h3", "table"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.links: list[str] = []
        self._href: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "head"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head"):
            self._skip = max(0, self._skip - 1)
        if tag == "a" and self._href:
            self.links.append(self._href)
            self.parts.append(f" ({self._href})")
            self._href = None
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def html_text_and_links(html: str) -> tuple[str, list[str]]:
    parser = _TextAndLinks()
    parser.feed(html)
    parser.close()
    return parser.text(), parser.links


def _snapshot(read: Any) -> Any:
    """A copy of a moto collection that another thread (a sending function) may be growing right now."""
    for _ in range(10):
        try:
            return read()
        except RuntimeError:  # "mutated during iteration": read again
            continue
    return read()


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Outbox:
    region: str
    account_id: str = ACCOUNT_ID
    _first_seen: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self) -> None:
        """Stamp messages sent since the last look with the current time."""
        now = datetime.now(UTC)
        ids = [m.id for m in self._sent_emails()] + [mid for mid, _ in self._sent_sms()]
        with self._lock:
            for message_id in ids:
                self._first_seen.setdefault(message_id, now)

    def emails(self) -> list[dict[str, Any]]:
        self.observe()
        return [self._email(m) for m in reversed(self._sent_emails())]

    def sms(self) -> list[dict[str, Any]]:
        self.observe()
        messages = reversed(self._sent_sms())
        return [{"id": mid, "to": phone, "message": text, "at": self._at(mid)} for mid, (phone, text) in messages]

    def to_json(self, to: str | None = None) -> dict[str, Any]:
        emails, sms = self.emails(), self.sms()
        if to:
            emails = [e for e in emails if to in e["to"]]
            sms = [s for s in sms if s["to"] == to]
        return {"emails": emails, "sms": sms}

    # -- moto's state --------------------------------------------------------------------------------------------

    def sms_messages(self) -> list[tuple[str, tuple[str, str]]]:
        """moto's record of every SMS: (message id, (number, text)), oldest first."""
        return self._sent_sms()

    def latest_email_to(self, address: str) -> Any | None:
        """moto's record of the last e-mail sent to ``address`` (its id, raw data, destinations)."""
        sent = [m for m in self._sent_emails() if isinstance(m, RawMessage) and address in m.destinations]
        return sent[-1] if sent else None

    def _sent_emails(self) -> list[Any]:
        return _snapshot(lambda: list(ses_backends[self.account_id][self.region].sent_messages))

    def _sent_sms(self) -> list[tuple[str, tuple[str, str]]]:
        return _snapshot(lambda: list(sns_backends[self.account_id][self.region].sms_messages.items()))

    def _at(self, message_id: str) -> str:
        with self._lock:
            return _iso(self._first_seen.setdefault(message_id, datetime.now(UTC)))

    def _email(self, message: Any) -> dict[str, Any]:
        if isinstance(message, RawMessage):
            return self._raw_email(message)
        destinations = message.destinations or {}
        # A templated e-mail (TemplateMessage) has no body in moto, only the template's name and data.
        body = getattr(message, "body", None) or getattr(message, "template_data", None) or ""
        is_html = "<" in body and ">" in body
        text, links = html_text_and_links(body) if is_html else (body, [])
        return {
            "id": message.id,
            "from": message.source,
            "to": list(destinations.get("ToAddresses", [])),
            "cc": list(destinations.get("CcAddresses", [])),
            "subject": getattr(message, "subject", ""),
            "text": text,
            "html": body if is_html else None,
            "links": links,
            "at": self._at(message.id),
        }

    def _raw_email(self, message: RawMessage) -> dict[str, Any]:
        parsed = email.message_from_string(message.raw_data, policy=policy.default)
        html_part, text_part = parsed.get_body(("html",)), parsed.get_body(("plain",))
        html = html_part.get_content() if html_part else None
        text = text_part.get_content() if text_part else (html_text_and_links(html)[0] if html else "")
        return {
            "id": message.id,
            "from": message.source,
            "to": list(dict.fromkeys(message.destinations)),  # moto adds the To header to the Destination
            "cc": [],
            "subject": str(parsed.get("Subject", "")),
            "headers": {name: str(value) for name, value in parsed.items() if not name.lower().startswith("content-")},
            "language": str(parsed.get("Content-Language", "")) or None,
            "text": text,
            "html": html,
            "links": html_text_and_links(html)[1] if html else [],
            "at": self._at(message.id),
        }


# -- the page for people ---------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
article { border: 1px solid #ddd; border-radius: .5rem; padding: 1rem; margin: 1rem 0; }
.meta { color: #555; font-size: .9rem; } .links a { display: block; word-break: break-all; margin: .25rem 0; }
iframe { width: 100%; height: 16rem; border: 1px solid #eee; }
.headers table { font-size: .8rem; border-collapse: collapse; } .headers th { text-align: left; padding-right: 1rem; }
.sms { white-space: pre-wrap; background: #f3f6ff; border-radius: 1rem; padding: .75rem 1rem; display: inline-block; }
"""


def render_page(data: dict[str, Any]) -> str:
    """E-mails rendered as the customer sees them (in a sandboxed frame), with their links; then the SMS."""
    email_items = []
    for item in data["emails"]:
        links = "".join(f'<a href="{escape(url, quote=True)}">{escape(url)}</a>' for url in item["links"])
        content = (
            f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc="{escape(item["html"], quote=True)}"></iframe>'
            if item["html"]
            else f"<pre>{escape(item['text'])}</pre>"
        )
        headers = item.get("headers") or {}
        header_rows = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in headers.items())
        language = f' · language <strong lang="">{escape(item["language"])}</strong>' if item.get("language") else ""
        email_items.append(
            f'<article class="email"><h3>{escape(item["subject"])}</h3>'
            f'<p class="meta">To {escape(", ".join(item["to"]))} · from {escape(item["from"])} · {escape(item["at"])}{language}</p>'
            f'<details class="headers"><summary>Headers</summary><table>{header_rows}</table></details>'
            f'{content}<p class="links">{links}</p></article>'
        )
    sms_items = [
        f'<article class="sms-item"><p class="meta">To {escape(item["to"])} · {escape(item["at"])}</p>'
        f'<div class="sms">{escape(item["message"])}</div></article>'
        for item in data["sms"]
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Outbox</title>'
        f"<style>{_STYLE}</style></head><body><h1>Outbox</h1>"
        '<p class="meta">What the customers were sent, newest first (moto\'s SES and SNS). '
        '<a href="">Refresh</a> · <a href="outbox.json">JSON</a></p>'
        f"<h2>E-mails ({len(email_items)})</h2>{''.join(email_items) or '<p>None yet.</p>'}"
        f"<h2>SMS ({len(sms_items)})</h2>{''.join(sms_items) or '<p>None yet.</p>'}"
        "</body></html>"
    )
