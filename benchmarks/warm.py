"""Warm latency per route, through the handler, against the floor of the same I/O sent directly.

One process per function (as on Lambda): a warm-up serves every route of the function (the timed ones and the
rest, so the process holds everything the function ever imports), then each timed event goes through the
handler and, right after, its recorded calls are sent again with plain boto3/httpx to the mirror tables. The
peak RSS of the process after the warm-up is the function's memory figure.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from benchmarks import stats
from benchmarks.data import CREATED
from benchmarks.iotrace import signature
from benchmarks.runner import run_child
from benchmarks.stack import BenchStack
from benchmarks.workload import Workload
from tests.support.lambda_runtime import api_event

ROUTES = {"create": ("create", "get"), "resend": ("resend", "click"), "webhook": ("webhook",), "sites": ("stats 90 days",)}
STATS_LAST = date(2026, 5, 31)  # the seeded 90 days end here


def _warmup(workload: Workload, function: str, count: int) -> list[dict[str, Any]]:
    """Every route of the function, each ``count`` times; untimed."""
    entities = workload.seed(3 * count + 2)
    events: list[dict[str, Any]] = []
    if function == "create":
        for entity in entities[:count]:
            events += [workload.create(), workload.get(entity), workload.list_by_order(entity)]
        events.append(workload.void(entities[-1]))
    elif function == "resend":
        events += [workload.resend(entity) for entity in entities[:count]]
        events += [workload.lost_link(entities[-1]), workload.unsubscribe_page(), workload.sweep(CREATED)]
        events += [workload.click(entity) for entity in entities[count : 2 * count]]
    elif function == "sites":
        workload.seed_stats(90, STATS_LAST)
        events += [workload.stats(STATS_LAST - timedelta(days=6), STATS_LAST) for _ in range(count)]
        events.append(api_event("GET", "/settings"))
    else:
        events += [workload.webhook(entity)[0] for entity in entities[:count]]
        events += [workload.webhook(entity, "expired")[0] for entity in entities[count : 2 * count]]
        unknown = {**entities[-1], "id": "00000000-0000-4000-8000-00000000beef"}  # never stored: adopted from Wix
        events.append(workload.webhook(unknown, "updated")[0])
    return events


def _timed(workload: Workload, function: str, iterations: int) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    routes: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    for route in ROUTES[function]:
        if route == "create":
            routes[route] = [(workload.create(), None) for _ in range(iterations)]
        elif route == "stats 90 days":
            routes[route] = [(workload.stats(STATS_LAST - timedelta(days=89), STATS_LAST), None) for _ in range(iterations)]
        elif route == "webhook":
            routes[route] = [workload.webhook(entity) for entity in workload.seed(iterations)]
        else:
            build = {"get": workload.get, "resend": workload.resend, "click": workload.click}[route]
            routes[route] = [(build(entity), None) for entity in workload.seed(iterations)]
    return routes


def run(stack: BenchStack, functions: list[str], iterations: int, warmup: int, log: Any) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for function in functions:
        stack.reset_aws()  # small tables: moto copies a whole table on every transaction
        stack.reset_sandbox()
        workload = Workload(stack)
        job = {
            "mode": "warm",
            "function": function,
            "warmup": _warmup(workload, function, warmup),
            "routes": _timed(workload, function, iterations),
            "mirror": stack.mirror_tables,
        }
        # The client-side Wix limiter is off: these requests come faster than Wix's 200 a minute, so with it on
        # they would measure the quota (the sweep section measures the limiter).
        outcome = run_child(stack, job, RESEND_COOLDOWN_SECONDS="0", WIX_REQUESTS_PER_MINUTE="0")
        routes = {}
        for route, sample in outcome["routes"].items():
            paired = stats.ratios(sample["handler_ms"], sample["floor_ms"])
            routes[route] = {
                "ours": stats.summary(sample["handler_ms"]),
                "floor": stats.summary(sample["floor_ms"]),
                "ours_cpu": stats.summary(sample["handler_cpu_ms"]),
                "p50_ratio": stats.summary(sample["handler_ms"])["median"] / stats.summary(sample["floor_ms"])["median"],
                "paired_ratio": stats.summary(paired),
                "statuses": sample["statuses"],
                "io": dict(signature(sample["calls"])),
            }
            log(
                f"warm {route}: p50 {routes[route]['ours']['median']:.1f} ms vs floor {routes[route]['floor']['median']:.1f} ms"
                f" ({routes[route]['p50_ratio']:.2f}x)"
            )
        results[function] = {
            "routes": routes,
            "peak_rss_mb": outcome["peak_rss_mb"],
            "peak_rss_with_floor_mb": outcome["peak_rss_with_floor_mb"],
            "modules": outcome["modules"],
            "floor_refused_writes": outcome["refused"],
        }
    return results
