"""The storefront API's OpenAPI document, as the functions' own resolvers generate it (``GET /_local/openapi.json``).

Each function's ``APIGatewayRestResolver`` describes its routes from the pydantic models it validates with
(``get_openapi_json_schema``). The document merges them for the storefront routes, the template's routes that
need the API key (the webhook and the unsubscribe pages are for Wix and customers, not storefronts), and adds
what API Gateway answers before any function runs: 401 without an ``x-api-key`` (the site-key authorizer's identity
source), 403 with a wrong one (or for an unknown path) and 413 for a body over its payload limit. A function's own
403 (the key's site is no longer served) keeps the error shape, so a 403 is either.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

GATEWAY_MESSAGE = {
    "type": "object",
    "title": "GatewayMessage",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
_GATEWAY_MESSAGE_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}}
_GATEWAY_OR_ERROR = {
    "application/json": {
        "schema": {"oneOf": [{"$ref": "#/components/schemas/GatewayMessage"}, {"$ref": "#/components/schemas/ErrorResponse"}]}
    }
}
GATEWAY_RESPONSES = {
    "401": {"description": "API Gateway: no x-api-key", "content": _GATEWAY_MESSAGE_REF},
    "403": {
        "description": "API Gateway: a wrong x-api-key or no such route; or the key's site is not served",
        "content": _GATEWAY_OR_ERROR,
    },
    "413": {"description": "API Gateway: the body is over the payload limit", "content": _GATEWAY_MESSAGE_REF},
}


class UndescribedRoutes(RuntimeError):
    """A storefront route of the template that no resolver describes (the document would be incomplete)."""


def storefront_routes(routes: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """(function, lower-case method, path) of every route that needs the API key (``local.template.api_routes``)."""
    return {(route["function"], route["method"].lower(), route["path"]) for route in routes if route["api_key_required"]}


def _shape(path: str) -> str:
    """The path with its parameters unnamed: the template says ``{id}`` where the resolver says ``{request_id}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def storefront_openapi(routes: Iterable[dict[str, Any]], resolver_document: Callable[[str], str]) -> dict[str, Any]:
    """One OpenAPI 3 document for every storefront route; ``resolver_document(function)`` is that function's
    resolver's own document (JSON text)."""
    # (function, method, path shape) → the template's path
    wanted = {(function, method, _shape(path)): path for function, method, path in storefront_routes(routes)}
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Wix payment links: storefront API", "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {"GatewayMessage": GATEWAY_MESSAGE},
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"apiKey": []}],
    }
    for function in sorted({function for function, _, _ in wanted}):
        document = json.loads(resolver_document(function))
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
        for path, operations in document.get("paths", {}).items():
            for method, operation in operations.items():
                if (function, method, _shape(path)) not in wanted:
                    continue
                operation = copy.deepcopy(operation)
                operation["responses"].update(copy.deepcopy(GATEWAY_RESPONSES))
                merged["paths"].setdefault(path, {})[method] = operation
    described = {(method, _shape(path)) for path, operations in merged["paths"].items() for method in operations}
    missing = sorted(f"{method.upper()} {path}" for (_, method, shape), path in wanted.items() if (method, shape) not in described)
    if missing:
        raise UndescribedRoutes(f"routes no resolver describes: {', '.join(missing)}")
    return merged
