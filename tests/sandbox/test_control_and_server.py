"""Control routes not covered elsewhere, and running the sandbox: reset, persistence, the command line."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from local.wix_sandbox import DEMO_ORDER_ID, SandboxServer

from .support import API_HEADERS, OPR, create_order, create_payment_request, wait_until

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_health(client):
    assert client.get("/_sandbox/health").json() == {"status": "ok"}


def test_site_switch_reads_back_and_rejects_non_booleans(client):
    assert client.get("/_sandbox/site").json() == {"paymentPagePublished": True}
    client.put("/_sandbox/site", json={"paymentPagePublished": False})
    assert client.get("/_sandbox/site").json() == {"paymentPagePublished": False}
    assert client.put("/_sandbox/site", json={"paymentPagePublished": "no"}).status_code == 400


def test_calls_log_every_api_call_but_not_control_routes(client, order):
    created = create_payment_request(client, order["id"])
    client.get(f"{OPR}/{created['id']}")
    client.post(f"{OPR}/void", json={"orderPaymentRequestId": "missing"})
    calls = client.get("/_sandbox/calls").json()["calls"]
    assert [(c["method"], c["endpoint"], c["status"]) for c in calls] == [
        ("POST", "create", 200),
        ("GET", "get", 200),
        ("POST", "void", 404),
    ]
    assert calls[1]["path"] == f"{OPR}/{created['id']}"
    assert all(c["requestId"] and c["at"] for c in calls)


def test_reset_forgets_everything_and_reseeds_the_demo_order(client, order):
    created = create_payment_request(client, order["id"])
    client.put("/_sandbox/faults", json={"endpoint": "url", "status": 500})
    client.put("/_sandbox/site", json={"paymentPagePublished": False})
    assert client.post("/_sandbox/reset").status_code == 200
    assert client.get(f"{OPR}/{created['id']}").status_code == 404
    assert client.get(f"/ecom/v1/orders/{order['id']}").status_code == 404
    assert client.get(f"/ecom/v1/orders/{DEMO_ORDER_ID}").status_code == 200
    assert client.get("/_sandbox/faults").json()["faults"] == []
    assert client.get("/_sandbox/site").json()["paymentPagePublished"] is True
    assert [c["endpoint"] for c in client.get("/_sandbox/calls").json()["calls"]] == ["get", "getOrder", "getOrder"]


def test_reset_without_seed_leaves_no_orders(client):
    client.post("/_sandbox/reset", json={"seed": False})
    assert client.get("/_sandbox/orders").json() == {"orders": []}


def test_an_order_id_can_be_chosen_once(client):
    assert client.post("/_sandbox/orders", json={"balance": "5", "id": "order-a"}).status_code == 201
    response = client.post("/_sandbox/orders", json={"balance": "5", "id": "order-a"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "ORDER_EXISTS")


def test_unknown_control_routes_are_json_404(client):
    response = client.get("/_sandbox/nothing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_public_key_is_served_for_convenience(client, sandbox):
    assert client.get("/_sandbox/public-key").content == sandbox.keys.public_pem


def test_custom_credentials_are_honoured(key_dir):
    with SandboxServer(port=0, key_dir=key_dir, api_key="k2", site_id="s2") as server:
        ok = httpx.get(f"{server.url}/ecom/v1/orders/{DEMO_ORDER_ID}", headers={"Authorization": "k2", "wix-site-id": "s2"})
        old = httpx.get(f"{server.url}/ecom/v1/orders/{DEMO_ORDER_ID}", headers=API_HEADERS)
    assert (ok.status_code, old.status_code) == (200, 401)


def test_state_survives_a_restart_when_a_state_file_is_given(key_dir, tmp_path):
    state_file = tmp_path / "sandbox-state.json"
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as first,
        httpx.Client(base_url=first.url, headers=API_HEADERS) as http,
    ):
        order = create_order(http, "30.00")
        created = create_payment_request(http, order["id"])
        http.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as second,
        httpx.Client(base_url=second.url, headers=API_HEADERS) as http,
    ):
        assert http.get(f"{OPR}/{created['id']}").json()["orderPaymentRequest"]["status"] == "PAID"
        assert http.get(f"/ecom/v1/orders/{order['id']}").json()["order"]["balanceSummary"]["balance"]["amount"] == "20.00"
        next_order = create_order(http, "1.00")
    assert int(next_order["number"]) > int(order["number"])


def test_the_server_can_be_stopped_and_started_again(key_dir, receiver):
    server = SandboxServer(port=0, key_dir=key_dir, webhook_url=receiver.url)
    server.start()
    server.stop()
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers=API_HEADERS) as http:
            create_payment_request(http, DEMO_ORDER_ID)
        assert server.wait_for_webhooks(timeout=5)
        assert len(receiver.received) == 1
    finally:
        server.stop()


def test_no_seed_means_no_demo_order(key_dir):
    with SandboxServer(port=0, key_dir=key_dir, seed_demo_order=False) as server:
        assert httpx.get(f"{server.url}/ecom/v1/orders/{DEMO_ORDER_ID}", headers=API_HEADERS).status_code == 404


def test_the_command_line_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local.wix_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webhook-url",
            "",
            "--key-dir",
            str(tmp_path / ".local"),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    try:
        wait_until(lambda: _healthy(f"http://127.0.0.1:{port}"), timeout=20, interval=0.1)
        order = httpx.get(f"http://127.0.0.1:{port}/ecom/v1/orders/{DEMO_ORDER_ID}", headers=API_HEADERS)
        assert order.status_code == 200
        assert (tmp_path / ".local" / "wix-webhook-public.pem").exists()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = process.stderr.read().decode()
    assert "Wix sandbox on http://127.0.0.1:" in stderr and "stopped" in stderr
    assert "jane@example.com" not in stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_sandbox/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
