"""Tracked pay links (``LinkMode=TRACKED``): ``GET /l/{token}`` on our API instead of Wix's URL in a message.

The token names the request (and its site), the channel, kind and step of the message that carried it, signed like
the opt-out link (``signed_tokens``, its own purpose: neither can be replayed as the other). It grants a click on
one request's link: it reveals the request id, never a contact detail, and it does not expire (a customer opening
an old e-mail after paying gets the "already paid" page, not a payment page).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from payment_links import signed_tokens
from payment_links.config import Settings
from payment_links.domain.contacts import ALL_CHANNELS
from payment_links.domain.payment_request import KIND_INITIAL, KIND_REMINDER, KIND_RESEND
from payment_links.tenancy import THE_SITE, NotASite, Site
from payment_links.unsubscribe_token import api_base_url, signing_key

VERSION = "l1"
_PURPOSE = b"payment-links/tracked-link/"
KINDS = (KIND_INITIAL, KIND_RESEND, KIND_REMINDER)


@dataclass(frozen=True)
class LinkClaim:
    request_id: str
    channel: str
    kind: str
    step: int | None = None
    site: Site = THE_SITE


def make_token(claim: LinkClaim, key: bytes) -> str:
    text = f"{VERSION}:{claim.site.instance_id}:{claim.channel}:{claim.kind}:{claim.step or 0}:{claim.request_id}"
    return signed_tokens.sign(text.encode(), key, _PURPOSE)


def read_token(token: str, key: bytes) -> LinkClaim | None:
    """The claim of a genuine token, or None for anything forged, altered, truncated, respelt or malformed."""
    payload = signed_tokens.verify(token, key, _PURPOSE)
    if payload is None:
        return None
    parts = payload.decode(errors="replace").split(":", 5)
    if len(parts) != 6 or parts[0] != VERSION:
        return None
    _, instance_id, channel, kind, step, request_id = parts
    if channel not in ALL_CHANNELS or kind not in KINDS or not step.isdigit() or not request_id:
        return None
    try:
        site = Site(instance_id) if instance_id else THE_SITE
    except NotASite:
        return None
    return LinkClaim(request_id, channel, kind, int(step) or None, site)


def tracked_url(claim: LinkClaim, settings: Settings) -> str | None:
    """The public tracked link of one message; None when no API base URL is configured."""
    base_url = api_base_url(settings)
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/l/{quote(make_token(claim, signing_key(settings)), safe='.-_')}"
