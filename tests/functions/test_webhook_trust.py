"""Webhook events are triggers and Wix is the truth: what a signed event claims is confirmed at Wix before it is
applied, events of another Wix site are not applied, and no unverifiable body pages anyone."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from payment_links.config import reset_settings
from payment_links.deps import reset_dependencies

from tests.functions.test_webhook_api import Bus, emitted_metrics, post, store, stored_request, table_items
from tests.support.webhook_signing import opr_entity, signed_event


@pytest.fixture
def bus(aws: Any) -> Bus:
    return Bus()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_whose_header_nests_a_thousand_deep_is_400_counted_as_rejected_not_failed(aws, wix, capsys, product_log):
    header = _b64(("[" * 1000 + "]" * 1000).encode())
    body = f"{header}.{_b64(b'{}')}.{_b64(b'x' * 64)}"
    assert len(body) < 4096
    mark = product_log.mark()
    capsys.readouterr()

    status, response, _ = post(body)

    assert status == 400 and response["error"]["code"] == "MALFORMED_WEBHOOK"
    metrics = emitted_metrics(capsys.readouterr().out)
    assert ("WebhookRejected", {"reason": "malformed"}) in metrics
    assert not any(name == "WebhookFailed" for name, _ in metrics)
    assert not any("Traceback" in line or "RecursionError" in line for line in product_log.since(mark))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_b64(b'{"alg": "RS256", "kid": "' + b"k" * 5000 + b'"}') + ".e30.c2ln", id="overlong-header"),
        pytest.param(_b64(b'{"alg": "RS256", "n": ' + b"9" * 5000 + b"}") + ".e30.c2ln", id="huge-number-in-header"),
        pytest.param(_b64(json.dumps({"alg": "RS256"}).encode()) + "." + _b64(b"[" * 3000) + ".c2ln", id="deep-payload"),
        pytest.param(_b64('{"alg": "RS256", "kid": "\u0000\u202e"}'.encode()) + ".e30.c2ln", id="control-characters"),
    ],
)
def test_any_unverifiable_token_is_a_4xx_and_never_a_failure(aws, wix, capsys, body):
    capsys.readouterr()

    status, _, _ = post(body)

    assert 400 <= status < 500
    assert not any(name == "WebhookFailed" for name, _ in emitted_metrics(capsys.readouterr().out))


def test_an_updated_event_claiming_paid_is_not_applied_while_wix_says_unpaid_and_is_delivered_again(aws, wix, bus, capsys):
    record = stored_request(wix)
    body = signed_event("updated", opr_entity(record.id, record.order_id, status="PAID"), event_id="evt-claim")
    capsys.readouterr()

    first, response, headers = post(body)
    second, _, _ = post(body)  # Wix delivers again; still not confirmed

    assert (first, second) == (503, 503) and response["error"]["code"] == "EVENT_NOT_CONFIRMED"
    assert int(headers["retry-after"]) >= 1
    stored = store().get(record.id)
    assert stored.status == "UNPAID" and stored.reminders.next_at is not None and bus.events() == []
    assert [h.event for h in stored.history].count("EVENT_NOT_CONFIRMED") == 1  # said once, not per delivery
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics.count(("WebhookUnconfirmed", {})) == 2 and not any(name == "WebhookFailed" for name, _ in metrics)

    wix.set_status(record.id, "PAID")  # a lagging read: the payment shows at Wix by the next delivery
    assert post(body)[:2] == (200, {"received": True, "outcome": "applied"})
    assert store().get(record.id).status == "PAID" and len(bus.events()) == 1


def test_a_paid_event_for_a_request_wix_shows_voided_applies_what_wix_says(aws, wix, bus):
    record = stored_request(wix)
    wix.set_status(record.id, "VOIDED")

    status, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID")))

    assert status == 200 and body["outcome"] == "applied"
    stored = store().get(record.id)
    assert stored.status == "VOIDED" and stored.paid_at is None and bus.events() == []
    corrected = [h for h in stored.history if h.event == "EVENT_CORRECTED"]
    assert len(corrected) == 1 and corrected[0].detail == "the paid event said PAID; Wix says VOIDED"


def test_an_event_of_another_site_than_the_deployments_is_acknowledged_and_not_applied(aws, wix, bus, monkeypatch, capsys):
    monkeypatch.setenv("WIX_INSTANCE_ID", "our-site-instance")
    reset_settings()
    reset_dependencies()
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    before = table_items(aws)
    capsys.readouterr()

    status, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), instance_id="another-site"))

    assert (status, body) == (200, {"received": True, "outcome": "foreign_instance"})
    assert table_items(aws) == before and bus.events() == []
    assert ("WebhookForeignInstance", {}) in emitted_metrics(capsys.readouterr().out)
    assert wix.count("get") == 0  # not even asked: the instance check comes first
    status, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), instance_id="our-site-instance"))
    assert body["outcome"] == "applied" and store().get(record.id).status == "PAID"


def test_without_a_configured_site_the_first_verified_instance_is_pinned_on_the_request(aws, wix, bus):
    record = stored_request(wix)
    post(signed_event("updated", opr_entity(record.id, record.order_id, title="Pinned"), instance_id="site-a"))
    assert store().get(record.id).instance_id == "site-a"
    wix.set_status(record.id, "PAID")

    status, body, _ = post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), instance_id="site-b"))

    assert (status, body["outcome"]) == (200, "foreign_instance")
    assert store().get(record.id).status == "UNPAID" and bus.events() == []
