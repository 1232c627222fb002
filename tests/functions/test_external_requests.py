"""Requests this product did not create (the Wix dashboard, another app) follow one reminder rule, however they were
adopted: from their ``created`` webhook or by the lost-link flow. ``RemindExternalRequests`` (default false)."""

from __future__ import annotations

import pytest
import time_machine
from payment_links.config import reset_settings
from payment_links.deps import reset_dependencies

from tests.functions.test_sweep_support import at, resend_app
from tests.functions.test_webhook_api import post, store
from tests.support.lambda_runtime import api_event, invoke
from tests.support.webhook_signing import signed_event


def adopt_by_webhook(wix) -> str:
    order_id = wix.add_order()
    request_id = wix.add_request(order_id)
    assert post(signed_event("created", wix.requests[request_id]))[1]["outcome"] == "applied"
    return request_id


def adopt_by_lost_link(wix) -> str:
    order_id = wix.add_order()
    request_id = wix.add_request(order_id)
    with time_machine.travel(at("2026-05-04T12:30:00Z"), tick=False):
        status, body, _ = invoke(resend_app, api_event("POST", f"/orders/{order_id}/payment-requests/resend"))
    assert status == 200, body
    return request_id


ADOPTIONS = [pytest.param(adopt_by_webhook, id="created-webhook"), pytest.param(adopt_by_lost_link, id="lost-link")]


@pytest.mark.parametrize("adopt", ADOPTIONS)
def test_by_default_a_request_made_elsewhere_gets_no_reminders_however_it_was_adopted(aws, wix, adopt):
    record = store().get(adopt(wix))

    assert record.origin == "EXTERNAL"
    assert record.reminders.enabled is False and record.reminders.next_at is None
    assert record.reminders.stopped_reason == "CREATED_OUTSIDE"


@pytest.mark.parametrize("adopt", ADOPTIONS)
def test_with_remind_external_requests_both_adoptions_schedule_reminders(aws, wix, monkeypatch, adopt):
    monkeypatch.setenv("REMIND_EXTERNAL_REQUESTS", "true")
    reset_settings()
    reset_dependencies()

    record = store().get(adopt(wix))

    assert record.reminders.enabled is True and record.reminders.next_at is not None
    assert record.reminders.schedule == ["P1D", "P3D", "P7D"]
