"""API Gateway, locally: a werkzeug app that turns HTTP requests into REST API proxy events for the real handlers.

Routes come from the ``Events`` of type ``Api`` of the template's functions (``local.template.api_routes``), so a
route added to ``template.yaml`` is served here without any other change. Authorization is API Gateway's, from the
template (``local.authorizers``: the Lambda authorizer, IAM on the operator routes, the usage plan's key). Like API
Gateway, it answers 403 ``{"message": "Forbidden"}`` when a route that requires an API key gets none or a wrong one,
403 ``{"message": "Missing Authentication Token"}`` for a route that does not exist, and 502 ``{"message":
"Internal server error"}`` when a handler fails or returns something that is not a proxy response.

It also serves the local control routes: ``GET /_local/outbox`` (a page), ``GET /_local/outbox.json``,
``POST /_local/sweep`` (the reminder sweep, now, as a scheduled event at a given ``time``), ``POST /_local/bounce``
(SES's bounce, complaint or delivery event for the last e-mail to an address, or SNS's log of a failed SMS) and
``GET /_local/openapi.json`` (the storefront API's OpenAPI document, from the functions' resolvers).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from local.authorizers import Decision, GatewayAuth
from local.environment import ACCOUNT_ID
from local.functions import FunctionNotBuilt, LocalFunction
from local.openapi import UndescribedRoutes, storefront_openapi
from local.outbox import Outbox, render_page

logger = logging.getLogger("local.gateway")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's REST API limit
TEXT_TYPES = ("text/", "application/json", "application/jwt", "application/x-www-form-urlencoded", "application/xml")


def werkzeug_path(template_path: str) -> str:
    """``/payment-requests/{id}`` → ``/payment-requests/<id>``; a greedy ``{proxy+}`` matches the rest."""
    parts = []
    for part in template_path.split("/"):
        if part.startswith("{") and part.endswith("+}"):
            parts.append(f"<path:{part[1:-2]}>")
        elif part.startswith("{") and part.endswith("}"):
            parts.append(f"<{part[1:-1]}>")
        else:
            parts.append(part)
    return "/".join(parts)


def _gateway_error(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


def _local_error(status: int, code: str, message: str, details: list[Any] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(json.dumps(body), status=status, content_type="application/json")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status=status, content_type="application/json")


class Gateway:
    def __init__(
        self,
        routes: list[dict[str, Any]],
        functions: dict[str, LocalFunction],
        outbox: Outbox,
        run_sweep: Callable[[datetime | None], Any],
        *,
        run_delivery_event: Callable[..., Any] | None = None,
        stats_key: str | None = None,
        api_key: str,
        stage: str,
        api_id: str = "local",
        binary_media_types: Iterable[str] = (),
        auth: GatewayAuth | None = None,
    ):
        self.routes = routes
        self.functions = functions
        self.outbox = outbox
        self.run_sweep = run_sweep
        self.run_delivery_event = run_delivery_event
        self.stats_key = stats_key or api_key  # the site whose /stats the page draws (APP mode: demo site A)
        self.api_key = api_key
        self.stage = stage
        self.api_id = api_id
        self.binary_media_types = tuple(binary_media_types)
        self.auth = auth or GatewayAuth(authorizers={}, usage_keys={api_key})
        rules = [Rule(werkzeug_path(r["path"]), methods=[r["method"]], endpoint=index) for index, r in enumerate(routes)]
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        self.local_map = Map(
            [
                Rule("/_local/outbox", methods=["GET"], endpoint=self.outbox_page),
                Rule("/_local/outbox.json", methods=["GET"], endpoint=self.outbox_json),
                Rule("/_local/sweep", methods=["POST"], endpoint=self.sweep),
                Rule("/_local/bounce", methods=["POST"], endpoint=self.bounce),
                Rule("/_local/stats", methods=["GET"], endpoint=self.stats_page),
                Rule("/_local/stats.json", methods=["GET"], endpoint=self.stats_json),
                Rule("/_local/openapi.json", methods=["GET"], endpoint=self.openapi),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        started = time.monotonic()
        if request.path.startswith("/_local/"):
            response, target = self._local(request), "local"
        else:
            response, target = self._api(request)
        logger.info(
            "%s %s -> %d %s %.0fms", request.method, request.path, response.status_code, target, (time.monotonic() - started) * 1000
        )
        return response(environ, start_response)

    # -- the API -------------------------------------------------------------------------------------------------

    def _api(self, request: Request) -> tuple[Response, str]:
        try:
            index, path_parameters = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException:
            return _gateway_error(403, "Missing Authentication Token"), "no route"
        route = self.routes[index]
        if request.method != route["method"]:
            # werkzeug answers HEAD with a GET rule; API Gateway only with a HEAD method of its own, if there is one.
            same_path = [r for r in self.routes if r["path"] == route["path"] and r["method"] == request.method]
            if not same_path:
                return _gateway_error(403, "Missing Authentication Token"), "no route"
            route = same_path[0]
        decision = self.authorise(route, request, path_parameters)
        if decision.refused:
            return _gateway_error(decision.status or 403, decision.message), route["function"]
        if (request.content_length or 0) > MAX_PAYLOAD_BYTES:
            return _gateway_error(413, "Request Too Long"), route["function"]
        event = self.proxy_event(request, route, path_parameters)
        if decision.context:
            event["requestContext"]["authorizer"] = decision.context
        function = self.functions[route["function"]]
        try:
            result = function.invoke(event)
        except FunctionNotBuilt as error:
            logger.error("%s", error)
            return _gateway_error(502, "Internal server error"), route["function"]
        except Exception:
            logger.exception("%s raised", route["function"])
            return _gateway_error(502, "Internal server error"), route["function"]
        finally:
            self.outbox.observe()
        return self.http_response(result, event["requestContext"]["requestId"], route["function"]), route["function"]

    def authorise(self, route: dict[str, Any], request: Request, path_parameters: dict[str, str]) -> Decision:
        """API Gateway's decision for this request (``local.authorizers``): its authorizer, IAM, the usage plan key."""
        method_arn = f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{self.api_id}/{self.stage}/{request.method}{route['path']}"
        return self.auth.decide(route, request, method_arn, path_parameters)

    def proxy_event(self, request: Request, route: dict[str, Any], path_parameters: dict[str, str]) -> dict[str, Any]:
        """The REST API (v1) proxy event API Gateway would hand the function for this request."""
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query = {key: values[-1] for key, values in request.args.lists()}
        multi_query = dict(request.args.lists())
        body, is_base64 = self._body(request)
        request_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        api_key = request.headers.get("x-api-key")
        return {
            "resource": route["path"],
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": self.api_id,
                "domainName": request.host,
                "domainPrefix": request.host.split(".")[0],
                "extendedRequestId": request_id,
                "httpMethod": request.method,
                "identity": {
                    "sourceIp": request.remote_addr,
                    "userAgent": request.user_agent.string or None,
                    "apiKey": api_key if route["api_key_required"] else None,
                    "apiKeyId": "local-api-key" if route["api_key_required"] else None,
                },
                "path": f"/{self.stage}{request.path}",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "requestId": request_id,
                "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": route["function"],
                "resourcePath": route["path"],
                "stage": self.stage,
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }

    def _body(self, request: Request) -> tuple[str | None, bool]:
        raw = request.get_data(cache=False)
        if not raw:
            return None, False
        content_type = (request.mimetype or "").lower()
        binary_type = any(_media_type_matches(pattern, content_type) for pattern in self.binary_media_types)
        if not binary_type and (not content_type or content_type.startswith(TEXT_TYPES)):
            try:
                return raw.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(raw).decode("ascii"), True

    @staticmethod
    def http_response(result: Any, request_id: str, function: str) -> Response:
        """API Gateway's reading of a proxy integration's response; anything malformed is a 502."""
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            logger.error("%s returned a malformed proxy response", function)
            return _gateway_error(502, "Internal server error")
        headers = Headers()
        for name, value in (result.get("headers") or {}).items():
            headers[name] = str(value)
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.remove(name)
            for value in values:
                headers.add(name, str(value))
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        headers["x-amzn-RequestId"] = request_id
        headers.setdefault("Content-Type", "application/json")
        return Response(data, status=result["statusCode"], headers=headers)

    # -- local control routes ------------------------------------------------------------------------------------

    def _local(self, request: Request) -> Response:
        try:
            endpoint, _ = self.local_map.bind_to_environ(request.environ).match()
        except HTTPException as error:
            return _local_error(error.code or 404, "NOT_FOUND", f"No local route for {request.method} {request.path}")
        return endpoint(request)

    def outbox_page(self, request: Request) -> Response:
        return Response(render_page(self.outbox.to_json()), content_type="text/html; charset=utf-8")

    def outbox_json(self, request: Request) -> Response:
        return _json(self.outbox.to_json(request.args.get("to")))

    def stats_page(self, request: Request) -> Response:
        """The funnel and recovery rate of ``GET /stats`` as a page (``?from=&to=``, default the last 30 days;
        ``?key=`` another site's storefront key)."""
        from local.stats_page import render

        answer = self._stats(request)
        if answer.status_code != 200:
            return answer
        return Response(render(json.loads(answer.get_data())), content_type="text/html; charset=utf-8")

    def stats_json(self, request: Request) -> Response:
        return self._stats(request)

    def _stats(self, request: Request) -> Response:
        """``GET /stats`` through this gateway (the key checked, the function run), for the page."""
        from werkzeug.test import EnvironBuilder

        today = datetime.now(UTC).date()
        query = {
            "from": request.args.get("from", (today - timedelta(days=29)).isoformat()),
            "to": request.args.get("to", today.isoformat()),
        }
        key = request.args.get("key") or self.stats_key
        inner = Request(EnvironBuilder(path="/stats", method="GET", query_string=query, headers={"x-api-key": key}).get_environ())
        response, _ = self._api(inner)
        return response

    def bounce(self, request: Request) -> Response:
        """``{"email": "...", "type": "Permanent" | "Transient" | "Complaint" | "Delivery"}``: SES's event for the
        last e-mail sent to that address; ``{"phone": "+1...", "type": "Permanent" | "Transient"}``: SNS's delivery
        status log of a failed SMS to that number. Either goes to the delivery events function as AWS would send it."""
        from local.delivery_feedback import KINDS, SMS_RESPONSES

        try:
            body = json.loads(request.get_data() or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _local_error(400, "VALIDATION_FAILED", "The request body is not valid JSON.")
        body = body if isinstance(body, dict) else {}
        address, phone, kind = body.get("email"), body.get("phone"), body.get("type", "Permanent")
        email_ok = isinstance(address, str) and address and kind in KINDS
        phone_ok = isinstance(phone, str) and phone and kind in SMS_RESPONSES
        if not (email_ok or phone_ok):
            detail = {"fields": ["email", "phone", "type"], "emailTypes": list(KINDS), "phoneTypes": list(SMS_RESPONSES)}
            return _local_error(422, "VALIDATION_FAILED", "Give an email (or a phone) and a type it can have.", [detail])
        if self.run_delivery_event is None:
            return _local_error(503, "FUNCTION_NOT_BUILT", "This stack has no delivery events function.")
        try:
            result = self.run_delivery_event("EMAIL" if email_ok else "SMS", address if email_ok else phone, kind)
        except LookupError as error:
            return _local_error(404, "NO_MESSAGE_SENT", str(error))
        return _json(result if result is not None else {})

    def sweep(self, request: Request) -> Response:
        raw = request.get_data()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _local_error(400, "VALIDATION_FAILED", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _local_error(400, "VALIDATION_FAILED", "The request body must be a JSON object.")
        at = None
        if body.get("time") is not None:
            try:
                at = parse_instant(body["time"])
            except (TypeError, ValueError):
                detail = {"field": "time", "message": "an ISO-8601 date-time such as 2030-01-02T12:00:00Z"}
                return _local_error(422, "VALIDATION_FAILED", "time is not an ISO-8601 date-time.", [detail])
        try:
            result = self.run_sweep(at)
        except FunctionNotBuilt as error:
            return _local_error(503, "FUNCTION_NOT_BUILT", str(error))
        except Exception:
            logger.exception("the sweep failed")
            return _local_error(500, "SWEEP_FAILED", "The sweep raised an error; see the stack's log.")
        finally:
            self.outbox.observe()
        return _json(result if result is not None else {})

    def openapi(self, request: Request) -> Response:
        try:
            return _json(storefront_openapi(self.routes, lambda function: self.functions[function].openapi_json()))
        except FunctionNotBuilt as error:
            return _local_error(503, "FUNCTION_NOT_BUILT", str(error))
        except UndescribedRoutes as error:
            return _local_error(500, "OPENAPI_INCOMPLETE", str(error))


def parse_instant(value: Any) -> datetime:
    """An ISO-8601 date-time; one without an offset is taken as UTC."""
    if not isinstance(value, str):
        raise TypeError("not a string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _media_type_matches(pattern: str, content_type: str) -> bool:
    pattern = pattern.replace("~1", "/").lower()  # API Gateway escapes "/" as "~1" in binaryMediaTypes
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern
