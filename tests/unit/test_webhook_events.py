"""What each webhook event does to a payment request, decided without AWS; and the paid event's detail."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from payment_links.domain.payment_request import PAID, UNPAID, PaymentRequest, ReminderPlan
from payment_links.flows.paid_events import paid_event_detail
from payment_links.flows.payment_request_events import APPLIED, STALE, UNCHANGED, change_for_event
from payment_links.wix.webhooks import DomainEvent

from tests.support.webhook_signing import domain_event, opr_entity

NOW = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)
EVENT_TIME = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)


def record(**changes) -> PaymentRequest:
    base = PaymentRequest(
        id="pr-1",
        order_id="order-1",
        external_id="inv-1",
        amount=Decimal("25"),
        currency="USD",
        title="Balance due",
        created_at=NOW,
        updated_at=NOW,
        reminders=ReminderPlan(enabled=True, schedule=["P1D"], next_at=NOW),
    )
    return base.model_copy(update=changes)


def event(kind: str, sequence: int | None = None, **entity) -> DomainEvent:
    return DomainEvent.model_validate(domain_event(kind, opr_entity("pr-1", **entity), sequence=sequence))


@pytest.mark.parametrize(("kind", "status"), [("paid", "PAID"), ("expired", "EXPIRED"), ("voided", "VOIDED")])
def test_a_status_event_moves_an_unpaid_request_at_the_events_time(kind, status):
    current = record()

    assert change_for_event(current, kind, event(kind), None, NOW) == (APPLIED, True)
    assert current.status == status and current.updated_at == EVENT_TIME
    assert current.reminders.next_at is None
    assert current.paid_event_pending is (status == PAID)


def test_a_terminal_request_is_never_moved_again():
    current = record()
    change_for_event(current, "paid", event("paid"), None, NOW)

    for kind in ("expired", "voided"):
        assert change_for_event(current, kind, event(kind), None, NOW) == (UNCHANGED, False)
    assert change_for_event(current, "updated", event("updated", status="UNPAID", title="Old"), None, NOW) == (UNCHANGED, False)
    assert current.status == PAID and current.title == "Balance due"
    assert [h.event for h in current.history] == ["PAID"]


def test_an_older_sequence_changes_nothing_and_a_newer_one_is_remembered():
    current = record(last_event_sequence=7)

    assert change_for_event(current, "paid", event("paid", sequence=7), None, NOW) == (STALE, False)
    assert current.status == UNPAID
    assert change_for_event(current, "updated", event("updated", sequence=8, title="Balance due"), None, NOW) == (UNCHANGED, True)
    assert current.last_event_sequence == 8


def test_the_instance_id_is_recorded_once_known():
    current = record()
    assert change_for_event(current, "created", event("created"), "inst-1", NOW) == (UNCHANGED, True)
    assert current.instance_id == "inst-1"
    assert change_for_event(current, "created", event("created"), "inst-1", NOW) == (UNCHANGED, False)


def test_a_deleted_event_marks_the_request_once():
    current = record()
    assert change_for_event(current, "deleted", event("deleted"), None, NOW) == (APPLIED, True)
    assert current.deleted_at == EVENT_TIME and current.reminders.stopped_reason == "DELETED"
    assert change_for_event(current, "deleted", event("deleted"), None, NOW) == (UNCHANGED, False)


def test_an_event_without_a_time_uses_the_current_time():
    current = record()
    bare = DomainEvent.model_validate({**domain_event("expired", opr_entity("pr-1")), "eventTime": None})
    change_for_event(current, "expired", bare, None, NOW)
    assert current.history[-1].at == NOW


def test_the_paid_event_detail_carries_what_downstream_systems_need():
    paid = record(status=PAID, paid_at=EVENT_TIME, instance_id="inst-1", amount=Decimal("25"))
    assert paid_event_detail(paid) == {
        "id": "pr-1",
        "orderId": "order-1",
        "externalId": "inv-1",
        "amount": "25.00",
        "currency": "USD",
        "paidAt": "2026-05-02T12:00:00Z",
        "instanceId": "inst-1",
    }
