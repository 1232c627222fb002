"""The Wix REST client: Order Payment Requests (every method) and Get Order.

One module-level ``httpx.Client`` serves every invocation of a warm Lambda. Safe calls (reads, void,
update, delete, get URL) are retried on 429/5xx/transport errors with exponential backoff and jitter,
bounded in attempts and total time (stamina). Create is never retried blindly: a retry first asks Wix
whether a request with our ``source.externalId`` already exists, so a lost response cannot double-charge.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import stamina
from aws_lambda_powertools import Logger

from payment_links.config import Settings, get_settings
from payment_links.quota import QuotaExhausted
from payment_links.wix.auth import WixAuth
from payment_links.wix.errors import WixError, WixQuotaExhausted, WixUnavailable, error_for_status
from payment_links.wix.models import (
    CreatedOrderPaymentRequest,
    ErrorBody,
    NewOrderPaymentRequest,
    Order,
    OrderPaymentRequest,
    OrdersPage,
    QueryPage,
)

logger = Logger(child=True)

OPR_PATH = "/ecom/v1/order-payment-requests"
# Retry-After values above this are not waited out inside a Lambda; the caller gets them instead.
MAX_INLINE_RETRY_AFTER_SECONDS = 5.0
QUERY_PAGE_LIMIT = 100

_http_client: httpx.Client | None = None
_http_lock = threading.Lock()


def _timeout(settings: Settings) -> httpx.Timeout:
    return httpx.Timeout(
        connect=settings.wix_connect_timeout,
        read=settings.wix_read_timeout,
        write=settings.wix_read_timeout,
        pool=settings.wix_connect_timeout,
    )


def get_http_client(settings: Settings | None = None) -> httpx.Client:
    """The process-wide HTTP client, built on first use so warm invocations reuse its connections."""
    global _http_client
    if _http_client is None:
        with _http_lock:
            if _http_client is None:
                settings = settings or get_settings()
                _http_client = httpx.Client(
                    timeout=_timeout(settings),
                    limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                    headers={"User-Agent": "wix-payment-links/1.0"},
                )
    return _http_client


def reset_http_client() -> None:
    global _http_client
    with _http_lock:
        if _http_client is not None:
            _http_client.close()
        _http_client = None


def _retry_hook(exc: Exception) -> bool | float:
    """stamina's hook: retry only what Wix calls retryable, honouring a short Retry-After."""
    if not isinstance(exc, WixUnavailable) or isinstance(exc, WixQuotaExhausted):
        return False  # the quota already waited as long as this caller may
    if exc.retry_after is not None:
        return exc.retry_after if exc.retry_after <= MAX_INLINE_RETRY_AFTER_SECONDS else False
    return True


