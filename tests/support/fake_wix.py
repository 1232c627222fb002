"""The Wix REST API mocked at the HTTP layer (respx) for function tests: stateful, with the documented
shapes and error bodies, per-endpoint fault queues, and a log of every call.

The full local sandbox (``local.wix_sandbox``) serves people and end-to-end tests; this one stays in
process so a test can script faults call by call.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import respx

BASE_URL = "https://wix.test"
OPR = "/ecom/v1/order-payment-requests"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def wix_error(status: int, code: str | None = None, message: str = "error") -> httpx.Response:
    if status >= 500:
        return httpx.Response(status, content=b"", headers={"x-wix-request-id": "req-" + uuid.uuid4().hex[:8]})
    body: dict[str, Any] = {"message": message, "details": {}}
    if code:
        body["details"] = {"applicationError": {"code": code, "description": message, "data": {}}}
    return httpx.Response(status, json=body, headers={"x-wix-request-id": "req-" + uuid.uuid4().hex[:8]})


@dataclass
class FakeWix:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    faults: dict[str, deque[Any]] = field(default_factory=lambda: defaultdict(deque))
    page_published: bool = True
    page_size_cap: int = 100
    lock: threading.Lock = field(default_factory=threading.Lock)
    oauth_tokens: list[dict[str, Any]] = field(default_factory=list)  # each client-credentials token request
    _caller: str | None = None  # the instance whose token made the call being served (None: the API key)

    def _visible(self, request: dict[str, Any] | None) -> dict[str, Any] | None:
        """A request as the caller may see it: another site's is as if it did not exist."""
        if request is None or request.get("_instance") in (None, self._caller):
            return request
        return None

    # -- setup -----------------------------------------------------------------------------

    def add_order(
        self,
        balance: str = "40.00",
        currency: str = "USD",
        email: str | None = "jane@example.com",
        phone: str | None = "+12015550123",
        payment_status: str = "NOT_PAID",
        first_name: str = "Jane",
        buyer_language: str = "en",
    ) -> str:
        order_id = str(uuid.uuid4())
        self.orders[order_id] = {
            "id": order_id,
            "number": str(10000 + len(self.orders) + 1),
            "currency": currency,
            "status": "APPROVED",
            "paymentStatus": payment_status,
            "buyerInfo": {"email": email} if email else {},
            "billingInfo": {"contactDetails": {"firstName": first_name, "lastName": "Doe", "phone": phone}},
            "balanceSummary": {"balance": {"amount": balance, "formattedAmount": f"${balance}"}},
            "buyerLanguage": buyer_language,
        }
        return order_id

    def settle_order(self, order_id: str, amount: str | None = None) -> None:
        """The order is paid another way: ``amount`` (default all of it) comes off the balance."""
        order = self.orders[order_id]
        balance = Decimal(order["balanceSummary"]["balance"]["amount"]) - Decimal(amount or order["balanceSummary"]["balance"]["amount"])
        order["paymentStatus"] = "PARTIALLY_PAID" if balance > 0 else "PAID"
        order["balanceSummary"]["balance"] = {"amount": str(balance), "formattedAmount": f"${balance}"}

    def add_request(self, order_id: str, amount: str = "10.00", status: str = "UNPAID", external_id: str | None = None) -> str:
        """A payment request created at Wix by someone else (not through our product)."""
        request_id = str(uuid.uuid4())
        order = self.orders[order_id]
        self.requests[request_id] = {
            "id": request_id,
            "source": {"externalId": external_id or f"other-{request_id[:8]}", "appId": "other-app"},
            "status": status,
            "orderId": order_id,
            "orderNumber": order["number"],
            "amount": {"amount": amount, "formattedAmount": f"${amount}"},
            "currency": order["currency"],
            "title": "Created elsewhere",
            "createdDate": _now(),
            "updatedDate": _now(),
        }
        return request_id

    def fail(self, endpoint: str, *responses: Any) -> None:
        """Queue responses (``httpx.Response`` or an exception instance) for the next calls of ``endpoint``."""
        self.faults[endpoint].extend(responses)

    def count(self, endpoint: str) -> int:
        return sum(1 for name, _ in self.calls if name == endpoint)

    def url_for(self, request_id: str) -> str:
        return f"https://site.test/payment-request/{request_id}"

    def set_status(self, request_id: str, status: str) -> None:
        self.requests[request_id]["status"] = status

    # -- routing -----------------------------------------------------------------------------

    def install(self, router: respx.Router) -> None:
        routes = [
            ("token", "POST", rf"^{BASE_URL}/oauth2/token$", "_token"),
            ("searchOrders", "POST", rf"^{BASE_URL}/ecom/v1/orders/search$", "_search_orders"),
            ("getOrder", "GET", rf"^{BASE_URL}/ecom/v1/orders/(?P<id>[^/]+)$", "_get_order"),
            ("query", "POST", rf"^{BASE_URL}{OPR}/query$", "_query"),
            ("url", "POST", rf"^{BASE_URL}{OPR}/url$", "_url"),
            ("void", "POST", rf"^{BASE_URL}{OPR}/void$", "_void"),
            ("create", "POST", rf"^{BASE_URL}{OPR}$", "_create"),
            ("get", "GET", rf"^{BASE_URL}{OPR}/(?P<id>[^/]+)$", "_get"),
            ("update", "PATCH", rf"^{BASE_URL}{OPR}/(?P<id>[^/]+)$", "_update"),
            ("delete", "DELETE", rf"^{BASE_URL}{OPR}/(?P<id>[^/]+)$", "_delete"),
        ]
        for name, method, pattern, handler in routes:
            router.route(method=method, url__regex=pattern).mock(side_effect=self._wrap(name, handler))

    def _wrap(self, name: str, handler_name: str) -> Any:
        """Looks the handler up on every call, so a test may replace one (e.g. to drop a response)."""

        def side_effect(request: httpx.Request, **params: str) -> httpx.Response:
            with self.lock:
                self.calls.append((name, request.url.path))
                api_key = request.headers.get("Authorization") == "test-api-key" and request.headers.get("wix-site-id") == "test-site"
                oauth = str(request.headers.get("Authorization", "")).startswith("token-")  # APP mode: a token per instance
                if name != "token" and not (api_key or oauth):
                    return wix_error(401, message="unauthenticated")
                if self.faults[name]:
                    fault = self.faults[name].popleft()
                    if isinstance(fault, Exception):
                        raise fault
                    return fault
                body = json.loads(request.content) if request.content else {}
                # APP mode: an OAuth token is one site's; it sees requests of that site (and those made without one).
                self._caller = str(request.headers.get("Authorization", "")).removeprefix("token-") if oauth else None
                return getattr(self, handler_name)(body, **params)

        return side_effect

    # -- endpoints ---------------------------------------------------------------------------

    def _token(self, body: dict[str, Any]) -> httpx.Response:
        """OAuth client credentials (APP mode): a token per app instance."""
        self.oauth_tokens.append({"client_id": body.get("client_id"), "instance_id": body.get("instance_id")})
        return httpx.Response(200, json={"access_token": f"token-{body.get('instance_id')}", "token_type": "Bearer", "expires_in": 14400})

    def _get_order(self, _body: dict[str, Any], id: str) -> httpx.Response:
        order = self.orders.get(id)
        return httpx.Response(200, json={"order": order}) if order else wix_error(404, "ORDER_NOT_FOUND")

    def _search_orders(self, body: dict[str, Any]) -> httpx.Response:
        """Search Orders by ``id $in`` (one page: the product asks for at most 100 ids, the page size)."""
        wanted = body.get("search", {}).get("filter", {}).get("id", {}).get("$in", [])
        orders = [self.orders[order_id] for order_id in wanted if order_id in self.orders]
        return httpx.Response(200, json={"orders": orders, "metadata": {"count": len(orders), "cursors": {}, "hasNext": False}})

    def _create(self, body: dict[str, Any]) -> httpx.Response:
        new = body["orderPaymentRequest"]
        order = self.orders.get(new.get("orderId"))
        if order is None:
            return wix_error(404, "ORDER_NOT_FOUND")
        if not self.page_published:
            return wix_error(428, "ORDER_PAYMENT_REQUEST_PAGE_NOT_FOUND")
        request_id = str(uuid.uuid4())
        amount = str(Decimal(new["amount"]["amount"]))
        self.requests[request_id] = {
            "id": request_id,
            "source": {"externalId": new["source"]["externalId"], "appId": "our-app"},
            "status": "UNPAID",
            "orderId": order["id"],
            "orderNumber": order["number"],
            "amount": {"amount": amount, "formattedAmount": f"${amount}"},
            "currency": order["currency"],
            "title": new["title"],
            "description": new.get("description"),
            "expirationDate": new.get("expirationDate"),
            "createdDate": _now(),
            "updatedDate": _now(),
            "_instance": self._caller,
        }
        return httpx.Response(
            200, json={"orderPaymentRequest": _wire(self.requests[request_id]), "orderPaymentRequestUrl": self.url_for(request_id)}
        )

    def _get(self, _body: dict[str, Any], id: str) -> httpx.Response:
        found = self._visible(self.requests.get(id))
        return (
            httpx.Response(200, json={"orderPaymentRequest": _wire(found)}) if found else wix_error(404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
        )

    def _update(self, body: dict[str, Any], id: str) -> httpx.Response:
        found = self.requests.get(id)
        if not found:
            return wix_error(404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
        if found["status"] != "UNPAID":
            return wix_error(428, f"CANNOT_UPDATE_{found['status']}_ORDER_PAYMENT_REQUEST")
        for key in ("title", "description"):
            if key in body["orderPaymentRequest"]:
                found[key] = body["orderPaymentRequest"][key]
        return httpx.Response(200, json={"orderPaymentRequest": found})

    def _delete(self, _body: dict[str, Any], id: str) -> httpx.Response:
        found = self.requests.get(id)
        if not found:
            return wix_error(404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
        if found["status"] == "PAID":
            return wix_error(428, "CANNOT_DELETE_PAID_ORDER_PAYMENT_REQUEST")
        del self.requests[id]
        return httpx.Response(200, json={})

    def _url(self, body: dict[str, Any]) -> httpx.Response:
        request_id = body.get("orderPaymentRequestId")
        if self._visible(self.requests.get(str(request_id))) is None:
            return wix_error(404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
        return httpx.Response(200, json={"orderPaymentRequestUrl": self.url_for(request_id)})

    def _void(self, body: dict[str, Any]) -> httpx.Response:
        found = self._visible(self.requests.get(str(body.get("orderPaymentRequestId"))))
        if not found:
            return wix_error(404, "ORDER_PAYMENT_REQUEST_NOT_FOUND")
        if found["status"] in ("PAID", "EXPIRED"):
            return wix_error(428, f"CANNOT_VOID_{found['status']}_ORDER_PAYMENT_REQUEST")
        found["status"] = "VOIDED"
        return httpx.Response(200, json={})

    def _query(self, body: dict[str, Any]) -> httpx.Response:
        query = body.get("query", {})
        paging = query.get("cursorPaging", {})
        limit = min(int(paging.get("limit", 100)), self.page_size_cap)
        if paging.get("cursor"):
            state = json.loads(base64.b64decode(paging["cursor"]))
            filter_, offset = state["filter"], state["offset"]
        else:
            filter_, offset = query.get("filter", {}), 0
        visible = (r for r in self.requests.values() if self._visible(r) is not None)
        matches = sorted((r for r in visible if _matches(r, filter_)), key=lambda r: r["createdDate"], reverse=True)
        page = [_wire(r) for r in matches[offset : offset + limit]]
        has_next = offset + limit < len(matches)
        cursor = base64.b64encode(json.dumps({"filter": filter_, "offset": offset + limit}).encode()).decode() if has_next else None
        return httpx.Response(
            200,
            json={
                "orderPaymentRequests": page,
                "pagingMetadata": {"count": len(page), "cursors": {"next": cursor}, "hasNext": has_next},
            },
        )


def _wire(request: dict[str, Any] | None) -> dict[str, Any] | None:
    """A request as Wix sends it (without the fake's own bookkeeping)."""
    return None if request is None else {key: value for key, value in request.items() if not key.startswith("_")}


def _field(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _matches(record: dict[str, Any], filter_: dict[str, Any]) -> bool:
    for path, condition in filter_.items():
        if isinstance(condition, dict) and "$in" in condition:
            if _field(record, path) not in condition["$in"]:
                return False
            continue
        expected = condition.get("$eq") if isinstance(condition, dict) else condition
        if _field(record, path) != expected:
            return False
    return True
