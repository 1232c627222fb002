"""The ``www.wixapis.com`` side of the sandbox: Order Payment Requests, Get Order and the OAuth token route.

Every call passes the same gate, in this order: the injected fault for its endpoint (latency, an error status, a
malformed body or a held-then-dropped connection), then authentication, which fixes the one site the call acts
for, then the handler with that site's instance id. Handlers raise ``WixError``/``ValidationFailed`` and
``handle`` turns them into Wix's error bodies; every call is logged with its auth mode and site.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from http import HTTPStatus
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .auth import authenticate, issue_token
from .config import SandboxConfig
from .errors import (
    FieldViolation,
    ValidationFailed,
    WixError,
    json_response,
    validation_error_response,
    wix_error_response,
)
from .formats import format_timestamp, utc_now
from .orders import find_order, render_order, search_orders
from .payment_requests import PaymentRequestService
from .query import parse_query
from .state import Fault, SandboxState
from .validation import parse_create, parse_payment_request_id, parse_update

OPR = "/ecom/v1/order-payment-requests"

RULES = [
    Rule("/oauth2/token", methods=["POST"], endpoint="api:token"),
    Rule(OPR, methods=["POST"], endpoint="api:create"),
    Rule(f"{OPR}/query", methods=["POST"], endpoint="api:query"),
    Rule(f"{OPR}/url", methods=["POST"], endpoint="api:url"),
    Rule(f"{OPR}/void", methods=["POST"], endpoint="api:void"),
    Rule(f"{OPR}/<request_id>", methods=["GET"], endpoint="api:get"),
    Rule(f"{OPR}/<request_id>", methods=["PATCH"], endpoint="api:update"),
    Rule(f"{OPR}/<request_id>", methods=["DELETE"], endpoint="api:delete"),
    Rule("/ecom/v1/orders/search", methods=["POST"], endpoint="api:searchOrders"),
    Rule("/ecom/v1/orders/<order_id>", methods=["GET"], endpoint="api:getOrder"),
]

# Wix's standard code for a status, used when a fault returns a 4xx without a body of its own.
STANDARD_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    428: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
}


class ConnectionHeld(ConnectionAbortedError):
    """A timeout fault dropped the connection: there is no response to send.

    It is a ``ConnectionError`` so werkzeug's server treats it as a dropped connection and stays quiet.
    """


class WixApi:
    def __init__(
        self,
        config: SandboxConfig,
        state: SandboxState,
        payment_requests: PaymentRequestService,
        stopping: threading.Event,
    ):
        self.config = config
        self.state = state
        self.payment_requests = payment_requests
        self.stopping = stopping
        self.handlers = {
            "create": self.create,
            "get": self.get,
            "update": self.update,
            "delete": self.delete,
            "query": self.query,
            "url": self.url,
            "void": self.void,
            "getOrder": self.get_order,
            "searchOrders": self.search_orders,
        }

    # -- the gate --------------------------------------------------------------------------------------------

    def handle(
        self,
        request: Request,
        endpoint: str | None,
        args: dict[str, str],
        request_id: str,
        unmatched_status: int = 404,
    ) -> Response:
        """Run one API call and log it; ``endpoint`` None means no route matched (404, or 405 for the method)."""
        call = {
            "method": request.method,
            "path": request.path,
            "endpoint": endpoint,
            "status": None,
            "at": format_timestamp(utc_now()),
            "requestId": request_id,
            "authMode": None,
            "instanceId": None,
            "fault": False,
        }
        try:
            response = self._respond(request, endpoint, args, call, unmatched_status)
        except ConnectionHeld:
            if not call.get("timedOut"):  # a timeout fault logs itself when the hold starts
                call["dropped"] = True
                self.state.record_call(call)
            self._drop_connection(request)
            raise
        call["status"] = response.status_code
        self.state.record_call(call)
        return response

    def _respond(self, request: Request, endpoint: str | None, args: dict[str, str], call: dict, unmatched_status: int) -> Response:
        if endpoint is None:
            code = "NOT_FOUND" if unmatched_status == 404 else "METHOD_NOT_ALLOWED"
            return wix_error_response(WixError(unmatched_status, code, f"No API route for {request.method} {request.path}"))
        fault = self.state.take_fault(endpoint, self._caller_instance(request) if self.state.faults else None)
        if fault is not None:
            call["fault"] = True
            faulted = self._apply_fault(fault, call)
            if faulted is not None:
                return faulted
        if endpoint == "token":
            response, call["instanceId"] = issue_token(request, self.config, self.state)
            return response
        try:
            caller = authenticate(request, self.config, self.state)
            call["authMode"], call["instanceId"] = caller.mode, caller.instance_id
            return self.handlers[endpoint](request, caller.instance_id, **args)
        except WixError as error:
            return wix_error_response(error)
        except ValidationFailed as error:
            return validation_error_response(error)

    def _caller_instance(self, request: Request) -> str | None:
        """The site the call is for, for a fault aimed at one site (None when the caller cannot be told)."""
        try:
            return authenticate(request, self.config, self.state).instance_id
        except (WixError, ValidationFailed):
            return None

    def _apply_fault(self, fault: Fault, call: dict) -> Response | None:
        """Delay, then answer for the endpoint (None: carry on and answer normally)."""
        if fault.latency_ms and self.stopping.wait(fault.latency_ms / 1000):
            raise ConnectionHeld()
        if fault.timeout:
            # Logged now so a test can see the call while its client is still waiting.
            call["timedOut"] = True
            self.state.record_call(call)
            # Longer than any client waits; the server stopping cuts it short.
            self.stopping.wait(self.config.timeout_hold_seconds)
            raise ConnectionHeld()
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        if fault.body is not None:
            return Response(fault.body, status=fault.status or 200, headers=headers, content_type="application/json")
        if fault.status is None:
            return None
        if fault.status >= 400:
            known = fault.status in HTTPStatus._value2member_map_
            name, phrase = (HTTPStatus(fault.status).name, HTTPStatus(fault.status).phrase) if known else ("ERROR", "Error")
            code = STANDARD_CODES.get(fault.status, name)
            response = wix_error_response(WixError(fault.status, code, phrase))
        else:
            response = json_response({}, fault.status)
        response.headers.extend(headers or {})
        return response

    @staticmethod
    def _drop_connection(request: Request) -> None:
        connection = request.environ.get("werkzeug.socket")
        if connection is not None:
            with contextlib.suppress(OSError):  # the client may have gone already
                connection.shutdown(socket.SHUT_RDWR)

    # -- handlers --------------------------------------------------------------------------------------------

    def create(self, request: Request, instance_id: str) -> Response:
        entity = self.payment_requests.create(parse_create(_json_body(request)), instance_id)
        return json_response({"orderPaymentRequest": entity, "orderPaymentRequestUrl": self.payment_requests.payment_url_for(entity["id"])})

    def get(self, request: Request, instance_id: str, request_id: str) -> Response:
        return json_response({"orderPaymentRequest": self.payment_requests.get(request_id, instance_id)})

    def update(self, request: Request, instance_id: str, request_id: str) -> Response:
        changes = parse_update(_json_body(request), request_id)
        return json_response({"orderPaymentRequest": self.payment_requests.update(request_id, changes, instance_id)})

    def delete(self, request: Request, instance_id: str, request_id: str) -> Response:
        self.payment_requests.delete(request_id, instance_id)
        return json_response({})

    def query(self, request: Request, instance_id: str) -> Response:
        return json_response(self.payment_requests.query(parse_query(_json_body(request)), instance_id).to_wire())

    def url(self, request: Request, instance_id: str) -> Response:
        request_id = parse_payment_request_id(_json_body(request))
        return json_response({"orderPaymentRequestUrl": self.payment_requests.payment_url(request_id, instance_id)})

    def void(self, request: Request, instance_id: str) -> Response:
        self.payment_requests.void(parse_payment_request_id(_json_body(request)), instance_id)
        return json_response({})

    def search_orders(self, request: Request, instance_id: str) -> Response:
        return json_response(search_orders(self.state, _json_body(request), instance_id))

    def get_order(self, request: Request, instance_id: str, order_id: str) -> Response:
        with self.state.lock:
            order = render_order(find_order(self.state, order_id, instance_id))
        return json_response({"order": order})


def _json_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValidationFailed([FieldViolation("", f"request body is not valid JSON: {error}", "FORMAT")]) from error
