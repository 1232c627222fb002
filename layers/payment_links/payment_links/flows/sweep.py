"""The reminder sweep: find the requests whose reminder is due and send them, within one invocation's time.

Due requests come from the sparse DueReminders index (only UNPAID requests with a reminder left carry a
due time), queried shard by shard in turn and page by page, never scanned: a sweep costs what is due, not
what is stored. Work runs on a bounded thread pool; the sweep stops taking new work when the Lambda's
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

from payment_links.deps import Dependencies
from payment_links.flows.reminder import FAILED, SENT, Outcome, send_due_reminder
from payment_links.store import PaymentRequestStore, due_shards

logger = Logger(child=True)

PAGE_SIZE = 100
COUNT_PAGE_SIZE = 1000
# Time kept back for the requests in flight and the summary. A sweep cut short by a timeout would still
# send nothing twice (a reminder is claimed before it is sent), but it would lose its metrics.
STOP_MARGIN_MS = 20_000
# This many systemic failures in a row (Wix unavailable, credentials refused) and the sweep stops early.
WIX_DOWN_AFTER = 10

STOPPED_TIME = "REMAINING_TIME"
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
    """Outcomes reported by the worker threads."""

    def __init__(self, summary: SweepSummary) -> None:
        self._summary = summary
        self._lock = threading.Lock()
        self.systemic_in_a_row = 0

    def add(self, outcome: Outcome) -> None:
        with self._lock:
            if outcome.result == SENT:
                self._summary.sent += 1
            elif outcome.result == FAILED:
                self._summary.failed += 1
                self._summary.failures[outcome.reason or "UNKNOWN"] += 1
            else:
                self._summary.skipped[outcome.reason or "UNKNOWN"] += 1
            self.systemic_in_a_row = self.systemic_in_a_row + 1 if outcome.systemic else 0


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
    seen: set[str] = set()
    in_flight = threading.BoundedSemaphore(deps.settings.sweep_concurrency)

    def work(request_id: str) -> None:
        try:
            tally.add(send_due_reminder(request_id, deps, now))
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=deps.settings.sweep_concurrency, thread_name_prefix="sweep") as pool:
        for request_id in due_request_ids(deps.store, now, PAGE_SIZE):
            if request_id in seen:
                continue
            in_flight.acquire()  # bounded: never more queued than the pool can work on
            if time_left_ms() < stop_margin_ms:
                summary.stopped_early = STOPPED_TIME
            elif tally.systemic_in_a_row >= WIX_DOWN_AFTER:
                summary.stopped_early = STOPPED_WIX_DOWN
            if summary.stopped_early:
                in_flight.release()
                break
            seen.add(request_id)
            summary.due += 1
            pool.submit(work, request_id)

    summary.remaining = count_due(deps.store, now)
    summary.duration_ms = int((time.monotonic() - started) * 1000)
    logger.info("reminder sweep finished", extra={"summary": summary.to_dict()})
    return summary


def due_request_ids(store: PaymentRequestStore, now: datetime, page_size: int) -> Iterator[str]:
    """Ids due by ``now``, a page from each shard in turn (so no shard starves when time runs out)."""
    cursors: dict[str, dict[str, Any] | None] = dict.fromkeys(due_shards())
    while cursors:
        for shard in list(cursors):
            ids, cursors[shard] = store.due_page(shard, now, page_size, cursors[shard])
            if cursors[shard] is None:
                del cursors[shard]
            yield from ids


def count_due(store: PaymentRequestStore, now: datetime) -> int:
    """How many reminders are still due: the backlog the next run starts with (failed ones included)."""
    return sum(1 for _ in due_request_ids(store, now, COUNT_PAGE_SIZE))
