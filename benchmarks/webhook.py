"""Webhook throughput: paid events per second through verification, state change and dedupe, in one warm process,
against the floor of one RS256 verification and one conditional DynamoDB write per event.

Each event pays a different stored request (what a busy shop's webhook sees). The floor's write goes to the
mirror table, where the same requests wait UNPAID, and applies only once (its condition is the dedupe).
"""

from __future__ import annotations

from typing import Any

from benchmarks.iotrace import signature
from benchmarks.runner import run_child
from benchmarks.stack import BenchStack
from benchmarks.workload import Workload


def run(stack: BenchStack, events: int, chunk: int, log: Any) -> dict[str, Any]:
    stack.reset_aws()
    stack.reset_sandbox()
    workload = Workload(stack)
    warmup = workload.seed(3)
    entities = workload.seed(events)
    tokens = [workload.signed(entity) for entity in entities]
    job = {
        "mode": "webhook_throughput",
        "warmup": [workload.webhook(entity)[0] for entity in warmup],
        "floor_warmup": [(workload.signed(entity), entity["id"]) for entity in warmup],
        "events": [workload.webhook_from_token(token) for token in tokens],
        "floor_events": [(token, entity["id"]) for token, entity in zip(tokens, entities, strict=True)],
        "public_key_pem": stack.public_key_pem,
        "floor_table": stack.mirror_tables[workload.table],
        "chunk": chunk,
    }
    outcome = run_child(stack, job)
    ours = outcome["events"] / outcome["handler_s"]
    floor = outcome["events"] / outcome["floor_s"]
    log(f"webhook: {ours:.0f} events/s vs floor {floor:.0f} events/s")
    return {
        "events": outcome["events"],
        "events_per_s": ours,
        "floor_events_per_s": floor,
        "ratio": floor / ours,
        "statuses": outcome["statuses"],
        "floor_refused_writes": outcome["refused"],
        "io_per_event": dict(signature(outcome["last_calls"])),
    }
