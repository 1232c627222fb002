"""Schemathesis against the local stack: every storefront route, valid and invalid requests, several hundred each.

The document is the one the local stack serves (``GET /_local/openapi.json``: what the functions' resolvers
generate, plus API Gateway's own answers); the requests go over HTTP through the local API Gateway (with the API
key) to the real handlers, moto's server and the Wix sandbox.
Every answer must be below 500 and inside the document: a documented status, content type, body and headers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local.openapi import storefront_routes
from local.stack import API_KEY, LocalStack, StackConfig
from local.template import api_routes
from tests.reliability import figures

pytestmark = pytest.mark.slow

CASES_PER_MODE = 150  # positive and negative: 300 per route
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance, response_headers_conformance]
# The resolvers' names for the path parameters (the template's ``{id}`` is ``{request_id}`` in the document).
STOREFRONT_ROUTES = sorted(
    (method, path.replace("{id}", "{request_id}").replace("{orderId}", "{order_id}")) for _, method, path in storefront_routes(api_routes())
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(api_port=0, moto_port=0, sandbox_port=0, state_dir=tmp_path_factory.mktemp("fuzz-state"), schedule=False)
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def document(stack: LocalStack) -> dict[str, Any]:
    response = httpx.get(f"{stack.api_url}/_local/openapi.json", timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("route", STOREFRONT_ROUTES, ids=lambda route: f"{route[0].upper()} {route[1]}")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_request_gets_a_5xx_or_an_answer_outside_the_document(
    stack: LocalStack, document: dict[str, Any], route: tuple[str, str], mode: GenerationMode
) -> None:
    method, path = route
    operation = schemathesis.openapi.from_dict(document)[path][method.upper()]
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    @settings(max_examples=CASES_PER_MODE, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=stack.api_url, headers={"x-api-key": API_KEY}, timeout=30)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        # Collected, so one run reports every kind of failure it met (schemathesis raises a group of them).
        except (Exception, BaseExceptionGroup):
            failures.append(f"{response.status_code} {case.method} {case.formatted_path} {case.body!r:.200}: {response.text[:300]}")

    run()

    cases = sum(statuses.values())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    figures.add("fuzzing", cases=cases, server_errors=server_errors, outside_schema=len(failures))
    figures.add(f"fuzzing {method.upper()} {path}", cases=cases)
    assert cases >= CASES_PER_MODE // 2, f"only {cases} cases generated"
    assert server_errors == 0, statuses
    assert not failures, "\n".join(failures[:10])


def test_the_served_document_describes_every_storefront_route_with_its_errors(document: dict[str, Any]) -> None:
    assert STOREFRONT_ROUTES, "the template has no route that needs the API key"
    assert {(method, path) for path, operations in document["paths"].items() for method in operations} == set(STOREFRONT_ROUTES)
    for method, path in STOREFRONT_ROUTES:
        responses = document["paths"][path][method]["responses"]
        assert {"401", "403"} <= set(responses), (method, path)
        if path == "/settings" and method == "get":
            continue  # takes no input
        assert "422" in responses, (method, path)  # every route that takes input refuses bad input in the error shape
        assert responses["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
