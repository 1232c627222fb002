"""The reminder pipeline end to end, on its real path: the sweep, the SQS queue, four workers, the Wix quota in
DynamoDB, the SES rate, the sandbox counting Wix's calls.

- ``at_scale``: N due reminders for one site, Wix answering in ``latency_ms``, SES at ``ses_rate`` a second; the
  sweep and each of the four workers in a process of its own (as Lambda runs them; the workers poll the queue like
  its SQS event source), moto and the sandbox in this one. Its floor is what the outside world allows at best:
  ``max(Wix calls needed / quota, sends / SES rate)``; the figure is the wall time against it, and the most Wix
  calls the sandbox saw in any 60 s (at most the quota).
- ``two_sites``: two sites' reminders due at once (APP mode, the local stack in this process), Wix failing every
  call of one: the other's go out all the same.

moto serves every AWS call from this one process: on the 2-core machine its CPU, not SES's rate, bounds how fast
reminders can go, so the SES rate of the full run is set where moto keeps up with it (docs/performance.md).
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from email.parser import HeaderParser
from pathlib import Path
from typing import Any

import httpx
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from benchmarks import data, moto_fixes
from benchmarks.runner import run_child
from benchmarks.stack import REGION, BenchStack
from benchmarks.workload import Workload
from local.moto_bootstrap import queue_urls
from local.stack import LocalStack, StackConfig
from local.wix_sandbox import SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID
from local.wix_sandbox.formats import parse_timestamp
from local.wix_sandbox.orders import Buyer, OrderSpec, create_order

RUN_AT = data.DUE + timedelta(minutes=1)
WORKERS = 4


def _is_reminder(message: Any) -> bool:
    """A reminder e-mail, by the subject of the raw MIME message the product hands to SES (headers only parsed)."""
    return str(HeaderParser().parsestr(message.raw_data).get("Subject", "")).startswith("Reminder:")


def _stack(tmp: Path, app_mode: bool, **parameters: str) -> LocalStack:
    moto_fixes.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every request
    logging.getLogger("stamina").setLevel(logging.ERROR)  # the failing site's retries, each a line
    config = StackConfig(
        api_port=0,
        moto_port=0,
        sandbox_port=0,
        state_dir=tmp,
        schedule=False,
        mode="app" if app_mode else "site",
        parameters={"ReminderWorkerConcurrency": str(WORKERS), **parameters},
        function_log_level="ERROR",
    )
    return _Quiet(config)


class _Quiet(LocalStack):
    """The local stack without the sandbox's webhook pushes: the requests seeded here are not news to anyone."""

    def _start(self) -> None:
        super()._start()
        assert self.sandbox is not None
        self.sandbox.dispatcher.stop()


def _seed(stack: LocalStack, count: int, instance_id: str | None = None) -> list[str]:
    """``count`` requests at the sandbox (one order of the site) and their records, due at data.DUE, e-mail only."""
    from payment_links.tenancy import Site  # the layer is on the path once benchmarks.data is imported

    assert stack.sandbox is not None
    buyer = Buyer(email="buyer@example.com", first_name="Jane", last_name="Doe", phone=None)
    order_id = str(create_order(stack.sandbox.state, OrderSpec(balance=Decimal(10 * count + 10), buyer=buyer), instance_id)["id"])
    items, ids = [], []
    for n in range(count):
        entity = data.wix_request(stack, order_id, f"pipeline-{instance_id or 'site'}-{n}", instance_id)
        record = data.record_for(entity, due_at=data.DUE)
        record.channels, record.customer.phone = ["EMAIL"], None
        item = data.item_of(record)
        if instance_id:
            prefix = Site(instance_id).key_prefix
            item = {**item, "pk": prefix + item["pk"], "gsi1pk": prefix + item["gsi1pk"], "siteId": instance_id.lower()}
        items.append(item)
        ids.append(entity["id"])
    data.put_items(_table(), items)
    return ids


def _table() -> str:
    return os.environ["TABLE_NAME"]


def _max_in_60s(calls: list[dict[str, Any]]) -> int:
    times = sorted(parse_timestamp(call["at"]).timestamp() for call in calls)
    return max((bisect_left(times, start + 60.0) - index for index, start in enumerate(times)), default=0)


def _sent_reminders(stack: LocalStack) -> int:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][stack.config.region]
    return sum(1 for message in list(backend.sent_messages) if _is_reminder(message))


