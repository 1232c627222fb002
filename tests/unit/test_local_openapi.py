"""``GET /_local/openapi.json``: the storefront routes as the functions' own resolvers describe them."""

from __future__ import annotations

import re

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from local.openapi import UndescribedRoutes, storefront_openapi


class Order(BaseModel):
    id: str


def _orders_app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)

    @app.get("/orders/<order_id>")
    def get_order(order_id: str) -> Order:
        return Order(id=order_id)

    @app.post("/hooks/wix")
    def hook() -> dict[str, str]:
        return {}

    return app


ROUTES = [
    {"function": "Orders", "method": "GET", "path": "/orders/{id}", "api_key_required": True},
    {"function": "Orders", "method": "POST", "path": "/hooks/wix", "api_key_required": False},
]


def test_only_the_routes_that_need_the_key_are_described_with_the_gateways_own_answers() -> None:
    document = storefront_openapi(ROUTES, lambda function: {"Orders": _orders_app()}[function].get_openapi_json_schema())

    assert list(document["paths"]) == ["/orders/{order_id}"]
    responses = document["paths"]["/orders/{order_id}"]["get"]["responses"]
    assert {"200", "403", "413", "422"} <= set(responses)
    assert {"$ref": "#/components/schemas/GatewayMessage"} in responses["403"]["content"]["application/json"]["schema"]["oneOf"]
    assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayMessage"}
    assert {"Order", "GatewayMessage"} <= set(document["components"]["schemas"])
    assert document["security"] == [{"apiKey": []}]


def test_a_storefront_route_no_resolver_describes_is_an_error_not_a_silent_gap() -> None:
    routes = [*ROUTES, {"function": "Orders", "method": "DELETE", "path": "/orders/{order_id}", "api_key_required": True}]
    with pytest.raises(UndescribedRoutes, match=re.escape("DELETE /orders/{order_id}")):
        storefront_openapi(routes, lambda _function: _orders_app().get_openapi_json_schema())
