"""Wix's order events on the webhook route: *Order Payment Status Updated* and *Order Canceled*.

An order paid, refunded or canceled another way leaves its payment requests UNPAID at Wix; the order's event is
the moment to stop asking. The event is a trigger, not the truth: the order and its UNPAID requests are read
from Wix (Get Order, one Query), and the rule of ``domain.order_rule`` is applied to each of our open requests
of that order, as the reminder workers apply it (``flows.order_settlement``). Applying it is idempotent (a request
is settled only while still UNPAID), and it always reads Wix's present state, so duplicated, late or reordered
deliveries change nothing more.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from payment_links.domain import errors
from payment_links.domain.payment_request import UNPAID
from payment_links.flows.payment_request_events import APPLIED, UNCHANGED
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.wix.webhooks import DomainEvent

logger = Logger(child=True)

ORDER_EVENT_TYPES = frozenset({"wix.ecom.v1.order_payment_status_updated", "wix.ecom.v1.order_canceled"})


def apply_order_event(event: DomainEvent, deps: Any) -> str:
    """Settle every open request of the event's order that the order no longer owes. ``deps``: the webhook's
    (settings, store, wix, events, clock) for the event's site."""
    # Imported here, not at the top: the webhook function's cold start (Wix waits 1,250 ms) loads only what every
    # event needs; the Wix models and the settlement flow come with the first order event.
    from payment_links.domain.order_rule import PAYABLE, verdict
    from payment_links.flows.order_settlement import act_on_order

    order_id = event.entity_id
    open_records = [r for r in deps.store.list_by_order(order_id) if r.status == UNPAID and r.deleted_at is None]
    if not open_records:
        return UNCHANGED  # none of ours: nothing to stop (and no Wix call spent)
    try:
        with wix_errors_as_domain(not_found=errors.OrderNotFound):
            order = deps.wix.get_order(order_id)
            open_at_wix = deps.wix.unpaid_for_order(order_id)
    except errors.OrderNotFound:
        logger.warning("order event for an order Wix does not know", extra={"order_id": order_id})
        return UNCHANGED
    now = deps.clock()
    settled = 0
    for record in open_records:
        if record.reissue_pending is not None:
            continue  # a reissue is under way: the workers finish it
        result = verdict(order, record.amount, [opr.amount.amount for opr in open_at_wix if opr.id != record.id])
        if result.outcome != PAYABLE and record.reminders.stopped_reason != result.outcome:  # not settled for it yet
            # A reissue is not made here (it sends, and Wix waits 1,250 ms for our answer): it is scheduled for the
            # reminder workers, due at once.
            act_on_order(record, result, deps, now, inline=False)
            settled += 1
    return APPLIED if settled else UNCHANGED
