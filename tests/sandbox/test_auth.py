"""Authentication: API key + site id, or an OAuth client-credentials token (wix-api.md §5.1, §5.2)."""

from __future__ import annotations

from local.wix_sandbox import DEMO_ORDER_ID, SITE_A_INSTANCE_ID

from .support import error_code

ORDER_PATH = f"/ecom/v1/orders/{DEMO_ORDER_ID}"
TOKEN_REQUEST = {
    "grant_type": "client_credentials",
    "client_id": "local-app-id",
    "client_secret": "local-app-secret",
    "instance_id": SITE_A_INSTANCE_ID,
}


def test_api_key_with_site_id_is_accepted(anonymous):
    response = anonymous.get(ORDER_PATH, headers={"Authorization": "local-wix-key", "wix-site-id": "local-site"})
    assert response.status_code == 200


def test_missing_authorization_is_401_with_wix_error_body(anonymous):
    response = anonymous.get(ORDER_PATH, headers={"wix-site-id": "local-site"})
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"
    assert response.json()["message"]


def test_wrong_api_key_is_401(anonymous):
    response = anonymous.get(ORDER_PATH, headers={"Authorization": "nope", "wix-site-id": "local-site"})
    assert response.status_code == 401


def test_api_key_without_site_id_is_403(anonymous):
    response = anonymous.get(ORDER_PATH, headers={"Authorization": "local-wix-key"})
    assert response.status_code == 403
    assert error_code(response) == "PERMISSION_DENIED"


def test_api_key_with_wrong_site_id_is_403(anonymous):
    response = anonymous.get(ORDER_PATH, headers={"Authorization": "local-wix-key", "wix-site-id": "other-site"})
    assert response.status_code == 403


def test_api_key_with_both_site_and_account_id_is_403(anonymous):
    headers = {"Authorization": "local-wix-key", "wix-site-id": "local-site", "wix-account-id": "acc"}
    assert anonymous.get(ORDER_PATH, headers=headers).status_code == 403


def test_oauth_token_is_issued_for_the_configured_app(anonymous):
    response = anonymous.post("/oauth2/token", json=TOKEN_REQUEST)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 14400
    assert body["access_token"]


def test_oauth_token_is_accepted_raw_and_with_bearer_prefix_without_site_id(anonymous):
    token = anonymous.post("/oauth2/token", json=TOKEN_REQUEST).json()["access_token"]
    assert anonymous.get(ORDER_PATH, headers={"Authorization": token}).status_code == 200
    assert anonymous.get(ORDER_PATH, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_oauth_calls_are_logged_with_their_auth_mode(anonymous, client):
    token = anonymous.post("/oauth2/token", json=TOKEN_REQUEST).json()["access_token"]
    anonymous.get(ORDER_PATH, headers={"Authorization": token})
    calls = client.get("/_sandbox/calls", params={"endpoint": "getOrder"}).json()["calls"]
    assert [c["authMode"] for c in calls] == ["oauth"]


def test_oauth_rejects_a_wrong_secret(anonymous):
    response = anonymous.post("/oauth2/token", json={**TOKEN_REQUEST, "client_secret": "guess"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_oauth_rejects_other_grant_types(anonymous):
    response = anonymous.post("/oauth2/token", json={**TOKEN_REQUEST, "grant_type": "password"})
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_oauth_rejects_an_unknown_instance(anonymous):
    response = anonymous.post("/oauth2/token", json={**TOKEN_REQUEST, "instance_id": "elsewhere"})
    assert response.status_code == 400


def test_an_unissued_token_is_401(anonymous):
    assert anonymous.get(ORDER_PATH, headers={"Authorization": "Bearer made-up"}).status_code == 401


def test_every_response_carries_a_wix_request_id(anonymous, client):
    responses = [
        client.get(ORDER_PATH),
        anonymous.get(ORDER_PATH),
        client.get("/ecom/v1/orders/missing"),
        client.get("/ecom/v1/unknown"),
        client.get("/_sandbox/health"),
    ]
    ids = [r.headers.get("x-wix-request-id") for r in responses]
    assert all(ids)
    assert len(set(ids)) == len(ids)
