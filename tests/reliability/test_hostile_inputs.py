"""What a hostile or careless caller sends, on every route of the API (storefront, webhook, unsubscribe), over HTTP
through the local stack: deep nesting, huge numbers, other scripts' digits, control characters, overlong strings,
bodies that are not JSON, tokens shaped like JWTs that are not Wix's. Every answer is below 500, and a storefront
refusal is the documented error shape.

Schemathesis (test_fuzz_api.py) explores the documented shapes; this suite generates the classes of input that
broke the product before (a RecursionError on ``[[[[…``, an OverflowError on ``PT999…H``, a 500 on text/plain).
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.stack import API_KEY, LocalStack, StackConfig
from local.template import api_routes
from tests.reliability import figures

pytestmark = pytest.mark.slow

CASES_PER_ROUTE = 60
ROUTES = sorted({(route["method"], route["path"], route["api_key_required"]) for route in api_routes()})
HOSTILE_SETTINGS = settings(
    max_examples=CASES_PER_ROUTE, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    config = StackConfig(api_port=0, moto_port=0, sandbox_port=0, state_dir=tmp_path_factory.mktemp("hostile-state"), schedule=False)
    with LocalStack(config) as running:
        yield running


@pytest.fixture(scope="module")
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=60) as client:
        yield client


# -- the hostile classes --------------------------------------------------------------------------------------

control_characters = st.text(alphabet=st.characters(codec="utf-8", categories=["Cc"]), min_size=1, max_size=5)
other_digits = st.text(alphabet=st.sampled_from("٠١٢٣٤٥٦٧٨٩۰۱۲۳०१२३৪੫੬０１２３"), min_size=1, max_size=12)
separators = st.sampled_from(["\u2028", "\u2029", "\u202e", "\ufeff", "\x85"])
overlong = st.integers(min_value=300, max_value=70_000).map(lambda n: "x" * n)
hostile_text = st.one_of(
    st.tuples(st.text(max_size=10), control_characters, st.text(max_size=10)).map("".join),
    other_digits,
    st.tuples(other_digits, st.just("."), other_digits).map("".join),
    separators,
    overlong,
    st.sampled_from(["PT99999999999999999999H", "P9999999999999999W", "1_0", "1e3", "NaN", "-0", "+1 900 555 1234", "+882123456789"]),
)
huge_number_literals = st.one_of(
    st.integers(min_value=16, max_value=20_000).map(lambda n: "9" * n),
    st.sampled_from(["1e999", "-1e999", "1e-999", "NaN", "Infinity", "-0", "0.00000000000000000000001"]),
)


def _deep(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)


deep_nesting = st.tuples(st.integers(min_value=33, max_value=20_000), st.sampled_from(["array", "object"])).map(lambda t: _deep(*t))

FIELDS = ["orderId", "externalId", "amount", "title", "description", "expirationDate", "channels", "reminders", "customer"]
NESTED = {"customer": ["email", "phone", "name", "locale", "timeZone"], "reminders": ["schedule", "enabled"]}


@st.composite
def hostile_bodies(draw: st.DrawFn) -> str:
    """JSON text: a plausible body with one hostile value in it, or a raw hostile text."""
    shape = draw(st.sampled_from(["field", "nested", "raw-deep", "raw-number", "raw-text"]))
    if shape == "raw-deep":
        return draw(deep_nesting)
    if shape == "raw-number":
        return draw(huge_number_literals)
    if shape == "raw-text":
        return draw(hostile_text)
    body = {"orderId": "order-1", "externalId": "inv-1", "title": "Balance due", "amount": "5.00"}
    value = draw(st.one_of(hostile_text.map(json.dumps), huge_number_literals, deep_nesting))
    if shape == "field":
        field = draw(st.sampled_from(FIELDS))
        text = json.dumps(body)[:-1] + f', "{field}": ' + value + "}"
    else:
        parent = draw(st.sampled_from(sorted(NESTED)))
        child = draw(st.sampled_from(NESTED[parent]))
        if parent == "reminders" and child == "schedule":
            value = f"[{value}]"
        text = json.dumps(body)[:-1] + f', "{parent}": {{"{child}": ' + value + "}}"
    return text


content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "multipart/form-data", "", "application/x-www-form-urlencoded"]
)
path_values = st.one_of(
    hostile_text.map(lambda text: quote(text[:3000], safe="")),
    st.sampled_from(["..", "%2E%2E", "..%2F..%2Fwebhooks", "a%00b", "%F0%9F%92%A5", "x" * 2000]),
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@st.composite
def hostile_tokens(draw: st.DrawFn) -> str:
    """Webhook bodies: JWT-shaped tokens whose segments hold hostile JSON, or no token at all."""
    segment = st.one_of(deep_nesting, huge_number_literals, hostile_text.map(json.dumps), st.just('{"alg": "RS256", "kid": "k"}'))
    shape = draw(st.sampled_from(["jwt", "raw", "huge"]))
    if shape == "raw":
        return draw(st.one_of(hostile_text, deep_nesting))
    if shape == "huge":
        return "a" * draw(st.integers(min_value=65_000, max_value=100_000)) + ".b.c"
    header, payload = draw(segment), draw(segment)
    return f"{_b64(header.encode())}.{_b64(payload.encode())}.{_b64(draw(st.binary(max_size=300)))}"


# -- the suite -------------------------------------------------------------------------------------------------


def _path(template: str, value: str) -> str:
    out = template
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        out = out[:start] + value + out[end + 1 :]
    return out


def _check(response: httpx.Response, storefront: bool, statuses: Counter[int], failures: list[str], what: str) -> None:
    statuses[response.status_code] += 1
    if response.status_code >= 500:
        failures.append(f"{response.status_code} {what}: {response.text[:200]}")
    elif storefront and response.status_code >= 400 and response.status_code != 403:
        try:
            error = response.json()["error"]
            assert isinstance(error["code"], str) and isinstance(error["message"], str)
        except (ValueError, KeyError, TypeError, AssertionError):
            failures.append(f"{response.status_code} {what}: not the error shape: {response.text[:200]}")


@pytest.mark.parametrize(("method", "path", "storefront"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_hostile_input_on_every_route_never_gets_a_5xx(http: httpx.Client, method: str, path: str, storefront: bool) -> None:
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    headers = {"x-api-key": API_KEY} if storefront else {}

    if path == "/webhooks/wix":

        @HOSTILE_SETTINGS
        @given(token=hostile_tokens(), content_type=content_types)
        def run(token: str, content_type: str) -> None:
            response = http.post(path, content=token.encode(), headers={"content-type": content_type or "text/plain"})
            _check(response, False, statuses, failures, f"POST {path} {token[:80]!r}")

    else:

        @HOSTILE_SETTINGS
        @given(value=path_values, body=hostile_bodies(), content_type=content_types, query=hostile_text)
        def run(value: str, body: str, content_type: str, query: str) -> None:
            url = _path(path, value)
            sent = {**headers, **({"content-type": content_type} if content_type else {})}
            params = {"orderId": query[:5000]} if method == "GET" and "{" not in path else None
            content = body.encode() if method == "POST" else None
            response = http.request(method, url, content=content, headers=sent, params=params)
            _check(response, storefront, statuses, failures, f"{method} {url[:120]} {body[:80]!r}")

    run()

    cases = sum(statuses.values())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    figures.add("hostile inputs", cases=cases, server_errors=server_errors, outside_error_shape=len(failures) - server_errors)
    assert not failures, "\n".join(failures[:10])
