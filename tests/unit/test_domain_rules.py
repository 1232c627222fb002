"""Domain rules without AWS: status transitions, cadence, quiet hours, contacts, money."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from payment_links.domain.contacts import Customer, mask_email, mask_phone, merge_customer, reachable_channels
from payment_links.domain.money import format_amount, has_more_precision_than
from payment_links.domain.payment_request import EXPIRED, PAID, UNPAID, VOIDED, PaymentRequest, ReminderPlan, apply_status
from payment_links.domain.reminders import QuietHours, next_reminder, parse_duration, validate_schedule

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
NO_QUIET = QuietHours(time(0, 0), time(0, 0))


def record(**overrides) -> PaymentRequest:
    fields = {
        "id": "r1",
        "order_id": "o1",
        "amount": Decimal("10"),
        "currency": "USD",
        "title": "t",
        "created_at": T0,
        "updated_at": T0,
        "reminders": ReminderPlan(schedule=["P1D"], next_at=T0 + timedelta(days=1)),
    }
    return PaymentRequest(**(fields | overrides))


@pytest.mark.parametrize("target", [PAID, EXPIRED, VOIDED])
def test_unpaid_moves_to_each_terminal_status_once_and_stops_reminders(target):
    r = record()
    assert apply_status(r, target, T0, "test") is True
    assert r.status == target and r.reminders.next_at is None
    assert apply_status(r, target, T0, "test") is False
    assert [h.event for h in r.history] == [target]


def test_terminal_states_are_never_left():
    r = record()
    apply_status(r, PAID, T0, "webhook")
    for later in (EXPIRED, VOIDED, UNPAID, "SOMETHING_NEW"):
        assert apply_status(r, later, T0, "late") is False
    assert r.status == PAID and r.paid_at == T0 and r.paid_event_pending is True


def test_unknown_wix_status_is_ignored():
    r = record()
    assert apply_status(r, "REFUNDED_SOMEHOW", T0, "wix") is False
    assert r.status == UNPAID


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P1D", timedelta(days=1)), ("PT12H", timedelta(hours=12)), ("P1W", timedelta(weeks=1)), ("P1DT30M", timedelta(days=1, minutes=30))],
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["P1M", "P1Y", "P", "PT", "1D", "P0D", "P400D", "P-1D", "PT1.5H"])
def test_calendar_or_nonsense_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_schedule_must_increase():
    assert validate_schedule(["P1D", "P3D"]) == ["P1D", "P3D"]
    with pytest.raises(ValueError):
        validate_schedule(["P3D", "P1D"])
    with pytest.raises(ValueError):
        validate_schedule(["P1D", "PT24H"])


def _next(now, schedule=("P1D", "P3D", "P7D"), first_step=0, max_reminders=5, expires_at=None, quiet=NO_QUIET, tz="UTC"):
    return next_reminder(
        created_at=T0,
        schedule=list(schedule),
        first_step=first_step,
        max_reminders=max_reminders,
        now=now,
        expires_at=expires_at,
        quiet_hours=quiet,
        tz=ZoneInfo(tz),
    )


def test_first_reminder_is_the_first_step_after_creation():
    upcoming = _next(T0)
    assert upcoming.step == 0 and upcoming.due_at == T0 + timedelta(days=1)


def test_steps_already_past_are_skipped_not_burst():
    upcoming = _next(T0 + timedelta(days=5))
    assert upcoming.step == 2 and upcoming.due_at == T0 + timedelta(days=7)


def test_cadence_ends_after_the_last_step_or_the_cap():
    assert _next(T0 + timedelta(days=8)) is None
    assert _next(T0, max_reminders=1, first_step=1) is None


def test_nothing_is_due_at_or_after_expiry():
    assert _next(T0, expires_at=T0 + timedelta(hours=23)) is None
    assert _next(T0, expires_at=T0 + timedelta(days=2)).step == 0


def test_quiet_hours_move_a_reminder_to_the_end_of_the_window_in_local_time():
    quiet = QuietHours(time(21, 0), time(8, 0))
    # 12:00 UTC + 1 day = 07:00 in New York (EST, UTC-5): inside the window, moved to 08:00 local.
    upcoming = _next(T0, quiet=quiet, tz="America/New_York")
    assert upcoming.due_at.astimezone(ZoneInfo("America/New_York")).time() == time(8, 0)
    assert upcoming.due_at.date() == (T0 + timedelta(days=1)).date()


def test_evening_quiet_hours_move_to_next_morning():
    quiet = QuietHours(time(21, 0), time(8, 0))
    created = datetime(2026, 11, 2, 21, 30, tzinfo=UTC)  # 21:30 UTC = 22:30 in Berlin
    upcoming = next_reminder(
        created_at=created,
        schedule=["P1D"],
        first_step=0,
        max_reminders=5,
        now=created,
        expires_at=None,
        quiet_hours=quiet,
        tz=ZoneInfo("Europe/Berlin"),
    )
    local = upcoming.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.date().day, local.time()) == (4, time(8, 0))


def test_quiet_hours_across_a_dst_change_still_end_at_local_eight():
    quiet = QuietHours(time(21, 0), time(8, 0))
    tz = ZoneInfo("America/New_York")
    # DST ends in New York on 2026-11-01 at 02:00. Created 2026-10-31 06:00 local (EDT), due +1 day at
    # 2026-11-01 05:00 local (now EST): inside quiet hours, so 08:00 EST = 13:00 UTC.
    created = datetime(2026, 10, 31, 10, 0, tzinfo=UTC)
    upcoming = next_reminder(
        created_at=created, schedule=["P1D"], first_step=0, max_reminders=5, now=created, expires_at=None, quiet_hours=quiet, tz=tz
    )
    assert upcoming.due_at == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_masking_shows_only_what_identifies_nothing():
    assert mask_email("jane@example.com") == "j***@example.com"
    assert mask_phone("+12015551234") == "+1******1234"
    assert mask_email(None) is None and mask_phone("") is None


def test_given_contact_details_win_field_by_field():
    merged = merge_customer(Customer(email="a@b.co"), Customer(email="x@y.co", phone="+12015551234", name="Jo"))
    assert (merged.email, merged.phone, merged.name) == ("a@b.co", "+12015551234", "Jo")
    assert reachable_channels(merged) == ["EMAIL", "SMS"]
    assert reachable_channels(Customer()) == []


def test_money_keeps_iso_4217_minor_units():
    assert format_amount(Decimal("25"), "USD") == "25.00"
    assert format_amount(Decimal("1000"), "JPY") == "1000"
    assert format_amount(Decimal("100.5"), "TWD") == "100.50"  # TWD has two decimals in ISO 4217
    assert format_amount(Decimal("1.5"), "KWD") == "1.500"
    assert has_more_precision_than(Decimal("1.005"), "USD") and not has_more_precision_than(Decimal("1.5"), "USD")
    assert has_more_precision_than(Decimal("4000.5"), "JPY") and not has_more_precision_than(Decimal("0.125"), "BHD")
