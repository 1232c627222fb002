"""The storefront API's OpenAPI document, built from what the create and resend resolvers generate.

``APIGatewayRestResolver.get_openapi_schema()`` of each function, merged into one document for the routes a
storefront calls (the webhook and the unsubscribe pages are not storefront routes), plus what API Gateway
itself answers before any function runs: 403 without the right ``x-api-key`` (or for an unknown path) and 413
for a body over its payload limit. The local gateway can serve this document as ``/_openapi`` by calling
``storefront_openapi()``; until it does, the fuzz suite builds it here.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.lambda_runtime import load_function

STOREFRONT_ROUTES = {
    ("post", "/payment-requests"),
    ("get", "/payment-requests"),
    ("get", "/payment-requests/{request_id}"),
    ("post", "/payment-requests/{request_id}/void"),
    ("post", "/payment-requests/{request_id}/resend"),
    ("post", "/orders/{order_id}/payment-requests/resend"),
}
GATEWAY_MESSAGE = {
    "type": "object",
    "title": "GatewayMessage",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
GATEWAY_RESPONSES = {
    "403": {
        "description": "API Gateway: missing or wrong x-api-key, or no such route",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}},
    },
    "413": {
        "description": "API Gateway: the body is over the payload limit",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}},
    },
}


def _document(function: str) -> dict[str, Any]:
    return dict(json.loads(load_function(function).app.get_openapi_json_schema()))


def storefront_openapi() -> dict[str, Any]:
    """One OpenAPI 3 document for every storefront route, as the functions' resolvers describe them."""
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Wix payment links", "version": "1.0.0"},
        "paths": {},
        "components": {
            "schemas": {"GatewayMessage": GATEWAY_MESSAGE},
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}},
        },
        "security": [{"apiKey": []}],
    }
    for function in ("create", "resend"):
        document = _document(function)
        merged["components"]["schemas"].update(document.get("components", {}).get("schemas", {}))
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                if (method, path) not in STOREFRONT_ROUTES:
                    continue
                operation = copy.deepcopy(operation)
                operation["responses"].update(copy.deepcopy(GATEWAY_RESPONSES))
                merged["paths"].setdefault(path, {})[method] = operation
    missing = {route for route in STOREFRONT_ROUTES if route[0] not in merged["paths"].get(route[1], {})}
    assert not missing, f"routes the resolvers do not describe: {missing}"
    return merged
