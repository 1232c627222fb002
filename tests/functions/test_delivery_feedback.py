"""What SES learns after a send, through the SES events function: a permanent bounce or a complaint stops e-mail
reminders to that address (on every request of the site, and only that address); deliveries are recorded."""

from __future__ import annotations

from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from local.delivery_feedback import ses_event
from tests.functions.test_sweep_support import create_request, get_request, reminder_emails, run_sweep
from tests.support.lambda_runtime import LambdaContext, load_function

delivery_events_app = load_function("delivery_events")

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"
DAY_3 = "2026-05-07T12:00:00Z"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def feedback(aws: Any, kind: str, to: str) -> dict[str, Any]:
    """SES's event for the last message sent to ``to``, delivered to the function."""
    sent = [m for m in ses_backends[DEFAULT_ACCOUNT_ID][aws.region].sent_messages if to in m.destinations]
    message = sent[-1]
    event = ses_event(kind, message.id, message.raw_data, to, "payment-links")
    return delivery_events_app.lambda_handler(event, LambdaContext())


def test_a_permanent_bounce_stops_email_reminders_to_that_address_only_and_says_why(aws, wix):
    other_to_same = create_request(wix, CREATED, email="gone@example.com", phone=None, external_id="inv-same")
    bounced = create_request(wix, CREATED, email="gone@example.com", phone=None)  # the message that bounces
    fine = create_request(wix, CREATED, email="fine@example.com", phone=None, external_id="inv-fine")

    assert feedback(aws, "Permanent", "gone@example.com")["outcome"] == "applied"

    stored = get_request(bounced["id"])
    assert stored["reminders"]["stoppedReason"] == "UNDELIVERABLE" and stored["notifications"][0]["delivery"] == "BOUNCED"
    assert ("EMAIL_UNDELIVERABLE", "BOUNCE_PERMANENT:General") in [(h["event"], h["detail"]) for h in stored["history"]]

    summary = run_sweep(DAY_1)  # the other request to that address learns of it before its own reminder

    assert reminder_emails(aws, "gone@example.com") == [] and len(reminder_emails(aws, "fine@example.com")) == 1
    assert summary["sent"] == 1
    assert get_request(other_to_same["id"])["reminders"]["stoppedReason"] == "UNDELIVERABLE"
    assert get_request(fine["id"])["reminders"]["sent"] == 1


def test_a_complaint_stops_email_but_sms_reminders_go_on(aws, wix):
    created = create_request(wix, CREATED, email="angry@example.com")

    feedback(aws, "Complaint", "angry@example.com")
    run_sweep(DAY_1)

    stored = get_request(created["id"])
    assert stored["reminders"]["stoppedReason"] is None and stored["reminders"]["sent"] == 1
    assert [n["channel"] for n in stored["notifications"] if n["kind"] == "REMINDER"] == ["SMS"]
    assert reminder_emails(aws, "angry@example.com") == []
    assert ("EMAIL_UNDELIVERABLE", "COMPLAINT:abuse") in [(h["event"], h["detail"]) for h in stored["history"]]


def test_deliveries_and_transient_bounces_are_recorded_and_stop_nothing(aws, wix):
    created = create_request(wix, CREATED, email="jane@example.com", phone=None)

    feedback(aws, "Delivery", "jane@example.com")
    assert get_request(created["id"])["notifications"][0]["delivery"] == "DELIVERED"
    feedback(aws, "Transient", "jane@example.com")
    assert get_request(created["id"])["notifications"][0]["delivery"] == "BOUNCED_TRANSIENT"

    assert run_sweep(DAY_1)["sent"] == 1


def test_the_same_event_twice_records_once_and_a_late_delivery_never_hides_a_complaint(aws, wix):
    created = create_request(wix, CREATED, email="jane@example.com", phone=None)

    feedback(aws, "Complaint", "jane@example.com")
    feedback(aws, "Complaint", "jane@example.com")
    feedback(aws, "Delivery", "jane@example.com")

    stored = get_request(created["id"])
    assert [h["event"] for h in stored["history"]].count("EMAIL_UNDELIVERABLE") == 1
    assert stored["notifications"][0]["delivery"] == "COMPLAINED"


def test_an_event_that_is_not_an_ses_event_is_rejected_without_an_error(aws, wix):
    assert delivery_events_app.lambda_handler({"detail": {"eventType": "Open"}}, LambdaContext())["outcome"] == "rejected"
    assert delivery_events_app.lambda_handler({"detail": "not an object"}, LambdaContext())["outcome"] == "rejected"


def test_no_address_reaches_the_logs_or_the_table(aws, wix, capsys):
    create_request(wix, CREATED, email="secret.person@example.com", phone=None)
    feedback(aws, "Permanent", "secret.person@example.com")

    assert "secret.person" not in capsys.readouterr().out
    suppressions = [item for item in aws.state_items() if "SUPPRESS#EMAIL#" in str(item["pk"])]
    assert len(suppressions) == 1 and "secret.person" not in str(suppressions)


def sms_failure(phone: str, kind: str) -> dict[str, Any]:
    from local.delivery_feedback import sms_failure_event

    return delivery_events_app.lambda_handler(sms_failure_event(phone, kind, "sns-message-1"), LambdaContext())


def test_an_sms_to_an_invalid_number_stops_sms_reminders_to_it_and_email_goes_on(aws, wix):
    created = create_request(wix, CREATED, email="jane@example.com", phone="+12015550123")
    other = create_request(wix, CREATED, email="joe@example.com", phone="+12015550124", external_id="inv-other")

    assert sms_failure("+12015550123", "Permanent") == {"outcome": "applied", "failures": 1, "suppressed": 1}
    run_sweep(DAY_1)

    stored = get_request(created["id"])
    assert [n["channel"] for n in stored["notifications"] if n["kind"] == "REMINDER"] == ["EMAIL"]
    assert ("SMS_UNDELIVERABLE", "SMS_FAILED_PERMANENT:Invalid phone number") in [(h["event"], h["detail"]) for h in stored["history"]]
    assert sorted(n["channel"] for n in get_request(other["id"])["notifications"] if n["kind"] == "REMINDER") == ["EMAIL", "SMS"]


def test_a_transient_sms_failure_is_counted_and_stops_nothing(aws, wix):
    created = create_request(wix, CREATED, email=None, phone="+12015550123")

    assert sms_failure("+12015550123", "Transient") == {"outcome": "unchanged", "failures": 1, "suppressed": 0}
    run_sweep(DAY_1)

    assert get_request(created["id"])["reminders"]["sent"] == 1


def test_a_log_event_that_is_not_sns_delivery_status_is_rejected_without_an_error(aws, wix):
    import base64
    import gzip

    assert delivery_events_app.lambda_handler({"awslogs": {"data": "not base64!"}}, LambdaContext())["outcome"] == "rejected"
    bomb = base64.b64encode(gzip.compress(b"{" * 2_000_000)).decode()  # inflates past what a subscription sends
    assert delivery_events_app.lambda_handler({"awslogs": {"data": bomb}}, LambdaContext())["outcome"] in ("rejected", "unchanged")
    assert delivery_events_app.lambda_handler([], LambdaContext())["outcome"] == "rejected"
