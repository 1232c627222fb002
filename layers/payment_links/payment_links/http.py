"""The error shape of the HTTP API and the one map from domain errors to HTTP statuses.

Route code raises domain errors; the handlers registered here turn them into
``{"error": {"code", "message", "details"}}``. No stack trace ever reaches a caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from botocore.exceptions import ClientError

from payment_links import safe_json
from payment_links.domain.errors import DomainError

logger = Logger(child=True)

STATUS_BY_CODE = {
    "VALIDATION_FAILED": 422,
    "PAYMENT_REQUEST_NOT_FOUND": 404,
    "ORDER_NOT_FOUND": 404,
    "NO_UNPAID_PAYMENT_REQUEST": 404,
    "EXTERNAL_ID_CONFLICT": 409,
    "REQUEST_IN_PROGRESS": 409,
    "NOT_PAYABLE": 409,
    "ORDER_NOT_PAYABLE": 409,
    "AMOUNT_EXCEEDS_BALANCE": 422,
    "NO_REACHABLE_CHANNEL": 422,
    "CONTACT_NOT_ON_ORDER": 422,
    "PAYMENT_PAGE_NOT_PUBLISHED": 424,
    "RESEND_COOLDOWN": 429,
    "WIX_REJECTED": 502,
    "WIX_AUTH_FAILED": 502,
    "WIX_UNAVAILABLE": 503,
    "INVALID_UNSUBSCRIBE_LINK": 404,
    "MALFORMED_WEBHOOK": 400,
    "INVALID_SIGNATURE": 401,
    "PAYLOAD_TOO_LARGE": 413,
    "WEBHOOK_NOT_CONFIGURED": 503,
    "EVENT_NOT_CONFIRMED": 503,
    "SERVICE_UNAVAILABLE": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "SITE_NOT_ACTIVE": 403,
    "NOT_APP_MODE": 409,
    "API_KEY_NOT_FOUND": 404,
    "SITE_NOT_FOUND": 404,
    "SENDER_NOT_VERIFIED": 422,
}
# AWS throttled us or failed on its side even after the SDK's own retries: the caller may retry (not a 500).
AWS_RETRYABLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException"}
)


def _aws_unavailable(exc: BaseException | None) -> bool:
    """A throttling or 5xx AWS error, possibly wrapped (Powertools idempotency wraps its store's errors)."""
    while exc is not None:
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            return exc.response.get("Error", {}).get("Code") in AWS_RETRYABLE_CODES or status >= 500
        exc = exc.__cause__ or exc.__context__
    return False


def error_response(status: int, code: str, message: str, details: list[Any] | None = None, retry_after: int | None = None) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return Response(status_code=status, content_type="application/json", body=json.dumps(body), headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        message = error.get("msg", "invalid")
        if error.get("type") == "json_invalid" and (error.get("ctx") or {}).get("error"):
            message = f"{message}: {error['ctx']['error']}"  # e.g. "nested deeper than 32 levels"
        details.append({"field": ".".join(location), "message": message, "type": error.get("type")})
    return details


class StorefrontResolver(APIGatewayRestResolver):
    """The resolver of the storefront routes: bodies validated against the API models, JSON read depth-limited
    (``safe_json``: a body of ``[[[[…`` is a 400, not a RecursionError), errors in the one shape.

    Bodies are JSON only: a body sent as form data, multipart or text is refused with 415 before Powertools would
    try its other body parsers on it (a multipart body without a boundary, or text/plain, reached them as a 500)."""

    def __init__(self, form_paths: tuple[str, ...] = ()) -> None:
        super().__init__(enable_validation=True, json_body_deserializer=safe_json.loads)
        register_error_handlers(self)
        self._form_paths = form_paths  # routes people post HTML forms to (no JSON body is read there)

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        path = str(event.get("path") or "")
        may_have_body = event.get("body") or str(event.get("httpMethod", "")).upper() in ("POST", "PUT", "PATCH")
        if may_have_body and not _is_json(_header(event, "content-type")) and not path.startswith(self._form_paths):
            return _proxy_response(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Send the body as JSON, with the header Content-Type: application/json.",
            )
        return super().resolve(event, context)


def storefront_resolver(form_paths: tuple[str, ...] = ()) -> StorefrontResolver:
    return StorefrontResolver(form_paths)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return str(values[0])
    return None


def _is_json(content_type: str | None) -> bool:
    """No content type (read as JSON, as Powertools does), ``application/json`` or a ``+json`` type."""
    if content_type is None or not content_type.strip():
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _proxy_response(status: int, code: str, message: str) -> dict[str, Any]:
    body = {"error": {"code": code, "message": message, "details": []}}
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body), "isBase64Encoded": False}


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        status = STATUS_BY_CODE.get(exc.code, 500)
        logger.info("request refused", extra={"error_code": exc.code, "status": status})
        return error_response(status, exc.code, exc.message, exc.details, exc.retry_after)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response:
        details = _field_errors(exc)
        # A body that is not JSON at all: pydantic puts the decode error at ("body", <offset>), hence no field check.
        malformed = any(d.get("type") == "json_invalid" or (d.get("type") == "model_attributes_type" and not d["field"]) for d in details)
        return error_response(
            400 if malformed else 422,
            "VALIDATION_FAILED",
            "The request body is not valid JSON." if malformed else "The request is not valid; see details for each field.",
            details,
        )

    @app.exception_handler(UnicodeDecodeError)
    def undecodable_body(_exc: UnicodeDecodeError) -> Response:
        # Powertools decodes the (base64) body as UTF-8 before validating it; bytes that are not text are bad input.
        return error_response(400, "VALIDATION_FAILED", "The request body is not UTF-8 JSON.")

    @app.not_found
    def route_not_found(_exc: Exception) -> Response:
        return error_response(404, "ROUTE_NOT_FOUND", "No such route.")

    @app.exception_handler(Exception)
    def unexpected_error(exc: Exception) -> Response:
        if _aws_unavailable(exc):
            logger.warning("AWS unavailable", extra={"error": type(exc).__name__})
            return error_response(503, "SERVICE_UNAVAILABLE", "A service we depend on is busy; retry shortly.", retry_after=1)
        logger.exception("unexpected error")
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side; it has been logged.")
