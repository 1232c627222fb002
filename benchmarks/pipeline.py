"""The reminder pipeline end to end, on its real path: the sweep, the SQS queue, four workers (the local stack's
pollers, as Lambda's event source), the Wix quota in DynamoDB, the SES rate, the sandbox counting Wix's calls.

- ``at_scale``: N due reminders for one site, Wix answering in ``latency_ms``, SES at ``ses_rate`` a second. Its
  floor is what the outside world allows at best: ``max(Wix calls needed / quota, sends / SES rate)``; the figure
  is the wall time against it, and the most Wix calls the sandbox saw in any 60 s (at most the quota).
- ``two_sites``: two sites' reminders due at once, Wix failing every call of one: the other's go out all the same.

Everything runs in one process (moto's server, the sandbox, the functions' threads), so the machine's CPU is part
of what is measured: on a loaded 2-core machine the ratio is a ceiling, not the pipeline's own cost.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from bisect import bisect_left
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from benchmarks import data, moto_fixes
from local.stack import LocalStack, StackConfig
from local.wix_sandbox import SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID
from local.wix_sandbox.formats import parse_timestamp
from local.wix_sandbox.orders import Buyer, OrderSpec, create_order

RUN_AT = data.DUE + timedelta(minutes=1)
WORKERS = 4


def _stack(tmp: Path, app_mode: bool, **parameters: str) -> LocalStack:
    moto_fixes.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server would log every request
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
        entity = _wix_request(stack, order_id, f"pipeline-{instance_id or 'site'}-{n}", instance_id)
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


def _wix_request(stack: LocalStack, order_id: str, external_id: str, instance_id: str | None) -> dict[str, Any]:
    from local.wix_sandbox.validation import NewPaymentRequest

    assert stack.sandbox is not None
    new = NewPaymentRequest(
        order_id=order_id,
        amount=Decimal("10.00"),
        title="Balance due",
        external_id=external_id,
        app_id=None,
        description=None,
        expiration_date=None,
        image=None,
        blocked_payment_methods=None,
        extended_fields=None,
    )
    return stack.sandbox.payment_requests.create(new, instance_id)


def _table() -> str:
    return os.environ["TABLE_NAME"]


def _wix_calls(stack: LocalStack) -> list[dict[str, Any]]:
    response = httpx.get(f"{stack.sandbox_url}/_sandbox/calls", timeout=60)
    response.raise_for_status()
    return [call for call in response.json()["calls"] if call.get("endpoint") != "token"]


def _max_in_60s(calls: list[dict[str, Any]]) -> int:
    times = sorted(parse_timestamp(call["at"]).timestamp() for call in calls)
    return max((bisect_left(times, start + 60.0) - index for index, start in enumerate(times)), default=0)


def _sent_reminders(stack: LocalStack) -> int:
    backend = ses_backends[DEFAULT_ACCOUNT_ID][stack.config.region]
    return sum(1 for message in list(backend.sent_messages) if message.subject.startswith("Reminder:"))


def at_scale(due: int, latency_ms: int, ses_rate: float, quota: int, log: Any) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory() as tmp,
        _stack(Path(tmp), False, SesMaxSendRate=str(ses_rate), WixRequestsPerMinute=str(quota)) as stack,
    ):
        _seed(stack, due)
        stack.sandbox.state.calls.clear()  # type: ignore[union-attr]
        _latency(stack, latency_ms)
        started = time.monotonic()
        summary = stack.sweep(RUN_AT, wait_seconds=3600)
        wall_s = time.monotonic() - started
        calls = _wix_calls(stack)
        sent = _sent_reminders(stack)
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
