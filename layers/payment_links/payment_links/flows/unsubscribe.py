"""Opting out of reminders with the signed link in a reminder e-mail, and the plain pages a person sees.

GET shows a confirmation page with a button and changes nothing (mail scanners and link previews fetch
every link in a message); the button POSTs and records the opt-out. The opt-out is per channel, as the
token is: the e-mail link stops e-mail reminders, SNS's opted-out list stops SMS ones; when no channel is
left the reminders stop. Recording it twice changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies, for_site
from payment_links.domain import errors
from payment_links.domain.contacts import EMAIL, reachable_channels
from payment_links.domain.payment_request import PaymentRequest
from payment_links.unsubscribe_token import UnsubscribeClaim, read_token, signing_key

logger = Logger(child=True)

OPTED_OUT = "OPTED_OUT"
CHANNEL_WORDS = {EMAIL: "e-mail", "SMS": "text message"}


def check_link(token: str, deps: Dependencies) -> UnsubscribeClaim:
    claim = read_token(token, signing_key(deps.settings))
    if claim is None:
        raise errors.InvalidUnsubscribeLink("This unsubscribe link is not valid. Copy the whole link from the e-mail.")
    return claim


def _site_of(claim: UnsubscribeClaim, deps: Dependencies) -> Dependencies:
    """The link's site, with its settings (its store name on the page); a removed site's data is still its own."""
    return for_site(deps, claim.site) or deps.for_site(claim.site)


def confirmation(token: str, deps: Dependencies) -> tuple[UnsubscribeClaim, PaymentRequest | None, Dependencies]:
    """What the GET page shows: the claim of a genuine link, its request (None if no longer stored), its site."""
    claim = check_link(token, deps)
    site_deps = _site_of(claim, deps)
    return claim, site_deps.store.get(claim.request_id), site_deps


def opt_out(token: str, deps: Dependencies) -> tuple[UnsubscribeClaim, PaymentRequest | None, Dependencies]:
    """Record that the link's channel wants no more reminders for the link's request."""
    claim = check_link(token, deps)
    site_deps = _site_of(claim, deps)
    now = deps.clock()
    updated = site_deps.store.update(claim.request_id, lambda record: _opt_out(record, claim.channel, now))
    logger.info("reminders opted out", extra={"payment_request_id": claim.request_id, "channel": claim.channel})
    return claim, updated, site_deps


def _opt_out(record: PaymentRequest, channel: str, now: datetime) -> bool:
    if channel in record.opted_out_channels:
        return False
    record.opted_out_channels.append(channel)
    record.record(now, OPTED_OUT, detail=f"{channel}: unsubscribe link")
    reachable = reachable_channels(record.customer)
    closed = {*record.opted_out_channels, *record.undeliverable_channels}
    left = [c for c in (record.channels or reachable) if c in reachable and c not in closed]
    if not left and record.reminders.next_at is not None:
        record.stop_reminders(OPTED_OUT)
        record.record(now, "REMINDERS_STOPPED", detail="every channel opted out")
    return True


# ---- pages ----------------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{escape(title)}</title></head>"
        '<body style="font-family:sans-serif;max-width:560px;margin:40px auto;padding:0 16px">'
        f'<h1 style="font-size:22px">{escape(title)}</h1>{body}</body></html>'
    )


def _about(record: PaymentRequest | None, store_name: str) -> str:
    if record is None:
        return f"a payment at {store_name}"
    order = f"order #{record.order_number}" if record.order_number else "your order"
    return f"{record.title} for {order} at {store_name}"


def confirmation_page(claim: UnsubscribeClaim, record: PaymentRequest | None, store_name: str) -> str:
    words = CHANNEL_WORDS.get(claim.channel, claim.channel)
    if record is not None and claim.channel in record.opted_out_channels:
        return done_page(claim, record, store_name)
    return _page(
        "Stop payment reminders?",
        f"<p>You will get no more {escape(words)} reminders about {escape(_about(record, store_name))}.</p>"
        '<form method="post"><button type="submit" style="background:#116dff;color:#fff;border:0;padding:10px 18px;'
        'border-radius:4px;font-size:16px;cursor:pointer">Stop reminders</button></form>'
        '<p style="font-size:13px;color:#666">The payment itself stays open until it is paid or expires.</p>',
    )


def done_page(claim: UnsubscribeClaim, record: PaymentRequest | None, store_name: str) -> str:
    words = CHANNEL_WORDS.get(claim.channel, claim.channel)
    return _page(
        "Reminders stopped",
        f"<p>You will get no more {escape(words)} reminders about {escape(_about(record, store_name))}.</p>",
    )


def invalid_link_page(message: str) -> str:
    return _page("This link does not work", f"<p>{escape(message)}</p>")
