"""Whether a payment request may still ask for money: the order decides, not only the request.

In Wix the order and its payment requests are separate objects: an order can be paid another way (the merchant
marks it paid, the customer pays at checkout, another request covers it) while its request stays UNPAID. What is
open for a request is computed as create computes a default amount: the order's ``balanceSummary.balance`` less
the other UNPAID requests of the same order (Wix's balance ignores open requests, docs/wix-notes.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from payment_links.wix.models import Order

PAYABLE = "PAYABLE"
ORDER_SETTLED = "ORDER_SETTLED"  # fully paid, refunded or canceled: nothing is owed any more
ORDER_BALANCE_CHANGED = "ORDER_BALANCE_CHANGED"  # less is open than the request asks (paid in part elsewhere)
REISSUED = "REISSUED"  # ... and, with ReissueOnBalanceChange, replaced by a request for what is open (flows.reissue)

OWING_PAYMENT_STATUSES = frozenset({"NOT_PAID", "PARTIALLY_PAID"})


@dataclass(frozen=True)
class OrderVerdict:
    outcome: str
    open_amount: Decimal | None = None  # what the order still owes this request (None: not computed)


def verdict(order: Order, amount: Decimal, other_unpaid: Iterable[Decimal]) -> OrderVerdict:
    """May a request for ``amount`` of ``order`` still be sent, given the order's other UNPAID requests?"""
    if order.status == "CANCELED" or order.payment_status not in OWING_PAYMENT_STATUSES:
        return OrderVerdict(ORDER_SETTLED, Decimal(0))
    open_amount = order.balance - sum(other_unpaid, Decimal(0))
    if open_amount <= 0:
        return OrderVerdict(ORDER_SETTLED, Decimal(0))
    if open_amount < amount:
        return OrderVerdict(ORDER_BALANCE_CHANGED, open_amount)
    return OrderVerdict(PAYABLE, open_amount)
