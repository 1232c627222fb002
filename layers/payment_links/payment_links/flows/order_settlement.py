"""Acting on an order that no longer owes what a request asks: the same rule for the sweep's workers and for Wix's
order events (``domain.order_rule`` decides; this module records it and voids at Wix).

Settled (paid, refunded, canceled another way): the request's reminders stop (``ORDER_SETTLED``) and, with
``VoidWhenOrderSettled``, the request is voided at Wix first, so its link stops working too; if Wix answers that
it was paid or expired meanwhile, that is what is recorded. Less open than asked (``ORDER_BALANCE_CHANGED``): the
reminders stop; the request stays as it is at Wix, unless ``ReissueOnBalanceChange`` replaces it by a request for
what is open (``flows.reissue``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.order_rule import ORDER_BALANCE_CHANGED, ORDER_SETTLED, OrderVerdict
from payment_links.domain.payment_request import UNPAID, VOIDED, PaymentRequest, apply_status
from payment_links.flows.delivery import reconcile_status
from payment_links.flows.wix_errors import wix_errors_as_domain

logger = Logger(child=True)


def act_on_order(
    record: PaymentRequest,
    order: OrderVerdict,
    deps: Dependencies,
    now: datetime,
    still: Callable[[PaymentRequest], bool] | None = None,
    inline: bool = True,
) -> str:
    """What the order's verdict asks of an UNPAID request that it no longer matches: reissue for what is open (when
    ``ReissueOnBalanceChange`` is on and less is open, or a reissue of it is under way), else settle. Returns what
    happened, as ``settle_for_order``. ``inline=False`` (the webhook): a reissue is only scheduled for the workers."""
    if still is None:
        still = _not_yet_stopped_for(order)
    if record.reissue_pending is not None or (order.outcome == ORDER_BALANCE_CHANGED and deps.settings.reissue_on_balance_change):
        # Imported here: the reissue pulls in the create flow, which the webhook's cold start never needs.
        from payment_links.flows.reissue import reissue_for_what_is_open, schedule_reissue

        if not inline:
            return ORDER_BALANCE_CHANGED if record.reissue_pending else schedule_reissue(record, order, deps, now, still)
        done = reissue_for_what_is_open(record, deps, now, still)
        if isinstance(done, str):
            return done
        order = done  # settled meanwhile: settle instead
    return settle_for_order(record, order, deps, now, still)


def _not_yet_stopped_for(order: OrderVerdict) -> Callable[[PaymentRequest], bool]:
    return lambda current: current.status == UNPAID and current.reminders.stopped_reason != order.outcome


def settle_for_order(
    record: PaymentRequest,
    order: OrderVerdict,
    deps: Dependencies,
    now: datetime,
    still: Callable[[PaymentRequest], bool] | None = None,
) -> str:
    """Stop ``record``'s reminders for ``order``'s reason (voiding it at Wix when settled); returns what happened:
    the reason, or the status Wix reported instead. ``still``: the record is still as the caller saw it (default:
    UNPAID and not yet stopped for this reason, so a duplicate delivery records nothing twice)."""
    if still is None:
        still = _not_yet_stopped_for(order)
    voiding = order.outcome == ORDER_SETTLED and deps.settings.void_when_order_settled
    if voiding:
        try:
            with wix_errors_as_domain():
                deps.wix.void_payment_request(record.id)
        except errors.NotPayable as exc:  # paid (or expired) at Wix meanwhile: that is the truth to record
            status = (exc.details or [{}])[0].get("status")
            if status:
                reconcile_status(record.id, status, deps, now)
            return str(status or order.outcome)
    detail = f"{order.outcome}: {order.open_amount} {record.currency} open" if order.open_amount is not None else order.outcome

    def change(current: PaymentRequest) -> bool:
        assert still is not None
        if not still(current):
            return False
        if voiding:
            apply_status(current, VOIDED, now, "voided: the order was settled another way")
        current.stop_reminders(order.outcome)
        current.record(now, "REMINDERS_STOPPED", detail=detail)
        return True

    deps.store.update(record.id, change)
    logger.info("order no longer owes the request", extra={"payment_request_id": record.id, "reason": order.outcome})
    return order.outcome
