"""Sending due reminders: the checks before each, the claim that makes it happen once, the record after it.

Reminders go in batches of one site's requests. Order of checks (cheapest and most final first): still due →
not past its expiry → outside the customer's quiet hours → a channel that has not opted out → UNPAID at Wix
(one Query for the whole batch; a missed webhook is reconciled here) → the saved URL, or a fresh one when it
is older than ``UrlMaxAgeHours``. Then the reminder is claimed with a conditional write that advances the record to its next
step, and only the sweep whose write wins sends: two overlapping sweeps never send the same reminder twice.
A send that reaches nobody hands the step back and counts a failure; at the cap the reminders stop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import EMAIL, SMS, reachable_channels
from payment_links.domain.payment_request import (
    KIND_REMINDER,
    SEND_SENT,
    TERMINAL_STATUSES,
    UNPAID,
    PaymentRequest,
    ReminderInFlight,
    ReminderPlan,
)
from payment_links.domain.reminders import quiet_hours_of, schedule_next, zone
from payment_links.flows.delivery import reconcile_status, reminder_url
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.notify.sender import THROTTLED
from payment_links.store import StaleRecord
from payment_links.unsubscribe_token import unsubscribe_url
from payment_links.wix.models import OrderPaymentRequest

logger = Logger(child=True)

SENT = "SENT"
SKIPPED = "SKIPPED"
FAILED = "FAILED"

# Skip reasons (also the values of ReminderPlan.stopped_reason where the skip stops the reminders).
NOT_DUE = "NOT_DUE"  # another sweep (or a payment) got there first
ALREADY_SENT = "ALREADY_SENT"
QUIET_HOURS = "QUIET_HOURS"
EXPIRED = "EXPIRED"
OPTED_OUT = "OPTED_OUT"
NOT_FOUND_AT_WIX = "NOT_FOUND_AT_WIX"
TOO_MANY_FAILURES = "TOO_MANY_FAILURES"
UNCONFIRMED = "UNCONFIRMED"  # a worker died after handing the reminder to SES/SNS: never sent again
MAX_MARK_ATTEMPTS = 3
SEND_THROTTLED = "SEND_THROTTLED"  # SES or SNS at the account's rate: retried later, never counted against the request

# Failures of the outside world rather than of this request: not counted against the request's cap
# (an hour of Wix outage must not end every customer's reminders), and they tell the sweep to back off.
SYSTEMIC_FAILURES = (errors.WixUnavailable, errors.ConfigurationError)


@dataclass(frozen=True)
class Outcome:
    result: str
    reason: str | None = None
    systemic: bool = False


def send_due_reminder(request_id: str, deps: Dependencies, now: datetime) -> Outcome:
    """Send the due reminder of one request, or say why not. Never raises for the request's own trouble."""
    return send_due_batch([request_id], deps, now)[request_id]


@dataclass
class _Due:
    """A request that passed every check that needs no Wix: what its reminder will be."""

    record: PaymentRequest
    due_at: datetime
    step: int
    channels: list[str]


def send_due_batch(request_ids: list[str], deps: Dependencies, now: datetime, pool: Executor | None = None) -> dict[str, Outcome]:
    """Send the due reminders of up to a few hundred requests of one site; each gets an outcome. Never raises
    for one request's trouble. Wix is asked once per 100 ids (Query ``id $in``), not once per request, and the
    saved URL is reused while it is recent (``delivery.reminder_url``), so a reminder costs a fraction of a call."""
    ids = list(dict.fromkeys(request_ids))
    records = deps.store.get_many(ids)
    checked = _each(ids, lambda rid: _before_wix(records.get(rid), deps, now), deps, now, pool)
    outcomes = {rid: result for rid, result in checked.items() if isinstance(result, Outcome)}
    due = {rid: result for rid, result in checked.items() if isinstance(result, _Due)}
    if not due:
        return outcomes
    query_failure: Exception | None = None
    try:
        with wix_errors_as_domain():
            at_wix = deps.wix.payment_requests_by_id(list(due))
    except SYSTEMIC_FAILURES as exc:
        logger.warning("reminders deferred", extra={"count": len(due), "error_code": exc.code})
        return outcomes | dict.fromkeys(due, Outcome(FAILED, exc.code, systemic=True))
    except Exception as exc:
        query_failure = exc  # Wix refused the Query itself: counted against each request, like any failure
    if query_failure is not None:
        failure = query_failure
        sent = _each(list(due), lambda rid: _raise(failure), deps, now, pool)
    else:
        sent = _each(list(due), lambda rid: _send_checked(due[rid], at_wix.get(rid), deps, now), deps, now, pool)
    return outcomes | {rid: result for rid, result in sent.items() if isinstance(result, Outcome)}


