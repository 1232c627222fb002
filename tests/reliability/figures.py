"""The figures the reliability report quotes, counted by the suites as they run.

Each suite adds what it tried and what it saw (cases, faults injected, duplicates, 5xx answers); the totals are
printed at the end of the run, kept in pytest's cache under ``reliability/figures`` and written to
``RELIABILITY_FIGURES_FILE`` when it is set, for docs/reliability.md. Also a pytest plugin (``tests/conftest.py``):
under pytest-xdist each worker counts its own share and the controller adds them up.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

_lock = threading.Lock()
_figures: defaultdict[str, Counter[str]] = defaultdict(Counter)


def add(suite: str, **counts: int) -> None:
    with _lock:
        _figures[suite].update(counts)


def snapshot() -> dict[str, dict[str, int]]:
    with _lock:
        return {suite: dict(sorted(counts.items())) for suite, counts in sorted(_figures.items())}


WORKER_OUTPUT_KEY = "reliability_figures"


def merge(numbers: dict[str, dict[str, int]]) -> None:
    for suite, counts in numbers.items():
        add(suite, **counts)


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker_output = getattr(session.config, "workeroutput", None)
    if worker_output is not None:  # a pytest-xdist worker: hand the counts to the controller
        worker_output[WORKER_OUTPUT_KEY] = snapshot()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    merge(getattr(node, "workeroutput", {}).get(WORKER_OUTPUT_KEY, {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    numbers = snapshot()
    if not numbers or hasattr(config, "workeroutput"):
        return
    cache = getattr(config, "cache", None)  # absent with -p no:cacheprovider
    if cache is not None:
        cache.set("reliability/figures", numbers)
    terminalreporter.write_sep("-", "reliability figures (this run)")
    for suite, counts in numbers.items():
        terminalreporter.write_line(f"{suite}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
    out = os.environ.get("RELIABILITY_FIGURES_FILE")
    if out:
        Path(out).write_text(json.dumps(numbers, indent=2) + "\n")
