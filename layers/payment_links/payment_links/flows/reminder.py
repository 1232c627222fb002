"""Sending due reminders: the checks before each, the claim that makes it happen once, the record after it.

Reminders go in batches of one site's requests. Order of checks (cheapest and most final first): still due →
not past its expiry → outside the customer's quiet hours → a channel that has not opted out → UNPAID at Wix
(one Query for the whole batch; a missed webhook is reconciled here) → the saved URL, or a fresh one when it
is older than ``UrlMaxAgeHours``. Then the step is claimed (``reminder_claim``: a conditional write that moves
the record on and leases the step to this worker), flagged as started, sent, and recorded. Two overlapping
sweeps or workers never send the same reminder twice; a worker that dies is recovered by a later sweep. A send
that reaches nobody hands the step back and counts a failure (not when SES or SNS only throttled it); at the cap
the reminders stop.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.domain.contacts import EMAIL, SMS, reachable_channels
from payment_links.domain.order_rule import ORDER_BALANCE_CHANGED, PAYABLE, REISSUED, OrderVerdict, verdict
from payment_links.domain.payment_request import (
    KIND_REMINDER,
    SEND_SENT,
    TERMINAL_STATUSES,
    UNPAID,
    PaymentRequest,
    ReminderPlan,
)
from payment_links.domain.reminders import quiet_hours_of, zone
from payment_links.flows import reminder_claim as claims
from payment_links.flows.delivery import reconcile_status, reminder_url
from payment_links.flows.delivery_feedback import mark_undeliverable, suppressions
from payment_links.flows.order_settlement import act_on_order
from payment_links.flows.wix_errors import wix_errors_as_domain
from payment_links.notify.sender import THROTTLED
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
    try:
        records = deps.store.get_many(ids)
    except (ClientError, BotoCoreError, RuntimeError) as exc:
        # DynamoDB failing after the SDK's retries is nobody's request's fault: all stay due for the next run, and
        # one batch's trouble never ends a sweep that has others to send.
        logger.warning("reminder batch not read", extra={"count": len(ids), "error": type(exc).__name__})
        return dict.fromkeys(ids, Outcome(FAILED, "AWS_UNAVAILABLE", systemic=True))
    checked = _each(ids, lambda rid: _before_wix(records.get(rid), deps, now), deps, now, pool)
    outcomes = {rid: result for rid, result in checked.items() if isinstance(result, Outcome)}
    due = {rid: result for rid, result in checked.items() if isinstance(result, _Due)}
    if not due:
        return outcomes
    query_failure: Exception | None = None
    try:
        with wix_errors_as_domain():
            at_wix = deps.wix.payment_requests_by_id(list(due))
            orders = _order_verdicts(due, at_wix, deps)
    except SYSTEMIC_FAILURES as exc:
        logger.warning("reminders deferred", extra={"count": len(due), "error_code": exc.code})
        return outcomes | dict.fromkeys(due, Outcome(FAILED, exc.code, systemic=True))
    except Exception as exc:
        query_failure = exc  # Wix refused the Query itself: counted against each request, like any failure
    if query_failure is not None:
        failure = query_failure
        sent = _each(list(due), lambda rid: _raise(failure), deps, now, pool)
    else:
        sent = _each(list(due), lambda rid: _send_checked(due[rid], at_wix.get(rid), orders.get(rid), deps, now), deps, now, pool)
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
    if record is None or not claims.is_due(record, now):
        return Outcome(SKIPPED, NOT_DUE)
    if record.reminders.in_flight is not None:
        recovered, started = claims.recover_abandoned(record, now, deps)
        if recovered is None:
            return Outcome(SKIPPED, UNCONFIRMED if started else NOT_DUE)
        record = recovered
    plan = record.reminders
    due_at, step = plan.next_at, plan.next_step
    assert due_at is not None
    if record.reissue_pending is not None:
        return _Due(record, due_at, step, [])  # a reissue under way: resumed before anything else (flows.reissue)

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


def _order_verdicts(due: dict[str, _Due], at_wix: dict[str, OrderPaymentRequest], deps: Dependencies) -> dict[str, OrderVerdict]:
    """What the orders behind the batch's UNPAID requests still owe them: one Search Orders and one Query of their
    UNPAID requests for the whole batch. An order Search Orders does not return (INITIALIZED, PENDING) gets no
    verdict: the request's own status decides, as before."""
    unpaid = [rid for rid in due if (found := at_wix.get(rid)) is not None and found.status == UNPAID]
    order_ids = list(dict.fromkeys(due[rid].record.order_id for rid in unpaid))
    if not order_ids:
        return {}
    orders = deps.wix.search_orders(order_ids)
    open_requests = deps.wix.unpaid_for_orders([order_id for order_id in order_ids if order_id in orders])
    verdicts = {}
    for rid in unpaid:
        record = due[rid].record
        order = orders.get(record.order_id)
        if order is not None:
            others = [opr.amount.amount for opr in open_requests.get(order.id, []) if opr.id != rid]
            verdicts[rid] = verdict(order, record.amount, others)
    return verdicts