def _each(
    ids: list[str], step: Callable[[str], Outcome | _Due], deps: Dependencies, now: datetime, pool: Executor | None
) -> dict[str, Outcome | _Due]:
    """``step`` for every id (on ``pool`` when given), each guarded: one request's failure is its own outcome."""
    run = pool.map if pool is not None else map
    return dict(zip(ids, run(lambda rid: _guarded(rid, deps, now, lambda: step(rid)), ids), strict=True))


def _raise(exc: Exception) -> Outcome:
    raise exc


def _guarded(request_id: str, deps: Dependencies, now: datetime, step: Callable[[], Outcome | _Due]) -> Outcome | _Due:
    """One request's step; a failure becomes its outcome (counted against the request unless systemic)."""
    try:
        return step()
    except SYSTEMIC_FAILURES as exc:
        logger.warning("reminder deferred", extra={"payment_request_id": request_id, "error_code": exc.code})
        return Outcome(FAILED, exc.code, systemic=True)
    except Exception as exc:
        # Only the type: messages of AWS and Wix errors can quote contact details.
        reason = getattr(exc, "code", None) or type(exc).__name__
        logger.warning("reminder failed", extra={"payment_request_id": request_id, "error": reason})
        try:
            _count_failure(request_id, deps, now, reason)
        except Exception:
            logger.exception("could not record a reminder failure", extra={"payment_request_id": request_id})
        return Outcome(FAILED, reason)


def _before_wix(record: PaymentRequest | None, deps: Dependencies, now: datetime) -> Outcome | _Due:
    """Still due, not past its expiry, outside quiet hours, a channel left: the checks that cost no Wix call."""
    if record is None or not _is_due(record, now):
        return Outcome(SKIPPED, NOT_DUE)
    if record.reminders.in_flight is not None:
        recovered = _recover_abandoned(record, now, deps)
        if isinstance(recovered, Outcome):
            return recovered
        record = recovered
    plan = record.reminders
    due_at, step = plan.next_at, plan.next_step
    assert due_at is not None

    if record.expiration_date is not None and record.expiration_date <= now:
        _stop(record, due_at, EXPIRED, now, deps)
        return Outcome(SKIPPED, EXPIRED)

    tz = zone(record.customer.time_zone, deps.settings.default_time_zone)
    allowed_at = quiet_hours_of(deps.settings).move_out(now, tz)
    if allowed_at != now:
        _postpone(record, due_at, allowed_at, now, deps)
        return Outcome(SKIPPED, QUIET_HOURS)

    channels = _reminder_channels(record, due_at, now, deps)
    if not channels:
        return Outcome(SKIPPED, OPTED_OUT)
    return _Due(record, due_at, step, channels)


