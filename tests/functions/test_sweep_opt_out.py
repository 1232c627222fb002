"""Opting out of reminders: the signed link in the e-mail (GET confirms, POST records) and SNS's SMS list."""

from __future__ import annotations

import pytest
from payment_links.deps import get_dependencies

from tests.functions.test_sweep_support import (
    UNSUBSCRIBE_LINK,
    create_request,
    get_request,
    reminder_emails,
    reminder_sms,
    resend_app,
    run_sweep,
)
from tests.support.lambda_runtime import api_event, invoke

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"
DAY_3 = "2026-05-07T12:00:00Z"
BROWSER = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def unsubscribe_token_from_reminder(aws) -> str:
    match = UNSUBSCRIBE_LINK.search(reminder_emails(aws)[-1].body)
    assert match, "the reminder e-mail has no unsubscribe link"
    return match.group(1)


def page(method: str, token: str, headers: dict[str, str] | None = None) -> tuple[int, object, dict[str, str]]:
    return invoke(resend_app, api_event(method, f"/unsubscribe/{token}", headers=headers or BROWSER))


def test_opening_the_link_shows_a_confirmation_page_and_records_nothing(aws, wix):
    created = create_request(wix, CREATED, phone=None)
    run_sweep(DAY_1)
    token = unsubscribe_token_from_reminder(aws)

    status, html, headers = page("GET", token)

    assert status == 200 and headers["content-type"].startswith("text/html")
    assert '<form method="post">' in html and "Stop reminders" in html and "e-mail reminders" in html
    assert headers["cache-control"] == "no-store"
    assert get_dependencies().store.get(created["id"]).opted_out_channels == []
    assert get_request(created["id"])["reminders"]["nextAt"] is not None


def test_pressing_the_button_opts_out_and_no_more_email_reminders_are_sent(aws, wix):
    created = create_request(wix, CREATED, phone=None)
    run_sweep(DAY_1)
    token = unsubscribe_token_from_reminder(aws)

    status, html, _ = page("POST", token)

    assert status == 200 and "Reminders stopped" in html
    record = get_dependencies().store.get(created["id"])
    assert record.opted_out_channels == ["EMAIL"]
    assert record.reminders.next_at is None and record.reminders.stopped_reason == "OPTED_OUT"
    assert [h.event for h in record.history][-2:] == ["OPTED_OUT", "REMINDERS_STOPPED"]

    assert run_sweep(DAY_3)["due"] == 0
    assert len(reminder_emails(aws)) == 1


def test_opting_out_twice_changes_nothing_more(aws, wix):
    created = create_request(wix, CREATED, phone=None)
    run_sweep(DAY_1)
    token = unsubscribe_token_from_reminder(aws)
    page("POST", token)
    version = get_dependencies().store.get(created["id"]).version

    status, html, _ = page("POST", token)

    assert status == 200 and "Reminders stopped" in html
    assert get_dependencies().store.get(created["id"]).version == version


def test_an_email_opt_out_leaves_the_sms_reminders_running(aws, wix):
    created = create_request(wix, CREATED)
    run_sweep(DAY_1)
    page("POST", unsubscribe_token_from_reminder(aws))

    summary = run_sweep(DAY_3)

    assert summary["sent"] == 1
    assert len(reminder_emails(aws)) == 1 and len(reminder_sms(aws)) == 2
    assert get_request(created["id"])["reminders"]["sent"] == 2


@pytest.mark.parametrize("mangle", [lambda t: t[:-2], lambda t: t.replace(".", ".x", 1), lambda t: "A" + t, lambda _t: "garbage"])
def test_a_forged_or_damaged_link_is_refused_and_records_nothing(aws, wix, mangle):
    created = create_request(wix, CREATED, phone=None)
    run_sweep(DAY_1)
    bad = mangle(unsubscribe_token_from_reminder(aws))

    status, body, _ = page("POST", bad, headers={"Accept": "application/json"})
    assert status == 404 and body["error"]["code"] == "INVALID_UNSUBSCRIBE_LINK"

    status, html, headers = page("GET", bad)
    assert status == 404 and headers["content-type"].startswith("text/html") and "does not work" in html
    assert get_dependencies().store.get(created["id"]).opted_out_channels == []


def test_a_phone_on_the_sns_opted_out_list_gets_no_sms_reminders_and_the_record_says_why(aws, wix):
    created = create_request(wix, CREATED, phone="+12015550199")  # moto: numbers ending in 99 opted out

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 1 and reminder_sms(aws) == [] and len(reminder_emails(aws)) == 1
    record = get_dependencies().store.get(created["id"])
    assert record.opted_out_channels == ["SMS"]
    assert any(h.event == "OPTED_OUT" and h.detail.startswith("SMS") for h in record.history)


def test_reminders_stop_when_the_only_channel_is_on_the_sms_opted_out_list(aws, wix):
    created = create_request(wix, CREATED, email=None, phone="+12015550199")

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 0 and summary["skipped"] == {"OPTED_OUT": 1} and reminder_sms(aws) == []
    stored = get_request(created["id"])
    assert stored["reminders"]["nextAt"] is None and stored["reminders"]["stoppedReason"] == "OPTED_OUT"
    assert wix.count("get") == 0  # decided before asking Wix
