"""A backlog of due reminders worked off across several time-limited runs: none lost, none sent twice."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from payment_links.deps import get_dependencies
from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PaymentRequest, ReminderPlan
from payment_links.flows import sweep
from payment_links.flows.sweep import due_request_ids

from tests.functions.test_sweep_support import CountdownContext, at, reminder_emails, run_sweep

CREATED = at("2026-05-04T12:00:00Z")
DUE = CREATED + timedelta(days=1)
COUNT = 200
BATCH = 20  # requests per batch here (100 in a deployment), so a run's time runs out between batches
PER_RUN = 60  # what each run has time for (its context runs out after PER_RUN / BATCH looks at it)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")
    monkeypatch.setattr(sweep, "BATCH_SIZE", BATCH)


def seed_due_requests(aws, wix, count: int) -> list[str]:
    """Requests at Wix and in our table whose first reminder is due at DUE. Written as the store maps them but
    in one batch: hundreds of creates through the API would test the create function, and moto copies the whole
    table on every transaction (quadratic in the table's size)."""
    store = get_dependencies().store
    order_id = wix.add_order(balance="100000.00")
    ids = []
    with aws.table().batch_writer() as batch:
        for n in range(count):
            request_id = wix.add_request(order_id, amount="10.00")
            record = PaymentRequest(
                id=request_id,
                order_id=order_id,
                order_number="10001",
                amount="10.00",
                currency="USD",
                title="Balance due",
                created_at=CREATED,
                updated_at=CREATED,
                customer=Customer(email=f"customer-{n}@example.com", name="Jane Doe"),
                channels=["EMAIL"],
                reminders=ReminderPlan(schedule=["P1D", "P3D"], next_step=0, next_at=DUE),
                version=1,
            )
            batch.put_item(Item=store._item(record))
            ids.append(request_id)
    return ids


def test_a_backlog_of_due_reminders_is_all_sent_once_across_runs_cut_short_by_time(aws, wix):
    ids = seed_due_requests(aws, wix, COUNT)

    runs = []
    for minute in range(0, 60, 15):
        runs.append(run_sweep(DUE + timedelta(minutes=minute), CountdownContext(checks=PER_RUN // BATCH)))
        if runs[-1]["remaining"] == 0:
            break

    assert [run["stoppedEarly"] for run in runs] == ["REMAINING_TIME"] * 3 + [None]
    assert [run["sent"] for run in runs] == [PER_RUN, PER_RUN, PER_RUN, COUNT - 3 * PER_RUN]
    assert [run["remaining"] for run in runs] == [COUNT - PER_RUN, COUNT - 2 * PER_RUN, COUNT - 3 * PER_RUN, 0]
    assert sum(run["failed"] for run in runs) == 0

    sent_to = Counter(email.destinations["ToAddresses"][0] for email in reminder_emails(aws))
    assert len(sent_to) == COUNT and set(sent_to.values()) == {1}
    # Every request moved on to its next step, due on day 3 (read from the due index, not one GetItem each).
    store = get_dependencies().store
    assert sorted(due_request_ids(store, CREATED + timedelta(days=3), COUNT)) == sorted(ids)
    for request_id in ids[::20]:
        plan = store.get(request_id).reminders
        assert plan.sent == 1 and plan.next_step == 1 and plan.next_at == CREATED + timedelta(days=3)
