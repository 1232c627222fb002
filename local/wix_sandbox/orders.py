"""Sandbox eCommerce orders: creating them, rendering Wix's Get Order shape, and taking a payment.

An order keeps its total and what has been paid; the balance Wix reports is derived from those and the payment
status the way the SDK describes it (wix-api.md §10.4): still-owing statuses show total minus paid, settled,
pending or refunded ones show zero. Every order belongs to one site; a Wix caller sees only its own site's.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .errors import WixError, not_found
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


# -- settled outside any payment request (control routes) ----------------------------------------------------------


def settle_outside(state: SandboxState, order_id: str, amount: Decimal | None) -> tuple[dict[str, Any], str]:
    """The merchant records a payment made another way (cash, bank transfer, another checkout): ``amount`` (default:
    all that is open) lowers the balance and moves ``paymentStatus``. Returns the order and its previous status.
    Call with the state lock held."""
    record = find_order(state, order_id)
    if record["status"] == "CANCELED" or record["paymentStatus"] not in OWING_PAYMENT_STATUSES:
        raise WixError(409, "ORDER_NOT_PAYABLE", f"Order {order_id} owes nothing ({record['status']}, {record['paymentStatus']})")
    owed = order_balance(record)
    paid = owed if amount is None else amount
    if paid <= 0 or paid > owed:
        raise WixError(400, "INVALID_AMOUNT", f"amount must be above 0 and at most the balance {owed}")
    previous = record["paymentStatus"]
    apply_payment(record, paid)
    return record, previous


def cancel_order(state: SandboxState, order_id: str) -> dict[str, Any]:
    """The merchant cancels the order: ``status`` CANCELED (its payment status is left as it was). Lock held."""
    record = find_order(state, order_id)
    if record["status"] == "CANCELED":
        raise WixError(409, "ORDER_ALREADY_CANCELED", f"Order {order_id} is canceled already")
    record["status"] = "CANCELED"
    record["updatedDate"] = format_timestamp(utc_now())
    return record


# -- Search Orders ---------------------------------------------------------------------------------------------

SEARCH_PAGE_LIMIT = 100
_SEARCH_FIELDS = {"id": "id", "status": "status", "paymentStatus": "paymentStatus"}
_SEARCH_OPERATORS = ("$eq", "$ne", "$in", "$nin")
# Wix: Search Orders never returns INITIALIZED orders, and leaves out PENDING and REJECTED unless status is filtered.
_HIDDEN_UNLESS_ASKED = ("PENDING", "REJECTED")


def search_orders(state: SandboxState, body: Any, instance_id: str) -> dict[str, Any]:
    """``POST /ecom/v1/orders/search`` for the caller's site: filter on ``id``, ``status``, ``paymentStatus`` with
    ``$eq $ne $in $nin`` (a bare value means ``$eq``), newest first, cursor paging of at most 100."""
    search = body.get("search", {}) if isinstance(body, dict) else None
    if not isinstance(search, dict):
        raise _invalid_search("search must be an object")
    paging = search.get("cursorPaging") or {}
    limit = paging.get("limit", SEARCH_PAGE_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= SEARCH_PAGE_LIMIT:
        raise _invalid_search(f"cursorPaging.limit must be 1-{SEARCH_PAGE_LIMIT}")
    cursor = paging.get("cursor")
    if cursor:
        if "filter" in search or "sort" in search:
            raise _invalid_search("a cursor request carries no filter or sort")
        filter_, offset = _read_cursor(cursor)
    else:
        filter_, offset = search.get("filter") or {}, 0
    conditions = _conditions(filter_)
    with state.lock:
        mine = [r for r in state.orders.values() if state.belongs_to(r["id"], instance_id)]
        found = [r for r in mine if _visible(r, conditions) and _matches(r, conditions)]
        matches = sorted(found, key=lambda r: r["createdDate"], reverse=True)
        page = [render_order(r) for r in matches[offset : offset + limit]]
    has_next = offset + limit < len(matches)
    next_cursor = _write_cursor(filter_, offset + limit) if has_next else None
    return {"orders": page, "metadata": {"count": len(page), "cursors": {"next": next_cursor, "prev": None}, "hasNext": has_next}}


def _conditions(filter_: Any) -> list[tuple[str, str, Any]]:
    if not isinstance(filter_, dict):
        raise _invalid_search("filter must be an object")
    conditions = []
    for name, condition in filter_.items():
        if name not in _SEARCH_FIELDS:
            raise _invalid_search(f"filtering on {name} is not supported here (id, status, paymentStatus)")
        operators = condition if isinstance(condition, dict) else {"$eq": condition}
        for operator, value in operators.items():
            if operator not in _SEARCH_OPERATORS:
                raise _invalid_search(f"{name} supports {', '.join(_SEARCH_OPERATORS)}")
            if operator in ("$in", "$nin") and not isinstance(value, list):
                raise _invalid_search(f"{name}.{operator} takes a list")
            conditions.append((_SEARCH_FIELDS[name], operator, value))
    return conditions


def _visible(record: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    if record["status"] == "INITIALIZED":
        return False
    return record["status"] not in _HIDDEN_UNLESS_ASKED or any(field == "status" for field, _, _ in conditions)


def _matches(record: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for field_name, operator, value in conditions:
        actual = record[field_name]
        if operator == "$eq" and actual != value:
            return False
        if operator == "$ne" and actual == value:
            return False
        if operator == "$in" and actual not in value:
            return False
        if operator == "$nin" and actual in value:
            return False
    return True


def _write_cursor(filter_: Any, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"filter": filter_, "offset": offset}).encode()).decode()


def _read_cursor(cursor: Any) -> tuple[Any, int]:
    try:
        state = json.loads(base64.urlsafe_b64decode(str(cursor).encode()))
        return state["filter"], int(state["offset"])
    except (ValueError, KeyError, TypeError) as error:
        raise _invalid_search("cursor is not one this API issued") from error


def _invalid_search(message: str) -> WixError:
    return WixError(400, "INVALID_ARGUMENT", message)