def _send_checked(due: _Due, found: OrderPaymentRequest | None, deps: Dependencies, now: datetime) -> Outcome:
    """Act on what Wix said of the request, then claim the step, send, and record what happened."""
    record, due_at, step, channels = due.record, due.due_at, due.step, due.channels
    request_id = record.id
    if found is None:
        _stop(record, due_at, NOT_FOUND_AT_WIX, now, deps)
        return Outcome(SKIPPED, NOT_FOUND_AT_WIX)
    if found.status in TERMINAL_STATUSES:
        reconcile_status(request_id, found.status, deps, now)
        return Outcome(SKIPPED, found.status)
    if found.status != UNPAID:
        # A status this code does not know (the API is a preview): count it, so the cap ends the retries.
        _count_failure(request_id, deps, now, f"WIX_STATUS_{found.status}")
        return Outcome(FAILED, f"WIX_STATUS_{found.status}")
    url = reminder_url(record, deps, due_at)
    fetched_now = url != record.url or record.url_fetched_at is None
    link = unsubscribe_url(request_id, EMAIL, deps.settings, deps.site) if EMAIL in channels else None

    before = record.reminders.model_copy()
    claimed = _claim(record, due_at, step, now, deps)
    if claimed is None:
        return Outcome(SKIPPED, ALREADY_SENT)
    claimed = _mark_started(claimed, deps)
    if claimed is None:
        return Outcome(SKIPPED, NOT_DUE)  # paid, voided or opted out between the claim and the send
    lease = claimed.reminders.in_flight
    notifications = deps.notifier.send(claimed, url, KIND_REMINDER, channels, now, unsubscribe_url=lambda _record: link)
    delivered = [n.channel for n in notifications if n.status == SEND_SENT]
    throttled = not delivered and any(n.reason in THROTTLED for n in notifications)
    after = claimed.reminders.model_copy()

    def record_outcome(current: PaymentRequest) -> bool:
        current.notifications.extend(notifications)
        if fetched_now:
            current.url, current.url_fetched_at = url, now
        if delivered:
            current.reminders.failures = 0
            _release(current, lease)
            current.record(now, "REMINDER_SENT", detail=f"step {step + 1}: {','.join(delivered)}")
            return True
        if current.reminders == after:
            # Nobody got it: hand the step back so the next run retries it.
            current.reminders = before.model_copy()
            current.last_sent_at = record.last_sent_at
        if throttled:
            current.record(now, "REMINDER_DEFERRED", detail=SEND_THROTTLED)  # the provider's rate, not the request
        else:
            _add_failure(current, now, "NOT_DELIVERED", deps)
        return True

    _change(claimed, record_outcome, deps)
    if throttled:
        return Outcome(FAILED, SEND_THROTTLED, systemic=True)
    if not delivered:
        return Outcome(FAILED, "NOT_DELIVERED")
    logger.info("reminder sent", extra={"payment_request_id": request_id, "step": step + 1, "channels": delivered})
    return Outcome(SENT)


def _change(record: PaymentRequest, change: Callable[[PaymentRequest], bool], deps: Dependencies) -> PaymentRequest | None:
    """``store.update`` starting from the copy in hand: one read fewer per write while nobody else writes;
    on a version conflict it reads again and re-applies ``change`` (which re-checks its own condition)."""
    current = record.model_copy(deep=True)
    if not change(current):
        return current
    try:
        return deps.store.save(current)
    except StaleRecord:
        return deps.store.update(record.id, change)


def _is_due(record: PaymentRequest, now: datetime) -> bool:
    plan = record.reminders
    return record.status == UNPAID and record.deleted_at is None and plan.enabled and plan.next_at is not None and plan.next_at <= now


def _still_at(record: PaymentRequest, due_at: datetime) -> bool:
    """The record still waits for the reminder we looked at (no other sweep, payment or opt-out moved it)."""
    return record.status == UNPAID and record.reminders.next_at == due_at


def _reminder_channels(record: PaymentRequest, due_at: datetime, now: datetime, deps: Dependencies) -> list[str]:
    """The channels this reminder may use. A phone on SNS's opted-out list is recorded as opted out; when no
    channel is left the reminders stop, and the record says why."""
    reachable = reachable_channels(record.customer)
    wanted = [c for c in (record.channels or reachable) if c in reachable and c not in record.opted_out_channels]
    newly_opted_out = []
    if SMS in wanted and record.customer.phone and deps.notifier.sms_opted_out(record.customer.phone):
        wanted.remove(SMS)
        newly_opted_out.append(SMS)
    if not newly_opted_out and wanted:
        return wanted

    def change(current: PaymentRequest) -> bool:
        if not _still_at(current, due_at):
            return False
        for channel in newly_opted_out:
            if channel not in current.opted_out_channels:
                current.opted_out_channels.append(channel)
                current.record(now, "OPTED_OUT", detail=f"{channel}: the number is on the SMS opted-out list")
        if not wanted:
            current.stop_reminders(OPTED_OUT)
            current.record(now, "REMINDERS_STOPPED", detail="every channel opted out")
        return True

    _change(record, change, deps)
    return wanted


