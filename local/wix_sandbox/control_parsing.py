"""Parsing the control routes' JSON bodies: strict types, one field violation per bad field (400 in the product's shape)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Request

from .errors import FieldViolation, ValidationFailed
from .formats import parse_decimal
from .orders import ORDER_STATUSES, PAYMENT_STATUSES, Buyer, OrderSpec
from .sites import parse_instance_id
from .state import FAULT_TARGETS, Fault, WebhookPolicy

MAX_COPIES = 20


def invalid(field: str, description: str) -> ValidationFailed:
    return ValidationFailed([FieldViolation(field, description, "FORMAT")])


def json_object(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise invalid("", "body is not valid JSON") from error
    if not isinstance(body, dict):
        raise invalid("", "body must be a JSON object")
    return body


def integer_field(body: dict[str, Any], key: str, default: int | None, *, minimum: int, maximum: int | None = None):
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum else f">= {minimum}"
        raise invalid(key, f"{key} must be an integer {bounds}")
    return value


def boolean_field(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(key, f"{key} must be true or false")
    return value


def string_field(body: dict[str, Any], key: str, path: str | None = None) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise invalid(path or key, f"{path or key} must be a string")
    return value


def money_field(body: dict[str, Any], key: str, *, required: bool) -> Decimal | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(key, f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise invalid(key, f'{key} must be a decimal string such as "25.00"')
    try:
        amount = parse_decimal(str(value))
    except ValueError as error:
        raise invalid(key, f'{key} must be a decimal string such as "25.00"') from error
    if amount < 0:
        raise invalid(key, f"{key} must not be negative")
    return amount


def parse_order(body: dict[str, Any]) -> OrderSpec:
    balance = money_field(body, "balance", required=True)
    total = money_field(body, "total", required=False)
    if total is not None and total < balance:
        raise invalid("total", "total must be at least the balance")
    currency = string_field(body, "currency") or "USD"
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise invalid("currency", "currency must be an ISO-4217 code such as USD")
    payment_status = string_field(body, "paymentStatus")
    if payment_status is not None and payment_status not in PAYMENT_STATUSES:
        raise invalid("paymentStatus", f"paymentStatus must be one of {PAYMENT_STATUSES}")
    status = string_field(body, "status") or "APPROVED"
    if status not in ORDER_STATUSES:
        raise invalid("status", f"status must be one of {ORDER_STATUSES}")
    buyer = body.get("buyer") or {}
    if not isinstance(buyer, dict):
        raise invalid("buyer", "buyer must be an object")
    return OrderSpec(
        balance=balance,
        currency=currency,
        total=total,
        payment_status=payment_status,
        status=status,
        buyer_language=string_field(body, "buyerLanguage") or "en",
        order_id=string_field(body, "id"),
        buyer=Buyer(
            email=string_field(buyer, "email", "buyer.email"),
            phone=string_field(buyer, "phone", "buyer.phone"),
            first_name=string_field(buyer, "firstName", "buyer.firstName"),
            last_name=string_field(buyer, "lastName", "buyer.lastName"),
        ),
    )


def optional_instance_id(body: dict[str, Any]) -> str | None:
    """The site a control route names in ``instanceId``; None means the home site."""
    value = body.get("instanceId")
    return None if value is None else parse_instance_id(value)


def parse_fault(body: dict[str, Any]) -> Fault:
    endpoint = body.get("endpoint")
    if endpoint not in FAULT_TARGETS:
        raise invalid("endpoint", f"endpoint must be one of {FAULT_TARGETS}")
    fault = Fault(
        endpoint=endpoint,
        status=integer_field(body, "status", None, minimum=100, maximum=599),
        count=integer_field(body, "count", None, minimum=1),
        latency_ms=integer_field(body, "latencyMs", 0, minimum=0),
        timeout=boolean_field(body, "timeout", False),
        retry_after=integer_field(body, "retryAfter", None, minimum=0),
        body=string_field(body, "body"),
        instance_id=optional_instance_id(body),
    )
    if fault.status is None and fault.body is None and not fault.latency_ms and not fault.timeout:
        raise invalid("", "a fault needs at least one of status, body, latencyMs or timeout")
    return fault


def parse_webhook_policy(body: dict[str, Any]) -> WebhookPolicy:
    return WebhookPolicy(
        copies=integer_field(body, "copies", 1, minimum=1, maximum=MAX_COPIES),
        shuffle=boolean_field(body, "shuffle", False),
        delay_ms=integer_field(body, "delayMs", 0, minimum=0),
    )
