"""Create a payment request for an order and send its link; read, list and void stored requests.

Order of checks on create, as the contract fixes it: a replayed or conflicting externalId first; then
the order (exists, payable); then the amount against what is open; then the channels; only then Wix.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from aws_lambda_powertools import Logger

from payment_links.api_models import CreatePaymentRequestInput
from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import customer_from_order, merge_customer, reachable_channels
from payment_links.domain.money import exponent, format_amount, has_more_precision_than, round_down
from payment_links.domain.payment_request import (
    EXPIRED,
    KIND_INITIAL,
    PAID,
    SEND_SENT,
    UNPAID,
    VOIDED,
    PaymentRequest,
    ReminderPlan,
    apply_status,
)
from payment_links.domain.reminders import schedule_next
from payment_links.flows.paid_events import publish_pending_paid_event
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.store import MAX_UPDATE_ATTEMPTS, ClaimTaken, RecordExists, StaleRecord
from payment_links.wix.models import NewOrderPaymentRequest, Order, OrderPaymentRequest, Price, Source

logger = Logger(child=True)

# Wix paymentStatus values for which asking for money makes sense (wix-api.md §10.3).
PAYABLE_ORDER_STATUSES = frozenset({"NOT_PAID", "PARTIALLY_PAID"})


@dataclass(frozen=True)
class CreateResult:
    record: PaymentRequest
    replayed: bool


def create_payment_request(request: CreatePaymentRequestInput, deps: Dependencies, reissue_of: str | None = None) -> CreateResult:
    """``reissue_of``: the request this one replaces (flows.reissue), linked in the new record's history."""
    content_hash = request.content_hash()
    claim = deps.store.get_claim(request.external_id)
    if claim is not None:
        return _replay(claim.request_id, claim.content_hash, content_hash, deps)

    with wix_errors_as_domain(not_found=errors.OrderNotFound):
        order = deps.wix.get_order(request.order_id)
    _check_order_payable(order)
    with wix_errors_as_domain(not_found=errors.OrderNotFound):
        unpaid = deps.wix.unpaid_for_order(order.id)
        earlier_attempt = deps.wix.find_by_external_id(request.external_id)
    if earlier_attempt is not None and earlier_attempt.order_id != order.id:
        raise errors.ExternalIdConflict(
            "This externalId is already used at Wix by a payment request of another order.",
            details=[{"field": "externalId", "differs": ["orderId"]}],
        )
    others = [opr for opr in unpaid if earlier_attempt is None or opr.id != earlier_attempt.id]
    amount = _amount_to_request(request, order, others)
    if earlier_attempt is not None:
        _check_adoptable(earlier_attempt, order, amount, request, deps)

    from_order = customer_from_order(order, deps.settings.sms_allowed_countries)
    customer = merge_customer(request.customer.to_customer() if request.customer else None, from_order)
    reachable = reachable_channels(customer)
    channels: list[str] = list(request.channels) if request.channels else reachable
    unreachable = [channel for channel in channels if channel not in reachable]
    if not channels or unreachable:
        raise errors.NoReachableChannel(
            "The customer cannot be reached on "
            + (", ".join(unreachable) if unreachable else "any channel")
            + ": give an e-mail address or phone number in `customer`, or add them to the order's buyer details.",
            details=[{"field": "channels", "unreachable": unreachable or ["EMAIL", "SMS"]}],
        )

    if earlier_attempt is None:
        new = NewOrderPaymentRequest(
            order_id=order.id,
            amount=Price(amount=Decimal(format_amount(amount, order.currency))),  # "25.00": the currency's decimals
            title=request.title,
            description=request.description,
            source=Source(external_id=request.external_id),
            expiration_date=request.expiration_date,
        )
        with wix_errors_as_domain(not_found=errors.OrderNotFound):
            created = deps.wix.create_payment_request(new)
        opr, url = created.order_payment_request, created.order_payment_request_url
    else:
        logger.info("adopting the Wix request of an earlier attempt", extra={"payment_request_id": earlier_attempt.id})
        opr = earlier_attempt
        with wix_errors_as_domain():
            url = deps.wix.get_payment_request_url(opr.id)

    now = deps.clock()
    reminders = request.reminders
    record = PaymentRequest(
        id=opr.id,
        order_id=order.id,
        order_number=opr.order_number or order.number,
        external_id=request.external_id,
        status=UNPAID,
        amount=opr.amount.amount,
        currency=opr.currency or order.currency,
        title=opr.title or request.title,
        description=opr.description if opr.description is not None else request.description,
        url=url,
        url_fetched_at=now if url else None,
        expiration_date=opr.expiration_date or request.expiration_date,
        created_at=now,
        updated_at=now,
        customer=customer,
        channels=channels,
        reminders=ReminderPlan(
            enabled=reminders.enabled if reminders else deps.settings.reminders_enabled_by_default,
            schedule=(
                reminders.schedule if reminders and reminders.schedule is not None else list(deps.settings.default_reminder_schedule)
            ),
        ),
        content_hash=content_hash,
    )
    record.record(now, "CREATED")
    if reissue_of is not None:
        record.reissued_from = reissue_of
        record.record(now, "REISSUED_FROM", detail=reissue_of)
    if opr.status != UNPAID:
        apply_status(record, opr.status, now, "wix")
    schedule_next(record, deps.settings, now, first_step=0)
    try:
        deps.store.create(record)
    except ClaimTaken:
        # A concurrent call with the same externalId won the race; its request is the one that stands.
        claim = deps.store.get_claim(request.external_id)
        assert claim is not None
        return _replay(claim.request_id, claim.content_hash, content_hash, deps)
    except RecordExists:
        # Wix's `created` (or even `paid`) webhook was faster than our own write: take that record over.
        record = _take_over_webhook_record(record, deps)
    logger.info("payment request created", extra={"payment_request_id": record.id, "order_id": order.id})

    if record.status == UNPAID:
        record = _send_initial_link(record, url, deps)
    return CreateResult(record=_publish_if_paid(record, deps), replayed=False)


