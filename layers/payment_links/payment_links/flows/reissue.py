"""Reissue for what is open (``ReissueOnBalanceChange``): a request asking more than its order still owes is voided
and a new one, for what is open, is created and sent; each names the other (``reissuedAs`` / ``reissuedFrom`` and
their histories).

Exactly one new request, however often this runs or wherever it stops:

1. The order is read again (Get Order and its UNPAID requests): a verdict from a batch's snapshot may be stale
   (another request of the order was just reissued). Payable now → nothing happens; settled → settled instead.
2. The intent is written on the old record (``reissuePending``: the new request's externalId, derived from the old
   id, so every retry asks for the same one). The record stays due, so a retry comes back here: the sweep
   resumes a pending reissue before anything else, an order event resumes it too.
3. The old request is voided at Wix (voided already: a retry, go on; paid or expired meanwhile: that is recorded
   and nothing is reissued, so the customer is never asked twice).
4. The new request is created through the create flow with the default amount, so what is open is computed
   from Wix's present state exactly as a storefront's create would; the externalId makes a retry a replay
   (or an adoption of Wix's request when only our answer was lost), never a second request.
5. The old record is voided, its reminders stopped (``ORDER_BALANCE_CHANGED``) and linked to the new one.

Voiding before creating: with the old request still UNPAID, Wix's balance (which ignores open requests) would
count it, and a payment landing on it between the two steps would leave the customer owing less than the new
request asks.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from aws_lambda_powertools import Logger

from payment_links.api_models import INTERNAL, RESERVED_EXTERNAL_ID_PREFIX, CreatePaymentRequestInput, CustomerInput, RemindersInput
from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.order_rule import ORDER_BALANCE_CHANGED, PAYABLE, REISSUED, OrderVerdict, verdict
from payment_links.domain.payment_request import UNPAID, VOIDED, PaymentRequest, apply_status
from payment_links.flows.create import create_payment_request
from payment_links.flows.delivery import reconcile_status
from payment_links.flows.wix_errors import wix_errors_as_domain

logger = Logger(child=True)


# One reissue of an order at a time: each computes what is open from the order's other requests, so two made
# together (two requests of one order in one batch) would each ask for all of it. Another worker's reissue of
# the same order is waited for by leaving the request due (ORDER_BUSY) for the next sweep.
ORDER_LEASE_SECONDS = 120
ORDER_BUSY = "ORDER_BUSY"

# An expiry this close is not carried over: the new request would be created all but expired.
MIN_EXPIRY_LEFT = timedelta(hours=1)


def reissue_external_id(request_id: str) -> str:
    return f"{RESERVED_EXTERNAL_ID_PREFIX}{request_id}"


def reissue_for_what_is_open(
    record: PaymentRequest, deps: Dependencies, now: datetime, still: Callable[[PaymentRequest], bool]
) -> str | OrderVerdict:
    """Void ``record`` and create a new request for what its order still owes; returns what happened (``PAYABLE``:
    the order covers it now; the status Wix reported instead; ``REISSUED``), or the fresh verdict when the order
    turns out settled, for the caller to settle. ``still``: the record is still as the caller saw it."""
    owner = uuid.uuid4().hex
    if not deps.store.take_order_lease(record.order_id, owner, ORDER_LEASE_SECONDS):
        return ORDER_BUSY
    try:
        return _reissue(record, deps, now, still)
    finally:
        deps.store.release_order_lease(record.order_id, owner)


def _reissue(record: PaymentRequest, deps: Dependencies, now: datetime, still: Callable[[PaymentRequest], bool]) -> str | OrderVerdict:
    if record.reissue_pending is None:
        result = _fresh_verdict(record, deps)
        if result.outcome != ORDER_BALANCE_CHANGED:
            return PAYABLE if result.outcome == PAYABLE else result
        started = _start(record, result, deps, now, still)
        if started is None:
            return PAYABLE  # another writer moved the record on: nothing of ours to do
        record = started
    external_id = record.reissue_pending
    assert external_id is not None
    try:
        with wix_errors_as_domain():
            deps.wix.void_payment_request(record.id)
    except errors.NotPayable as exc:
        status = (exc.details or [{}])[0].get("status")
        if status != VOIDED:  # paid or expired meanwhile: nothing to reissue
            _abandon(record.id, str(status), deps, now)
            return str(status)
    try:
        created = create_payment_request(_new_request(record, external_id, now), deps, reissue_of=record.id).record
    except (errors.AmountExceedsBalance, errors.OrderNotPayable, errors.OrderNotFound) as exc:
        _finish(record.id, None, deps, now, detail=f"nothing reissued: {exc.code}")  # nothing open any more
        return ORDER_BALANCE_CHANGED
    except errors.ExternalIdConflict:
        claim = deps.store.get_claim(external_id)  # made by an earlier try with other content (its expiry passed)
        if claim is None:
            raise
        _finish(record.id, claim.request_id, deps, now)
        return REISSUED
    _finish(record.id, created.id, deps, now)
    logger.info("request reissued for what is open", extra={"payment_request_id": record.id, "reissued_as": created.id})
    return REISSUED


def _fresh_verdict(record: PaymentRequest, deps: Dependencies) -> OrderVerdict:
    """The order rule on Wix's present state (a batch's verdict may predate another request's reissue)."""
    with wix_errors_as_domain(not_found=errors.OrderNotFound):
        order = deps.wix.get_order(record.order_id)
        others = [opr.amount.amount for opr in deps.wix.unpaid_for_order(record.order_id) if opr.id != record.id]
    return verdict(order, record.amount, others)


