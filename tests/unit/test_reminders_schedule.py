"""The reminder plan of a record (``schedule_next``) and quiet hours as the sweep applies them at send time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from payment_links.config import Settings
from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PAID, PaymentRequest, ReminderPlan, apply_status
from payment_links.domain.reminders import QuietHours, schedule_next

T0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(time(21, 0), time(8, 0))


def record(schedule=("P1D", "P3D", "P7D"), enabled=True, time_zone=None, expires=None) -> PaymentRequest:
    return PaymentRequest(
        id="pr-1",
        order_id="order-1",
        amount=Decimal("25.00"),
        currency="USD",
        title="Balance due",
        created_at=T0,
        updated_at=T0,
        expiration_date=expires,
        customer=Customer(email="jane@example.com", time_zone=time_zone),
        reminders=ReminderPlan(enabled=enabled, schedule=list(schedule)),
    )


def test_the_deployment_maximum_caps_a_longer_schedule():
    request = record(schedule=("P1D", "P2D", "P3D"))
    schedule_next(request, Settings(MAX_REMINDERS=2), T0 + timedelta(days=1, hours=1), first_step=1)
    assert request.reminders.next_at == T0 + timedelta(days=2)

    schedule_next(request, Settings(MAX_REMINDERS=2), T0 + timedelta(days=2, hours=1), first_step=2)
    assert request.reminders.next_at is None and request.reminders.stopped_reason == "NO_MORE_STEPS"


def test_the_deployment_time_zone_applies_when_the_customer_has_none():
    request = record(schedule=("P1D",))
    # 12:00 UTC is 08:00 in New York in May (EDT): allowed there, but 21:00+ in Tokyo → moved.
    schedule_next(request, Settings(DEFAULT_TIME_ZONE="Asia/Tokyo"), T0, first_step=0)
    assert request.reminders.next_at.astimezone(ZoneInfo("Asia/Tokyo")).time() == time(8, 0)

    request = record(schedule=("P1D",), time_zone="America/New_York")
    schedule_next(request, Settings(DEFAULT_TIME_ZONE="Asia/Tokyo"), T0, first_step=0)
    assert request.reminders.next_at == T0 + timedelta(days=1)


def test_disabled_or_paid_requests_have_nothing_due():
    disabled = record(enabled=False)
    schedule_next(disabled, Settings(), T0, first_step=0)
    assert disabled.reminders.next_at is None

    paid = record()
    schedule_next(paid, Settings(), T0, first_step=0)
    apply_status(paid, PAID, T0 + timedelta(hours=1), "test")
    schedule_next(paid, Settings(), T0 + timedelta(hours=1), first_step=0)
    assert paid.reminders.next_at is None


def test_at_send_time_a_moment_in_the_quiet_hours_moves_to_their_local_end():
    # 02:30 UTC on Monday 2 November 2026 = 21:30 EST on Sunday.
    assert NIGHT.move_out(datetime(2026, 11, 2, 2, 30, tzinfo=UTC), NEW_YORK) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    # 06:00 EDT on Monday 9 March 2026 (the day after clocks went forward) ends at 08:00 EDT = 12:00 UTC.
    assert NIGHT.move_out(datetime(2026, 3, 9, 10, 0, tzinfo=UTC), NEW_YORK) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def test_a_moment_outside_the_quiet_hours_is_left_alone():
    noon = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    assert NIGHT.move_out(noon, NEW_YORK) == noon


def test_equal_start_and_end_mean_no_quiet_hours():
    midnight = datetime(2026, 3, 9, 5, 0, tzinfo=UTC)
    assert QuietHours(time(0, 0), time(0, 0)).move_out(midnight, NEW_YORK) == midnight


def test_a_daytime_window_does_not_span_midnight():
    lunch = QuietHours(time(12, 0), time(13, 0))
    assert lunch.move_out(datetime(2026, 5, 4, 12, 30, tzinfo=UTC), ZoneInfo("UTC")) == datetime(2026, 5, 4, 13, 0, tzinfo=UTC)
    assert lunch.move_out(datetime(2026, 5, 4, 23, 30, tzinfo=UTC), ZoneInfo("UTC")) == datetime(2026, 5, 4, 23, 30, tzinfo=UTC)
