"""The scheduled reminder sweep: what is due is sent once, what is not due, paid, expired or quiet is not."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import time_machine
from payment_links.deps import get_dependencies
from payment_links.flows import sweep
from payment_links.flows.reminder import send_due_reminder

from tests.functions.test_sweep_support import (
    CountdownContext,
    at,
    create_request,
    get_request,
    notifications,
    reminder_emails,
    reminder_sms,
    run_sweep,
)
from tests.support.aws_env import reset_process_state
from tests.support.fake_wix import wix_error

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def test_a_sweep_sends_exactly_the_reminders_that_are_due(aws, wix):
    due = create_request(wix, CREATED)  # P1D, P3D, P7D by default
    not_yet = create_request(wix, "2026-05-04T13:00:00Z")
    disabled = create_request(wix, CREATED, reminders={"enabled": False})
    short = create_request(wix, CREATED, reminders={"schedule": ["PT2H"]})

    summary = run_sweep("2026-05-05T12:30:00Z")

    assert summary["due"] == 2 and summary["sent"] == 2 and summary["failed"] == 0 and summary["remaining"] == 0
    assert len(reminder_emails(aws)) == 2 and len(reminder_sms(aws)) == 2
    first = get_request(due["id"])
    assert notifications(first, "REMINDER") == [("EMAIL", "SENT"), ("SMS", "SENT")]
    assert first["reminders"]["sent"] == 1 and first["reminders"]["nextAt"] == "2026-05-07T12:00:00Z"
    last = get_request(short["id"])
    assert last["reminders"]["sent"] == 1 and last["reminders"]["nextAt"] is None
    assert notifications(get_request(not_yet["id"]), "REMINDER") == []
    assert notifications(get_request(disabled["id"]), "REMINDER") == []

    again = run_sweep("2026-05-05T12:30:00Z")
    assert again["due"] == 0 and again["sent"] == 0 and len(reminder_emails(aws)) == 2


def test_steps_missed_while_the_sweep_was_down_are_skipped_not_sent_in_a_burst(aws, wix):
    created = create_request(wix, CREATED)

    summary = run_sweep("2026-05-08T12:30:00Z")  # P1D and P3D have both passed

    assert summary["sent"] == 1 and len(reminder_emails(aws)) == 1
    assert get_request(created["id"])["reminders"]["nextAt"] == "2026-05-11T12:00:00Z"  # P7D is next


def test_each_reminder_email_carries_a_signed_unsubscribe_link(aws, wix):
    create_request(wix, CREATED)

    run_sweep(DAY_1)

    [email] = reminder_emails(aws)
    assert "https://api.test/v1/unsubscribe/" in email.body


def test_two_sweeps_running_at_once_never_send_the_same_reminder_twice(aws, wix):
    ids = [create_request(wix, CREATED)["id"] for _ in range(16)]
    deps = get_dependencies()
    start = threading.Barrier(2)
    summaries: list[Any] = []

    def sweep() -> None:
        from payment_links.flows.sweep import run_sweep as sweep_flow

        start.wait()
        summaries.append(sweep_flow(deps, at(DAY_1), lambda: 300_000))

    with time_machine.travel(at(DAY_1), tick=False):
        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sum(s.sent for s in summaries) == 16
    assert len(reminder_emails(aws)) == 16 and len(reminder_sms(aws)) == 16
    for request_id in ids:
        assert notifications(get_request(request_id), "REMINDER") == [("EMAIL", "SENT"), ("SMS", "SENT")]


def test_when_two_senders_race_for_one_reminder_the_conditional_write_lets_one_send(aws, wix):
    created = create_request(wix, CREATED)
    deps = get_dependencies()
    both_checked = threading.Barrier(2)
    read_at_wix = deps.wix.get_payment_request

    def get_then_wait(request_id: str) -> Any:
        found = read_at_wix(request_id)
        both_checked.wait()  # both have read the record as due and checked Wix before either claims
        return found

    deps.wix.get_payment_request = get_then_wait  # type: ignore[method-assign]
    outcomes: list[Any] = []
    with time_machine.travel(at(DAY_1), tick=False):
        threads = [threading.Thread(target=lambda: outcomes.append(send_due_reminder(created["id"], deps, at(DAY_1)))) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert sorted((o.result, o.reason) for o in outcomes) == [("SENT", None), ("SKIPPED", "ALREADY_SENT")]
    assert len(reminder_emails(aws)) == 1


def test_paid_at_wix_but_unpaid_here_sends_nothing_and_the_record_becomes_paid(aws, wix):
    created = create_request(wix, CREATED)
    wix.set_status(created["id"], "PAID")  # the webhook never arrived

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 0 and summary["skipped"] == {"PAID": 1}
    assert reminder_emails(aws) == [] and reminder_sms(aws) == []
    stored = get_request(created["id"])
    assert stored["status"] == "PAID" and stored["paidAt"] and stored["reminders"]["nextAt"] is None
    assert get_dependencies().store.get(created["id"]).paid_event_pending is False  # PaymentRequestPaid was put


def test_a_request_deleted_at_wix_stops_its_reminders(aws, wix):
    created = create_request(wix, CREATED)
    del wix.requests[created["id"]]

    summary = run_sweep(DAY_1)

    assert summary["skipped"] == {"NOT_FOUND_AT_WIX": 1} and reminder_emails(aws) == []
    assert get_request(created["id"])["reminders"]["stoppedReason"] == "NOT_FOUND_AT_WIX"


# ---- quiet hours ------------------------------------------------------------------------------------


def test_a_reminder_due_in_the_quiet_hours_moves_to_8am_local_across_the_spring_dst_change(aws, wix):
    # Sat 2026-03-07 23:30 EST; one day later is Mon 00:30 EDT (clocks went forward on Sunday 8 March).
    created = create_request(wix, "2026-03-08T04:30:00Z", customer={"timeZone": "America/New_York"}, reminders={"schedule": ["P1D"]})
    assert created["reminders"]["nextAt"] == "2026-03-09T12:00:00Z"  # 08:00 EDT, not 08:00 EST (13:00Z)

    assert run_sweep("2026-03-09T04:30:00Z")["sent"] == 0
    assert run_sweep("2026-03-09T11:59:00Z")["sent"] == 0
    assert run_sweep("2026-03-09T12:00:00Z")["sent"] == 1
    assert len(reminder_emails(aws)) == 1


def test_a_late_sweep_inside_the_quiet_hours_holds_the_reminder_until_8am_across_the_autumn_dst_change(aws, wix):
    created = create_request(wix, "2026-10-31T14:00:00Z", customer={"timeZone": "America/New_York"}, reminders={"schedule": ["P1D"]})

    # The reminder was due 09:00 EST on Sunday 1 November; the sweep only runs at 21:30 EST (02:30Z Monday).
    late = run_sweep("2026-11-02T02:30:00Z")

    assert late["sent"] == 0 and late["skipped"] == {"QUIET_HOURS": 1} and reminder_emails(aws) == []
    assert get_request(created["id"])["reminders"]["nextAt"] == "2026-11-02T13:00:00Z"  # 08:00 EST
    assert run_sweep("2026-11-02T12:59:00Z")["sent"] == 0
    assert run_sweep("2026-11-02T13:00:00Z")["sent"] == 1


# ---- expiry -----------------------------------------------------------------------------------------


def test_no_reminder_is_scheduled_after_the_expiration_date(aws, wix):
    created = create_request(wix, CREATED, expirationDate="2026-05-06T00:00:00Z", reminders={"schedule": ["P1D", "P3D"]})

    assert run_sweep(DAY_1)["sent"] == 1
    stored = get_request(created["id"])
    assert stored["reminders"]["nextAt"] is None  # P3D falls after the expiry

    assert run_sweep("2026-05-07T12:00:00Z")["due"] == 0
    assert len(reminder_emails(aws)) == 1


def test_a_due_reminder_is_not_sent_once_the_request_has_expired(aws, wix):
    # Wix flips EXPIRED "periodically", so it still shows UNPAID: our own clock decides.
    created = create_request(wix, CREATED, expirationDate="2026-05-05T12:30:00Z", reminders={"schedule": ["P1D"]})

    summary = run_sweep("2026-05-05T13:00:00Z")

    assert summary["sent"] == 0 and summary["skipped"] == {"EXPIRED": 1} and reminder_emails(aws) == []
    assert get_request(created["id"])["reminders"]["stoppedReason"] == "EXPIRED"


# ---- failures and limits ----------------------------------------------------------------------------


def test_one_requests_failure_never_stops_the_sweep_and_it_is_retried_next_run(aws, wix, monkeypatch):
    monkeypatch.setenv("URL_MAX_AGE_HOURS", "0")  # every reminder asks Wix for its URL: one of those calls fails
    reset_process_state()
    for _ in range(3):
        create_request(wix, CREATED)
    wix.fail("url", wix_error(400, "SOMETHING_ODD"))

    summary = run_sweep(DAY_1)

    assert summary["sent"] == 2 and summary["failed"] == 1 and summary["remaining"] == 1
    retry = run_sweep("2026-05-05T12:15:00Z")
    assert retry["due"] == 1 and retry["sent"] == 1 and retry["remaining"] == 0
    assert len(reminder_emails(aws)) == 3


def test_a_status_wix_never_documented_sends_nothing_and_counts_as_a_failure(aws, wix):
    created = create_request(wix, CREATED)
    wix.set_status(created["id"], "ON_HOLD")

    summary = run_sweep(DAY_1)

    assert summary["failures"] == {"WIX_STATUS_ON_HOLD": 1} and reminder_emails(aws) == []
    assert get_dependencies().store.get(created["id"]).reminders.failures == 1


def test_after_the_failure_cap_a_requests_reminders_stop(aws, wix, monkeypatch):
    monkeypatch.setenv("REMINDER_MAX_FAILURES", "2")
    monkeypatch.setenv("URL_MAX_AGE_HOURS", "0")
    reset_process_state()
    created = create_request(wix, CREATED)
    wix.fail("url", wix_error(400, "SOMETHING_ODD"), wix_error(400, "SOMETHING_ODD"))

    assert run_sweep(DAY_1)["failed"] == 1
    assert get_request(created["id"])["reminders"]["nextAt"] == "2026-05-05T12:00:00Z"  # still due: retried
    assert run_sweep("2026-05-05T12:15:00Z")["failed"] == 1

    stored = get_request(created["id"])
    assert stored["reminders"]["nextAt"] is None and stored["reminders"]["stoppedReason"] == "TOO_MANY_FAILURES"
    assert run_sweep("2026-05-05T12:30:00Z")["due"] == 0


def test_a_send_that_reaches_nobody_hands_the_step_back_for_the_next_run(aws, wix):
    created = create_request(wix, CREATED, phone=None, channels=["EMAIL"])
    ses = get_dependencies().notifier._ses
    ses.delete_email_identity(EmailIdentity="payments@shop.test")  # SES now refuses our sender

    summary = run_sweep(DAY_1)

    assert summary["failed"] == 1 and summary["failures"] == {"NOT_DELIVERED": 1}
    stored = get_request(created["id"])
    assert stored["reminders"]["sent"] == 0 and stored["reminders"]["nextAt"] == "2026-05-05T12:00:00Z"
    assert notifications(stored, "REMINDER") == [("EMAIL", "FAILED")]

    ses.create_email_identity(EmailIdentity="payments@shop.test")
    assert run_sweep("2026-05-05T12:15:00Z")["sent"] == 1
    assert get_request(created["id"])["reminders"]["sent"] == 1


def test_when_wix_is_down_the_sweep_backs_off_and_no_request_is_charged_a_failure(aws, wix, monkeypatch):
    monkeypatch.setattr(sweep, "BATCH_SIZE", 5)  # batches of 5: after two failed batches (10 in a row) it backs off
    ids = [create_request(wix, CREATED)["id"] for _ in range(12)]
    wix.fail("query", *[wix_error(503)] * 200)

    summary = run_sweep(DAY_1)

    assert summary["stoppedEarly"] == "WIX_UNAVAILABLE"
    assert summary["due"] == 10 and summary["failed"] == 10 and summary["sent"] == 0 and summary["remaining"] == 12
    store = get_dependencies().store
    assert all(store.get(request_id).reminders.failures == 0 for request_id in ids)


def test_the_sweep_stops_taking_work_when_the_lambda_runs_low_on_time(aws, wix, monkeypatch):
    monkeypatch.setattr(sweep, "BATCH_SIZE", 1)  # the time is looked at before each batch
    ids = [create_request(wix, CREATED)["id"] for _ in range(12)]

    first = run_sweep(DAY_1, CountdownContext(checks=5))

    assert first["stoppedEarly"] == "REMAINING_TIME"
    assert first["due"] == 5 and first["sent"] == 5 and first["remaining"] == 7

    second = run_sweep("2026-05-05T12:15:00Z")
    assert second["sent"] == 7 and second["remaining"] == 0 and second["stoppedEarly"] is None
    for request_id in ids:
        assert notifications(get_request(request_id), "REMINDER") == [("EMAIL", "SENT"), ("SMS", "SENT")]


def test_the_scheduled_events_time_is_the_sweeps_now(aws, wix):
    create_request(wix, CREATED)

    # The real clock says day 1 has come, but the event was scheduled for before it: nothing is due.
    with time_machine.travel(at("2026-05-06T00:00:00Z"), tick=False):
        from tests.functions.test_sweep_support import resend_app, scheduled_event
        from tests.support.lambda_runtime import LambdaContext

        summary = resend_app.lambda_handler(scheduled_event("2026-05-05T11:59:00Z"), LambdaContext(remaining_ms=300_000))

    assert summary["time"] == "2026-05-05T11:59:00Z" and summary["due"] == 0
