"""The order decides whether a request may still ask for money (domain/order_rule.py), without AWS or Wix."""

from __future__ import annotations

from decimal import Decimal

import pytest
from payment_links.domain.order_rule import ORDER_BALANCE_CHANGED, ORDER_SETTLED, PAYABLE, verdict
from payment_links.wix.models import Order


def order(balance: str, payment_status: str = "NOT_PAID", status: str = "APPROVED") -> Order:
    return Order.model_validate(
        {"id": "o", "status": status, "paymentStatus": payment_status, "balanceSummary": {"balance": {"amount": balance}}}
    )


@pytest.mark.parametrize(
    ("the_order", "amount", "others", "expected", "open_amount"),
    [
        (order("40.00"), "25.00", [], PAYABLE, "40.00"),
        (order("40.00", "PARTIALLY_PAID"), "40.00", [], PAYABLE, "40.00"),
        (order("20.00", "PARTIALLY_PAID"), "25.00", [], ORDER_BALANCE_CHANGED, "20.00"),
        (order("40.00"), "25.00", ["20.00"], ORDER_BALANCE_CHANGED, "20.00"),  # another open request asks the rest
        (order("40.00"), "25.00", ["15.00"], PAYABLE, "25.00"),  # exactly what is open
        (order("40.00"), "25.00", ["40.00"], ORDER_SETTLED, "0"),  # other requests cover it all
        (order("0", "PAID"), "25.00", [], ORDER_SETTLED, "0"),
        (order("0", "FULLY_REFUNDED"), "25.00", [], ORDER_SETTLED, "0"),
        (order("0", "PARTIALLY_REFUNDED"), "25.00", [], ORDER_SETTLED, "0"),
        (order("40.00", "NOT_PAID", status="CANCELED"), "25.00", [], ORDER_SETTLED, "0"),
    ],
)
def test_what_is_open_for_a_request_decides(the_order, amount, others, expected, open_amount):
    result = verdict(the_order, Decimal(amount), [Decimal(o) for o in others])
    assert result.outcome == expected and result.open_amount == Decimal(open_amount)