def schedule_reissue(
    record: PaymentRequest, result: OrderVerdict, deps: Dependencies, now: datetime, still: Callable[[PaymentRequest], bool]
) -> str:
    """Where the reissue cannot be done at once (the webhook answers Wix within its 1,250 ms and sends nothing):
    write the intent and make the record due now; the next sweep's workers finish it."""
    _start(record, result, deps, now, still, due_now=True)
    return ORDER_BALANCE_CHANGED


def _start(
    record: PaymentRequest,
    result: OrderVerdict,
    deps: Dependencies,
    now: datetime,
    still: Callable[[PaymentRequest], bool],
    due_now: bool = False,
) -> PaymentRequest | None:
    """Write the intent (the record stays due, so a retry resumes it); None when the record moved on meanwhile."""
    open_amount = result.open_amount if result.open_amount is not None else Decimal(0)
    written = False

    def intend(current: PaymentRequest) -> bool:
        nonlocal written
        written = current.reissue_pending is None and still(current)
        if written:
            current.reissue_pending = reissue_external_id(current.id)
            if due_now:
                current.reminders.next_at = now
                current.reminders.in_flight = None
            current.record(now, "REISSUING", detail=f"{ORDER_BALANCE_CHANGED}: {open_amount} {current.currency} open")
        return written

    updated = deps.store.update(record.id, intend)
    return updated if written else None


def _new_request(old: PaymentRequest, external_id: str, now: datetime) -> CreatePaymentRequestInput:
    """The old request's content for the new one; the amount left to create's default: what is open now."""
    expiry = old.expiration_date if old.expiration_date and old.expiration_date - now > MIN_EXPIRY_LEFT else None
    customer = old.customer
    return CreatePaymentRequestInput.model_validate(
        {
            "orderId": old.order_id,
            "externalId": external_id,
            "title": old.title,
            "description": old.description,
            "expirationDate": expiry,
            "customer": CustomerInput(
                email=customer.email, phone=customer.phone, name=customer.name, locale=customer.locale, time_zone=customer.time_zone
            ),
            "channels": old.channels or None,
            "reminders": RemindersInput(enabled=old.reminders.enabled, schedule=old.reminders.schedule),
        },
        context=INTERNAL,
    )


def _finish(request_id: str, new_id: str | None, deps: Dependencies, now: datetime, detail: str | None = None) -> None:
    def change(current: PaymentRequest) -> bool:
        if current.reissue_pending is None:
            return False  # finished by a concurrent try
        current.reissue_pending = None
        apply_status(current, VOIDED, now, "voided: the order owes less than it asked")
        current.stop_reminders(ORDER_BALANCE_CHANGED)
        current.reissued_as = new_id
        current.record(now, REISSUED if new_id else "REMINDERS_STOPPED", detail=new_id or f"{ORDER_BALANCE_CHANGED}: {detail}")
        return True

    deps.store.update(request_id, change)


def _abandon(request_id: str, wix_status: str, deps: Dependencies, now: datetime) -> None:
    def clear(current: PaymentRequest) -> bool:
        if current.reissue_pending is None:
            return False
        current.reissue_pending = None
        current.record(now, "REISSUE_ABANDONED", detail=f"{wix_status} at Wix")
        return True

    deps.store.update(request_id, clear)
    if wix_status in (UNPAID, ""):
        return
    reconcile_status(request_id, wix_status, deps, now)
