"""A customer follows a tracked link (``GET /l/{token}``, ``LinkMode=TRACKED``).

UNPAID: the click is recorded (on the request, and in the site's daily counters with it), and the customer is sent
(302) to the payment page URL fresh from Wix (Get URL, inside the site's shared quota); if Wix cannot answer, to the
saved URL. PAID, EXPIRED, VOIDED: a page says so; never a Wix URL. A click that is not a person's is not recorded:

- ``HEAD`` (link checkers, some previewers) and ``Purpose: prefetch`` / ``Sec-Purpose: prefetch`` requests;
- a ``User-Agent`` of a known link scanner or previewer (``SCANNER_AGENTS``), or none at all.

Such a request still gets the same answer (a scanner that follows a redirect to Wix spends no Wix call: it gets
the saved URL). Mail security products that open links from a real browser cannot be told apart and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.payment_request import UNPAID, Click, PaymentRequest
from payment_links.flows import reminder_claim as claims
from payment_links.flows.delivery import reconcile_status
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.link_token import LinkClaim, read_token
from payment_links.sites import for_site
from payment_links.unsubscribe_token import signing_key

logger = Logger(child=True)

SCANNER_AGENTS = (
    "bot",
    "crawler",
    "spider",
    "preview",
    "scanner",
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "microsoft office",
    "googleimageproxy",
    "facebookexternalhit",
    "whatsapp",
    "slack",
    "telegram",
    "skype",
    "curl/",
    "python-requests",
    "go-http-client",
)
UNAVAILABLE = "UNAVAILABLE"
INVALID = "INVALID"


@dataclass(frozen=True)
class Followed:
    """What to answer: a redirect to ``location``, or the page of ``page`` (a status or UNAVAILABLE/INVALID)."""

    location: str | None = None
    page: str | None = None
    record: PaymentRequest | None = None
    deps: Dependencies | None = None
    counted: Click | None = None  # the click recorded, when it was a person's


def is_person(method: str, user_agent: str | None, purpose: str | None) -> bool:
    if method.upper() != "GET" or (purpose or "").lower() == "prefetch":
        return False
    agent = (user_agent or "").lower()
    return bool(agent) and not any(marker in agent for marker in SCANNER_AGENTS)


def follow(token: str, method: str, user_agent: str | None, purpose: str | None, deps: Dependencies, now: datetime) -> Followed:
    claim = read_token(token, signing_key(deps.settings))
    if claim is None:
        return Followed(page=INVALID, deps=deps)
    site_deps = for_site(deps, claim.site) or deps.for_site(claim.site)
    record = site_deps.store.get(claim.request_id)
    if record is None or record.deleted_at is not None:
        return Followed(page=INVALID, deps=site_deps)
    person = is_person(method, user_agent, purpose)
    if record.status != UNPAID:
        return Followed(page=record.status, record=record, deps=site_deps)
    counted = _record_click(record, claim, site_deps, now) if person else None
    if not person:
        return Followed(location=record.url, page=None if record.url else UNAVAILABLE, record=record, deps=site_deps)
    try:
        with wix_errors_as_domain():
            url = site_deps.wix.get_payment_request_url(record.id)
    except errors.NotPayable as refused:  # paid or expired at Wix before its webhook: that is the truth
        status = str((refused.details or [{}])[0].get("status") or "")
        updated = reconcile_status(record.id, status, site_deps, now) if status else None
        shown = updated.status if updated is not None and updated.status != UNPAID else (status or UNAVAILABLE)
        return Followed(page=shown, record=updated or record, deps=site_deps, counted=counted)
    except errors.DomainError as exc:  # Wix down or the quota spent: the saved URL still works
        logger.warning("tracked link: fresh URL unavailable", extra={"payment_request_id": record.id, "error_code": exc.code})
        url = record.url or ""
    if not url:
        return Followed(page=UNAVAILABLE, record=record, deps=site_deps, counted=counted)
    return Followed(location=url, record=record, deps=site_deps, counted=counted)


def _record_click(record: PaymentRequest, claim: LinkClaim, deps: Dependencies, now: datetime) -> Click | None:
    """One conditional write from the record in hand (its counters in the same transaction); read again only when
    another writer got there first."""
    click = Click(channel=claim.channel, kind=claim.kind, step=claim.step, at=now)

    def change(current: PaymentRequest) -> bool:
        if current.status != UNPAID:
            return False
        current.clicks.append(click)
        return True

    updated = claims.change(record, change, deps)
    return click if updated is not None and updated.clicks and updated.clicks[-1] == click else None
