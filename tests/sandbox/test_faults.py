"""Fault injection: error statuses for a number of calls, latency, malformed bodies and held connections."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from local.wix_sandbox import DEMO_ORDER_ID, SITE_A_INSTANCE_ID, SandboxServer

from .support import API_HEADERS, OPR, create_payment_request, error_code

ORDER_PATH = f"/ecom/v1/orders/{DEMO_ORDER_ID}"


def _fault(client, **fault):
    response = client.put("/_sandbox/faults", json=fault)
    assert response.status_code == 200, response.text
    return response.json()["faults"]


def _create(client):
    entity = {"orderId": DEMO_ORDER_ID, "amount": {"amount": "5.00"}, "title": "t", "source": {"externalId": "e"}}
    return client.post(OPR, json={"orderPaymentRequest": entity})


def test_503_for_two_calls_then_ok(client):
    _fault(client, endpoint="create", status=503, count=2)
    first, second, third = _create(client), _create(client), _create(client)
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.content == b""  # Wix sends 5xx bodies empty
    calls = client.get("/_sandbox/calls", params={"endpoint": "create"}).json()["calls"]
    assert [(c["status"], c["fault"]) for c in calls] == [(503, True), (503, True), (200, False)]
    assert client.get("/_sandbox/faults").json()["faults"] == []


def test_a_fault_only_hits_its_endpoint(client):
    _fault(client, endpoint="getOrder", status=500)
    assert client.get(ORDER_PATH).status_code == 500
    assert _create(client).status_code == 200


def test_a_fault_without_count_lasts_until_cleared(client):
    _fault(client, endpoint="getOrder", status=502)
    assert [client.get(ORDER_PATH).status_code for _ in range(3)] == [502, 502, 502]
    assert client.delete("/_sandbox/faults").json() == {"faults": []}
    assert client.get(ORDER_PATH).status_code == 200


def test_delete_can_clear_one_endpoint(client):
    _fault(client, endpoint="getOrder", status=502)
    _fault(client, endpoint="create", status=503)
    remaining = client.delete("/_sandbox/faults", params={"endpoint": "getOrder"}).json()["faults"]
    assert [f["endpoint"] for f in remaining] == ["create"]


def test_star_hits_every_wix_endpoint_but_not_the_token_route(client, order):
    created = create_payment_request(client, order["id"])
    _fault(client, endpoint="*", status=503)
    assert client.get(ORDER_PATH).status_code == 503
    assert client.get(f"{OPR}/{created['id']}").status_code == 503
    assert client.post(f"{OPR}/query", json={}).status_code == 503
    token = client.post(
        "/oauth2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": "local-app-id",
            "client_secret": "local-app-secret",
            "instance_id": SITE_A_INSTANCE_ID,
        },
    )
    assert token.status_code == 200


def test_an_endpoint_fault_wins_over_star(client):
    _fault(client, endpoint="*", status=503)
    _fault(client, endpoint="getOrder", status=429, retryAfter=7)
    response = client.get(ORDER_PATH)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert error_code(response) == "RESOURCE_EXHAUSTED"


def test_faults_apply_before_authentication_like_an_outage(anonymous, client):
    _fault(client, endpoint="getOrder", status=503, count=1)
    assert anonymous.get(ORDER_PATH).status_code == 503
    assert anonymous.get(ORDER_PATH).status_code == 401


@pytest.mark.parametrize(("status", "code"), [(418, "IM_A_TEAPOT"), (428, "FAILED_PRECONDITION"), (499, "ERROR")])
def test_a_4xx_fault_without_a_body_answers_in_wix_error_shape(client, status, code):
    _fault(client, endpoint="getOrder", status=status, count=1)
    response = client.get(ORDER_PATH)
    assert (response.status_code, error_code(response)) == (status, code)


def test_an_unusual_5xx_fault_is_still_empty(client):
    _fault(client, endpoint="getOrder", status=599, count=1)
    response = client.get(ORDER_PATH)
    assert (response.status_code, response.content) == (599, b"")


def test_latency_delays_the_answer_which_is_otherwise_normal(client):
    _fault(client, endpoint="getOrder", latencyMs=300, count=1)
    started = time.monotonic()
    response = client.get(ORDER_PATH)
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200
    assert response.json()["order"]["id"] == DEMO_ORDER_ID


def test_latency_combines_with_a_status(client):
    _fault(client, endpoint="getOrder", latencyMs=200, status=504, count=1)
    started = time.monotonic()
    assert client.get(ORDER_PATH).status_code == 504
    assert time.monotonic() - started >= 0.2


def test_a_malformed_body_is_sent_as_is(client):
    _fault(client, endpoint="create", body='{"orderPaymentRequest": {"id": ', count=1)
    response = _create(client)
    assert response.status_code == 200
    assert response.text == '{"orderPaymentRequest": {"id": '
    with pytest.raises(ValueError):
        response.json()


def test_a_timeout_holds_the_call_past_the_clients_patience(client, sandbox):
    _fault(client, endpoint="get", timeout=True, count=1)
    with httpx.Client(base_url=sandbox.url, headers=client.headers, timeout=0.5) as impatient:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            impatient.get(f"{OPR}/anything")
        assert time.monotonic() - started < 5
    assert client.get(f"{OPR}/anything").status_code == 404  # the next call is normal again
    timed_out = [c for c in client.get("/_sandbox/calls").json()["calls"] if c.get("timedOut")]
    assert len(timed_out) == 1


def test_a_held_call_is_released_when_the_server_stops(key_dir):
    server = SandboxServer(port=0, key_dir=key_dir).start()
    httpx.put(f"{server.url}/_sandbox/faults", json={"endpoint": "getOrder", "timeout": True})
    errors = []

    def call():
        try:
            httpx.get(f"{server.url}{ORDER_PATH}", headers=API_HEADERS, timeout=10)
        except httpx.HTTPError as error:
            errors.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)
    started = time.monotonic()
    server.stop()
    caller.join(timeout=5)
    assert time.monotonic() - started < 3
    assert not caller.is_alive()
    assert errors  # the connection was dropped, not answered


@pytest.mark.parametrize(
    "fault",
    [
        {"endpoint": "everything", "status": 500},
        {"status": 500},
        {"endpoint": "create"},
        {"endpoint": "create", "status": 99},
        {"endpoint": "create", "status": 500, "count": 0},
        {"endpoint": "create", "status": "500"},
        {"endpoint": "create", "timeout": "yes"},
        {"endpoint": "create", "latencyMs": -5},
    ],
)
def test_invalid_faults_are_400(client, fault):
    assert client.put("/_sandbox/faults", json=fault).status_code == 400
