"""Resending a payment link on request: by our request id, or the seed's lost-link flow by order.

The cooldown is enforced by a conditional write: a resend first claims the request's send slot (sets
``last_sent_at`` with a version-checked write) and only the claimant sends, so any number of concurrent
resends inside the cooldown send once. A claim whose send never happened (Wix unavailable, every channel
failed) is handed back, so the caller can retry at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from aws_lambda_powertools import Logger

from payment_links.api_models import LostLinkResendInput, ResendInput
from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import EMAIL, customer_from_order, reachable_channels
from payment_links.domain.order_rule import PAYABLE, verdict
from payment_links.domain.payment_request import (
    KIND_RESEND,
    ORIGIN_EXTERNAL,
    SEND_SENT,
    UNPAID,
    PaymentRequest,
)
from payment_links.domain.reminders import external_reminder_plan, schedule_next
from payment_links.flows.delivery import channels_to_use, fresh_url, not_payable, status_at_wix
from payment_links.flows.recipients import Recipient, recipient_for_resend
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.store import ClaimTaken, RecordExists
from payment_links.unsubscribe_token import unsubscribe_url
from payment_links.wix.models import Order, OrderPaymentRequest

logger = Logger(child=True)

# A lost-link call sends at most this many of an order's unpaid requests (newest first).
MAX_LOST_LINKS = 10


def resend_payment_request(request_id: str, request: ResendInput, deps: Dependencies) -> PaymentRequest:
    """Confirm with Wix that the request is still UNPAID, get its URL again and send it."""
    record = deps.store.get(request_id)
    if record is None:
        raise errors.PaymentRequestNotFound(f"No payment request {request_id}.")
    if record.is_terminal:
        raise not_payable(request_id, record.status)
    given = request.customer.to_customer() if request.customer else None
    order = _order_fetcher(record.order_id, deps)
    recipient = recipient_for_resend(record, given, order, deps)
    chosen = channels_to_use(record.model_copy(update={"customer": recipient.customer}), request.channels)

    def order_still_owes() -> None:
        with wix_errors_as_domain(not_found=errors.OrderNotFound):
            others = [opr for opr in deps.wix.unpaid_for_order(record.order_id) if opr.id != request_id]
            _require_order_owes(record.id, record.amount, order(), others)

    return _send_again(request_id, chosen, recipient, deps, confirm_at_wix=True, order_check=order_still_owes)


def _require_order_owes(request_id: str, amount: Decimal, order: Order, others: list[OrderPaymentRequest]) -> None:
    """409 ``ORDER_NOT_PAYABLE`` when the order no longer owes what the request asks (paid, refunded or canceled
    another way, or less open than asked): a resend must never ask for money that is not owed."""
    result = verdict(order, amount, [opr.amount.amount for opr in others])
    if result.outcome != PAYABLE:
        raise errors.OrderNotPayable(
            f"The order no longer owes this request's amount ({result.outcome}); nothing was sent.",
            details=[{"paymentRequestId": request_id, "orderId": order.id, "reason": result.outcome, "open": str(result.open_amount)}],
        )


def resend_lost_links(order_id: str, request: LostLinkResendInput, deps: Dependencies) -> list[PaymentRequest]:
    """Query Wix for the order's UNPAID requests (newest first, optionally one externalId) and send each again.

    Requests created outside this product are adopted into the store (reminders only with RemindExternalRequests)
    so their sends are recorded and the cooldown applies; they go to the order's buyer, or to a contact of the body
    that the order has (``flows.recipients``)."""
    with wix_errors_as_domain(not_found=errors.OrderNotFound):
        unpaid = deps.wix.unpaid_for_order(order_id)
    if request.external_id:
        unpaid = [opr for opr in unpaid if opr.source.external_id == request.external_id]
    unpaid.sort(key=lambda opr: opr.created_date.timestamp() if opr.created_date else 0.0, reverse=True)
    if not unpaid:
        raise errors.NoUnpaidPaymentRequest(
            "Wix has no UNPAID payment request for this order" + (" with this externalId." if request.external_id else "."),
            details=[{"orderId": order_id, **({"externalId": request.external_id} if request.external_id else {})}],
        )

    given = request.customer.to_customer() if request.customer else None
    order = _order_fetcher(order_id, deps)
    payable: list[OrderPaymentRequest] = []
    last_refusal: errors.OrderNotPayable | None = None
    for opr in unpaid:
        try:
            _require_order_owes(opr.id, opr.amount.amount, order(), [other for other in unpaid if other.id != opr.id])
            payable.append(opr)
        except errors.OrderNotPayable as refused:
            last_refusal = refused
    if not payable and last_refusal is not None:
        raise last_refusal
    unpaid = payable
    sent: list[PaymentRequest] = []
    cooling: list[errors.ResendCooldown] = []
    for opr in unpaid[:MAX_LOST_LINKS]:
        record = deps.store.get(opr.id)
        if record is None:
            record = _adopt(opr, order(), deps)
        elif record.is_terminal:
            continue  # our record learned of the payment/expiry after Wix built this page of results
        recipient = recipient_for_resend(record, given, order, deps)
        chosen = channels_to_use(record.model_copy(update={"customer": recipient.customer}), request.channels)
        try:
            sent.append(_send_again(opr.id, chosen, recipient, deps, confirm_at_wix=False))
        except errors.ResendCooldown as cooldown:
            cooling.append(cooldown)
    if not sent and cooling:
        raise min(cooling, key=lambda exc: exc.retry_after or 0)
    if not sent:
        raise errors.NoUnpaidPaymentRequest("Every UNPAID request of this order has meanwhile been paid, expired or voided.")
    return sent


def _order_fetcher(order_id: str, deps: Dependencies) -> Callable[[], Order]:
    """The order from Wix, fetched at most once and only if asked for."""
    fetched: list[Order] = []

    def order() -> Order:
        if not fetched:
            with wix_errors_as_domain(not_found=errors.OrderNotFound):
                fetched.append(deps.wix.get_order(order_id))
        return fetched[0]

    return order


# ---- one send -------------------------------------------------------------------------------------


def _send_again(
    request_id: str,
    channels: list[str],
    recipient: Recipient,
    deps: Dependencies,
    confirm_at_wix: bool,
    order_check: Callable[[], None] | None = None,
) -> PaymentRequest:
    now = deps.clock()
    # The send slot first: of concurrent resends inside the cooldown only the winner spends Wix calls.
    record, previous = _claim_send_slot(request_id, now, deps)
    try:
        if confirm_at_wix:
            found = status_at_wix(request_id, deps, now)
            if found.status != UNPAID:
                raise not_payable(request_id, found.status)
        if order_check is not None:
            order_check()  # 409 ORDER_NOT_PAYABLE: the slot is handed back below, the request is not final
        url = fresh_url(request_id, deps)
    except errors.NotPayable:
        raise  # the request is final: the slot no longer matters
    except Exception:
        _hand_back_slot(request_id, now, previous, deps)
        raise
    addressed = record.model_copy(update={"customer": recipient.customer})
    notifications = deps.notifier.send(addressed, url, KIND_RESEND, channels, now, unsubscribe_url=_unsubscribe_link(deps))
    delivered = [n.channel for n in notifications if n.status == SEND_SENT]

    def record_outcome(current: PaymentRequest) -> bool:
        current.notifications.extend(notifications)
        current.url = url
        current.url_fetched_at = now
        if recipient.is_override:
            current.record(now, "SENT_TO_OTHER_CONTACT", detail=recipient.history_detail())
        if delivered:
            current.record(now, "LINK_RESENT", detail=",".join(delivered))
        else:
            current.record(now, "LINK_NOT_SENT", detail="resend")
            if current.last_sent_at == now:
                current.last_sent_at = previous  # nothing reached the customer: let them retry now
        return True

    updated = deps.store.update(request_id, record_outcome)
    logger.info("payment link resent", extra={"payment_request_id": request_id, "channels": delivered, "override": recipient.is_override})
    return updated or record


def _claim_send_slot(request_id: str, now: datetime, deps: Dependencies) -> tuple[PaymentRequest, datetime | None]:
    """Take the request's send slot with a version-checked write; returns the claimed record and the
    ``last_sent_at`` it replaced."""
    cooldown = deps.settings.resend_cooldown_seconds
    replaced: list[datetime | None] = []

    def claim(record: PaymentRequest) -> bool:
        if record.is_terminal:
            raise not_payable(request_id, record.status)
        if cooldown and record.last_sent_at is not None:
            wait = cooldown - (now - record.last_sent_at).total_seconds()
            if wait > 0:
                raise errors.ResendCooldown(
                    f"The link of this request was sent less than {cooldown} seconds ago; retry later.",
                    details=[{"paymentRequestId": request_id, "lastSentAt": record.last_sent_at.isoformat()}],
                    retry_after=min(math.ceil(wait), cooldown),
                )
        replaced[:] = [record.last_sent_at]
        record.last_sent_at = now
        return True

    claimed = deps.store.update(request_id, claim)
    if claimed is None:
        raise errors.PaymentRequestNotFound(f"No payment request {request_id}.")
    return claimed, replaced[0]


def _hand_back_slot(request_id: str, claimed_at: datetime, previous: datetime | None, deps: Dependencies) -> None:
    def release(record: PaymentRequest) -> bool:
        if record.last_sent_at != claimed_at:
            return False
        record.last_sent_at = previous
        return True

    deps.store.update(request_id, release)


def _unsubscribe_link(deps: Dependencies) -> Callable[[PaymentRequest], str | None]:
    """Resent e-mails carry the opt-out link too while reminders are still coming."""

    def link(record: PaymentRequest) -> str | None:
        if not (record.reminders.enabled and record.reminders.next_at):
            return None
        return unsubscribe_url(record.id, EMAIL, deps.settings, deps.site)

    return link


def _adopt(opr: OrderPaymentRequest, order: Order, deps: Dependencies) -> PaymentRequest:
    """Store a request created at Wix by someone else, so its sends are recorded; its contacts are the order's.
    Reminders only with RemindExternalRequests: its creator never asked us to chase it."""
    customer = customer_from_order(order, deps.settings.sms_allowed_countries)
    now = deps.clock()
    record = PaymentRequest(
        id=opr.id,
        order_id=opr.order_id,
        order_number=opr.order_number or order.number,
        external_id=opr.source.external_id,
        status=UNPAID,
        amount=opr.amount.amount,
        currency=opr.currency or order.currency,
        title=opr.title or "Payment request",
        description=opr.description,
        expiration_date=opr.expiration_date,
        created_at=opr.created_date or now,
        updated_at=now,
        origin=ORIGIN_EXTERNAL,
        customer=customer,
        channels=reachable_channels(customer),
        reminders=external_reminder_plan(deps.settings),
    )
    record.record(now, "ADOPTED", detail="lost-link resend")
    schedule_next(record, deps.settings, now, first_step=0)
    try:
        return deps.store.create(record)
    except RecordExists:
        pass  # adopted concurrently (another resend or a webhook): use theirs
    except ClaimTaken:
        # Another of our requests holds this externalId; keep the adopted one without claiming it.
        record.external_id = None
        try:
            return deps.store.create(record)
        except RecordExists:
            pass
    stored = deps.store.get(opr.id)
    assert stored is not None
    return stored
