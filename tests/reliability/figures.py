"""The figures the reliability report quotes, counted by the suites as they run.

Each suite adds what it tried and what it saw (cases, faults injected, duplicates, 5xx answers); the totals are
printed at the end of the run and kept in pytest's cache under ``reliability/figures`` for docs/reliability.md.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict

_lock = threading.Lock()
_figures: defaultdict[str, Counter[str]] = defaultdict(Counter)


def add(suite: str, **counts: int) -> None:
    with _lock:
        _figures[suite].update(counts)


def snapshot() -> dict[str, dict[str, int]]:
    with _lock:
        return {suite: dict(sorted(counts.items())) for suite, counts in sorted(_figures.items())}