def _take_over_webhook_record(record: PaymentRequest, deps: Dependencies) -> PaymentRequest:
    """Merge what the webhook already recorded (status, history, event sequence) into our new record."""
    for _ in range(MAX_UPDATE_ATTEMPTS):
        stored = deps.store.get(record.id)
        assert stored is not None
        record.version = stored.version
        record.history = sorted([*stored.history, *record.history], key=lambda entry: entry.at)
        record.last_event_sequence = stored.last_event_sequence
        record.deleted_at = stored.deleted_at
        if stored.is_terminal:
            record.status, record.paid_at = stored.status, stored.paid_at
            record.paid_event_pending = stored.paid_event_pending
            record.paid_event_lease_until = stored.paid_event_lease_until
            record.stop_reminders(stored.status)
        try:
            return deps.store.adopt(record)
        except StaleRecord:
            continue
    raise StaleRecord(record.id)


def _send_initial_link(record: PaymentRequest, url: str, deps: Dependencies) -> PaymentRequest:
    now = deps.clock()
    sent = deps.notifier.send(record, url, KIND_INITIAL, record.channels, now)

    def add_notifications(current: PaymentRequest) -> bool:
        current.notifications.extend(sent)
        if any(n.status == SEND_SENT for n in sent):
            current.last_sent_at = now
            current.record(now, "LINK_SENT", detail=",".join(n.channel for n in sent if n.status == SEND_SENT))
        else:
            current.record(now, "LINK_NOT_SENT")
        return True

    updated = deps.store.update(record.id, add_notifications)
    return updated or record


def _replay(request_id: str, stored_hash: str | None, content_hash: str, deps: Dependencies) -> CreateResult:
    if stored_hash != content_hash:
        raise errors.ExternalIdConflict(
            "This externalId was used before with different content. Use a new externalId for a new request.",
            details=[{"field": "externalId", "paymentRequestId": request_id}],
        )
    record = deps.store.get(request_id)
    if record is None:
        raise errors.PaymentRequestNotFound("The request of this externalId is no longer stored.")
    return CreateResult(record=record, replayed=True)


def _check_order_payable(order: Order) -> None:
    if order.payment_status not in PAYABLE_ORDER_STATUSES:
        raise errors.OrderNotPayable(
            f"The order's payment status is {order.payment_status}: there is nothing to request "
            "(paid, pending, refunded or unknown orders cannot get a payment request).",
            details=[{"orderId": order.id, "paymentStatus": order.payment_status}],
        )


def _open_requests(others: list[OrderPaymentRequest]) -> list[dict[str, str | None]]:
    return [{"id": opr.id, "amount": str(opr.amount.amount), "title": opr.title, "externalId": opr.source.external_id} for opr in others]


