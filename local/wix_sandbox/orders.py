"""Sandbox eCommerce orders: creating them, rendering Wix's Get Order shape, and taking a payment.

An order keeps its total and what has been paid; the balance Wix reports is derived from those and the payment
status the way the SDK describes it (wix-api.md §10.4): still-owing statuses show total minus paid, settled,
pending or refunded ones show zero. Every order belongs to one site; a Wix caller sees only its own site's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import not_found
from .formats import format_timestamp, money_text, new_id, price, utc_now
from .sites import site_not_found
from .state import SandboxState

DEMO_ORDER_ID = "0a11ce00-0000-4000-8000-000000000001"

# Payment statuses whose balance is "what is still owed"; every other status reports a zero balance.
OWING_PAYMENT_STATUSES = ("NOT_PAID", "PARTIALLY_PAID")
PAYMENT_STATUSES = (
    "UNSPECIFIED",
    "NOT_PAID",
    "PARTIALLY_PAID",
    "PAID",
    "PENDING",
    "PARTIALLY_REFUNDED",
    "FULLY_REFUNDED",
    "PENDING_MERCHANT",
    "CANCELED",
    "DECLINED",
)
ORDER_STATUSES = ("INITIALIZED", "APPROVED", "CANCELED", "PENDING", "REJECTED")


@dataclass
class Buyer:
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None


@dataclass
class OrderSpec:
    """What the control route (or the seed) asks for."""

    balance: Decimal
    currency: str = "USD"
    buyer: Buyer = field(default_factory=Buyer)
    total: Decimal | None = None
    payment_status: str | None = None
    status: str = "APPROVED"
    buyer_language: str = "en"
    order_id: str | None = None


DEMO_ORDER = OrderSpec(
    balance=Decimal("40.00"),
    buyer=Buyer(email="jane@example.com", phone="+12015550123", first_name="Jane", last_name="Doe"),
    order_id=DEMO_ORDER_ID,
)


def create_order(state: SandboxState, spec: OrderSpec, instance_id: str | None = None) -> dict[str, Any]:
    """Store a new order in the site ``instance_id`` (default: the home site); the balance is what is owed."""
    site = state.site(instance_id or state.home_instance_id)
    if site is None:
        raise site_not_found(instance_id)
    total = spec.total if spec.total is not None else spec.balance
    paid = total - spec.balance
    payment_status = spec.payment_status or _derived_payment_status(total, paid)
    now = format_timestamp(utc_now())
    record = {
        "id": spec.order_id or new_id(),
        "number": state.allocate_order_number(),
        "currency": spec.currency,
        "total": money_text(total, spec.currency),
        "paid": money_text(paid, spec.currency),
        "paymentStatus": payment_status,
        "status": spec.status,
        "buyer": {
            "email": spec.buyer.email,
            "phone": spec.buyer.phone,
            "firstName": spec.buyer.first_name,
            "lastName": spec.buyer.last_name,
        },
        "contactId": new_id(),
        "buyerLanguage": spec.buyer_language,
        "siteLanguage": "en",
        "createdDate": now,
        "updatedDate": now,
    }
    with state.lock:
        state.orders[record["id"]] = record
        state.owners[record["id"]] = site.instance_id
        state.commit()
    return record


def find_order(state: SandboxState, order_id: str, instance_id: str | None = None) -> dict[str, Any]:
    """The order, as seen from the site ``instance_id``: another site's order is not found, exactly like a missing one.

    ``instance_id`` None is the sandbox itself (control routes, the payment page), which sees every site.
    """
    with state.lock:
        record = state.orders.get(order_id)
        if record is None or not state.belongs_to(order_id, instance_id):
            raise not_found("ORDER_NOT_FOUND", "Order", order_id)
        return record


def order_balance(record: dict[str, Any]) -> Decimal:
    if record["paymentStatus"] not in OWING_PAYMENT_STATUSES:
        return Decimal("0")
    return Decimal(record["total"]) - Decimal(record["paid"])


def apply_payment(record: dict[str, Any], amount: Decimal) -> None:
    """The buyer paid ``amount`` towards the order. Call with the state lock held."""
    total = Decimal(record["total"])
    paid = Decimal(record["paid"]) + amount
    record["paid"] = money_text(paid, record["currency"])
    record["paymentStatus"] = "PAID" if paid >= total else "PARTIALLY_PAID"
    record["updatedDate"] = format_timestamp(utc_now())


def render_order(record: dict[str, Any]) -> dict[str, Any]:
    """The order as Wix's Get Order returns it (the fields the product reads, in their real shape)."""
    currency = record["currency"]
    total = Decimal(record["total"])
    buyer = record["buyer"]
    contact_details = _without_nones({"firstName": buyer.get("firstName"), "lastName": buyer.get("lastName"), "phone": buyer.get("phone")})
    zero = price(Decimal("0"), currency)
    return {
        "id": record["id"],
        "number": record["number"],
        "createdDate": record["createdDate"],
        "updatedDate": record["updatedDate"],
        "status": record["status"],
        "paymentStatus": record["paymentStatus"],
        "fulfillmentStatus": "NOT_FULFILLED",
        "currency": currency,
        "buyerLanguage": record["buyerLanguage"],
        "siteLanguage": record["siteLanguage"],
        "buyerInfo": _without_nones({"contactId": record["contactId"], "email": buyer.get("email")}),
        "billingInfo": {"contactDetails": contact_details},
        "recipientInfo": {"contactDetails": dict(contact_details)},
        "priceSummary": {
            "subtotal": price(total, currency),
            "shipping": zero,
            "tax": zero,
            "discount": zero,
            "total": price(total, currency),
        },
        "balanceSummary": {
            "balance": price(order_balance(record), currency),
            "paid": price(Decimal(record["paid"]), currency),
            "refunded": zero,
        },
    }


def _derived_payment_status(total: Decimal, paid: Decimal) -> str:
    if paid <= 0:
        return "NOT_PAID"
    return "PAID" if paid >= total else "PARTIALLY_PAID"


def _without_nones(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
