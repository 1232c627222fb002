"""What SES learned after a send: a delivery, a bounce or a complaint (``functions/ses_events``).

A permanent bounce or a complaint makes the address undeliverable for the site: it is suppressed (stored as a
hash, never the address), the request the message belonged to stops its e-mail reminders at once and says why,
and every other request to that address finds the suppression before its next e-mail reminder
(``flows.reminder``). SMS and other addresses are untouched. A delivery, a transient bounce and every other
outcome are recorded on the notification of that message. Applying an event twice changes nothing more.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain.contacts import EMAIL, reachable_channels
from payment_links.domain.payment_request import PaymentRequest
from payment_links.notify.ses_events import BOUNCE, COMPLAINT, EmailFeedback

logger = Logger(child=True)

UNDELIVERABLE = "UNDELIVERABLE"  # the reason reminders stop when no deliverable channel is left
DELIVERY_STATES = {BOUNCE: "BOUNCED", COMPLAINT: "COMPLAINED"}

APPLIED = "applied"
UNCHANGED = "unchanged"


def address_hash(address: str) -> str:
    """The suppression key of an address: its SHA-256, of the form the e-mail validator normalised it to."""
    return hashlib.sha256(b"payment-links:email:" + address.strip().lower().encode()).hexdigest()


def apply_feedback(feedback: EmailFeedback, deps: Dependencies) -> str:
    """Record one SES event; returns whether it changed anything."""
    hashes = {address_hash(address) for address in feedback.recipients}
    if feedback.undeliverable:
        for hashed in hashes:
            deps.store.suppress_email(hashed, feedback.reason, feedback.at)
    if feedback.request_id is None:
        return APPLIED if feedback.undeliverable else UNCHANGED  # not one of our payment link messages
    state = DELIVERY_STATES.get(feedback.kind, "DELIVERED") if feedback.kind != BOUNCE or feedback.undeliverable else "BOUNCED_TRANSIENT"
    changed = False

    def record(current: PaymentRequest) -> bool:
        nonlocal changed
        for notification in current.notifications:
            if notification.message_id == feedback.message_id and notification.delivery != state:
                if notification.delivery in ("BOUNCED", "COMPLAINED") and state == "DELIVERED":
                    continue  # a late delivery event never hides a complaint
                notification.delivery, notification.delivery_at = state, feedback.at
                changed = True
        addressed = current.customer.email is not None and address_hash(current.customer.email) in hashes
        if feedback.undeliverable and addressed and EMAIL not in current.undeliverable_channels:
            mark_undeliverable(current, feedback.reason, feedback.at)
            changed = True
        return changed

    updated = deps.store.update(feedback.request_id, record)
    if updated is None:
        logger.info("SES event for a request we do not keep", extra={"payment_request_id": feedback.request_id})
    return APPLIED if changed or feedback.undeliverable else UNCHANGED


def mark_undeliverable(record: PaymentRequest, reason: str, at: datetime) -> None:
    """No more e-mail reminders for ``record``; when no channel is left, no more reminders at all."""
    record.undeliverable_channels.append(EMAIL)
    record.record(at, "EMAIL_UNDELIVERABLE", detail=reason)
    reachable = reachable_channels(record.customer)
    left = [
        c
        for c in (record.channels or reachable)
        if c in reachable and c not in record.opted_out_channels and c not in record.undeliverable_channels
    ]
    if not left and record.reminders.next_at is not None:
        record.stop_reminders(UNDELIVERABLE)
        record.record(at, "REMINDERS_STOPPED", detail="no deliverable channel left")