def at_scale(stack: BenchStack, due: int, latency_ms: int, ses_rate: float, log: Any) -> dict[str, Any]:
    """The sweep and ``WORKERS`` workers each in a process of its own (as Lambda runs them), moto and the sandbox in
    this one: one site's ``due`` reminders, e-mail only, sent through the queue."""
    stack.reset_aws()
    stack.reset_sandbox()
    queue_url = queue_urls(stack.deployment, stack.moto.url)["ReminderQueue"]
    table = stack.deployment.physical_names("AWS::DynamoDB::Table")["PaymentRequestsTable"]
    items = []
    for n in range(due):  # an order each, as customers' balances are: a batch's orders come in one Search Orders
        order_id = stack.add_order(balance="10.00")
        record = data.record_for(data.wix_request(stack, order_id, f"pipeline-{n}"), due_at=data.DUE)
        record.channels, record.customer.phone = ["EMAIL"], None
        items.append(data.item_of(record))
    data.put_items(table, items)
    quota = int(stack.deployment.function_environment().get("WIX_REQUESTS_PER_MINUTE", "200"))
    env = {"REMINDER_QUEUE_URL": queue_url, "SES_MAX_SEND_RATE": str(ses_rate), "REMINDER_WORKER_CONCURRENCY": str(WORKERS)}
    stack.sandbox.state.calls.clear()
    stack.set_wix_latency(latency_ms)
    try:
        started = time.time()
        sweep_job = {
            "mode": "sweep",
            "event": Workload.sweep(RUN_AT),
            "warmup_event": Workload.sweep(data.CREATED),
            "timeout_seconds": 300,
            "record": False,
        }
        summary = run_child(stack, sweep_job, timeout=600, **env)["summary"]
        worker_job = {"mode": "worker", "queue_url": queue_url, "idle_polls": 3}
        with ThreadPoolExecutor(WORKERS) as pool:
            workers = list(pool.map(lambda _n: run_child(stack, worker_job, timeout=3600, **env), range(WORKERS)))
    finally:
        stack.set_wix_latency(0)
    finished = max((w["last_done"] for w in workers if w["last_done"]), default=time.time())
    wall_s = finished - started
    calls = [call for call in stack.sandbox.state.list_calls(None, None) if call.get("endpoint") != "token"]
    sent = sum(1 for message in list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages) if _is_reminder(message))
    floor_s = max(len(calls) / (quota / 60), sent / ses_rate)
    log(f"pipeline: {sent:,} of {due:,} reminders in {wall_s:.0f} s; floor {floor_s:.0f} s; {len(calls)} Wix calls")
    return {
        "due": due,
        "sent": sent,
        "latency_ms": latency_ms,
        "ses_rate": ses_rate,
        "quota_per_minute": quota,
        "workers": WORKERS,
        "wall_s": wall_s,
        "floor_s": floor_s,
        "vs_floor": wall_s / floor_s,
        "wix_calls": len(calls),
        "wix_calls_per_reminder": len(calls) / max(sent, 1),
        "max_wix_calls_in_any_60s": _max_in_60s(calls),
        "batches": summary["batches"],
        "messages_processed": sum(w["processed"] for w in workers),
        "messages_failed": sum(w["failed"] for w in workers),
        "worker_cpu_ms_per_reminder": sum(w["cpu_ms"] for w in workers) / max(sent, 1),
        "summary": summary,
    }


def two_sites(due_per_site: int, log: Any) -> dict[str, Any]:
    """Site A's Wix answers every call 503; site B's reminders, due at the same time, go out in the same sweep."""
    with tempfile.TemporaryDirectory() as tmp, _stack(Path(tmp), True, SesMaxSendRate="1000") as stack:
        _seed(stack, due_per_site, SITE_A_INSTANCE_ID)
        healthy = set(_seed(stack, due_per_site, SITE_B_INSTANCE_ID))
        for endpoint in ("query", "url", "get"):
            fault = {"endpoint": endpoint, "status": 503, "instanceId": SITE_A_INSTANCE_ID}
            httpx.put(f"{stack.sandbox_url}/_sandbox/faults", json=fault, timeout=30).raise_for_status()
        started = time.monotonic()
        summary = stack.sweep(RUN_AT, wait_seconds=1800)
        wall_s = time.monotonic() - started
        sent = _sent_reminders(stack)
    log(f"two sites, A's Wix down: {sent} of B's {len(healthy)} sent in {wall_s:.1f} s; {summary.get('failures')}")
    return {
        "due_per_site": due_per_site,
        "healthy_sent": sent,
        "healthy_due": len(healthy),
        "failing_deferred": summary.get("failures", {}).get("WIX_UNAVAILABLE", 0),
        "wall_s": wall_s,
        "at": datetime.fromisoformat(summary["time"].replace("Z", "+00:00")).isoformat(),
    }


def _latency(stack: LocalStack, milliseconds: int) -> None:
    if milliseconds:
        fault = {"endpoint": "*", "latencyMs": milliseconds}
        httpx.put(f"{stack.sandbox_url}/_sandbox/faults", json=fault, timeout=30).raise_for_status()
