"""The reminder sweep: find the requests whose reminder is due and send them, within one invocation's time.

Due requests come from the sparse DueReminders index (only UNPAID requests with a reminder left carry a
due time), queried shard by shard in turn and page by page, never scanned: a sweep costs what is due, not
what is stored. The index is shared by every site; each due request is sent with its own site's settings, store and
Wix token, and a removed site's reminders are stopped, not sent. Removed sites whose retention ran out are deleted
first (``sites.SiteRegistry.purge_page``). Work runs on a bounded thread pool; the sweep stops taking new work when the Lambda's
remaining time runs low or Wix looks down, and leaves the rest, still due, for the next run. One request's
failure never stops the sweep (see ``flows.reminder``).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger

from payment_links.deps import Dependencies, for_site
from payment_links.domain.payment_request import PaymentRequest
from payment_links.flows.reminder import FAILED, SENT, SKIPPED, Outcome, send_due_reminder
from payment_links.store import DueIndex, PaymentRequestStore, due_shards
from payment_links.tenancy import Site

logger = Logger(child=True)

PAGE_SIZE = 100
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
) -> SweepSummary:
    """Send every reminder due at ``now`` (the scheduled event's time) that fits in this invocation."""
    started = time.monotonic()
    summary = SweepSummary(time=now)
    tally = _Tally(summary)
    seen: set[tuple[Site, str]] = set()
    in_flight = threading.BoundedSemaphore(deps.settings.sweep_concurrency)

    purge_removed_sites(deps, now, time_left_ms, stop_margin_ms)
    scoped = _SiteScopes(deps)

    def work(site: Site, request_id: str) -> None:
        try:
            site_deps = scoped.get(site)
            outcome = send_due_reminder(request_id, site_deps, now) if site_deps else stop_for_removed_site(site, request_id, deps, now)
            tally.add(site, outcome)
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=deps.settings.sweep_concurrency, thread_name_prefix="sweep") as pool:
        for site, request_id in due_requests(_index(deps), now, PAGE_SIZE):
            if (site, request_id) in seen:
                continue
            in_flight.acquire()  # bounded: never more queued than the pool can work on
            if time_left_ms() < stop_margin_ms:
                summary.stopped_early = STOPPED_TIME
            elif tally.wix_down(site) and deps.settings.deployment_mode != "APP":
                summary.stopped_early = STOPPED_WIX_DOWN  # the deployment's one site: nothing else to do
            if summary.stopped_early:
                in_flight.release()
                break
            if tally.wix_down(site):
                in_flight.release()
                continue  # still due: the next run tries this site again; other sites go on
            seen.add((site, request_id))
            summary.due += 1
            pool.submit(work, site, request_id)

    summary.remaining = count_due(_index(deps), now)
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info("reminder sweep finished", extra={"summary": summary.to_dict()})
    return summary


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
