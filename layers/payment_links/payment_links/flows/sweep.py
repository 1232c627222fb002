"""The reminder sweep: find the requests whose reminder is due and hand them out in batches of one site's.

Due requests come from the sparse DueReminders index (only UNPAID requests with a reminder left carry a
due time), queried shard by shard in turn and page by page, never scanned: a sweep costs what is due, not
what is stored. The index is shared by every site; ids are grouped into batches of one site's requests (up to
100: one Wix Query each). With a reminder queue (the template's), each batch is one SQS message and the resend
function's workers send it (``flows.reminder_queue``); without one, the sweep sends the batches itself on a
bounded thread pool, stopping when the Lambda's remaining time runs low or Wix looks down for a site, and
leaving the rest, still due, for the next run. Each batch is sent with its own site's settings, store, Wix
token and quota; a removed site's reminders are stopped, not sent. Removed sites whose retention ran out are
deleted first (``sites.SiteRegistry.purge_page``). One request's failure never stops the others
(``flows.reminder``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies, for_site
from payment_links.domain.payment_request import PaymentRequest
from payment_links.flows.reminder import FAILED, SENT, SKIPPED, Outcome, send_due_batch
from payment_links.flows.reminder_queue import ReminderBatch, SweepProgress, enqueue, outcome_counts
from payment_links.store import DueIndex, PaymentRequestStore, due_shards
from payment_links.tenancy import Site

logger = Logger(child=True)

PAGE_SIZE = 100
BATCH_SIZE = 100  # ids per batch: one Wix Query (its page limit) and one queue message
# The smallest batch a backlog is split into for the workers: a batch costs three Wix calls (the requests' Query,
# Search Orders, the orders' UNPAID requests), so 60 keeps a reminder's share at 0.05 at most.
MIN_SPLIT = 60
COUNT_PAGE_SIZE = 1000
# Time kept back for the requests in flight and the summary. A sweep cut short by a timeout would still
# send nothing twice (a reminder is claimed before it is sent), but it would lose its metrics.
STOP_MARGIN_MS = 20_000
# This many systemic failures in a row (Wix unavailable, credentials refused) and the sweep stops early.
WIX_DOWN_AFTER = 10

STOPPED_TIME = "REMAINING_TIME"
SITE_REMOVED = "SITE_REMOVED"  # a skip reason, and why a removed site's reminders stopped
STOPPED_WIX_DOWN = "WIX_UNAVAILABLE"


@dataclass
class SweepSummary:
    time: datetime
    due: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    remaining: int = 0
    stopped_early: str | None = None
    duration_ms: int = 0
    batches: int = 0
    sweep_id: str | None = None  # set when the batches went to the reminder queue

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "due": self.due,
            "sent": self.sent,
            "skipped": dict(sorted(self.skipped.items())),
            "failed": self.failed,
            "failures": dict(sorted(self.failures.items())),
            "remaining": self.remaining,
            "stoppedEarly": self.stopped_early,
            "durationMs": self.duration_ms,
            "batches": self.batches,
            "sweepId": self.sweep_id,
        }


class _Tally:
    """Outcomes reported by the worker threads, and each site's run of systemic failures (Wix down for it)."""

    def __init__(self, summary: SweepSummary) -> None:
        self._summary = summary
        self._lock = threading.Lock()
        self._systemic_in_a_row: Counter[Site] = Counter()

    def add(self, site: Site, outcome: Outcome) -> None:
        with self._lock:
            if outcome.result == SENT:
                self._summary.sent += 1
            elif outcome.result == FAILED:
                self._summary.failed += 1
                self._summary.failures[outcome.reason or "UNKNOWN"] += 1
            else:
                self._summary.skipped[outcome.reason or "UNKNOWN"] += 1
            self._systemic_in_a_row[site] = self._systemic_in_a_row[site] + 1 if outcome.systemic else 0

    def wix_down(self, site: Site) -> bool:
        """Wix failed this site's last few reminders for reasons of its own: leave the site's rest for the next run.
        Another site (another Wix instance, its own token and quota) goes on."""
        with self._lock:
            return self._systemic_in_a_row[site] >= WIX_DOWN_AFTER


