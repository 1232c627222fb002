"""What the providers learned after a send (``functions/delivery_events``): SES's delivery, bounce and complaint
events for e-mails, SNS's delivery status log for SMS.

E-mail: a permanent bounce or a complaint makes the address undeliverable for the site: it is suppressed (stored
as a hash, never the address), the request the message belonged to stops its e-mail reminders at once and says
why, and every other request to that address finds the suppression before its next e-mail reminder
(``suppressions``, called by ``flows.reminder``). A delivery, a transient bounce and every other outcome are
recorded on the notification of that message.

SMS: SNS logs no request or site, only the number; a failure that will not go away (an invalid number, a number
that blocks SMS) suppresses the number for the whole deployment (it is the number's, whoever sends), and each
request to it records why before its next SMS reminder. Other failures are counted, not acted on.

Applying an event twice changes nothing more.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain.contacts import EMAIL, SMS, reachable_channels
from payment_links.domain.payment_request import PaymentRequest
from payment_links.notify.ses_events import BOUNCE, COMPLAINT, EmailFeedback
from payment_links.notify.sns_delivery_logs import SmsFailure
from payment_links.tenancy import THE_SITE

logger = Logger(child=True)

UNDELIVERABLE = "UNDELIVERABLE"  # the reason reminders stop when no deliverable channel is left
DELIVERY_STATES = {BOUNCE: "BOUNCED", COMPLAINT: "COMPLAINED"}

APPLIED = "applied"
UNCHANGED = "unchanged"


def address_hash(address: str) -> str:
    """The suppression key of an e-mail address or phone number: its SHA-256, of the normalised form (the e-mail
    validator's, E.164)."""
    return hashlib.sha256(b"payment-links:address:" + address.strip().lower().encode()).hexdigest()


def apply_email_feedback(feedback: EmailFeedback, deps: Dependencies) -> str:
    """Record one SES event; returns whether it changed anything."""
    hashes = {address_hash(address) for address in feedback.recipients}
    if feedback.undeliverable:
        for hashed in hashes:
            deps.store.suppress(EMAIL, hashed, feedback.reason, feedback.at)
    if feedback.request_id is None:
        return APPLIED if feedback.undeliverable else UNCHANGED  # not one of our payment link messages
    state = _delivery_state(feedback)
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
            mark_undeliverable(current, EMAIL, feedback.reason, feedback.at)
            changed = True
        return changed

    updated = deps.store.update(feedback.request_id, record)
    if updated is None:
        logger.info("SES event for a request we do not keep", extra={"payment_request_id": feedback.request_id})
    return APPLIED if changed or feedback.undeliverable else UNCHANGED


def _delivery_state(feedback: EmailFeedback) -> str:
    """What the notification records: DELIVERED, BOUNCED (for good), BOUNCED_TRANSIENT or COMPLAINED."""
    if feedback.kind == BOUNCE and not feedback.undeliverable:
        return "BOUNCED_TRANSIENT"
    return DELIVERY_STATES.get(feedback.kind, "DELIVERED")


def mark_undeliverable(record: PaymentRequest, channel: str, reason: str, at: datetime) -> None:
    """No more reminders on ``channel`` for ``record``; when no channel is left, no more reminders at all."""
    record.undeliverable_channels.append(channel)
    record.record(at, f"{channel}_UNDELIVERABLE", detail=reason)
    reachable = reachable_channels(record.customer)
    left = [
        c
        for c in (record.channels or reachable)
        if c in reachable and c not in record.opted_out_channels and c not in record.undeliverable_channels
    ]
    if not left and record.reminders.next_at is not None:
        record.stop_reminders(UNDELIVERABLE)
        record.record(at, "REMINDERS_STOPPED", detail="no deliverable channel left")


def apply_sms_failures(failures: list[SmsFailure], deps: Dependencies) -> int:
    """Suppress the numbers of SNS's failures that will not go away; returns how many were suppressed."""
    deployment_wide = deps.store.for_site(THE_SITE)
    suppressed = 0
    for failure in failures:
        if failure.permanent:
            deployment_wide.suppress(SMS, address_hash(failure.destination), failure.reason, failure.at)
            suppressed += 1
    return suppressed


def suppressions(record: PaymentRequest, channels: list[str], deps: Dependencies) -> dict[str, str]:
    """The channels among ``channels`` whose address of ``record`` may not be sent to, and why (one GetItem each):
    e-mail per site (a complaint is about this site's mail), SMS deployment-wide (a number's own failure)."""
    found: dict[str, str] = {}
    if EMAIL in channels and record.customer.email:
        reason = deps.store.suppression(EMAIL, address_hash(record.customer.email))
        if reason is not None:
            found[EMAIL] = reason
    if SMS in channels and record.customer.phone:
        reason = deps.store.for_site(THE_SITE).suppression(SMS, address_hash(record.customer.phone))
        if reason is not None:
            found[SMS] = reason
    return found
