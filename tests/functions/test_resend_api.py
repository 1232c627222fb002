"""POST /payment-requests/{id}/resend: confirm with Wix, fresh URL, send, cooldown, not payable."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from payment_links.api_models import ResendInput
from payment_links.deps import get_dependencies
from payment_links.domain import errors
from payment_links.flows import resend

from tests.functions.test_sweep_support import (
    at,
    create_request,
    get_request,
    notifications,
    resend_app,
)
from tests.support.fake_wix import wix_error
from tests.support.lambda_runtime import api_event, invoke

CREATED = "2026-05-04T12:00:00Z"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def resend_at(when: str, request_id: str, body: object = None, raw_body: str | None = None) -> tuple[int, object, dict[str, str]]:
    with time_machine.travel(at(when), tick=False):
        return invoke(resend_app, api_event("POST", f"/payment-requests/{request_id}/resend", body, raw_body=raw_body))


def test_resend_confirms_with_wix_gets_a_fresh_url_and_sends_on_every_channel(aws, wix):
    created = create_request(wix, CREATED)
    gets, urls = wix.count("get"), wix.count("url")

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"])

    assert status == 200, body
    assert wix.count("get") == gets + 1 and wix.count("url") == urls + 1
    assert notifications(body, "RESEND") == [("EMAIL", "SENT"), ("SMS", "SENT")]
    assert body["history"][-1]["event"] == "LINK_RESENT"
    emails = aws.sent_emails()
    assert len(emails) == 2 and wix.url_for(created["id"]) in emails[-1].body
    assert len(aws.sent_sms()) == 2


def test_a_resent_email_carries_the_unsubscribe_link_while_reminders_are_pending(aws, wix):
    created = create_request(wix, CREATED)
    quiet = create_request(wix, CREATED, reminders={"enabled": False})

    resend_at("2026-05-04T12:10:00Z", created["id"])
    resend_at("2026-05-04T12:10:00Z", quiet["id"])

    resent = [m for m in aws.sent_emails() if "/unsubscribe/" in m.body]
    assert len(resent) == 1 and wix.url_for(created["id"]) in resent[0].body


def test_resend_uses_the_url_wix_gives_now_not_the_stored_one(aws, wix):
    created = create_request(wix, CREATED)
    wix.url_for = lambda request_id: f"https://moved.test/pay/{request_id}"  # the site moved its payment page

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"])

    assert status == 200, body
    assert body["url"] == f"https://moved.test/pay/{created['id']}"
    assert f"https://moved.test/pay/{created['id']}" in aws.sent_emails()[-1].body


def test_resend_on_the_chosen_channel_only(aws, wix):
    created = create_request(wix, CREATED)

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"], {"channels": ["SMS"]})

    assert status == 200, body
    assert notifications(body, "RESEND") == [("SMS", "SENT")]
    assert len(aws.sent_emails()) == 1 and len(aws.sent_sms()) == 2


def test_resend_inside_the_cooldown_is_429_with_retry_after_and_sends_nothing(aws, wix):
    created = create_request(wix, CREATED)  # the initial send starts the cooldown (300 s by default)
    gets = wix.count("get")

    status, body, headers = resend_at("2026-05-04T12:01:00Z", created["id"])

    assert status == 429 and body["error"]["code"] == "RESEND_COOLDOWN"
    assert headers["retry-after"] == "240"
    assert wix.count("get") == gets and len(aws.sent_emails()) == 1

    status, _, _ = resend_at("2026-05-04T12:05:00Z", created["id"])
    assert status == 200


def test_cooldown_is_configurable(aws, wix, monkeypatch):
    monkeypatch.setenv("RESEND_COOLDOWN_SECONDS", "0")
    from tests.support.aws_env import reset_process_state

    reset_process_state()
    created = create_request(wix, CREATED)

    assert resend_at("2026-05-04T12:00:01Z", created["id"])[0] == 200
    assert resend_at("2026-05-04T12:00:02Z", created["id"])[0] == 200
    assert len(aws.sent_emails()) == 3


@pytest.mark.parametrize("wix_status", ["PAID", "EXPIRED", "VOIDED"])
def test_resend_of_a_request_that_wix_shows_final_is_409_and_our_record_follows(aws, wix, wix_status):
    created = create_request(wix, CREATED)
    wix.set_status(created["id"], wix_status)

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"])

    assert status == 409 and body["error"]["code"] == "NOT_PAYABLE"
    assert body["error"]["details"][0]["status"] == wix_status
    stored = get_request(created["id"])
    assert stored["status"] == wix_status and stored["reminders"]["nextAt"] is None
    assert len(aws.sent_emails()) == 1  # only the initial link
    if wix_status == "PAID":
        record = get_dependencies().store.get(created["id"])
        assert record.paid_at is not None and record.paid_event_pending is False  # PaymentRequestPaid went out


def test_resend_of_a_request_we_already_know_is_paid_does_not_call_wix(aws, wix):
    created = create_request(wix, CREATED)
    wix.set_status(created["id"], "PAID")
    resend_at("2026-05-04T12:10:00Z", created["id"])
    calls = len(wix.calls)

    status, body, _ = resend_at("2026-05-04T12:20:00Z", created["id"])

    assert status == 409 and body["error"]["code"] == "NOT_PAYABLE"
    assert len(wix.calls) == calls


def test_resend_of_an_unknown_request_is_404(aws, wix):
    status, body, _ = resend_at("2026-05-04T12:10:00Z", "no-such-request")
    assert status == 404 and body["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"


def test_when_wix_is_down_the_resend_is_503_and_the_caller_may_retry_at_once(aws, wix):
    created = create_request(wix, CREATED)
    wix.fail("get", *[wix_error(503)] * 3)

    status, body, headers = resend_at("2026-05-04T12:10:00Z", created["id"])
    assert status == 503 and body["error"]["code"] == "WIX_UNAVAILABLE" and "retry-after" in headers

    status, body, _ = resend_at("2026-05-04T12:10:05Z", created["id"])  # no cooldown: nothing was sent
    assert status == 200, body


def test_a_channel_the_customer_cannot_be_reached_on_is_422(aws, wix):
    created = create_request(wix, CREATED, phone=None, channels=["EMAIL"])

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"], {"channels": ["SMS"]})

    assert status == 422 and body["error"]["code"] == "NO_REACHABLE_CHANNEL"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [('{"channels": ["FAX"]}', 422), ('{"channels": []}', 422), ('{"unknown": 1}', 422), ("{not json", 400)],
)
def test_a_bad_body_is_refused_in_the_error_shape(aws, wix, raw, expected):
    created = create_request(wix, CREATED)

    status, body, _ = resend_at("2026-05-04T12:10:00Z", created["id"], raw_body=raw)

    assert status == expected and body["error"]["code"] == "VALIDATION_FAILED"


def test_fifty_concurrent_resends_inside_the_cooldown_send_once(aws, wix, concurrent_invocations):
    created = create_request(wix, CREATED)
    deps = get_dependencies()
    outcomes: list[str] = []
    start = threading.Barrier(50)

    def one() -> None:
        start.wait()
        try:
            resend.resend_payment_request(created["id"], ResendInput(channels=["EMAIL"]), deps)
            outcomes.append("sent")
        except errors.ResendCooldown:
            outcomes.append("cooldown")

    with time_machine.travel(at(CREATED) + timedelta(minutes=10), tick=False):
        threads = [threading.Thread(target=one) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted(outcomes) == ["cooldown"] * 49 + ["sent"]
    assert len(aws.sent_emails()) == 2  # the initial link and exactly one resend
    assert notifications(get_request(created["id"]), "RESEND") == [("EMAIL", "SENT")]