def _amount_to_request(request: CreatePaymentRequestInput, order: Order, others: list[OrderPaymentRequest]) -> Decimal:
    """The caller's amount, or by default what is still open: the order's balance less its UNPAID requests
    (Wix does not count an unpaid request against the balance, so the buyer would be asked twice), rounded down to
    the currency's minor units (never up: 100.509 open is a request for 100.50)."""
    open_amount = order.balance - sum((opr.amount.amount for opr in others), Decimal("0"))
    details = [
        {"orderBalance": str(order.balance), "openAmount": str(max(open_amount, Decimal("0"))), "openRequests": _open_requests(others)}
    ]
    if request.amount is None:
        if open_amount <= 0:
            raise errors.AmountExceedsBalance(
                "Nothing is open on this order: its balance is covered by unpaid payment requests already.", details=details
            )
        payable = round_down(open_amount, order.currency)
        if payable <= 0:
            raise errors.OrderNotPayable(
                f"Less than one minor unit of {order.currency} is open on this order ({open_amount}): there is nothing to request.",
                details=details,
            )
        return payable
    if request.amount <= 0:
        raise errors.ValidationFailed("The amount must be above zero.", details=[{"field": "amount"}, *details])
    if has_more_precision_than(request.amount, order.currency):
        raise errors.ValidationFailed(
            f"The amount has more decimals than {order.currency} has ({exponent(order.currency)}).", details=[{"field": "amount"}]
        )
    if request.amount > open_amount:
        raise errors.AmountExceedsBalance(
            f"The amount {request.amount} is above what is open on the order ({max(open_amount, Decimal('0'))} {order.currency}).",
            details=details,
        )
    return request.amount


def _check_adoptable(
    earlier: OrderPaymentRequest, order: Order, amount: Decimal, request: CreatePaymentRequestInput, deps: Dependencies
) -> None:
    """A Wix request that already carries this externalId is one of our own earlier attempts (a create whose answer
    was lost) only when it is for the same order, amount and title and, where Wix tells, made by our app. Anything
    else (the dashboard, another app, another call of ours with other content) is never taken over."""
    ours = deps.wix.app_id()
    conflict = []
    if earlier.amount.amount != amount:
        conflict.append("amount")
    if earlier.title != request.title:
        conflict.append("title")
    if ours and earlier.source.app_id and earlier.source.app_id != ours:
        conflict.append("source.appId")
    if conflict:
        raise errors.ExternalIdConflict(
            "A payment request with this externalId already exists at Wix with other content; use a new externalId.",
            details=[{"field": "externalId", "paymentRequestId": earlier.id, "differs": conflict}],
        )


# ---- read, list, void --------------------------------------------------------------------------


def get_payment_request(request_id: str, deps: Dependencies) -> PaymentRequest:
    record = deps.store.get(request_id)
    if record is None:
        raise errors.PaymentRequestNotFound(f"No payment request {request_id}.")
    return record


def list_for_order(order_id: str, deps: Dependencies) -> list[PaymentRequest]:
    return deps.store.list_by_order(order_id)


def void_payment_request(request_id: str, deps: Dependencies) -> PaymentRequest:
    record = get_payment_request(request_id, deps)
    if record.status == VOIDED:
        return record  # idempotent: voiding again changes nothing
    if record.status in (PAID, EXPIRED):
        raise errors.NotPayable(f"The payment request is {record.status} and cannot be voided.", details=[{"status": record.status}])
    try:
        with wix_errors_as_domain():
            deps.wix.void_payment_request(request_id)
    except errors.NotPayable as refused:
        _apply(request_id, refused.details[0]["status"], "wix", deps)
        raise
    return _apply(request_id, VOIDED, "api", deps)


def _apply(request_id: str, status: str, source: str, deps: Dependencies) -> PaymentRequest:
    now = deps.clock()
    updated = deps.store.update(request_id, lambda record: apply_status(record, status, now, source))
    if updated is None:
        raise errors.PaymentRequestNotFound(f"No payment request {request_id}.")
    return _publish_if_paid(updated, deps)


def _publish_if_paid(record: PaymentRequest, deps: Dependencies) -> PaymentRequest:
    """Put PaymentRequestPaid when this flow moved the record to PAID. A failed put keeps the outbox flag
    set for the webhook's redelivery to complete, and does not fail the caller's request."""
    if not record.paid_event_pending:
        return record
    try:
        return publish_pending_paid_event(record, deps)
    except Exception:  # the flag stays set; the next paid webhook delivery publishes it
        logger.exception("PaymentRequestPaid not published yet", extra={"payment_request_id": record.id})
        return record
