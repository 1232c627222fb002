"""What every resend and reminder does before it sends: ask Wix for the truth, and act on it.

A missed webhook must never let us chase a customer who has paid, so each send first learns the request's
status at Wix (a Get for a resend; a Query of up to 100 ids for a batch of reminders) and, when Wix shows it
PAID, EXPIRED or VOIDED, moves our record to match (publishing ``PaymentRequestPaid`` when it became paid).
A resend fetches the payment page URL fresh from Wix; a reminder reuses the saved one while it is recent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import reachable_channels
from payment_links.domain.payment_request import PAID, UNPAID, PaymentRequest, apply_status
from payment_links.flows.paid_events import publish_pending_paid_event
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.wix.models import OrderPaymentRequest

logger = Logger(child=True)


def status_at_wix(request_id: str, deps: Dependencies, now: datetime) -> OrderPaymentRequest:
    """The request as Wix has it now; our record is reconciled when Wix shows a final status."""
    with wix_errors_as_domain():
        found = deps.wix.get_payment_request(request_id)
    if found.status != UNPAID:
        reconcile_status(request_id, found.status, deps, now)
    return found


def reconcile_status(request_id: str, wix_status: str, deps: Dependencies, now: datetime) -> PaymentRequest | None:
    """Move the stored record to Wix's status (the lifecycle decides whether it may move)."""
    became_paid = False

    def change(record: PaymentRequest) -> bool:
        nonlocal became_paid
        changed = apply_status(record, wix_status, now, "wix")
        became_paid = changed and record.status == PAID
        return changed

    updated = deps.store.update(request_id, change)
    if updated is not None and became_paid:
        logger.info("payment found at Wix before its webhook", extra={"payment_request_id": request_id})
        try:
            updated = publish_pending_paid_event(updated, deps)
        except Exception:
            # The outbox flag stays set and the next caller puts the event; what the caller of this flow
            # must learn is that the request is paid, not that EventBridge hiccuped.
            logger.exception("PaymentRequestPaid not published yet", extra={"payment_request_id": request_id})
    return updated


def not_payable(request_id: str, wix_status: str) -> errors.NotPayable:
    return errors.NotPayable(
        f"The payment request is {wix_status} at Wix; there is nothing to send.",
        details=[{"paymentRequestId": request_id, "status": wix_status}],
    )


def fresh_url(request_id: str, deps: Dependencies) -> str:
    """Get Order Payment Request URL: never a stored URL, which may be stale or the site may have moved."""
    with wix_errors_as_domain():
        return deps.wix.get_payment_request_url(request_id)


def reminder_url(record: PaymentRequest, deps: Dependencies, due_at: datetime) -> str:
    """The URL a reminder carries: the one Wix gave us while it is no older than ``UrlMaxAgeHours`` when the reminder
    fell due (a sweep that runs a few minutes after a P1D step still reuses a URL saved at create), else a fresh
    one. Lost-link resends always ask Wix (``fresh_url``): the customer says the link failed."""
    max_age = timedelta(hours=deps.settings.url_max_age_hours)
    if record.url and record.url_fetched_at is not None and due_at - record.url_fetched_at <= max_age:
        return record.url
    return fresh_url(record.id, deps)


def channels_to_use(record: PaymentRequest, requested: Sequence[str] | None) -> list[str]:
    """The requested channels (all must be reachable), else the request's own, else every reachable one."""
    reachable = reachable_channels(record.customer)
    if requested:
        unreachable = [channel for channel in requested if channel not in reachable]
        if unreachable:
            raise errors.NoReachableChannel(
                "The customer cannot be reached on " + ", ".join(unreachable) + ".",
                details=[{"field": "channels", "unreachable": unreachable}],
            )
        return list(requested)
    chosen = [channel for channel in record.channels if channel in reachable] or reachable
    if not chosen:
        raise errors.NoReachableChannel(
            "The customer has no e-mail address or phone number on record.",
            details=[{"field": "channels", "unreachable": ["EMAIL", "SMS"]}],
        )
    return chosen
