"""The reminder sweep at scale: cost against what is due, not what is stored; throughput against the ideal.

Scaling: the same 100 due requests swept from a table that holds only them and from one that also holds
99,900 others (half paid, half with a reminder due later, so they sit in the DueReminders index too). Runs
alternate between the tables; the due items are written back before each run. The limiter is off here: it
would make both runs as slow as Wix's quota, which is not what this compares.

Throughput: 10,000 due with every Wix call held 50 ms by the sandbox; the ideal is ``concurrency / latency``
Wix calls per second. Then the same with the client-side limiter on, for a little over a minute, to read the
most requests any 60-second window saw.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from benchmarks import data, stats
from benchmarks.runner import run_child
from benchmarks.stack import BenchStack
from benchmarks.workload import Workload

RUN_AT = data.DUE + timedelta(minutes=1)
LIMITER_WINDOW_S = 60.0
STOP_MARGIN_S = 20.0  # flows.sweep.STOP_MARGIN_MS: a sweep stops taking work with this much time left


def _due_requests(stack: BenchStack, count: int) -> list[dict[str, Any]]:
    order_id = stack.add_order(balance=str(10 * count + 10))
    return [data.wix_request(stack, order_id, f"bench-due-{n}") for n in range(count)]


def _due_items(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [data.item_of(data.record_for(entity, due_at=data.DUE)) for entity in entities]


def _filler(count: int) -> Any:
    for n in range(count):
        paid = n % 2 == 0
        later = data.DUE + timedelta(days=2 + n % 5)
        yield data.item_of(data.synthetic_record(n, due_at=None if paid else later, status="PAID" if paid else "UNPAID"))


def _sweep(stack: BenchStack, table: str, timeout_s: float, mirror: str | None = None, record: bool = True, **env: str) -> dict[str, Any]:
    """One sweep in a fresh process. ``record``: keep its calls (which costs the process memory: off where its
    peak RSS is the figure); ``mirror``: then replay them against that table, the sweep's floor."""
    job = {
        "mode": "sweep",
        "event": Workload.sweep(RUN_AT),
        "warmup_event": Workload.sweep(data.CREATED),  # nothing due yet: builds the clients, untimed
        "timeout_seconds": timeout_s,
        "record": record,
        "mirror": {table: mirror} if mirror else None,
    }
    # The floor replays as many calls as the sweep made, so the child may take twice the sweep's time. The sweep
    # sends in its own invocation here (no queue): the workers run the same batch code (flows.sweep.send_batch).
    env = {"REMINDER_QUEUE_URL": "", "SES_MAX_SEND_RATE": "10000", "SMS_MAX_SEND_RATE": "10000", **env}
    return run_child(stack, job, timeout=2 * timeout_s + 180, TABLE_NAME=table, **env)


def scaling(stack: BenchStack, stored: int, due: int, repeats: int, log: Any) -> dict[str, Any]:
    stack.reset_aws()
    stack.reset_sandbox()
    big, small = "bench-sweep-big", "bench-sweep-small"
    for table in (big, small):
        data.create_table(stack, table)
    entities = _due_requests(stack, due)
    data.put_items(big, _filler(stored - due))
    durations: dict[str, list[float]] = {big: [], small: []}
    calls: dict[str, Any] = {}
    for attempt in range(repeats):
        for table in (big, small) if attempt % 2 == 0 else (small, big):
            data.put_items(table, _due_items(entities))
            result = _sweep(stack, table, 300, WIX_REQUESTS_PER_MINUTE="0")
            if result["summary"]["sent"] != due:
                raise RuntimeError(f"sweep of {table} sent {result['summary']['sent']} of {due}: {result['summary']}")
            durations[table].append(result["duration_ms"])
            calls[table] = result["calls"]
        log(f"sweep {due} due: {durations[big][-1]:.0f} ms with {stored:,} stored vs {durations[small][-1]:.0f} ms with {due}")
    return {
        "stored": stored,
        "due": due,
        "big_ms": stats.summary(durations[big]),
        "small_ms": stats.summary(durations[small]),
        "ratio": stats.summary(stats.ratios(durations[big], durations[small])),
        "io_big": calls[big],
        "io_small": calls[small],
        "scans": sum(count for table in calls.values() for kind, count in table.items() if kind.endswith(".Scan")),
    }


