"""Webhook verification without AWS: key parsing, RS256 checks and the envelope models."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from payment_links.wix.webhooks import (
    InvalidWebhookSignature,
    MalformedEvent,
    NotAJwt,
    WebhookKeysMissing,
    parse_domain_event,
    parse_public_keys,
    verify_webhook,
)

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
    with_forged_signature,
)

OTHER = new_key_pair()


def keys(*pairs):
    return parse_public_keys("\n".join(pair.public_text for pair in pairs))


def paid_claims(**timing):
    return claims_for(envelope(EVENT_TYPE_PREFIX + "paid", domain_event("paid", opr_entity("pr-1", status="PAID"))), **timing)


# -- keys ------------------------------------------------------------------------------------------------------


def public_numbers(parsed):
    return [key.public_numbers() for key in parsed]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(default_keys().public_text, id="pem"),
        pytest.param(default_keys().public_one_line, id="one-line"),
        pytest.param(default_keys().public_text.replace("\n", "\\n"), id="literal-backslash-n"),
        pytest.param("".join(default_keys().public_text.splitlines()[1:-1]), id="bare-base64"),
        pytest.param("\r\n".join(default_keys().public_text.splitlines()), id="crlf"),
    ],
)
def test_one_public_key_is_read_however_its_newlines_were_mangled(text):
    assert public_numbers(parse_public_keys(text)) == public_numbers(keys(default_keys()))


def test_a_json_list_or_concatenated_pems_give_every_key_in_order():
    expected = [default_keys().public_text, OTHER.public_text]
    assert public_numbers(parse_public_keys(json.dumps(expected))) == public_numbers(keys(default_keys(), OTHER))
    assert public_numbers(parse_public_keys(default_keys().public_one_line + " " + OTHER.public_one_line)) == public_numbers(
        keys(default_keys(), OTHER)
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("not a key", id="garbage"),
        pytest.param('["not a key"]', id="json-list-of-garbage"),
        pytest.param("[1, 2]", id="json-list-of-numbers"),
        pytest.param('["unclosed', id="broken-json"),
        pytest.param(default_keys().private_pem.decode(), id="private-key"),
        pytest.param(
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
            id="ec-key",
        ),
    ],
)
def test_a_secret_without_a_usable_rsa_public_key_is_a_configuration_problem(text):
    with pytest.raises(WebhookKeysMissing):
        parse_public_keys(text)


# -- verification ----------------------------------------------------------------------------------------------


def test_a_genuine_token_unwraps_to_the_envelope():
    env = verify_webhook(signed_event("paid", opr_entity("pr-1", status="PAID")), keys(default_keys()))

    assert env.event_type == EVENT_TYPE_PREFIX + "paid" and env.kind == "paid"
    assert env.instance_id == "test-instance"
    assert env.identity is not None and env.identity.identity_type == "APP"
    event = parse_domain_event(env)
    assert event.entity_id == "pr-1" and event.entity is not None and event.entity.status == "PAID"


def test_surrounding_whitespace_in_the_body_is_ignored():
    body = "\n  " + signed_event("paid", opr_entity("pr-1")) + "\n"
    assert verify_webhook(body, keys(default_keys())).kind == "paid"


def test_any_configured_key_may_verify():
    assert verify_webhook(signed_event("paid", opr_entity("pr-1"), OTHER), keys(default_keys(), OTHER)).kind == "paid"


def test_a_data_claim_given_as_an_object_is_accepted_too():
    claims = paid_claims()
    claims["data"] = json.loads(claims["data"])
    assert verify_webhook(sign(claims, default_keys()), keys(default_keys())).kind == "paid"


def test_a_token_a_few_seconds_past_expiry_passes_within_the_clock_skew():
    now = int(time.time())
    token = sign(paid_claims(issued_at=now - 310, expires_in=300), default_keys())
    assert verify_webhook(token, keys(default_keys())).kind == "paid"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        pytest.param(lambda: sign(paid_claims(), OTHER), "signature", id="other-key"),
        pytest.param(lambda: with_forged_signature(sign(paid_claims(), default_keys())), "signature", id="forged"),
        pytest.param(lambda: sign(paid_claims(issued_at=int(time.time()) - 4000), default_keys()), "expired", id="expired"),
        pytest.param(lambda: unsigned_token(paid_claims()), "algorithm", id="alg-none"),
        pytest.param(lambda: hs256_with_public_key(paid_claims(), default_keys()), "algorithm", id="hs256"),
        pytest.param(lambda: sign(paid_claims(), default_keys())[:-5], "signature", id="truncated"),
        pytest.param(lambda: sign({"data": paid_claims()["data"]}, default_keys()), "claims", id="no-exp"),
    ],
)
def test_tokens_that_do_not_verify_are_refused_with_a_reason(token, reason):
    with pytest.raises(InvalidWebhookSignature) as refused:
        verify_webhook(token(), keys(default_keys()))
    assert refused.value.reason == reason


def test_an_expired_token_signed_by_an_unknown_key_is_a_signature_failure_not_an_expiry():
    token = sign(paid_claims(issued_at=int(time.time()) - 4000), OTHER)
    with pytest.raises(InvalidWebhookSignature) as refused:
        verify_webhook(token, keys(default_keys()))
    assert refused.value.reason == "signature"


@pytest.mark.parametrize("body", ["", "{}", "a.b", "one two three", "e30.e30.e30.e30", "W10.e30.c2ln"])
def test_a_body_that_is_not_a_compact_jwt_is_not_a_jwt(body):
    with pytest.raises(NotAJwt):
        verify_webhook(body, keys(default_keys()))


def test_a_verified_token_without_an_envelope_is_malformed():
    with pytest.raises(MalformedEvent):
        verify_webhook(sign({"exp": int(time.time()) + 60}, default_keys()), keys(default_keys()))


# -- envelope models -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["created", "updated", "deleted", "paid", "expired", "voided"])
def test_the_entity_is_found_under_each_kinds_body_key(kind):
    env = envelope(EVENT_TYPE_PREFIX + kind, domain_event(kind, opr_entity("pr-9", title="T")))
    event = parse_domain_event(verify_webhook(sign(claims_for(env), default_keys()), keys(default_keys())))
    assert event.entity is not None and (event.entity.id, event.entity.title) == ("pr-9", "T")


@pytest.mark.parametrize(("raw", "parsed"), [("12", 12), (12, 12), ("abc", None), (None, None), ("-3", None)])
def test_the_entity_event_sequence_is_used_only_when_it_is_a_whole_number(raw, parsed):
    inner = domain_event("updated", opr_entity("pr-1"))
    if raw is not None:
        inner["entityEventSequence"] = raw
    env = verify_webhook(sign(claims_for(envelope(EVENT_TYPE_PREFIX + "updated", inner)), default_keys()), keys(default_keys()))
    assert parse_domain_event(env).entity_event_sequence == parsed


def test_other_wix_event_types_have_no_kind():
    env = verify_webhook(sign(claims_for(envelope("wix.ecom.v1.order_created", {"id": "x"})), default_keys()), keys(default_keys()))
    assert env.kind is None


def test_an_event_without_its_ids_is_malformed():
    env = verify_webhook(sign(claims_for(envelope(EVENT_TYPE_PREFIX + "paid", {"slug": "paid"})), default_keys()), keys(default_keys()))
    with pytest.raises(MalformedEvent):
        parse_domain_event(env)
