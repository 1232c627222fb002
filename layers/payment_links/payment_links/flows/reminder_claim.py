"""One reminder step's hold on its record: claimed (and leased to its worker), started, released, or recovered.

The claim is a version-checked write that moves the record past the step, so only one worker sends it; it also
leases the step (``ReminderPlan.in_flight``) until ``lease_until``, and points the due index there: if the worker
dies before it records the send, the record falls due again when the lease runs out. Right before the send the
worker flags the step ``started`` (one UpdateItem). A later sweep that finds an abandoned lease sends the step
if it had not started (the worker died between the claim and the send), and never sends it again if it had (it
died between the send and its record). The moment between the flag and SES accepting is the only one where a
crash loses a step: SES and SNS take no idempotency key, so "never twice" wins there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from payment_links.deps import Dependencies
from payment_links.domain.payment_request import UNPAID, PaymentRequest, ReminderInFlight
from payment_links.domain.reminders import schedule_next
from payment_links.store import StaleRecord

MAX_MARK_ATTEMPTS = 3


def change(record: PaymentRequest, change: Callable[[PaymentRequest], bool], deps: Dependencies) -> PaymentRequest | None:
    """``store.update`` starting from the copy in hand: one read fewer per write while nobody else writes;
    on a version conflict it reads again and re-applies ``change`` (which re-checks its own condition)."""
    current = record.model_copy(deep=True)
    if not change(current):
        return current
    try:
        return deps.store.save(current)
    except StaleRecord:
        return deps.store.update(record.id, change)


def is_due(record: PaymentRequest, now: datetime) -> bool:
    plan = record.reminders
    wanted = plan.enabled or record.reissue_pending is not None  # a reissue under way is finished by the workers
    return record.status == UNPAID and record.deleted_at is None and wanted and plan.next_at is not None and plan.next_at <= now


def still_at(record: PaymentRequest, due_at: datetime) -> bool:
    """The record still waits for the reminder we looked at (no other sweep, payment or opt-out moved it)."""
    return record.status == UNPAID and record.reminders.next_at == due_at


def claim(record: PaymentRequest, due_at: datetime, step: int, now: datetime, deps: Dependencies) -> PaymentRequest | None:
    """Advance the record past this step with a version-checked write; None when another sweep did."""
    won = [False]

    def claim(current: PaymentRequest) -> bool:
        won[0] = still_at(current, due_at) and current.reminders.next_step == step
        if not won[0]:
            return False
        current.reminders.sent += 1
        current.last_sent_at = now
        schedule_next(current, deps.settings, now, first_step=step + 1)
        # Leased until recorded: due again (and recovered) only if this worker dies before it records the send.
        lease_until = now + timedelta(seconds=deps.settings.reminder_lease_seconds)
        plan = current.reminders
        plan.in_flight = ReminderInFlight(step=step, due_at=due_at, lease_until=lease_until, next_at=plan.next_at)
        plan.next_at = lease_until
        return True

    updated = change(record, claim, deps)
    return updated if won[0] else None


def mark_started(claimed: PaymentRequest, deps: Dependencies) -> PaymentRequest | None:
    """Flag the claimed reminder as handed to SES/SNS, right before the send: a worker that dies after this is
    never sent again (at most once), one that dies before it is sent by a later sweep (not lost)."""
    lease = claimed.reminders.in_flight
    assert lease is not None
    current: PaymentRequest | None = claimed
    for _ in range(MAX_MARK_ATTEMPTS):
        assert current is not None
        if deps.store.mark_send_started(current.id, current.version):
            marked = current.model_copy(deep=True)
            marked.version += 1
            assert marked.reminders.in_flight is not None
            marked.reminders.in_flight.started = True
            return marked
        current = deps.store.get(claimed.id)  # another write came between (a payment, an opt-out): look again
        if current is None or current.status != UNPAID or current.reminders.in_flight is None:
            return None
        if current.reminders.in_flight.lease_until != lease.lease_until or current.reminders.next_at != lease.lease_until:
            return None  # no longer ours, or the reminders stopped
        if current.reminders.in_flight.started:
            return current  # our own flag, whose answer was lost
    return None


def release(current: PaymentRequest, lease: ReminderInFlight | None) -> None:
    """The send is recorded: the record goes on to the step after it (unless something stopped the reminders)."""
    plan = current.reminders
    if lease is None or plan.in_flight is None or plan.in_flight.lease_until != lease.lease_until:
        return
    if plan.next_at == lease.lease_until:
        plan.next_at = lease.next_at
    plan.in_flight = None


def recover_abandoned(record: PaymentRequest, now: datetime, deps: Dependencies) -> tuple[PaymentRequest | None, bool]:
    """A due record still holding an in-flight reminder: its worker died before recording the send. Not started:
    the step goes back to due, and the record is returned to be sent now. Started: SES/SNS may have it, so it is
    released without a send. Returns (the record to send, or None; whether the step had started)."""
    lease = record.reminders.in_flight
    assert lease is not None

    def recover(current: PaymentRequest) -> bool:
        plan = current.reminders
        if plan.in_flight is None or plan.in_flight.lease_until != lease.lease_until or plan.next_at != lease.lease_until:
            return False
        if lease.started:
            release(current, lease)
            current.record(now, "REMINDER_UNCONFIRMED", detail=f"step {lease.step + 1}: its worker stopped after handing it over")
        else:
            plan.in_flight = None
            plan.sent -= 1
            plan.next_step, plan.next_at = lease.step, lease.due_at
            plan.stopped_reason = None
            current.record(now, "REMINDER_RECOVERED", detail=f"step {lease.step + 1}: its worker stopped before sending")
        return True

    updated = change(record, recover, deps)
    if lease.started or updated is None or updated.reminders.in_flight is not None or not is_due(updated, now):
        return None, lease.started
    return updated, False