def throughput(stack: BenchStack, due: int, latency_ms: int, limiter_seconds: float, log: Any) -> dict[str, Any]:
    stack.reset_aws()
    stack.reset_sandbox()
    table, mirror = "bench-sweep-load", "bench-sweep-load-floor"
    entities = _due_requests(stack, due)
    for name in (table, mirror):
        data.create_table(stack, name)
        data.put_items(name, _due_items(entities))
    concurrency = int(stack.environment()["SWEEP_CONCURRENCY"])
    stack.set_wix_latency(latency_ms)
    try:
        free = _sweep(stack, table, 300, mirror, WIX_REQUESTS_PER_MINUTE="0")
        data.put_items(table, _due_items(entities))  # due again, for the limited run
        quota = int(stack.deployment.function_environment().get("WIX_REQUESTS_PER_MINUTE", "200"))
        limited = _sweep(stack, table, limiter_seconds + STOP_MARGIN_S, record=False, WIX_REQUESTS_PER_MINUTE=str(quota))
    finally:
        stack.set_wix_latency(0)
    ideal = concurrency / (latency_ms / 1000)
    sent_at = free["wix_sent_at"]
    achieved = len(sent_at) / (free["duration_ms"] / 1000)
    windows = _window_rates(sent_at, parts=10)
    floor = len(sent_at) / (free["floor_ms"] / 1000)
    sent = max(free["summary"]["sent"], 1)
    log(f"sweep {free['summary']['sent']} reminders: {achieved:.0f} Wix calls/s; floor {floor:.0f}/s; ideal {ideal:.0f}/s")
    limited_at = limited["wix_sent_at"]
    return {
        "due": due,
        "latency_ms": latency_ms,
        "concurrency": concurrency,
        "sent": free["summary"]["sent"],
        "stopped_early": free["summary"]["stoppedEarly"],
        "duration_ms": free["duration_ms"],
        "wix_calls": len(sent_at),
        # Before the batches (2 Wix calls a reminder: Get + Get URL) this was 2.0; the goal is <= 0.05.
        "wix_calls_per_reminder": len(sent_at) / sent,
        "reminders_per_s": sent / (free["duration_ms"] / 1000),
        "floor_reminders_per_s": sent / (free["floor_ms"] / 1000),
        "calls_per_s": achieved,
        "ideal_calls_per_s": ideal,
        "efficiency": achieved / ideal,
        "floor_calls_per_s": floor,
        "floor_efficiency": floor / ideal,
        "vs_floor": achieved / floor,
        "cpu_ms_per_reminder": free["cpu_ms"] / sent,
        "floor_cpu_ms_per_reminder": free["floor_cpu_ms"] / sent,
        "peak_rss_mb": limited["peak_rss_mb"],  # the run that kept no record of its calls
        "window_calls_per_s": stats.summary(windows),
        "io": free["calls"],
        "limiter": {
            "quota_per_minute": quota,
            "ran_s": limited["duration_ms"] / 1000,
            "wix_calls": len(limited_at),
            "sent": limited["summary"]["sent"],
            "max_in_any_60s": _max_in_window(limited_at, LIMITER_WINDOW_S),
            "steady_calls_per_s": _steady_rate(limited_at),
        },
    }


def _window_rates(times: list[float], parts: int) -> list[float]:
    """Calls per second over consecutive slices of the run (its spread, as one long sweep is run once)."""
    if len(times) < 2 * parts:
        return [len(times) / max(times[-1] - times[0], 1e-9)] if len(times) > 1 else []
    size = len(times) // parts
    return [size / max(times[(i + 1) * size - 1] - times[i * size], 1e-9) for i in range(parts)]


def _max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _steady_rate(times: list[float]) -> float:
    """Calls per second once the initial burst is spent (the second half of the run)."""
    half = times[len(times) // 2 :]
    return (len(half) - 1) / (half[-1] - half[0]) if len(half) > 2 and half[-1] > half[0] else 0.0