def run_sweep(
    deps: Dependencies,
    now: datetime,
    time_left_ms: Callable[[], int],
    stop_margin_ms: int = STOP_MARGIN_MS,
    sqs: Any = None,
) -> SweepSummary:
    """Find every reminder due at ``now`` (the scheduled event's time) and hand it out in batches of one site's
    requests: onto the reminder queue for the workers (``flows.reminder_queue``) when the deployment has one,
    else sent here, within this invocation's time."""
    started = time.monotonic()
    summary = SweepSummary(time=now)
    purge_removed_sites(deps, now, time_left_ms, stop_margin_ms)
    queue_url = deps.settings.reminder_queue_url if sqs is not None else ""
    if queue_url:
        summary.sweep_id = str(uuid.uuid4())
        _enqueue_due(deps, now, time_left_ms, stop_margin_ms, summary, sqs, queue_url)
        summary.remaining = max(count_due(_index(deps), now) - summary.due, 0)
    else:
        _send_due_here(deps, now, time_left_ms, stop_margin_ms, summary)
        summary.remaining = count_due(_index(deps), now)
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info("reminder sweep finished", extra={"summary": summary.to_dict()})
    return summary


def site_batches(index: DueIndex, now: datetime, batch_size: int | None = None) -> Iterator[tuple[Site, list[str]]]:
    """Due (site, ids) in batches of one site's requests, each sent as soon as it is full; the rest at the end."""
    batch_size = batch_size or BATCH_SIZE
    open_batches: dict[Site, list[str]] = {}
    seen: set[tuple[Site, str]] = set()
    for site, request_id in due_requests(index, now, PAGE_SIZE):
        if (site, request_id) in seen:
            continue
        seen.add((site, request_id))
        batch = open_batches.setdefault(site, [])
        batch.append(request_id)
        if len(batch) >= batch_size:
            yield site, open_batches.pop(site)
    yield from open_batches.items()


def _enqueue_due(
    deps: Dependencies, now: datetime, time_left_ms: Callable[[], int], stop_margin_ms: int, summary: SweepSummary, sqs: Any, queue_url: str
) -> None:
    by_site: dict[Site, list[str]] = {}
    seen: set[tuple[Site, str]] = set()
    for n, (site, request_id) in enumerate(due_requests(_index(deps), now, PAGE_SIZE)):
        if n % PAGE_SIZE == 0 and time_left_ms() < stop_margin_ms:
            summary.stopped_early = STOPPED_TIME
            break
        if (site, request_id) not in seen:
            seen.add((site, request_id))
            by_site.setdefault(site, []).append(request_id)
    batches = [
        ReminderBatch(sweepId=summary.sweep_id or "", time=now, site=site.instance_id, ids=chunk)
        for site, ids in by_site.items()
        for chunk in even_batches(ids, BATCH_SIZE, deps.settings.reminder_worker_concurrency)
    ]
    enqueue(sqs, queue_url, batches)
    summary.due = sum(len(batch.ids) for batch in batches)
    summary.batches = len(batches)


