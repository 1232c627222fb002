"""Request-body validation for the Order Payment Requests endpoints, strict like Wix's proto-backed API.

Unknown fields are ignored, JSON ``null`` means "not set", a wrong JSON type or an out-of-range value is a 400
listing every field violation at once (wix-api.md §1, §2, §5.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import FieldViolation, ValidationFailed
from .formats import parse_decimal, parse_timestamp

MAX_AMOUNT = Decimal("1e15")
BLOCKABLE_PAYMENT_METHODS = ("MANUAL",)


class Checker:
    """Collects field violations so one response can report all of them."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def fail(self, field: str, description: str, rule: str, **data: Any) -> None:
        self.violations.append(FieldViolation(field, description, rule, data))

    def raise_if_any(self) -> None:
        if self.violations:
            raise ValidationFailed(self.violations)

    def object(self, parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> dict | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, f"{path} is required", "REQUIRED_FIELD")
            return None
        if not isinstance(value, dict):
            self.fail(path, f"{path} must be an object", "TYPE")
            return None
        return value

    def string(
        self,
        parent: dict[str, Any],
        key: str,
        path: str,
        *,
        required: bool = False,
        min_length: int = 0,
        max_length: int | None = None,
    ) -> str | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.fail(path, f"{path} is required", "REQUIRED_FIELD")
            return None
        if not isinstance(value, str):
            self.fail(path, f"{path} must be a string", "TYPE")
            return None
        if len(value) < min_length:
            self.fail(path, f"{path} has size {len(value)}, expected {min_length} or more", "MIN_LENGTH", threshold=min_length)
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(path, f"{path} has size {len(value)}, expected {max_length} or less", "MAX_LENGTH", threshold=max_length)
            return None
        return value

    def timestamp(self, parent: dict[str, Any], key: str, path: str) -> datetime | None:
        text = self.string(parent, key, path)
        if text is None:
            return None
        try:
            return parse_timestamp(text)
        except ValueError:
            self.fail(path, f"{path} must be an ISO-8601 date-time with a time zone", "FORMAT")
            return None

    def amount(self, parent: dict[str, Any], key: str, path: str, *, required: bool = False) -> Decimal | None:
        text = self.string(parent, key, path, required=required, min_length=1)
        if text is None:
            return None
        try:
            value = parse_decimal(text)
        except ValueError:
            self.fail(path, f"{path} must be a decimal number as a string", "FORMAT")
            return None
        if value < 0:
            self.fail(path, f"{path} must be at least 0", "DECIMAL_GTE", threshold="0")
            return None
        if value > MAX_AMOUNT:
            self.fail(path, f"{path} must be at most 1e15", "DECIMAL_LTE", threshold="1e15")
            return None
        # No ISO 4217 currency has more than three decimals (KWD, BHD); the order's own currency is checked on create.
        if value != value.quantize(Decimal("0.001")):
            self.fail(path, f"{path} has more than 3 decimal places", "FORMAT")
            return None
        return value

    def image(self, parent: dict[str, Any], path: str) -> dict[str, Any] | None:
        image = self.object(parent, "image", path)
        if image is None:
            return None
        media_id = self.string(image, "id", f"{path}.id", max_length=200)
        alt_text = self.string(image, "altText", f"{path}.altText", max_length=200)
        rendered: dict[str, Any] = {"id": media_id or "", "height": 0, "width": 0}
        if alt_text is not None:
            rendered["altText"] = alt_text
        return rendered

    def blocked_payment_methods(self, parent: dict[str, Any], path: str) -> list[str] | None:
        value = parent.get("blockedPaymentMethods")
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(path, f"{path} must be an array", "TYPE")
            return None
        if len(value) > 1:
            self.fail(path, f"{path} has {len(value)} items, expected 1 or less", "MAX_SIZE", threshold=1)
            return None
        for index, item in enumerate(value):
            if item not in BLOCKABLE_PAYMENT_METHODS:
                self.fail(f"{path}[{index}]", f"{path}[{index}] must be one of {BLOCKABLE_PAYMENT_METHODS}", "INVALID_ENUM_VALUE")
                return None
        return list(value)


