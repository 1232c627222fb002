"""Sites as control routes see them: creating one, orders in it, installing and removing the app (signed
``AppInstalled`` / ``AppRemoved`` webhooks), reset and persistence."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import jwt
import pytest

from local.wix_sandbox import DEMO_ORDER_ID, SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID, SandboxServer, decode_webhook_jwt

from .support import API_HEADERS, APP_ID, OPR, create_order, create_payment_request, oauth_client, token_response, unwrap_webhook


def _site(instance_id: str, installed: bool = True, published: bool = True) -> dict:
    return {"instanceId": instance_id, "installed": installed, "paymentPagePublished": published}


def _new_site(client: httpx.Client, **fields) -> str:
    instance_id = str(uuid.uuid4())
    response = client.post("/_sandbox/sites", json={"instanceId": instance_id, **fields})
    assert response.status_code == 201, response.text
    return instance_id


def _lifecycle_events(sandbox, receiver) -> list[tuple[dict, dict, dict]]:
    sandbox.wait_for_webhooks()
    return [unwrap_webhook(body, sandbox.keys.public_pem) for body in receiver.bodies()]


# -- the sites -------------------------------------------------------------------------------------------------


def test_the_two_demo_sites_exist_from_the_start_with_the_app_installed(client):
    assert client.get("/_sandbox/sites").json() == {"sites": [_site(SITE_A_INSTANCE_ID), _site(SITE_B_INSTANCE_ID)]}
    assert client.get(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}").json() == {"site": _site(SITE_B_INSTANCE_ID)}


def test_a_new_site_starts_without_the_app_and_can_be_created_once(client):
    instance_id = str(uuid.uuid4())
    created = client.post("/_sandbox/sites", json={"instanceId": instance_id.upper()})
    assert (created.status_code, created.json()) == (201, {"site": _site(instance_id, installed=False)})
    again = client.post("/_sandbox/sites", json={"instanceId": instance_id})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "SITE_EXISTS")
    assert _site(instance_id, installed=False) in client.get("/_sandbox/sites").json()["sites"]


@pytest.mark.parametrize("body", [{}, {"instanceId": 5}, {"instanceId": "site-c"}, {"instanceId": "11111111-1111-4111-8111-11111111111"}])
def test_a_site_needs_a_guid(client, body):
    response = client.post("/_sandbox/sites", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "VALIDATION_FAILED")


def test_an_unknown_site_is_404_on_every_site_route(client):
    unknown = str(uuid.uuid4())
    for response in (
        client.get(f"/_sandbox/sites/{unknown}"),
        client.post(f"/_sandbox/sites/{unknown}/install"),
        client.post(f"/_sandbox/sites/{unknown}/remove"),
        client.put("/_sandbox/site", json={"instanceId": unknown, "paymentPagePublished": False}),
        client.post("/_sandbox/orders", json={"balance": "5", "instanceId": unknown}),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "SITE_NOT_FOUND")
    assert client.post("/_sandbox/orders", json={"balance": "5", "instanceId": "site-c"}).status_code == 400


def test_an_order_made_in_a_new_site_belongs_to_it(client, sandbox):
    instance_id = _new_site(client)
    response = client.post("/_sandbox/orders", json={"balance": "12.00", "instanceId": instance_id})
    assert (response.status_code, response.json()["instanceId"]) == (201, instance_id)
    order = response.json()["order"]
    listed = client.get("/_sandbox/orders", params={"instanceId": instance_id}).json()["orders"]
    assert [o["id"] for o in listed] == [order["id"]]
    assert client.get(f"/ecom/v1/orders/{order['id']}").status_code == 404  # the API key is site A's

    client.post(f"/_sandbox/sites/{instance_id}/install")
    with oauth_client(sandbox.url, instance_id) as site:
        assert site.get(f"/ecom/v1/orders/{order['id']}").json()["order"] == order
        created = create_payment_request(site, order["id"])
    requests = client.get("/_sandbox/order-payment-requests", params={"instanceId": instance_id}).json()["orderPaymentRequests"]
    assert [r["id"] for r in requests] == [created["id"]]


def test_orders_without_an_instance_id_stay_in_site_a(client):
    order = create_order(client, "8.00")
    assert client.post("/_sandbox/orders", json={"balance": "1"}).json()["instanceId"] == SITE_A_INSTANCE_ID
    in_a = client.get("/_sandbox/orders", params={"instanceId": SITE_A_INSTANCE_ID}).json()["orders"]
    assert order["id"] in {o["id"] for o in in_a}
    assert DEMO_ORDER_ID in {o["id"] for o in in_a}
    assert client.get("/_sandbox/orders", params={"instanceId": SITE_B_INSTANCE_ID}).json()["orders"] == []


# -- installing and removing the app ---------------------------------------------------------------------------


def test_install_and_remove_push_signed_lifecycle_events(client, sandbox, receiver):
    instance_id = _new_site(client)
    installed = client.post(f"/_sandbox/sites/{instance_id}/install")
    assert installed.json() == {"site": _site(instance_id)}
    removed = client.post(f"/_sandbox/sites/{instance_id}/remove")
    assert removed.json() == {"site": _site(instance_id, installed=False)}

    events = _lifecycle_events(sandbox, receiver)
    assert [envelope["eventType"] for _, envelope, _ in events] == ["AppInstalled", "AppRemoved"]
    for body in receiver.bodies():
        header = jwt.get_unverified_header(body)
        assert header["alg"] == "RS256" and header["kid"] == sandbox.keys.kid
    (install_claims, install_envelope, install_data), (_, remove_envelope, remove_data) = events
    assert set(install_claims) == {"data", "iat", "exp"}
    assert install_claims["exp"] == install_claims["iat"] + 300
    assert abs(install_claims["iat"] - time.time()) < 30
    assert set(install_envelope) == {"eventType", "instanceId", "data", "identity"}
    assert install_envelope["instanceId"] == remove_envelope["instanceId"] == instance_id
    assert install_data == {"appId": APP_ID, "originInstanceId": None}
    assert remove_data == {"appId": APP_ID}
    assert isinstance(json.loads(install_envelope["identity"]), dict)
    assert decode_webhook_jwt(receiver.bodies()[1], sandbox.keys.public_pem) == (remove_envelope, remove_data)

    deliveries = client.get("/_sandbox/webhooks").json()["deliveries"]
    assert [(d["eventType"], d["instanceId"], d["entityId"], d["status"]) for d in deliveries] == [
        ("AppInstalled", instance_id, None, 200),
        ("AppRemoved", instance_id, None, 200),
    ]


def test_a_duplicated_site_names_its_origin(client, sandbox, receiver):
    instance_id = _new_site(client)
    client.post(f"/_sandbox/sites/{instance_id}/install", json={"originInstanceId": SITE_A_INSTANCE_ID})
    [(_, _, data)] = _lifecycle_events(sandbox, receiver)
    assert data == {"appId": APP_ID, "originInstanceId": SITE_A_INSTANCE_ID}
    assert client.post(f"/_sandbox/sites/{instance_id}/install", json={"originInstanceId": "x"}).status_code == 400


def test_installing_an_installed_site_announces_it_again(client, sandbox, receiver):
    # Demo sites start installed without an event; this is how a receiver learns of them.
    assert client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/install").json() == {"site": _site(SITE_B_INSTANCE_ID)}
    [(_, envelope, _)] = _lifecycle_events(sandbox, receiver)
    assert (envelope["eventType"], envelope["instanceId"]) == ("AppInstalled", SITE_B_INSTANCE_ID)


def test_lifecycle_events_follow_the_delivery_policy(client, sandbox, receiver):
    client.put("/_sandbox/webhooks", json={"copies": 2})
    client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/remove")
    events = _lifecycle_events(sandbox, receiver)
    assert [envelope["eventType"] for _, envelope, _ in events] == ["AppRemoved", "AppRemoved"]

    client.put("/_sandbox/webhooks", json={"url": None})
    client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/install")
    sandbox.wait_for_webhooks()
    assert len(receiver.received) == 2
    last = client.get("/_sandbox/webhooks").json()["deliveries"][-1]
    assert (last["eventType"], last["status"]) == ("AppInstalled", None) and "no webhook URL" in last["error"]


def test_copies_and_retries_carry_the_time_the_event_happened(client, sandbox, receiver):
    # Receivers order lifecycle events by iat (they have no sequence), so a later copy must not look newer.
    receiver.queued_statuses = [500]
    client.put("/_sandbox/webhooks", json={"copies": 2, "delayMs": 1000})
    client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/remove")
    events = _lifecycle_events(sandbox, receiver)
    assert len(events) == 3  # first copy failed once and was retried
    assert len({claims["iat"] for claims, _, _ in events}) == 1


def test_reset_brings_back_just_the_demo_sites_with_the_app_installed(client, anonymous):
    _new_site(client)
    client.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/remove")
    client.put("/_sandbox/site", json={"instanceId": SITE_B_INSTANCE_ID, "paymentPagePublished": False})
    client.post("/_sandbox/reset")
    assert client.get("/_sandbox/sites").json() == {"sites": [_site(SITE_A_INSTANCE_ID), _site(SITE_B_INSTANCE_ID)]}
    assert token_response(anonymous, SITE_B_INSTANCE_ID).status_code == 200


# -- persistence -----------------------------------------------------------------------------------------------


def test_sites_and_what_belongs_to_them_survive_a_restart(key_dir, tmp_path):
    state_file = tmp_path / "sandbox-state.json"
    site_c = str(uuid.uuid4())
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as first,
        httpx.Client(base_url=first.url, headers=API_HEADERS) as http,
    ):
        http.post("/_sandbox/sites", json={"instanceId": site_c})
        http.post(f"/_sandbox/sites/{SITE_B_INSTANCE_ID}/remove")
        http.put("/_sandbox/site", json={"instanceId": site_c, "paymentPagePublished": False})
        order = create_order(http, "20.00", instanceId=site_c)
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as second,
        httpx.Client(base_url=second.url, headers=API_HEADERS) as http,
    ):
        assert http.get("/_sandbox/sites").json()["sites"] == [
            _site(SITE_A_INSTANCE_ID),
            _site(SITE_B_INSTANCE_ID, installed=False),
            _site(site_c, installed=False, published=False),
        ]
        assert http.get(f"/ecom/v1/orders/{order['id']}").status_code == 404
        assert [o["id"] for o in http.get("/_sandbox/orders", params={"instanceId": site_c}).json()["orders"]] == [order["id"]]


def test_a_state_file_from_before_sites_puts_everything_in_site_a(key_dir, tmp_path):
    state_file = tmp_path / "old-state.json"
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as first,
        httpx.Client(base_url=first.url, headers=API_HEADERS) as http,
    ):
        created = create_payment_request(http, DEMO_ORDER_ID)
    snapshot = json.loads(state_file.read_text())
    del snapshot["sites"], snapshot["owners"]
    snapshot["paymentPagePublished"] = False
    state_file.write_text(json.dumps(snapshot))
    with (
        SandboxServer(port=0, key_dir=key_dir, state_file=state_file) as second,
        httpx.Client(base_url=second.url, headers=API_HEADERS) as http,
    ):
        assert http.get(f"{OPR}/{created['id']}").status_code == 200
        assert http.get("/_sandbox/site").json() == {"paymentPagePublished": False}
        with oauth_client(second.url, SITE_B_INSTANCE_ID) as site_b:
            assert site_b.get(f"{OPR}/{created['id']}").status_code == 404
