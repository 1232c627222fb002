"""The ``/_sandbox`` control routes: what people, demos and end-to-end tests use to steer the sandbox.

Never part of Wix: create sites and install or remove the app on them, create test orders in a site, pay or
expire a request as the buyer or the clock would (any site's), unpublish a site's payment page, inject faults,
shape webhook delivery, and read back every API call and webhook delivery. Routes that take an ``instanceId``
act on the home site (site A) without one. Errors here use the product's shape,
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .control_parsing import (
    boolean_field,
    invalid,
    json_object,
    money_field,
    optional_instance_id,
    parse_fault,
    parse_order,
    parse_webhook_policy,
    string_field,
)
from .errors import ValidationFailed, WixError, json_response
from .events import OrderEvent
from .keys import WebhookKeys
from .orders import cancel_order, create_order, render_order, settle_outside
from .payment_requests import PaymentRequestService
from .sites import SiteService, normalize_instance_id, parse_instance_id
from .state import SandboxState
from .webhooks import WebhookDispatcher

RULES = [
    Rule("/_sandbox/health", methods=["GET"], endpoint="control:health"),
    Rule("/_sandbox/reset", methods=["POST"], endpoint="control:reset"),
    Rule("/_sandbox/sites", methods=["GET"], endpoint="control:list_sites"),
    Rule("/_sandbox/sites", methods=["POST"], endpoint="control:create_site"),
    Rule("/_sandbox/sites/<instance_id>", methods=["GET"], endpoint="control:get_one_site"),
    Rule("/_sandbox/sites/<instance_id>/install", methods=["POST"], endpoint="control:install"),
    Rule("/_sandbox/sites/<instance_id>/remove", methods=["POST"], endpoint="control:remove"),
    Rule("/_sandbox/orders", methods=["POST"], endpoint="control:create_order"),
    Rule("/_sandbox/orders", methods=["GET"], endpoint="control:list_orders"),
    Rule("/_sandbox/orders/<order_id>/mark-paid", methods=["POST"], endpoint="control:mark_order_paid"),
    Rule("/_sandbox/orders/<order_id>/cancel", methods=["POST"], endpoint="control:cancel_order"),
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
        sites: SiteService,
        dispatcher: WebhookDispatcher,
        keys: WebhookKeys,
        seed: Callable[[], None],
    ):
        self.state = state
        self.payment_requests = payment_requests
        self.sites = sites
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
        """Forget everything (sites back to the demo ones, orders, requests, logs, faults, policy, tokens)."""
        body = json_object(request)
        self.state.reset()
        if body.get("seed", True):
            self.seed()
        return json_response({"reset": True})

    # -- sites -----------------------------------------------------------------------------------------------

    def list_sites(self, request: Request) -> Response:
        return json_response({"sites": [site.to_wire() for site in self.sites.list_sites()]})

    def create_site(self, request: Request) -> Response:
        body = json_object(request)
        instance_id = parse_instance_id(body.get("instanceId"))
        site = self.sites.create(instance_id, payment_page_published=boolean_field(body, "paymentPagePublished", True))
        return json_response({"site": site.to_wire()}, 201)

    def get_one_site(self, request: Request, instance_id: str) -> Response:
        return json_response({"site": self.sites.get(instance_id).to_wire()})

    def install(self, request: Request, instance_id: str) -> Response:
        """Install the app (or announce it again) and push the signed ``AppInstalled``; optional ``originInstanceId``."""
        origin = json_object(request).get("originInstanceId")
        origin = None if origin is None else parse_instance_id(origin, "originInstanceId")
        return json_response({"site": self.sites.install(instance_id, origin).to_wire()})

    def remove(self, request: Request, instance_id: str) -> Response:
        """Remove the app: the site's tokens stop working and the signed ``AppRemoved`` is pushed."""
        return json_response({"site": self.sites.remove(instance_id).to_wire()})

    def get_site(self, request: Request) -> Response:
        site = self.sites.get(request.args.get("instanceId") or self.state.home_instance_id)
        return json_response({"paymentPagePublished": site.payment_page_published})

    def put_site(self, request: Request) -> Response:
        body = json_object(request)
        published = body.get("paymentPagePublished")
        if not isinstance(published, bool):
            raise invalid("paymentPagePublished", "paymentPagePublished must be true or false")
        instance_id = optional_instance_id(body) or self.state.home_instance_id
        site = self.sites.set_payment_page(instance_id, published)
        return json_response({"paymentPagePublished": site.payment_page_published})

    # -- orders and payment requests -------------------------------------------------------------------------

    def create_order(self, request: Request) -> Response:
        body = json_object(request)
        spec, instance_id = parse_order(body), optional_instance_id(body)
        with self.state.lock:
            # Order ids are unique across sites, as Wix's GUIDs are.
            if spec.order_id and spec.order_id in self.state.orders:
                return control_error(409, "ORDER_EXISTS", f"Order {spec.order_id} already exists")
            record = create_order(self.state, spec, instance_id)
            return json_response({"order": render_order(record), "instanceId": self.state.owner_of(record["id"])}, 201)

    def list_orders(self, request: Request) -> Response:
        with self.state.lock:
            orders = [render_order(r) for r in self.state.orders.values() if self._in_site_asked_for(request, r["id"])]
        return json_response({"orders": orders})

    def mark_order_paid(self, request: Request, order_id: str) -> Response:
        """Paid outside any payment request (``amount``: default all that is open): the balance drops, the payment
        status moves, and Wix's ``order_payment_status_updated`` is pushed (unless webhook delivery is off)."""
        amount = money_field(json_object(request) if request.get_data() else {}, "amount", required=False)
        with self.state.lock:
            record, previous = settle_outside(self.state, order_id, amount)
            event = self._order_event("payment_status_updated", record, {"previousPaymentStatus": previous})
            self.state.commit()
        self.dispatcher.publish(event)
        return json_response({"order": event.order, "previousPaymentStatus": previous})

    def cancel_order(self, request: Request, order_id: str) -> Response:
        """The merchant cancels the order: Wix's ``order_canceled`` is pushed (unless webhook delivery is off)."""
        with self.state.lock:
            record = cancel_order(self.state, order_id)
            body = {"restockAllItems": False, "sendOrderCanceledEmail": False, "customMessage": None}
            event = self._order_event("canceled", record, body)
            self.state.commit()
        self.dispatcher.publish(event)
        return json_response({"order": event.order})

    def _order_event(self, slug: str, record: dict[str, Any], body: dict[str, Any]) -> OrderEvent:
        # The snapshot and sequence are taken under the lock, so they follow the order the changes happened in.
        return OrderEvent(
            slug=slug,
            order=render_order(record),
            body=body,
            sequence=self.state.next_entity_sequence(record["id"]),
            instance_id=self.state.owner_of(record["id"]),
        )

    def list_payment_requests(self, request: Request) -> Response:
        with self.state.lock:
            entities = [e for e in self.state.payment_requests.values() if self._in_site_asked_for(request, e["id"])]
            return json_response({"orderPaymentRequests": entities})

    def pay(self, request: Request, request_id: str) -> Response:
        entity, order = self.payment_requests.pay(request_id)
        return json_response({"orderPaymentRequest": entity, "order": render_order(order)})

    def expire(self, request: Request, request_id: str) -> Response:
        return json_response({"orderPaymentRequest": self.payment_requests.expire(request_id)})

    def _in_site_asked_for(self, request: Request, entity_id: str) -> bool:
        """``?instanceId=`` narrows a listing to one site; without it every site's records are listed."""
        return self.state.belongs_to(entity_id, request.args.get("instanceId"))

    # -- faults, webhooks, logs ------------------------------------------------------------------------------

    def get_faults(self, request: Request) -> Response:
        return json_response({"faults": [f.to_wire() for f in self.state.list_faults()]})

    def put_fault(self, request: Request) -> Response:
        self.state.set_fault(parse_fault(json_object(request)))
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
        body = json_object(request)
        policy = parse_webhook_policy(body)
        if "url" in body:
            self.dispatcher.url = string_field(body, "url")
        self.state.set_webhook_policy(policy)
        return json_response({"url": self.dispatcher.url, "policy": policy.to_wire()})

    def public_key(self, request: Request) -> Response:
        return Response(self.keys.public_pem, content_type="application/x-pem-file")

    def calls(self, request: Request) -> Response:
        """Every Wix API call; ``?endpoint=`` and ``?instanceId=`` (the caller's site) narrow it."""
        instance_id = request.args.get("instanceId")
        calls = self.state.list_calls(request.args.get("endpoint"), normalize_instance_id(instance_id) if instance_id else None)
        return json_response({"calls": calls})
