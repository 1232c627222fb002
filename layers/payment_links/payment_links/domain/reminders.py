"""Reminder cadence: when the next reminder of a payment request is due.

The schedule is a list of ISO-8601 durations after creation. Steps already in the past are skipped, never
sent in a burst; nothing is due at or after the request's expiry; a due time inside the customer's quiet
hours (local time) moves to the end of the quiet window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from payment_links.domain.payment_request import ReminderPlan

if TYPE_CHECKING:
    from payment_links.config import Settings
    from payment_links.domain.payment_request import PaymentRequest

# ASCII digits only (``\d`` would take other scripts' digits, which ``int`` reads), and few enough of them that no
# component can overflow a timedelta: the 366-day bound is checked on the sum. Bounded input, bounded work.
_DURATION = re.compile(
    r"P(?!$)(?:(?P<weeks>[0-9]{1,8})W)?(?:(?P<days>[0-9]{1,8})D)?"
    r"(?:T(?=[0-9])(?:(?P<hours>[0-9]{1,8})H)?(?:(?P<minutes>[0-9]{1,8})M)?(?:(?P<seconds>[0-9]{1,10})S)?)?",
    re.ASCII,
)
MAX_STEP = timedelta(days=366)
CREATED_OUTSIDE = "CREATED_OUTSIDE"  # why an external request gets no reminders
MAX_DURATION_CHARS = 40


def parse_duration(text: str) -> timedelta:
    """An ISO-8601 duration of weeks, days, hours, minutes, seconds. Years and months are refused:
    their length depends on the calendar, and a reminder cadence should not."""
    match = _DURATION.fullmatch(text) if len(text) <= MAX_DURATION_CHARS else None
    if not match:
        shown = text[:MAX_DURATION_CHARS]
        raise ValueError(f"{shown!r} is not an ISO-8601 duration such as P1D or PT12H (years and months are not allowed)")
    parts = {name: int(value) for name, value in match.groupdict().items() if value}
    try:
        duration = timedelta(**parts)
    except OverflowError:
        duration = MAX_STEP * 2  # beyond any bound below: refused with the same message
    if duration <= timedelta(0) or duration > MAX_STEP:
        raise ValueError(f"{text!r} must be more than zero and at most 366 days")
    return duration


def last_before_expiry(record: PaymentRequest, step: int) -> bool:
    """Is reminder ``step`` (1-based) of ``record``'s schedule the last one before the request expires?"""
    if record.expiration_date is None:
        return False
    schedule = record.reminders.schedule
    if step >= len(schedule):
        return True
    return record.created_at + parse_duration(schedule[step]) >= record.expiration_date


def validate_schedule(schedule: list[str]) -> list[str]:
    offsets = [parse_duration(step) for step in schedule]
    if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
        raise ValueError("reminder steps must be in strictly increasing order")
    return schedule


def zone(name: str | None, default: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def is_valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    def contains(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # the window spans midnight

    def move_out(self, at: datetime, tz: ZoneInfo) -> datetime:
        """``at`` if it is outside quiet hours in ``tz``, else the first instant the window ends."""
        local = at.astimezone(tz)
        if not self.contains(local.time().replace(tzinfo=None)):
            return at
        end_date = local.date()
        if self.start > self.end and local.time() >= self.start:
            end_date += timedelta(days=1)  # evening part of a window that ends tomorrow morning
        # Built from the wall clock so a DST change in the night still gives the local end hour.
        end_local = datetime.combine(end_date, self.end, tzinfo=tz)
        return max(end_local.astimezone(at.tzinfo), at)


@dataclass(frozen=True)
class NextReminder:
    step: int
    due_at: datetime


def next_reminder(
    *,
    created_at: datetime,
    schedule: list[str],
    first_step: int,
    max_reminders: int,
    now: datetime,
    expires_at: datetime | None,
    quiet_hours: QuietHours,
    tz: ZoneInfo,
) -> NextReminder | None:
    """The first step at or after ``first_step`` that is still ahead of ``now``, moved out of quiet hours;
    None when the cadence is exhausted or the request expires first."""
    for step in range(first_step, min(len(schedule), max_reminders)):
        due = created_at + parse_duration(schedule[step])
        if due <= now:
            continue  # a step missed (created late, or the sweep was down) is skipped, not burst-sent
        due = quiet_hours.move_out(due, tz)
        if expires_at is not None and due >= expires_at:
            return None
        return NextReminder(step, due)
    return None


def external_reminder_plan(settings: Settings) -> ReminderPlan:
    """The reminders of a request this product did not create (made in the Wix dashboard or by another app, and
    adopted from its webhook or by the lost-link flow): one rule for both, the deployment's RemindExternalRequests."""
    schedule = list(settings.default_reminder_schedule)
    if settings.remind_external_requests and settings.reminders_enabled_by_default:
        return ReminderPlan(enabled=True, schedule=schedule)
    return ReminderPlan(enabled=False, schedule=schedule, stopped_reason=CREATED_OUTSIDE)


def quiet_hours_of(settings: Settings) -> QuietHours:
    return QuietHours(settings.quiet_hours_start, settings.quiet_hours_end)


def schedule_next(record: PaymentRequest, settings: Settings, now: datetime, first_step: int) -> None:
    """Set the record's next reminder from ``first_step`` on, or stop its reminders when none is left."""
    plan = record.reminders
    if not plan.enabled or record.is_terminal or record.deleted_at is not None:
        plan.next_at = None
        return
    upcoming = next_reminder(
        created_at=record.created_at,
        schedule=plan.schedule,
        first_step=first_step,
        max_reminders=settings.max_reminders,
        now=now,
        expires_at=record.expiration_date,
        quiet_hours=quiet_hours_of(settings),
        tz=zone(record.customer.time_zone, settings.default_time_zone),
    )
    if upcoming is None:
        plan.next_at = None
        plan.next_step = len(plan.schedule)
        plan.stopped_reason = plan.stopped_reason or "NO_MORE_STEPS"
        return
    plan.next_step = upcoming.step
    plan.next_at = upcoming.due_at