def _send_checked(due: _Due, found: OrderPaymentRequest | None, order: OrderVerdict | None, deps: Dependencies, now: datetime) -> Outcome:
    """Act on what Wix said of the request and its order, then claim the step, send, and record what happened."""
    record, due_at, step, channels = due.record, due.due_at, due.step, due.channels
    request_id = record.id
    if record.reissue_pending is not None:  # the old request is voided at Wix by now: finish, do not reconcile
        return Outcome(SKIPPED, _order_outcome(record, OrderVerdict(ORDER_BALANCE_CHANGED), due_at, deps, now))
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
    if order is not None and order.outcome != PAYABLE:
        done = _order_outcome(record, order, due_at, deps, now)
        if done != PAYABLE:  # PAYABLE: read again before a reissue, the order covers the request now; send it
            return Outcome(SKIPPED, done)
    url = reminder_url(record, deps, due_at)
    fetched_now = url != record.url or record.url_fetched_at is None
    link = unsubscribe_url(request_id, EMAIL, deps.settings, deps.site) if EMAIL in channels else None

    before = record.reminders.model_copy()
    claimed = claims.claim(record, due_at, step, now, deps)
    if claimed is None:
        return Outcome(SKIPPED, ALREADY_SENT)
    claimed = claims.mark_started(claimed, deps)
    if claimed is None:
        return Outcome(SKIPPED, NOT_DUE)  # paid, voided or opted out between the claim and the send
    lease = claimed.reminders.in_flight
    notifications = deps.notifier.send(
        claimed, url, KIND_REMINDER, channels, now, unsubscribe_url=lambda _record: link, step=step + 1, final=_is_final(claimed)
    )
    delivered = [n.channel for n in notifications if n.status == SEND_SENT]
    throttled = not delivered and any(n.reason in THROTTLED for n in notifications)
    after = claimed.reminders.model_copy()

    def record_outcome(current: PaymentRequest) -> bool:
        current.notifications.extend(notifications)
        if fetched_now:
            current.url, current.url_fetched_at = url, now
        if delivered:
            current.reminders.failures = 0
            claims.release(current, lease)
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

    claims.change(claimed, record_outcome, deps)
    if throttled:
        return Outcome(FAILED, SEND_THROTTLED, systemic=True)
    if not delivered:
        return Outcome(FAILED, "NOT_DELIVERED")
    logger.info("reminder sent", extra={"payment_request_id": request_id, "step": step + 1, "channels": delivered})
    return Outcome(SENT)


def _is_final(claimed: PaymentRequest) -> bool:
    """The last reminder before the request expires: no further step would be due before its expiry."""
    if claimed.expiration_date is None or claimed.reminders.in_flight is None:
        return False
    next_at = claimed.reminders.in_flight.next_at
    return next_at is None or next_at >= claimed.expiration_date


def _order_outcome(record: PaymentRequest, order: OrderVerdict, due_at: datetime, deps: Dependencies, now: datetime) -> str:
    """Settle (or reissue) a request its order no longer matches; a reissue is reported by the reason it stopped."""
    done = act_on_order(record, order, deps, now, still=lambda current: claims.still_at(current, due_at))
    return ORDER_BALANCE_CHANGED if done == REISSUED else done


def _reminder_channels(record: PaymentRequest, due_at: datetime, now: datetime, deps: Dependencies) -> list[str]:
    """The channels this reminder may use. A phone on SNS's opted-out list is recorded as opted out; an address
    that bounced for good or complained, or a number SNS could not reach for good (flows.delivery_feedback), as
    undeliverable; when no channel is left the reminders stop, and the record says why."""
    reachable = reachable_channels(record.customer)
    closed = {*record.opted_out_channels, *record.undeliverable_channels}
    wanted = [c for c in (record.channels or reachable) if c in reachable and c not in closed]
    newly_opted_out = []
    if SMS in wanted and record.customer.phone and deps.notifier.sms_opted_out(record.customer.phone):
        wanted.remove(SMS)
        newly_opted_out.append(SMS)
    suppressed = suppressions(record, wanted, deps)
    wanted = [c for c in wanted if c not in suppressed]
    if not newly_opted_out and not suppressed and wanted:
        return wanted

    def change(current: PaymentRequest) -> bool:
        if not claims.still_at(current, due_at):
            return False
        for channel in newly_opted_out:
            if channel not in current.opted_out_channels:
                current.opted_out_channels.append(channel)
                current.record(now, "OPTED_OUT", detail=f"{channel}: the number is on the SMS opted-out list")
        for channel, reason in suppressed.items():
            if channel not in current.undeliverable_channels:
                mark_undeliverable(current, channel, reason, now)
        if not wanted and current.reminders.next_at is not None:
            current.stop_reminders(OPTED_OUT)
            current.record(now, "REMINDERS_STOPPED", detail="every channel opted out")
        return True

    claims.change(record, change, deps)
    return wanted


def _postpone(record: PaymentRequest, due_at: datetime, allowed_at: datetime, now: datetime, deps: Dependencies) -> None:
    def change(current: PaymentRequest) -> bool:
        if not claims.still_at(current, due_at):
            return False
        if current.expiration_date is not None and allowed_at >= current.expiration_date:
            current.stop_reminders(EXPIRED)
        else:
            current.reminders.next_at = allowed_at
        return True

    claims.change(record, change, deps)


def _stop(record: PaymentRequest, due_at: datetime, reason: str, now: datetime, deps: Dependencies) -> None:
    def change(current: PaymentRequest) -> bool:
        if not claims.still_at(current, due_at):
            return False
        current.stop_reminders(reason)
        current.record(now, "REMINDERS_STOPPED", detail=reason)
        return True

    claims.change(record, change, deps)


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
        if not claims.is_due(current, now):
            return False
        _add_failure(current, now, reason, deps)
        return True

    deps.store.update(request_id, change)
