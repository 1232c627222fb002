"""The ``/_sandbox`` control routes: what people, demos and end-to-end tests use to steer the sandbox.

Never part of Wix: create test orders, pay or expire a request as the buyer or the clock would, unpublish the
payment page, inject faults, shape webhook delivery, and read back every API call and webhook delivery.
Errors here use the product's shape, ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .errors import FieldViolation, ValidationFailed, WixError, json_response
from .formats import parse_decimal
from .orders import ORDER_STATUSES, PAYMENT_STATUSES, Buyer, OrderSpec, create_order, render_order
from .payment_requests import PaymentRequestService
from .state import FAULT_TARGETS, Fault, SandboxState, WebhookPolicy
from .webhooks import WebhookDispatcher, WebhookKeys

MAX_COPIES = 20

RULES = [
    Rule("/_sandbox/health", methods=["GET"], endpoint="control:health"),
    Rule("/_sandbox/reset", methods=["POST"], endpoint="control:reset"),
    Rule("/_sandbox/orders", methods=["POST"], endpoint="control:create_order"),
    Rule("/_sandbox/orders", methods=["GET"], endpoint="control:list_orders"),
    Rule("/_sandbox/order-payment-requests", methods=["GET"], endpoint="control:list_payment_requests"),
    Rule("/_sandbox/order-payment-requests/<request_id>/pay", methods=["POST"], endpoint="control:pay"),
    Rule("/_sandbox/order-payment-requests/<request_id>/expire", methods=["POST"], endpoint="control:expire"),
    Rule("/_sandbox/site", methods=["GET"], endpoint="control:get_site"),
    Rule("/_sandbox/site", methods=["PUT"], endpoint="control:put_site"),
    Rule("/_sandbox/faults", methods=["GET"], endpoint="control:get_faults"),
    Rule("/_sandbox/faults", methods=["PUT"], endpoint="control:put_fault"),
    Rule("/_sandbox/faults", methods=["DELETE"], endpoint="control:delete_faults"),
    Rule("/_sandbox/webhooks", methods=["GET"], endpoint="control:get_webhooks"),
    Rule("/_sandbox/webhooks", methods=["PUT"], endpoint="control:put_webhooks"),
    Rule("/_sandbox/public-key", methods=["GET"], endpoint="control:public_key"),
    Rule("/_sandbox/calls", methods=["GET"], endpoint="control:calls"),
]


def control_error(status: int, code: str, message: str, details: Any = None) -> Response:
    return json_response({"error": {"code": code, "message": message, "details": details or []}}, status)


class ControlApi:
    def __init__(
        self,
        state: SandboxState,
        payment_requests: PaymentRequestService,
        dispatcher: WebhookDispatcher,
        keys: WebhookKeys,
        seed: Callable[[], None],
    ):
        self.state = state
        self.payment_requests = payment_requests
        self.dispatcher = dispatcher
        self.keys = keys
        self.seed = seed

    def handle(self, request: Request, endpoint: str, args: dict[str, str]) -> Response:
        try:
            return getattr(self, endpoint)(request, **args)
        except WixError as error:
            return control_error(error.status, error.code, error.description, error.data)
        except ValidationFailed as error:
            return control_error(400, "VALIDATION_FAILED", str(error), [v.to_wire() for v in error.violations])

    # -- state -----------------------------------------------------------------------------------------------

    def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    def reset(self, request: Request) -> Response:
        """Forget everything (orders, requests, logs, faults, policy); the demo order comes back unless told."""
        body = _body(request)
        self.state.reset()
        if body.get("seed", True):
            self.seed()
        return json_response({"reset": True})

    # -- orders and payment requests -------------------------------------------------------------------------

    def create_order(self, request: Request) -> Response:
        spec = _parse_order(_body(request))
        with self.state.lock:
            if spec.order_id and spec.order_id in self.state.orders:
                return control_error(409, "ORDER_EXISTS", f"Order {spec.order_id} already exists")
            record = create_order(self.state, spec)
            return json_response({"order": render_order(record)}, 201)

    def list_orders(self, request: Request) -> Response:
        with self.state.lock:
            return json_response({"orders": [render_order(r) for r in self.state.orders.values()]})

    def list_payment_requests(self, request: Request) -> Response:
        with self.state.lock:
            return json_response({"orderPaymentRequests": list(self.state.payment_requests.values())})

    def pay(self, request: Request, request_id: str) -> Response:
        entity, order = self.payment_requests.pay(request_id)
        return json_response({"orderPaymentRequest": entity, "order": render_order(order)})

    def expire(self, request: Request, request_id: str) -> Response:
        return json_response({"orderPaymentRequest": self.payment_requests.expire(request_id)})

    # -- site, faults, webhooks, logs ------------------------------------------------------------------------

    def get_site(self, request: Request) -> Response:
        return json_response({"paymentPagePublished": self.state.payment_page_published})

    def put_site(self, request: Request) -> Response:
        published = _body(request).get("paymentPagePublished")
        if not isinstance(published, bool):
            raise _invalid("paymentPagePublished", "paymentPagePublished must be true or false")
        with self.state.lock:
            self.state.payment_page_published = published
            self.state.commit()
        return json_response({"paymentPagePublished": published})

    def get_faults(self, request: Request) -> Response:
        return json_response({"faults": [f.to_wire() for f in self.state.list_faults()]})

    def put_fault(self, request: Request) -> Response:
        self.state.set_fault(_parse_fault(_body(request)))
        return self.get_faults(request)

    def delete_faults(self, request: Request) -> Response:
        self.state.clear_faults(request.args.get("endpoint"))
        return self.get_faults(request)

    def get_webhooks(self, request: Request) -> Response:
        return json_response(
            {
                "url": self.dispatcher.url,
                "policy": self.state.get_webhook_policy().to_wire(),
                "deliveries": self.state.list_deliveries(),
            }
        )

    def put_webhooks(self, request: Request) -> Response:
        body = _body(request)
        policy = WebhookPolicy(
            copies=_integer(body, "copies", 1, minimum=1, maximum=MAX_COPIES),
            shuffle=_boolean(body, "shuffle", False),
            delay_ms=_integer(body, "delayMs", 0, minimum=0),
        )
        if "url" in body:
            if body["url"] is not None and not isinstance(body["url"], str):
                raise _invalid("url", "url must be a string or null")
            self.dispatcher.url = body["url"]
        self.state.set_webhook_policy(policy)
        return json_response({"url": self.dispatcher.url, "policy": policy.to_wire()})

    def public_key(self, request: Request) -> Response:
        return Response(self.keys.public_pem, content_type="application/x-pem-file")

    def calls(self, request: Request) -> Response:
        return json_response({"calls": self.state.list_calls(request.args.get("endpoint"))})


# -- parsing -------------------------------------------------------------------------------------------------


def _invalid(field: str, description: str) -> ValidationFailed:
    return ValidationFailed([FieldViolation(field, description, "FORMAT")])


def _body(request: Request) -> dict[str, Any]:
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid("", "body is not valid JSON") from error
    if not isinstance(body, dict):
        raise _invalid("", "body must be a JSON object")
    return body


def _integer(body: dict[str, Any], key: str, default: int | None, *, minimum: int, maximum: int | None = None):
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bounds = f"{minimum}..{maximum}" if maximum else f">= {minimum}"
        raise _invalid(key, f"{key} must be an integer {bounds}")
    return value


def _boolean(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _invalid(key, f"{key} must be true or false")
    return value


def _string(body: dict[str, Any], key: str, path: str | None = None) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise _invalid(path or key, f"{path or key} must be a string")
    return value


def _money(body: dict[str, Any], key: str, *, required: bool) -> Decimal | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(key, f"{key} is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _invalid(key, f'{key} must be a decimal string such as "25.00"')
    try:
        amount = parse_decimal(str(value))
    except ValueError as error:
        raise _invalid(key, f'{key} must be a decimal string such as "25.00"') from error
    if amount < 0:
        raise _invalid(key, f"{key} must not be negative")
    return amount


def _parse_order(body: dict[str, Any]) -> OrderSpec:
    balance = _money(body, "balance", required=True)
    total = _money(body, "total", required=False)
    if total is not None and total < balance:
        raise _invalid("total", "total must be at least the balance")
    currency = _string(body, "currency") or "USD"
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise _invalid("currency", "currency must be an ISO-4217 code such as USD")
    payment_status = _string(body, "paymentStatus")
    if payment_status is not None and payment_status not in PAYMENT_STATUSES:
        raise _invalid("paymentStatus", f"paymentStatus must be one of {PAYMENT_STATUSES}")
    status = _string(body, "status") or "APPROVED"
    if status not in ORDER_STATUSES:
        raise _invalid("status", f"status must be one of {ORDER_STATUSES}")
    buyer = body.get("buyer") or {}
    if not isinstance(buyer, dict):
        raise _invalid("buyer", "buyer must be an object")
    return OrderSpec(
        balance=balance,
        currency=currency,
        total=total,
        payment_status=payment_status,
        status=status,
        buyer_language=_string(body, "buyerLanguage") or "en",
        order_id=_string(body, "id"),
        buyer=Buyer(
            email=_string(buyer, "email", "buyer.email"),
            phone=_string(buyer, "phone", "buyer.phone"),
            first_name=_string(buyer, "firstName", "buyer.firstName"),
            last_name=_string(buyer, "lastName", "buyer.lastName"),
        ),
    )


def _parse_fault(body: dict[str, Any]) -> Fault:
    endpoint = body.get("endpoint")
    if endpoint not in FAULT_TARGETS:
        raise _invalid("endpoint", f"endpoint must be one of {FAULT_TARGETS}")
    fault = Fault(
        endpoint=endpoint,
        status=_integer(body, "status", None, minimum=100, maximum=599),
        count=_integer(body, "count", None, minimum=1),
        latency_ms=_integer(body, "latencyMs", 0, minimum=0),
        timeout=_boolean(body, "timeout", False),
        retry_after=_integer(body, "retryAfter", None, minimum=0),
        body=_string(body, "body"),
    )
    if fault.status is None and fault.body is None and not fault.latency_ms and not fault.timeout:
        raise _invalid("", "a fault needs at least one of status, body, latencyMs or timeout")
    return fault
