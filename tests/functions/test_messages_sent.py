"""What the customer receives: one multipart message in their language, the wording of its step, and RFC 8058's
one-click unsubscribe on reminders (absent on the first link)."""

from __future__ import annotations

import re

import pytest

from tests.functions.test_sweep_support import create_request, get_request, reminder_emails, resend_app, run_sweep
from tests.support.lambda_runtime import api_event, invoke

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"
DAY_3 = "2026-05-07T12:00:00Z"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def test_reminders_carry_one_click_unsubscribe_headers_and_the_first_link_does_not(aws, wix):
    create_request(wix, CREATED, phone=None)
    initial = aws.sent_emails()[-1]
    assert "List-Unsubscribe" not in initial.headers and "List-Unsubscribe-Post" not in initial.headers
    assert initial.headers["Content-Type"].startswith("multipart/alternative") and initial.text and initial.html

    run_sweep(DAY_1)

    reminder = reminder_emails(aws)[-1]
    assert reminder.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = reminder.headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("https://") and url in reminder.text and url in reminder.html


def test_a_mailbox_providers_one_click_post_opts_out_without_a_page(aws, wix):
    created = create_request(wix, CREATED, phone=None)
    run_sweep(DAY_1)
    url = reminder_emails(aws)[-1].headers["List-Unsubscribe"].strip("<>")
    path = url[url.index("/unsubscribe/") :]

    event = api_event("POST", path, raw_body="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"})
    status, _, _ = invoke(resend_app, event)

    assert status == 200
    stored = get_request(created["id"])
    assert stored["reminders"]["stoppedReason"] == "OPTED_OUT"
    assert run_sweep(DAY_3)["due"] == 0


def test_the_customer_reads_the_orders_buyer_language_with_local_formats(aws, wix):
    order_id = wix.add_order(balance="40.00", currency="EUR", buyer_language="de", phone=None)
    created = create_request(wix, CREATED, order_id=order_id, amount="40.00")

    email = aws.sent_emails()[-1]
    assert email.subject == "Zahlungsaufforderung: Balance due (40,00\xa0€)"
    assert email.headers["Content-Language"] == "de" and "Jetzt bezahlen" in email.html
    assert get_request(created["id"])["notifications"][0]["locale"] == "de"


def test_each_reminder_records_its_step_and_wording_friendly_then_firm(aws, wix):
    created = create_request(wix, CREATED, phone=None, reminders={"enabled": True, "schedule": ["P1D", "P3D"]})

    run_sweep(DAY_1)
    run_sweep(DAY_3)

    subjects = [m.subject for m in reminder_emails(aws)]
    assert subjects == ["Reminder: Balance due ($25.00)", "Reminder: payment overdue for Balance due ($25.00)"]
    sent = [(n["kind"], n["step"], n["stage"]) for n in get_request(created["id"])["notifications"]]
    assert sent == [("INITIAL", None, "INITIAL"), ("REMINDER", 1, "FRIENDLY"), ("REMINDER", 2, "FIRM")]


def test_the_last_reminder_before_expiry_is_a_final_notice_with_the_date(aws, wix):
    created = create_request(
        wix, CREATED, phone=None, expirationDate="2026-05-06T18:00:00Z", reminders={"enabled": True, "schedule": ["P1D", "P3D"]}
    )

    run_sweep(DAY_1)  # the next step (day 3) would come after the expiry (day 2): this one is the last

    reminder = reminder_emails(aws)[-1]
    assert reminder.subject == "Reminder: final notice for Balance due ($25.00)"
    assert "this link expires on May 6, 2026" in reminder.text
    assert get_request(created["id"])["notifications"][-1]["stage"] == "FINAL"


def test_an_sms_over_the_segment_cap_is_not_sent_and_the_record_says_why(aws, wix, monkeypatch):
    monkeypatch.setenv("SMS_MAX_SEGMENTS", "1")
    monkeypatch.setenv("STORE_NAME", "Магазин велосипедов и запчастей")  # Cyrillic: UCS-2, 70 units a segment
    from tests.support.aws_env import reset_process_state

    reset_process_state()
    created = create_request(wix, CREATED, email=None)

    sms = [n for n in get_request(created["id"])["notifications"] if n["channel"] == "SMS"]
    assert sms[0]["status"] == "SKIPPED" and re.match(r"SMS_TOO_LONG: \d UCS-2 segments, over SmsMaxSegments \(1\)", sms[0]["reason"])
    assert aws.sent_sms() == []


def preview(request_id: str, body: dict | None) -> tuple[int, dict]:
    from tests.functions.test_sweep_support import create_app

    status, shown, _ = invoke(create_app, api_event("POST", f"/payment-requests/{request_id}/preview", body))
    return status, shown


def test_a_preview_renders_each_kind_step_and_channel_in_the_customers_language_and_sends_nothing(aws, wix):
    order_id = wix.add_order(balance="4000", currency="JPY", buyer_language="ja")
    created = create_request(wix, CREATED, order_id=order_id, amount="4000", reminders={"enabled": True, "schedule": ["P1D", "P3D"]})
    sent_before = (len(aws.sent_emails()), len(aws.sent_sms()))

    status, first = preview(created["id"], {"kind": "INITIAL", "channel": "EMAIL"})
    assert status == 200 and first["language"] == "ja" and first["stage"] == "INITIAL"
    assert first["subject"] == "お支払いのお願い：Balance due（￥4,000）" and "sms" not in first  # noqa: RUF001 (Japanese punctuation)
    assert created["url"] in first["text"] and "/unsubscribe/" not in first["text"]

    status, firm = preview(created["id"], {"kind": "REMINDER", "step": 2, "channel": "EMAIL"})
    assert status == 200 and firm["stage"] == "FIRM" and "/unsubscribe/" in firm["text"] and "/unsubscribe/" in firm["html"]

    status, sms = preview(created["id"], {"kind": "REMINDER", "step": 1, "channel": "SMS"})
    assert status == 200 and sms["stage"] == "FRIENDLY" and sms["segments"] >= 2 and sms["sms"].startswith("リマインダー")
    assert set(sms) == {"sms", "language", "stage", "segments"}

    assert (len(aws.sent_emails()), len(aws.sent_sms())) == sent_before


def test_a_preview_of_an_unknown_request_or_an_unknown_kind_is_refused(aws, wix):
    created = create_request(wix, CREATED)
    assert preview("no-such-request", {"kind": "INITIAL"})[0] == 404
    status, error = preview(created["id"], {"kind": "RESEND"})
    assert status == 422 and error["error"]["code"] == "VALIDATION_FAILED"
    assert preview(created["id"], {"kind": "REMINDER", "step": 0})[0] == 422
    assert preview(created["id"], None)[1]["stage"] == "INITIAL"  # no body: the first link's e-mail