def even_batches(ids: list[str], max_size: int, workers: int) -> list[list[str]]:
    """``ids`` in batches of at most ``max_size`` and of even sizes, as many as a multiple of ``workers`` when that
    keeps batches at ``MIN_SPLIT`` or more, so every worker has the same share to send (each holds 1/workers of the
    sending rate): 1,000 ids for 4 workers are 12 batches of 83-84, not 10 of 100 whose last two leave two workers
    idle. A few due ids stay in one batch: three Wix calls for 60 reminders or more keep a reminder's share <= 0.05."""
    if not ids:
        return []
    count = -(-len(ids) // max_size)
    spread = -(-count // workers) * workers
    if len(ids) // spread >= MIN_SPLIT:
        count = spread
    size, extra = divmod(len(ids), count)
    batches, start = [], 0
    for n in range(count):
        end = start + size + (1 if n < extra else 0)
        batches.append(ids[start:end])
        start = end
    return batches


def _send_due_here(deps: Dependencies, now: datetime, time_left_ms: Callable[[], int], stop_margin_ms: int, summary: SweepSummary) -> None:
    tally = _Tally(summary)
    scoped = _SiteScopes(deps)
    with ThreadPoolExecutor(max_workers=deps.settings.sweep_concurrency, thread_name_prefix="sweep") as pool:
        for site, ids in site_batches(_index(deps), now):
            if time_left_ms() < stop_margin_ms:
                summary.stopped_early = STOPPED_TIME
            elif tally.wix_down(site) and deps.settings.deployment_mode != "APP":
                summary.stopped_early = STOPPED_WIX_DOWN  # the deployment's one site: nothing else to do
            if summary.stopped_early:
                break
            if tally.wix_down(site):
                continue  # still due: the next run tries this site again; other sites go on
            summary.due += len(ids)
            summary.batches += 1
            for outcome in send_batch(scoped.get(site), deps, site, ids, now, pool, senders=1):
                tally.add(site, outcome)


def send_batch(
    site_deps: Dependencies | None,
    deps: Dependencies,
    site: Site,
    ids: list[str],
    now: datetime,
    pool: Executor | None = None,
    senders: int | None = None,
) -> list[Outcome]:
    """One site's batch, sent at reminder priority; a removed site's reminders are stopped instead. ``senders``:
    how many processes share the sending rates (the sweep alone: 1; the queue's workers: their concurrency)."""
    if site_deps is None:
        return [stop_for_removed_site(site, request_id, deps, now) for request_id in ids]
    outcomes = send_due_batch(ids, site_deps.in_background(senders), now, pool)
    return [outcomes[request_id] for request_id in ids]


def work_batch(deps: Dependencies, batch: ReminderBatch, now: datetime) -> list[Outcome]:
    """A reminder worker's message: one site's batch, sent on this process's share of the sending rates; the
    counts are added to the sweep's progress item."""
    site = batch.tenant
    with ThreadPoolExecutor(max_workers=deps.settings.sweep_concurrency, thread_name_prefix="reminders") as pool:
        outcomes = send_batch(for_site(deps, site), deps, site, batch.ids, now, pool)
    SweepProgress(deps.store._client, deps.settings.table_name).add(batch.sweep_id, outcome_counts(outcomes) + Counter(done=1))
    summary = outcome_counts(outcomes)
    logger.info("reminder batch finished", extra={"sweep_id": batch.sweep_id, "requests": len(batch.ids), "outcomes": dict(summary)})
    return outcomes


def _index(deps: Dependencies) -> DueIndex:
    return DueIndex(deps.store._client, deps.settings.table_name)


def due_requests(index: DueIndex, now: datetime, page_size: int) -> Iterator[tuple[Site, str]]:
    """(site, id) due by ``now``, a page from each shard in turn (so no shard starves when time runs out)."""
    cursors: dict[str, dict[str, Any] | None] = dict.fromkeys(due_shards())
    while cursors:
        for shard in list(cursors):
            due, cursors[shard] = index.due_page(shard, now, page_size, cursors[shard])
            if cursors[shard] is None:
                del cursors[shard]
            yield from due


def due_request_ids(store: PaymentRequestStore, now: datetime, page_size: int) -> Iterator[str]:
    """Ids due by ``now`` in ``store``'s site."""
    index = DueIndex(store._client, store._table_name)
    return (request_id for site, request_id in due_requests(index, now, page_size) if site == store.site)


def count_due(index: DueIndex, now: datetime) -> int:
    """How many reminders are still due: the backlog the next run starts with (failed ones included)."""
    return sum(1 for _ in due_requests(index, now, COUNT_PAGE_SIZE))


class _SiteScopes:
    """Each site's dependencies, looked up once per sweep (None: the site is no longer served)."""

    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps
        self._lock = threading.Lock()
        self._scopes: dict[Site, Dependencies | None] = {}

    def get(self, site: Site) -> Dependencies | None:
        with self._lock:
            if site not in self._scopes:
                self._scopes[site] = for_site(self._deps, site)
            return self._scopes[site]


def stop_for_removed_site(site: Site, request_id: str, deps: Dependencies, now: datetime) -> Outcome:
    """A due reminder of a site the app was removed from: its reminders stop (its data goes after retention)."""

    def stop(record: PaymentRequest) -> bool:
        if record.reminders.next_at is None:
            return False
        record.stop_reminders(SITE_REMOVED)
        record.record(now, "REMINDERS_STOPPED", detail=SITE_REMOVED)
        return True

    deps.store.for_site(site).update(request_id, stop)
    return Outcome(SKIPPED, SITE_REMOVED)


def purge_removed_sites(deps: Dependencies, now: datetime, time_left_ms: Callable[[], int], stop_margin_ms: int) -> None:
    """Delete the data of removed sites whose retention has run out, a page at a time, while time allows."""
    if deps.registry is None or deps.settings.deployment_mode != "APP":
        return
    for instance_id in deps.registry.purges_due(now):
        while time_left_ms() > stop_margin_ms:
            if deps.registry.purge_page(instance_id):
                logger.info("removed site deleted", extra={"instance_id": instance_id})
                break
