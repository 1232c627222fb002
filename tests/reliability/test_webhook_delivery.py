"""Wix's delivery at its worst: every event kind 1-5 times, shuffled, in parallel, with crashes mid-flight.

A crash is the webhook function dying after its state write and before its EventBridge put (raised from the
client.s ``before-parameter-build`` hook as a ``BaseException``, so no cleanup of ours runs, as when Lambda is killed).
Wix got no answer, so it delivers again later: the next round runs two minutes on, past the publishing lease.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from payment_links.deps import get_dependencies
from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PaymentRequest, ReminderPlan

from tests.reliability import figures
from tests.reliability.harness import Cloud, Containers, WixSandbox
from tests.support.lambda_runtime import api_event
from tests.support.webhook_signing import opr_entity, signed_event

pytestmark = pytest.mark.slow

SEED = 20260507
ROUNDS = 6
CREATED = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)

# Per scenario: the events Wix sends, in the order they happened (kind, status of the entity, title), the
# final state Wix shows, and whether our store knew the request before its first event.
SCENARIOS: dict[str, dict[str, Any]] = {
    "paid": {"events": [("created", "UNPAID", "T1"), ("updated", "UNPAID", "T2"), ("paid", "PAID", "T2")], "wix": "PAID"},
    "expired": {"events": [("created", "UNPAID", "T1"), ("expired", "EXPIRED", "T1")], "wix": "EXPIRED"},
    "voided": {"events": [("created", "UNPAID", "T1"), ("voided", "VOIDED", "T1")], "wix": "VOIDED"},
    # entityEventSequence is optional in Wix's events: without it only the event ids and the lifecycle protect us.
    "paid-without-sequence": {"events": [("created", "UNPAID", "T1"), ("paid", "PAID", "T1")], "wix": "PAID", "no_sequence": True},
    "updated-twice": {"events": [("created", "UNPAID", "T1"), ("updated", "UNPAID", "T2"), ("updated", "UNPAID", "T3")], "wix": "UNPAID"},
    "deleted": {"events": [("created", "UNPAID", "T1"), ("deleted", "UNPAID", "T1")], "wix": "UNPAID"},
    "external-paid": {"events": [("created", "UNPAID", "T1"), ("paid", "PAID", "T1")], "wix": "PAID", "external": True},
}
FINAL = {
    "paid": "PAID",
    "expired": "EXPIRED",
    "voided": "VOIDED",
    "paid-without-sequence": "PAID",
    "updated-twice": "UNPAID",
    "deleted": "UNPAID",
    "external-paid": "PAID",
}
PER_SCENARIO = 4


class Crash(BaseException):
    """The Lambda runtime killing the invocation: not an Exception, so nothing of ours catches it."""


@dataclass(frozen=True)
class Delivery:
    request_id: str
    event_id: str
    body: str


def _store_record(request_id: str, order_id: str) -> None:
    record = PaymentRequest(
        id=request_id,
        order_id=order_id,
        external_id=f"ext-{request_id}",
        amount="10.00",
        currency="USD",
        title="T1",
        created_at=CREATED,
        updated_at=CREATED,
        customer=Customer(email="jane@example.com"),
        channels=["EMAIL"],
        reminders=ReminderPlan(schedule=["P1D"], next_at=CREATED + timedelta(days=1)),
    )
    record.record(CREATED, "CREATED")
    get_dependencies().store.create(record)


def _set_wix_state(sandbox: WixSandbox, request_id: str, status: str) -> None:
    {"PAID": sandbox.pay, "EXPIRED": sandbox.expire, "VOIDED": sandbox.void}.get(status, lambda _id: None)(request_id)


def _deliveries(scenarios: dict[str, str], order_id: str, rng: random.Random) -> list[Delivery]:
    """Every event of every request, each 1-5 times, all shuffled together."""
    out = []
    for request_id, scenario in scenarios.items():
        for sequence, (kind, status, title) in enumerate(SCENARIOS[scenario]["events"], start=1):
            event_id = f"{request_id}-{sequence}"
            entity = opr_entity(request_id, order_id=order_id, status=status, amount="10.00", title=title, external_id=f"ext-{request_id}")
            event_time = (CREATED + timedelta(hours=sequence)).isoformat().replace("+00:00", "Z")
            numbered = None if SCENARIOS[scenario].get("no_sequence") else sequence
            body = signed_event(kind, entity, event_id=event_id, sequence=numbered, event_time=event_time, expires_in=6 * 3600)
            out += [Delivery(request_id, event_id, body)] * rng.randint(1, 5)
    rng.shuffle(out)
    return out


def test_shuffled_duplicated_crashing_deliveries_end_in_the_right_state_with_one_paid_event_each(cloud: Cloud, sandbox: WixSandbox) -> None:
    rng = random.Random(SEED)
    # The first put of each paid event crashes the invocation that made it (hooked before any client exists).
    crashed: set[str] = set()
    crash_lock = threading.Lock()

    def crash_first_put(params: dict[str, Any], **_kwargs: Any) -> None:
        request_id = json.loads(params["Entries"][0]["Detail"])["id"]
        with crash_lock:
            if request_id in crashed:
                return
            crashed.add(request_id)
        raise Crash(f"killed before putting PaymentRequestPaid for {request_id}")

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.eventbridge.PutEvents", crash_first_put)

    order_id = sandbox.create_order(balance="10000.00")
    scenarios: dict[str, str] = {}
    for scenario, spec in SCENARIOS.items():
        for _ in range(PER_SCENARIO):
            request_id = sandbox.create_request(order_id, amount="10.00")
            if not spec.get("external"):
                _store_record(request_id, order_id)
            _set_wix_state(sandbox, request_id, spec["wix"])
            scenarios[request_id] = scenario

    webhooks = Containers("webhook", 6)
    outcomes: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    pending = _deliveries(scenarios, order_id, rng)
    delivered = len(pending)

    def deliver(delivery: Delivery) -> Delivery | None:
        event = api_event("POST", "/webhooks/wix", raw_body=delivery.body, headers={"Content-Type": "text/plain"})
        try:
            status, body, _ = webhooks.call(event)
        except Crash:
            return delivery  # no answer: Wix delivers it again later
        statuses[status] += 1
        if status == 200:
            outcomes[body["outcome"]] += 1
            return None
        return delivery  # a 5xx is redelivered too (and counted against us below)

    for round_number in range(ROUNDS):
        if not pending:
            break
        with time_machine.travel(datetime.now(UTC) + timedelta(minutes=2 * round_number), tick=True), ThreadPoolExecutor(6) as pool:
            pending = [d for d in pool.map(deliver, pending) if d is not None]
        delivered += len(pending)

    store = get_dependencies().store
    paid_events = Counter(event["detail"]["id"] for event in cloud.paid_events())
    server_errors = sum(count for status, count in statuses.items() if status >= 500)
    figures.add(
        "webhook delivery",
        deliveries=delivered,
        crashes=len(crashed),
        duplicates_absorbed=outcomes["duplicate"],
        paid_event_duplicates=sum(count - 1 for count in paid_events.values()),
        server_errors=server_errors,
    )
    assert pending == [], f"{len(pending)} deliveries never answered 200"
    assert server_errors == 0 and set(statuses) == {200}, statuses
    assert crashed, "no crash was injected: the test proves nothing"

    for request_id, scenario in scenarios.items():
        record = store.get(request_id)
        assert record is not None, scenario
        assert record.status == FINAL[scenario], (scenario, record.status)
        assert not record.paid_event_pending, (scenario, [(h.event, h.detail) for h in record.history])
        history = [(h.at, h.event, h.detail) for h in record.history]
        assert len(history) == len(set(history)), (scenario, history)
        assert sum(1 for _, event, _ in history if event in ("PAID", "EXPIRED", "VOIDED")) <= 1, (scenario, history)
        if scenario == "updated-twice":
            assert record.title == "T3"
        if scenario == "deleted":
            assert record.deleted_at is not None and record.reminders.next_at is None
    paid_ids = {request_id for request_id, scenario in scenarios.items() if FINAL[scenario] == "PAID"}
    assert paid_events == dict.fromkeys(paid_ids, 1)


def test_one_paid_event_delivered_six_times_at_once_is_put_once_while_the_bus_is_slow(cloud: Cloud, sandbox: WixSandbox) -> None:
    """Every duplicate finds the outbox flag set and tries to publish while the first put is still in flight:
    only the lease keeps them from putting too."""
    slow_puts: list[str] = []

    def slow_bus(params: dict[str, Any], **_kwargs: Any) -> None:
        slow_puts.append(json.loads(params["Entries"][0]["Detail"])["id"])
        time.sleep(0.5)

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-parameter-build.eventbridge.PutEvents", slow_bus)
    order_id = sandbox.create_order(balance="100.00")
    request_id = sandbox.create_request(order_id, amount="10.00")
    _store_record(request_id, order_id)
    sandbox.pay(request_id)
    entity = opr_entity(request_id, order_id=order_id, status="PAID", amount="10.00", title="T1", external_id=f"ext-{request_id}")
    body = signed_event("paid", entity, event_id=f"{request_id}-paid", sequence=2)
    event = api_event("POST", "/webhooks/wix", raw_body=body, headers={"Content-Type": "text/plain"})
    webhooks = Containers("webhook", 6)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: webhooks.call(event), range(6)))

    assert [status for status, _, _ in answers] == [200] * 6
    assert sorted(body["outcome"] for _, body, _ in answers) == ["applied"] + ["duplicate"] * 5
    assert slow_puts == [request_id]
    assert [event["detail"]["id"] for event in cloud.paid_events()] == [request_id]
    record = get_dependencies().store.get(request_id)
    assert record is not None and record.status == "PAID" and not record.paid_event_pending