def _segment(value: str) -> str:
    """An id as one URL path segment: ids can come from callers, and "../x" or "x?y" must not reach another endpoint."""
    segment = quote(value, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment  # dot segments would still walk up


def _parse_retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


class WixClient:
    """Typed calls to Wix. ``auth`` is a callable so rotated secrets are picked up without a cold start;
    ``quota`` (``payment_links.quota``) is called before every HTTP request, retries included."""

    def __init__(
        self, http: httpx.Client, auth: Callable[[], WixAuth], settings: Settings, quota: Callable[[], None] | None = None
    ) -> None:
        self._http = http
        self._auth = auth
        self._settings = settings
        self._quota = quota
        # Per request, from these settings: one shared HTTP client serves clients with different budgets.
        self._timeout = _timeout(settings)

    def app_id(self) -> str | None:
        """Our Wix app's id when we call as an app (OAuth); Wix records it as ``source.appId`` of what we create."""
        return getattr(self._auth(), "app_id", None)

    def instance_id(self) -> str | None:
        """The app instance (site) our OAuth credentials are for; None with an API key."""
        return getattr(self._auth(), "instance_id", None)

    # -- Order Payment Requests -------------------------------------------------------------

    def create_payment_request(self, new: NewOrderPaymentRequest) -> CreatedOrderPaymentRequest:
        external_id = new.source.external_id or ""
        for attempt in self._retrying():
            with attempt:
                if attempt.num > 1:
                    # The previous attempt may have reached Wix before failing: adopt, don't duplicate.
                    existing = self.find_by_external_id(external_id)
                    if existing is not None:
                        url = self.get_payment_request_url(existing.id)
                        return CreatedOrderPaymentRequest(order_payment_request=existing, order_payment_request_url=url)
                payload = self._send("create", "POST", OPR_PATH, json={"orderPaymentRequest": new.to_wire()})
                return CreatedOrderPaymentRequest.model_validate(payload)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def get_payment_request(self, request_id: str) -> OrderPaymentRequest:
        payload = self._call("get", "GET", f"{OPR_PATH}/{_segment(request_id)}")
        return OrderPaymentRequest.model_validate(payload["orderPaymentRequest"])

    def update_payment_request(self, request_id: str, changes: dict[str, Any]) -> OrderPaymentRequest:
        body = {"orderPaymentRequest": {"id": request_id, **changes}}
        payload = self._call("update", "PATCH", f"{OPR_PATH}/{_segment(request_id)}", json=body)
        return OrderPaymentRequest.model_validate(payload["orderPaymentRequest"])

    def delete_payment_request(self, request_id: str) -> None:
        self._call("delete", "DELETE", f"{OPR_PATH}/{_segment(request_id)}")

    def get_payment_request_url(self, request_id: str) -> str:
        payload = self._call("url", "POST", f"{OPR_PATH}/url", json={"orderPaymentRequestId": request_id})
        return str(payload["orderPaymentRequestUrl"])

    def void_payment_request(self, request_id: str) -> None:
        """Void at Wix. Voiding an already voided request is a no-op at Wix, so this is idempotent."""
        self._call("void", "POST", f"{OPR_PATH}/void", json={"orderPaymentRequestId": request_id})

    def query_page(
        self,
        filter_: dict[str, Any] | None = None,
        sort: list[dict[str, str]] | None = None,
        cursor: str | None = None,
        limit: int = QUERY_PAGE_LIMIT,
    ) -> QueryPage:
        # Wix: follow-up pages carry only the cursor, never filter or sort.
        query: dict[str, Any] = {"cursorPaging": {"limit": limit}}
        if cursor:
            query["cursorPaging"]["cursor"] = cursor
        else:
            if filter_:
                query["filter"] = filter_
            query["sort"] = sort or [{"fieldName": "createdDate", "order": "DESC"}]
        payload = self._call("query", "POST", f"{OPR_PATH}/query", json={"query": query})
        return QueryPage.model_validate(payload)

    def query_payment_requests(
        self, filter_: dict[str, Any], sort: list[dict[str, str]] | None = None, max_pages: int = 50
    ) -> Iterator[OrderPaymentRequest]:
        """Every match, following cursors page by page (bounded, so a looping cursor cannot hang us)."""
        cursor: str | None = None
        for _ in range(max_pages):
            page = self.query_page(filter_, sort, cursor)
            yield from page.order_payment_requests
            cursor = page.paging_metadata.cursors.next
            if not cursor or page.paging_metadata.has_next is False:
                return

    def payment_requests_by_id(self, request_ids: list[str]) -> dict[str, OrderPaymentRequest]:
        """The requests Wix has among ``request_ids``: one Query per 100 ids (``id`` ``$in``), cursor paging.
        An id Wix does not return is not (or no longer) there for this site."""
        found: dict[str, OrderPaymentRequest] = {}
        unique = list(dict.fromkeys(request_ids))
        for start in range(0, len(unique), QUERY_PAGE_LIMIT):
            chunk = unique[start : start + QUERY_PAGE_LIMIT]
            for opr in self.query_payment_requests({"id": {"$in": chunk}}):
                if opr.id in chunk:
                    found[opr.id] = opr
        return found

    def find_by_external_id(self, external_id: str) -> OrderPaymentRequest | None:
        page = self.query_page({"source.externalId": {"$eq": external_id}}, limit=1)
        return page.order_payment_requests[0] if page.order_payment_requests else None

    def unpaid_for_order(self, order_id: str) -> list[OrderPaymentRequest]:
        return list(self.query_payment_requests({"orderId": {"$eq": order_id}, "status": {"$eq": "UNPAID"}}))

    # -- Orders -------------------------------------------------------------------------------

    def search_orders(self, order_ids: list[str]) -> dict[str, Order]:
        """The orders among ``order_ids``: Search Orders, ``id $in`` up to 100 a call, cursor paging. Wix leaves out
        INITIALIZED orders always and PENDING/REJECTED unless asked: a missing id is "not known", never "settled"."""
        found: dict[str, Order] = {}
        unique = list(dict.fromkeys(order_ids))
        for start in range(0, len(unique), QUERY_PAGE_LIMIT):
            chunk = unique[start : start + QUERY_PAGE_LIMIT]
            search: dict[str, Any] = {"filter": {"id": {"$in": chunk}}, "cursorPaging": {"limit": QUERY_PAGE_LIMIT}}
            for _ in range(50):  # bounded: a looping cursor cannot hang us
                page = OrdersPage.model_validate(self._call("searchOrders", "POST", "/ecom/v1/orders/search", json={"search": search}))
                found.update((order.id, order) for order in page.orders if order.id in chunk)
                cursor = page.paging.cursors.next
                if not cursor or page.paging.has_next is False:
                    break
                search = {"cursorPaging": {"limit": QUERY_PAGE_LIMIT, "cursor": cursor}}  # Wix: the cursor alone
        return found

    def unpaid_for_orders(self, order_ids: list[str]) -> dict[str, list[OrderPaymentRequest]]:
        """The UNPAID requests of each order (one Query per 100 orders)."""
        by_order: dict[str, list[OrderPaymentRequest]] = {order_id: [] for order_id in order_ids}
        unique = list(by_order)
        for start in range(0, len(unique), QUERY_PAGE_LIMIT):
            chunk = unique[start : start + QUERY_PAGE_LIMIT]
            for opr in self.query_payment_requests({"orderId": {"$in": chunk}, "status": {"$eq": "UNPAID"}}):
                if opr.order_id in by_order:
                    by_order[opr.order_id].append(opr)
        return by_order

    def get_order(self, order_id: str) -> Order:
        payload = self._call("getOrder", "GET", f"/ecom/v1/orders/{_segment(order_id)}")
        return Order.model_validate(payload["order"])

    # -- plumbing -----------------------------------------------------------------------------

    def _retrying(self) -> Any:
        s = self._settings
        return stamina.retry_context(
            on=_retry_hook,
            attempts=s.wix_max_attempts,
            timeout=s.wix_retry_budget,
            wait_initial=s.wix_retry_wait_initial,
            wait_max=s.wix_retry_wait_max,
            wait_jitter=s.wix_retry_wait_initial,
        )

    def _call(self, endpoint: str, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in self._retrying():
            with attempt:
                return self._send(endpoint, method, path, json=json)
        raise AssertionError("unreachable: stamina re-raises the last error")

    def _send(self, endpoint: str, method: str, path: str, json: dict[str, Any] | None = None) -> dict[str, Any]:
        auth = self._auth()
        response = self._request(endpoint, method, path, json, auth)
        if response.status_code == 401 and getattr(auth, "renewable", False):
            # An OAuth token Wix no longer takes (expired, revoked): this site's token only is renewed, once.
            auth.invalidate()
            response = self._request(endpoint, method, path, json, auth)
        if response.is_success:
            try:
                payload = response.json()
            except ValueError as exc:
                raise WixUnavailable(f"Wix sent an unreadable {endpoint} response", status=response.status_code) from exc
            if not isinstance(payload, dict):
                raise WixUnavailable(f"Wix sent an unexpected {endpoint} response", status=response.status_code)
            return payload
        raise self._error(endpoint, response)

    def _request(self, endpoint: str, method: str, path: str, json: dict[str, Any] | None, auth: WixAuth) -> httpx.Response:
        base = self._settings.wix_base_url
        if self._quota is not None:
            try:
                self._quota()
            except QuotaExhausted as exc:
                logger.warning("Wix quota used up", extra={"wix_endpoint": endpoint, "retry_after": exc.retry_after})
                raise WixQuotaExhausted(f"no Wix quota left for {endpoint}", retry_after=exc.retry_after) from exc
        try:
            return self._http.request(method, f"{base}{path}", json=json, headers=auth.headers(self._http, base), timeout=self._timeout)
        except httpx.TimeoutException as exc:
            logger.warning("Wix call timed out", extra={"wix_endpoint": endpoint})
            raise WixUnavailable(f"Wix did not answer {endpoint} in time") from exc
        except httpx.TransportError as exc:
            logger.warning("Wix call failed to connect", extra={"wix_endpoint": endpoint, "error": type(exc).__name__})
            raise WixUnavailable(f"Wix could not be reached for {endpoint}") from exc

    def _error(self, endpoint: str, response: httpx.Response) -> WixError:
        request_id = response.headers.get("x-wix-request-id")
        code = message = None
        try:
            body = ErrorBody.model_validate(response.json())
            message = body.message
            if body.details and body.details.application_error:
                code = body.details.application_error.code
                message = body.details.application_error.description or message
        except ValueError:
            pass  # 5xx bodies are empty by design at Wix
        logger.warning(
            "Wix call failed",
            extra={"wix_endpoint": endpoint, "status": response.status_code, "wix_code": code, "wix_request_id": request_id},
        )
        error_type = error_for_status(response.status_code)
        return error_type(
            message or f"Wix answered {response.status_code} to {endpoint}",
            status=response.status_code,
            code=code,
            request_id=request_id,
            retry_after=_parse_retry_after(response),
        )