def require_object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationFailed([FieldViolation("", "request body must be a JSON object", "TYPE")])
    return body


@dataclass
class NewPaymentRequest:
    order_id: str
    amount: Decimal
    title: str
    external_id: str
    app_id: str | None
    description: str | None
    expiration_date: datetime | None
    image: dict[str, Any] | None
    blocked_payment_methods: list[str] | None
    extended_fields: dict[str, Any] | None


def parse_create(body: Any) -> NewPaymentRequest:
    body = require_object_body(body)
    check = Checker()
    entity = check.object(body, "orderPaymentRequest", "orderPaymentRequest", required=True)
    if entity is None:
        check.raise_if_any()
    p = "orderPaymentRequest"
    order_id = check.string(entity, "orderId", f"{p}.orderId", required=True, min_length=1, max_length=100)
    amount_object = check.object(entity, "amount", f"{p}.amount", required=True)
    amount = None
    if amount_object is not None:
        amount = check.amount(amount_object, "amount", f"{p}.amount.amount", required=True)
    title = check.string(entity, "title", f"{p}.title", required=True, min_length=1, max_length=200)
    description = check.string(entity, "description", f"{p}.description", max_length=300)
    source = check.object(entity, "source", f"{p}.source", required=True)
    external_id = app_id = None
    if source is not None:
        external_id = check.string(source, "externalId", f"{p}.source.externalId", required=True, min_length=1, max_length=100)
        app_id = check.string(source, "appId", f"{p}.source.appId", min_length=1, max_length=100)
    expiration_date = check.timestamp(entity, "expirationDate", f"{p}.expirationDate")
    image = check.image(entity, f"{p}.image")
    blocked = check.blocked_payment_methods(entity, f"{p}.blockedPaymentMethods")
    extended_fields = check.object(entity, "extendedFields", f"{p}.extendedFields")
    check.raise_if_any()
    return NewPaymentRequest(
        order_id=order_id,
        amount=amount,
        title=title,
        external_id=external_id,
        app_id=app_id,
        description=description,
        expiration_date=expiration_date,
        image=image,
        blocked_payment_methods=blocked,
        extended_fields=extended_fields,
    )


@dataclass
class PaymentRequestChanges:
    """The writable fields an Update carries; ``amount`` is kept only to refuse a change of it."""

    fields: dict[str, Any]
    amount: Decimal | None


def parse_update(body: Any, path_id: str) -> PaymentRequestChanges:
    body = require_object_body(body)
    check = Checker()
    p = "orderPaymentRequest"
    entity = check.object(body, "orderPaymentRequest", p, required=True)
    if entity is None:
        check.raise_if_any()
    body_id = check.string(entity, "id", f"{p}.id")
    if body_id is not None and body_id != path_id:
        check.fail(f"{p}.id", f"{p}.id does not match the id in the path", "FORMAT")
    fields: dict[str, Any] = {}
    title = check.string(entity, "title", f"{p}.title", min_length=1, max_length=200)
    if title is not None:
        fields["title"] = title
    description = check.string(entity, "description", f"{p}.description", max_length=300)
    if description is not None:
        fields["description"] = description
    image = check.image(entity, f"{p}.image")
    if image is not None:
        fields["image"] = image
    blocked = check.blocked_payment_methods(entity, f"{p}.blockedPaymentMethods")
    if blocked is not None:
        fields["blockedPaymentMethods"] = blocked
    amount = None
    amount_object = check.object(entity, "amount", f"{p}.amount")
    if amount_object is not None:
        amount = check.amount(amount_object, "amount", f"{p}.amount.amount")
    check.raise_if_any()
    return PaymentRequestChanges(fields=fields, amount=amount)


def parse_payment_request_id(body: Any) -> str:
    """The ``orderPaymentRequestId`` that Get URL and Void carry in their bodies."""
    body = require_object_body(body)
    check = Checker()
    request_id = check.string(body, "orderPaymentRequestId", "orderPaymentRequestId", required=True, min_length=1, max_length=100)
    check.raise_if_any()
    return request_id
