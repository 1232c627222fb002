"""APP mode inside the functions (moto in process, Wix mocked at HTTP): the authorizer, the sites registry and its
lifecycle, per-site OAuth tokens, the store's partitions, a removed site's purge, a thousand sites."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from payment_links import aws as aws_clients
from payment_links.config import get_settings, reset_settings
from payment_links.deps import get_dependencies, reset_dependencies
from payment_links.flows.sweep import run_sweep
from payment_links.sites import SiteRegistry
from payment_links.tenancy import Site

from tests.functions.test_webhook_api import emitted_metrics, post
from tests.support.aws_env import moto_client
from tests.support.lambda_runtime import LambdaContext, api_event, invoke, load_function
from tests.support.webhook_signing import claims_for, default_keys, sign, signed_event

SITE_A = "11111111-1111-4111-8111-111111111111"
SITE_B = "22222222-2222-4222-8222-222222222222"
authorizer_app = load_function("authorizer")
create_app = load_function("create")
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:api1/v1/POST/payment-requests"


@pytest.fixture
def app_mode(aws, wix, monkeypatch: pytest.MonkeyPatch) -> SiteRegistry:
    """An APP deployment with sites A and B installed; Wix answers OAuth tokens per instance."""
    monkeypatch.setenv("DEPLOYMENT_MODE", "APP")
    monkeypatch.setenv("USAGE_PLAN_KEY_SECRET", "test/usage-key")
    moto_client("secretsmanager").create_secret(Name="test/usage-key", SecretString="the-usage-plan-key")
    moto_client("secretsmanager").put_secret_value(
        SecretId="test/wix-credentials", SecretString=json.dumps({"appId": "our-app", "appSecret": "app-secret-value"})
    )
    reset_settings()
    reset_dependencies()
    registry = SiteRegistry(aws_clients.client("dynamodb"), get_settings().table_name)
    for instance in (SITE_A, SITE_B):
        registry.install(Site(instance), datetime.now(UTC))
    return registry


def authorize(key: str | None) -> dict[str, Any]:
    headers = {"x-api-key": key} if key is not None else {}
    return dict(authorizer_app.lambda_handler({"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}, LambdaContext()))


def as_site(event: dict[str, Any], instance_id: str) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = {"principalId": instance_id, "instanceId": instance_id}
    return event


# -- the authorizer -----------------------------------------------------------------------------------------------


def test_the_authorizer_maps_a_sites_key_to_its_site_for_every_route_and_refuses_any_other(app_mode: SiteRegistry) -> None:
    _key, secret = app_mode.create_key(Site(SITE_A), datetime.now(UTC))

    allowed = authorize(secret)

    assert allowed["context"]["instanceId"] == SITE_A and allowed["usageIdentifierKey"] == "the-usage-plan-key"
    [statement] = allowed["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:api1/v1/*/*"
    for refused in (None, "", "wrong", secret.upper(), secret + "x", "x" * 5000):
        answer = authorize(refused)
        assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny" and "usageIdentifierKey" not in answer


def test_a_revoked_key_and_a_removed_sites_key_are_denied(app_mode: SiteRegistry) -> None:
    now = datetime.now(UTC)
    revoked, revoked_secret = app_mode.create_key(Site(SITE_A), now)
    _key_b, secret_b = app_mode.create_key(Site(SITE_B), now)
    app_mode.revoke_key(Site(SITE_A), revoked.key_id, now)
    app_mode.remove(Site(SITE_B), now, retention_days=30)

    assert authorize(revoked_secret)["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert authorize(secret_b)["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert all(key.revoked_at for key in app_mode.keys(Site(SITE_B)))  # removal revoked every key of B


def test_in_site_mode_the_authorizer_lets_api_gateway_check_the_key(aws) -> None:
    answer = authorize("whatever")
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow" and answer["context"] == {"instanceId": ""}


# -- the store's partitions and Wix per site -------------------------------------------------------------------------


def test_the_same_external_id_in_two_sites_makes_two_requests_each_with_its_own_oauth_token(app_mode: SiteRegistry, wix) -> None:
    tokens: list[dict[str, Any]] = []
    wix.oauth_tokens = tokens  # the fake Wix records each token request (instance id)
    order_a, order_b = wix.add_order(balance="40.00"), wix.add_order(balance="50.00")
    body = {"externalId": "invoice-1", "title": "Balance due"}

    a = invoke(create_app, as_site(api_event("POST", "/payment-requests", {**body, "orderId": order_a}), SITE_A))
    b = invoke(create_app, as_site(api_event("POST", "/payment-requests", {**body, "orderId": order_b}), SITE_B))

    assert (a[0], b[0]) == (201, 201), (a[1], b[1])
    assert a[1]["id"] != b[1]["id"] and (a[1]["amount"], b[1]["amount"]) == ("40.00", "50.00")
    assert sorted(token["instance_id"] for token in tokens) == sorted([SITE_A, SITE_B])
    status, body_b, _ = invoke(create_app, as_site(api_event("GET", f"/payment-requests/{a[1]['id']}"), SITE_B))
    assert status == 404 and body_b["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"
    keys = {item["pk"]["S"] for item in moto_client("dynamodb").scan(TableName=get_settings().table_name)["Items"]}
    assert {f"S#{SITE_A}#EXT#invoice-1", f"S#{SITE_B}#EXT#invoice-1"} <= keys


def test_a_storefront_request_without_a_site_in_app_mode_is_403_not_a_guess(app_mode: SiteRegistry, wix) -> None:
    status, body, _ = invoke(create_app, api_event("GET", "/payment-requests/x"))
    assert status == 403 and body["error"]["code"] == "SITE_NOT_ACTIVE"


def test_a_thousand_sites_cost_a_request_nothing_more(app_mode: SiteRegistry, wix) -> None:
    order_id = wix.add_order(balance="40.00")
    created = invoke(
        create_app, as_site(api_event("POST", "/payment-requests", {"orderId": order_id, "externalId": "e", "title": "t"}), SITE_A)
    )
    assert created[0] == 201

    def calls_of_a_get() -> Counter[str]:
        seen: Counter[str] = Counter()
        client = aws_clients.client("dynamodb")
        client.meta.events.register("before-call.dynamodb", lambda model, **_: seen.update([model.name]), unique_id="count")
        reset_dependencies()  # the site's settings are read again, as by a new container
        invoke(create_app, as_site(api_event("GET", f"/payment-requests/{created[1]['id']}"), SITE_A))
        client.meta.events.unregister("before-call.dynamodb", unique_id="count")
        return seen

    with_two = calls_of_a_get()
    for n in range(1000):
        app_mode.install(Site(f"{n:08d}-0000-4000-8000-000000000000"), datetime.now(UTC))
    with_a_thousand_and_two = calls_of_a_get()

    assert with_a_thousand_and_two == with_two == Counter({"GetItem": 2})  # the site's entry, the request: no Scan


# -- the app lifecycle on the webhook route ---------------------------------------------------------------------------


def lifecycle(event_type: str, instance_id: str, issued_at: int | None = None) -> str:
    envelope = {"eventType": event_type, "instanceId": instance_id, "data": json.dumps({"appId": "our-app"})}
    return sign(claims_for(envelope, issued_at=issued_at), default_keys())


def test_installed_and_removed_events_register_and_retire_a_site_in_order(app_mode: SiteRegistry, capsys) -> None:
    instance = "33333333-3333-4333-8333-333333333333"
    now = int(datetime.now(UTC).timestamp())
    capsys.readouterr()

    assert post(lifecycle("AppInstalled", instance, now - 60))[1]["outcome"] == "installed"
    assert app_mode.get(Site(instance)).active
    assert post(lifecycle("AppRemoved", instance, now - 30))[1]["outcome"] == "removed"
    assert post(lifecycle("AppInstalled", instance, now - 60))[1]["outcome"] == "stale"  # a late redelivery
    record = app_mode.get(Site(instance))
    assert not record.active and record.purge_at is not None
    assert ("SiteLifecycle", {"change": "installed"}) in emitted_metrics(capsys.readouterr().out)


def test_an_event_of_a_site_the_app_is_not_installed_on_is_acknowledged_and_not_applied(app_mode: SiteRegistry, wix, capsys) -> None:
    order_id = wix.add_order()
    request_id = wix.add_request(order_id, status="PAID")
    capsys.readouterr()

    status, body, _ = post(signed_event("paid", wix.requests[request_id], instance_id="44444444-4444-4444-8444-444444444444"))

    assert (status, body["outcome"]) == (200, "unregistered_site")
    assert wix.count("get") == 0
    assert ("WebhookForeignInstance", {}) in emitted_metrics(capsys.readouterr().out)


def test_a_sites_payment_event_goes_to_that_sites_partition(app_mode: SiteRegistry, wix) -> None:
    order_id = wix.add_order()
    created = invoke(
        create_app, as_site(api_event("POST", "/payment-requests", {"orderId": order_id, "externalId": "p", "title": "t"}), SITE_B)
    )
    wix.set_status(created[1]["id"], "PAID")

    assert post(signed_event("paid", wix.requests[created[1]["id"]], instance_id=SITE_A))[1]["outcome"] != "applied"
    assert post(signed_event("paid", wix.requests[created[1]["id"]], instance_id=SITE_B))[1]["outcome"] == "applied"
    assert get_dependencies().store.for_site(Site(SITE_B)).get(created[1]["id"]).status == "PAID"


# -- a removed site's data --------------------------------------------------------------------------------------------


def test_a_removed_sites_data_expires_after_its_retention_and_not_before(app_mode: SiteRegistry, wix) -> None:
    order_id = wix.add_order()
    created = invoke(
        create_app, as_site(api_event("POST", "/payment-requests", {"orderId": order_id, "externalId": "r", "title": "t"}), SITE_B)
    )
    assert created[0] == 201
    removed_at = datetime.now(UTC)
    app_mode.remove(Site(SITE_B), removed_at, retention_days=30)
    table = get_settings().table_name

    def expiring() -> set[str]:
        items = moto_client("dynamodb").scan(TableName=table)["Items"]
        return {item["pk"]["S"] for item in items if "expiresAt" in item and item["pk"]["S"].startswith((f"S#{SITE_B}", f"SITE#{SITE_B}"))}

    run_sweep(get_dependencies(), removed_at + timedelta(days=29), lambda: 300_000)
    assert expiring() == set()
    run_sweep(get_dependencies(), removed_at + timedelta(days=31), lambda: 300_000)
    assert {f"S#{SITE_B}#PR#{created[1]['id']}", f"S#{SITE_B}#EXT#r", f"SITE#{SITE_B}"} <= expiring()
    assert not any(pk.startswith(f"S#{SITE_A}") for pk in expiring())