def _claim(record: PaymentRequest, due_at: datetime, step: int, now: datetime, deps: Dependencies) -> PaymentRequest | None:
    """Advance the record past this step with a version-checked write; None when another sweep did."""
    won = [False]

    def claim(current: PaymentRequest) -> bool:
        won[0] = _still_at(current, due_at) and current.reminders.next_step == step
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

    updated = _change(record, claim, deps)
    return updated if won[0] else None


def _mark_started(claimed: PaymentRequest, deps: Dependencies) -> PaymentRequest | None:
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


def _release(current: PaymentRequest, lease: ReminderInFlight | None) -> None:
    """The send is recorded: the record goes on to the step after it (unless something stopped the reminders)."""
    plan = current.reminders
    if lease is None or plan.in_flight is None or plan.in_flight.lease_until != lease.lease_until:
        return
    if plan.next_at == lease.lease_until:
        plan.next_at = lease.next_at
    plan.in_flight = None


def _recover_abandoned(record: PaymentRequest, now: datetime, deps: Dependencies) -> PaymentRequest | Outcome:
    """A due record still holding an in-flight reminder: its worker died before recording the send. Not started:
    the step goes back to due and is sent now. Started: SES/SNS may have it, so it is not sent again."""
    lease = record.reminders.in_flight
    assert lease is not None

    def recover(current: PaymentRequest) -> bool:
        plan = current.reminders
        if plan.in_flight is None or plan.in_flight.lease_until != lease.lease_until or plan.next_at != lease.lease_until:
            return False
        if lease.started:
            _release(current, lease)
            current.record(now, "REMINDER_UNCONFIRMED", detail=f"step {lease.step + 1}: its worker stopped after handing it over")
        else:
            plan.in_flight = None
            plan.sent -= 1
            plan.next_step, plan.next_at = lease.step, lease.due_at
            plan.stopped_reason = None
            current.record(now, "REMINDER_RECOVERED", detail=f"step {lease.step + 1}: its worker stopped before sending")
        return True

    updated = _change(record, recover, deps)
    if lease.started:
        return Outcome(SKIPPED, UNCONFIRMED)
    if updated is None or updated.reminders.in_flight is not None or not _is_due(updated, now):
        return Outcome(SKIPPED, NOT_DUE)
    return updated


def _postpone(record: PaymentRequest, due_at: datetime, allowed_at: datetime, now: datetime, deps: Dependencies) -> None:
    def change(current: PaymentRequest) -> bool:
        if not _still_at(current, due_at):
            return False
        if current.expiration_date is not None and allowed_at >= current.expiration_date:
            current.stop_reminders(EXPIRED)
        else:
            current.reminders.next_at = allowed_at
        return True

    _change(record, change, deps)


def _stop(record: PaymentRequest, due_at: datetime, reason: str, now: datetime, deps: Dependencies) -> None:
    def change(current: PaymentRequest) -> bool:
        if not _still_at(current, due_at):
            return False
        current.stop_reminders(reason)
        current.record(now, "REMINDERS_STOPPED", detail=reason)
        return True

    _change(record, change, deps)


def _add_failure(record: PaymentRequest, now: datetime, reason: str, deps: Dependencies) -> None:
    plan: ReminderPlan = record.reminders
    plan.failures += 1
    record.record(now, "REMINDER_FAILED", detail=reason)
    if plan.failures >= deps.settings.reminder_max_failures and plan.next_at is not None:
        record.stop_reminders(TOO_MANY_FAILURES)
        record.record(now, "REMINDERS_STOPPED", detail=TOO_MANY_FAILURES)


def _count_failure(request_id: str, deps: Dependencies, now: datetime, reason: str) -> None:
    """Count a failure of the still-due reminder; it stays due, so the next run retries it."""

    def change(current: PaymentRequest) -> bool:
        if not _is_due(current, now):
            return False
        _add_failure(current, now, reason, deps)
        return True

    deps.store.update(request_id, change)
