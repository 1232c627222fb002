"""Signed unsubscribe tokens: the capability in a reminder e-mail's "stop reminders" link.

A token names one payment request and one channel (and, in an APP deployment, the request's site: ``v2``) and
carries an HMAC-SHA256 over them, keyed with the secret named by ``Settings.unsubscribe_secret_name``. It grants
nothing but that opt-out, so it does not expire; it reveals the request id, never a contact detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from aws_lambda_powertools.utilities import parameters

from payment_links import signed_tokens
from payment_links.config import Settings
from payment_links.domain.contacts import ALL_CHANNELS
from payment_links.secrets import get_secret_text
from payment_links.tenancy import THE_SITE, NotASite, Site

VERSION = "v1"  # request and channel, of a SITE deployment's one site
SITE_VERSION = "v2"  # the site too (an APP deployment's request ids are only unique within their site)
MAX_TOKEN_CHARS = signed_tokens.MAX_TOKEN_CHARS
# Domain separation: the same key must never sign anything that could be replayed as an opt-out.
_PURPOSE = b"payment-links/unsubscribe/"


@dataclass(frozen=True)
class UnsubscribeClaim:
    request_id: str
    channel: str
    site: Site = THE_SITE


def make_token(request_id: str, channel: str, key: bytes, site: Site = THE_SITE) -> str:
    text = f"{SITE_VERSION}:{site.instance_id}:{request_id}:{channel}" if site.instance_id else f"{VERSION}:{request_id}:{channel}"
    return signed_tokens.sign(text.encode(), key, _PURPOSE)


def read_token(token: str, key: bytes) -> UnsubscribeClaim | None:
    """The claim of a genuine token, or None for anything forged, altered, truncated or malformed."""
    payload = signed_tokens.verify(token, key, _PURPOSE)
    if payload is None:
        return None
    version, _, rest = payload.decode(errors="replace").partition(":")
    site = THE_SITE
    if version == SITE_VERSION:
        instance_id, _, rest = rest.partition(":")
        try:
            site = Site(instance_id)
        except NotASite:
            return None
    elif version != VERSION:
        return None
    request_id, _, channel = rest.rpartition(":")
    if not request_id or channel not in ALL_CHANNELS:
        return None
    return UnsubscribeClaim(request_id=request_id, channel=channel, site=site)


def signing_key(settings: Settings) -> bytes:
    return get_secret_text(settings.unsubscribe_secret_name).encode()


def unsubscribe_url(request_id: str, channel: str, settings: Settings, site: Site = THE_SITE) -> str | None:
    """The public opt-out link for one request and channel (of ``site``); None when no base URL is configured."""
    base_url = api_base_url(settings)
    if not base_url:
        return None
    token = make_token(request_id, channel, signing_key(settings), site)
    return f"{base_url.rstrip('/')}/unsubscribe/{quote(token, safe='.-_')}"


def api_base_url(settings: Settings) -> str:
    """The API's base URL, or ``ssm:<parameter name>`` naming an SSM parameter that holds it (cached).

    Deployed, it is the parameter: the API references every function, so the template cannot also hand the
    functions the API's URL (CloudFormation refuses the circular dependency).
    """
    configured = settings.unsubscribe_base_url
    if configured.startswith("ssm:"):
        return str(parameters.get_parameter(configured.removeprefix("ssm:"), max_age=settings.secrets_max_age))
    return configured
