"""Cold init: a fresh interpreter importing a function's handler and serving its first event, against its floor.

Each repetition runs the function in a new process, then its floor in another: the floor imports only what
the function truly needs (``floors.FLOOR_PACKAGES``) and sends the very calls the function's first event sent,
with clients it creates itself (client creation is part of every cold start). Runs alternate, so load on the
machine falls on both alike; the figure is the median of the paired ratios.
"""

from __future__ import annotations

from typing import Any

from benchmarks import layer, stats
from benchmarks.floors import FLOOR_PACKAGES
from benchmarks.iotrace import retarget_tables, signature
from benchmarks.runner import run_child
from benchmarks.stack import BenchStack
from benchmarks.workload import Workload


def first_event(workload: Workload, function: str) -> tuple[dict[str, Any], Any]:
    """The first event a cold function serves: its main route, on a request of its own."""
    if function == "create":
        return workload.create(), None
    (entity,) = workload.seed(1)
    if function == "resend":
        return workload.resend(entity), None
    return workload.webhook(entity)


def run(stack: BenchStack, functions: list[str], repeats: int, log: Any) -> dict[str, Any]:
    stack.reset_aws()
    workload = Workload(stack)
    results: dict[str, Any] = {}
    runtime = {module for module, owner in layer.module_owners().items() if owner in layer.runtime_distributions()}
    layer_modules = sorted(set(layer.module_owners()) - runtime | {"payment_links"})
    for function in functions:
        ours: dict[str, list[float]] = {"import_ms": [], "first_ms": [], "total_ms": [], "cpu_ms": [], "process_ms": []}
        floor: dict[str, list[float]] = {key: [] for key in ours}
        import_cpu: list[float] = []
        compile_ms: list[float] = []
        calls: Any = None
        statuses, modules_at_init, refused = set(), [], 0
        if repeats > 1:  # unmeasured: writes any missing bytecode and warms the file cache for the runs after it
            prime = {"mode": "cold", "function": function, "event": first_event(workload, function)[0]}
            run_child(stack, prime, RESEND_COOLDOWN_SECONDS="0")
        for attempt in range(repeats):
            if repeats > 1:
                # Both runs of a pair find the files in the page cache: the floor imports a subset of the handler's
                # modules, so whichever ran first would otherwise read them from disk for the other.
                run_child(stack, {"mode": "load_files", "function": function})
            event, extra = first_event(workload, function)
            job = {"mode": "cold", "function": function, "event": event, "layer_modules": layer_modules}
            mine = run_child(stack, job, RESEND_COOLDOWN_SECONDS="0")
            statuses.add(mine["status"])
            import_cpu.append(mine["import_cpu_ms"])
            compile_ms.append(mine["compile_ms"])
            modules_at_init = mine["modules_at_init"]
            calls = mine["calls"]
            theirs = run_child(
                stack,
                {"mode": "cold_floor", "function": function, "calls": retarget_tables(calls, stack.mirror_tables), "extra": extra},
            )
            refused += theirs["refused"]
            for sample, result in ((ours, mine), (floor, theirs)):
                sample["import_ms"].append(result["import_ms"])
                sample["first_ms"].append(result["first_ms"])
                sample["total_ms"].append(result["import_ms"] + result["first_ms"])
                sample["cpu_ms"].append(result["cpu_ms"])
                sample["process_ms"].append(result["process_ms"])
            log(f"cold {function} #{attempt + 1}: {ours['total_ms'][-1]:.0f} ms vs floor {floor['total_ms'][-1]:.0f} ms")
        paired = stats.ratios(ours["total_ms"], floor["total_ms"])
        results[function] = {
            "ours": {key: stats.summary(values) for key, values in ours.items()},
            "floor": {key: stats.summary(values) for key, values in floor.items()},
            "ratio": stats.summary(paired),
            "import_ratio": stats.summary(stats.ratios(ours["import_ms"], floor["import_ms"])),
            "cpu_ratio": stats.summary(stats.ratios(ours["cpu_ms"], floor["cpu_ms"])),
            "import_cpu_ms": stats.summary(import_cpu),
            "compile_without_bytecode_ms": stats.summary(compile_ms),
            "statuses": sorted(statuses),
            "io": dict(signature(calls or [])),
            "floor_refused_writes": refused,
            "floor_packages": FLOOR_PACKAGES[function],
            "modules_at_init": modules_at_init,
        }
    return results
