"""The webhook function refusing what Wix did not sign: the right 4xx, and nothing written.

Also the key configuration a merchant can get wrong (flattened PEMs, several keys during rotation,
no key at all), body encodings and the size limit.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import pytest

from tests.functions.test_webhook_api import Bus, emitted_metrics, post, set_webhook_keys, store, stored_request, table_items, webhook_app
from tests.support.aws_env import moto_client
from tests.support.lambda_runtime import api_event, invoke
from tests.support.webhook_signing import (
    EVENT_TYPE_PREFIX,
    claims_for,
    default_keys,
    domain_event,
    envelope,
    hs256_with_public_key,
    new_key_pair,
    opr_entity,
    sign,
    signed_event,
    unsigned_token,
    with_claims_swapped,
    with_forged_signature,
)

OTHER_KEYS = new_key_pair()


@pytest.fixture
def bus(aws: Any) -> Bus:
    return Bus()


def paid_claims(request_id: str, order_id: str, **timing: Any) -> dict[str, Any]:
    inner = domain_event("paid", opr_entity(request_id, order_id, status="PAID"), event_id="evt-forged")
    return claims_for(envelope(EVENT_TYPE_PREFIX + "paid", inner), **timing)


def forgeries() -> list[Any]:
    def genuine(claims: dict[str, Any]) -> str:
        return sign(claims, default_keys())

    return [
        pytest.param(lambda c: with_forged_signature(genuine(c)), "signature", id="forged-signature"),
        pytest.param(lambda c: sign(c, OTHER_KEYS), "signature", id="signed-by-another-key"),
        pytest.param(lambda c: genuine({**c, "iat": int(time.time()) - 3600, "exp": int(time.time()) - 600}), "expired", id="expired"),
        pytest.param(lambda c: unsigned_token(c), "algorithm", id="alg-none"),
        pytest.param(lambda c: hs256_with_public_key(c, default_keys()), "algorithm", id="hs256-keyed-with-the-public-key"),
        pytest.param(lambda c: genuine(c)[:-12], "signature", id="truncated-signature"),
        pytest.param(lambda c: genuine(c).rsplit(".", 1)[0] + ".", "signature", id="signature-stripped"),
        pytest.param(lambda c: with_claims_swapped(genuine({**c, "data": "{}"}), c), "signature", id="claims-swapped"),
        pytest.param(lambda c: genuine({k: v for k, v in c.items() if k != "exp"}), "claims", id="no-expiry"),
        pytest.param(
            lambda c: genuine({**c, "iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}), "claims", id="issued-in-the-future"
        ),
    ]


@pytest.mark.parametrize(("make_token", "reason"), forgeries())
def test_a_token_wix_did_not_sign_is_refused_with_401_and_changes_nothing(aws, wix, bus, make_token, reason):
    record = stored_request(wix)
    before = table_items(aws)

    code, body, _ = post(make_token(paid_claims(record.id, record.order_id)))

    assert code == 401, body
    assert body["error"]["code"] == "INVALID_SIGNATURE" and body["error"]["details"] == [{"reason": reason}]
    assert table_items(aws) == before
    assert store().get(record.id).status == "UNPAID" and not store().event_seen("evt-forged")
    assert bus.events() == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("", id="empty"),
        pytest.param("hello", id="plain-text"),
        pytest.param(json.dumps({"eventType": "wix.ecom.v1.order_payment_request_paid"}), id="json"),
        pytest.param("a.b", id="two-segments"),
        pytest.param("!!!.???.***", id="not-base64url"),
        pytest.param("eyJub3QiOiJqc29uIg.e30.c2ln", id="header-not-json"),
    ],
)
def test_a_body_that_is_not_a_jwt_is_refused_with_400_and_changes_nothing(aws, wix, body):
    record = stored_request(wix)
    before = table_items(aws)

    code, response, _ = post(body)

    assert code == 400, response
    assert response["error"]["code"] == "MALFORMED_WEBHOOK"
    assert table_items(aws) == before and store().get(record.id).status == "UNPAID"


def test_a_verified_token_with_an_unreadable_event_is_refused_with_400(aws, wix):
    record = stored_request(wix)
    before = table_items(aws)
    bad_inner = {"entityFqdn": "wix.ecom.v1.order_payment_request", "slug": "paid"}  # no id, no entityId
    body = sign(claims_for(envelope(EVENT_TYPE_PREFIX + "paid", bad_inner)), default_keys())

    code, response, _ = post(body)

    assert code == 400 and response["error"]["details"] == [{"reason": "unreadable"}]
    assert table_items(aws) == before and store().get(record.id).status == "UNPAID"


def test_a_body_over_the_limit_is_refused_with_413(aws, wix, monkeypatch):
    record = stored_request(wix)
    body = signed_event("paid", opr_entity(record.id, record.order_id, status="PAID", description="x" * 70_000))

    code, response, _ = post(body)

    assert code == 413 and response["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert store().get(record.id).status == "UNPAID"


def test_a_base64_encoded_body_is_decoded_before_verification(aws, wix):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")

    code, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID")).encode(), base64_encoded=True)

    assert code == 200 and body["outcome"] == "applied"
    assert store().get(record.id).status == "PAID"


def test_several_configured_keys_any_of_which_verifies_during_rotation(aws, wix):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    set_webhook_keys(json.dumps([default_keys().public_text, OTHER_KEYS.public_text]))

    code, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), OTHER_KEYS))

    assert code == 200 and body["outcome"] == "applied"


def test_a_retired_key_no_longer_verifies(aws, wix):
    record = stored_request(wix)
    set_webhook_keys(OTHER_KEYS.public_text)

    code, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), default_keys()))

    assert code == 401 and body["error"]["code"] == "INVALID_SIGNATURE"
    assert store().get(record.id).status == "UNPAID"


@pytest.mark.parametrize(
    "flatten",
    [
        pytest.param(lambda pem: " ".join(pem.split()), id="spaces-for-newlines"),
        pytest.param(lambda pem: pem.replace("\n", "\\n"), id="literal-backslash-n"),
        pytest.param(lambda pem: "".join(pem.strip().splitlines()[1:-1]), id="bare-base64"),
        pytest.param(lambda pem: json.dumps([" ".join(pem.split())]), id="json-list-of-one-flattened"),
    ],
)
def test_a_public_key_pasted_on_one_line_still_verifies(aws, wix, flatten):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    set_webhook_keys(flatten(default_keys().public_text))

    code, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID")))

    assert code == 200 and body["outcome"] == "applied"


@pytest.mark.parametrize("secret", ["", "not a key", "[1, 2]", default_keys().private_pem.decode()])
def test_an_unusable_key_configuration_answers_503_so_wix_retries_later(aws, wix, secret):
    record = stored_request(wix)
    if secret:
        set_webhook_keys(secret)
    else:
        moto_client("secretsmanager").delete_secret(SecretId=os.environ["WIX_WEBHOOK_KEYS_SECRET"], ForceDeleteWithoutRecovery=True)

    code, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID")))

    assert code == 503 and body["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"
    assert store().get(record.id).status == "UNPAID"


def test_rejections_are_counted_by_reason(aws, wix, capsys):
    record = stored_request(wix)
    capsys.readouterr()

    post(unsigned_token(paid_claims(record.id, record.order_id)))
    post("hello")

    metrics = emitted_metrics(capsys.readouterr().out)
    assert ("WebhookRejected", {"reason": "algorithm"}) in metrics
    assert ("WebhookRejected", {"reason": "malformed"}) in metrics
    assert not any(name == "WebhookVerified" for name, _ in metrics)


@pytest.mark.parametrize("encoded", ["%%% not base64 %%%", base64.b64encode(b"\xff\xfe binary").decode()])
def test_a_base64_body_that_does_not_decode_to_a_jwt_is_refused_with_400(aws, wix, encoded):
    event = api_event("POST", "/webhooks/wix", raw_body="placeholder", base64_encoded=True)
    event["body"] = encoded

    code, body, _ = invoke(webhook_app, event)

    assert code == 400 and body["error"]["code"] == "MALFORMED_WEBHOOK"
