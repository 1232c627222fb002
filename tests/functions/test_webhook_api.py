"""The webhook function applying verified Wix events, through API Gateway events, against moto and Wix
mocked at HTTP. Also the helpers the other webhook test modules use: a stored request, the bus as a queue,
posting a body."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from payment_links import aws as aws_clients
from payment_links.config import get_settings
from payment_links.domain.payment_request import ORIGIN_EXTERNAL, PaymentRequest, ReminderPlan, apply_status
from payment_links.domain.reminders import schedule_next
from payment_links.flows.paid_events import publish_pending_paid_event
from payment_links.secrets import clear_secret_cache
from payment_links.store import PaymentRequestStore

from tests.support.aws_env import moto_client
from tests.support.fake_wix import wix_error
from tests.support.lambda_runtime import api_event, invoke, load_function
from tests.support.webhook_signing import claims_for, default_keys, domain_event, envelope, opr_entity, sign, signed_event

webhook_app = load_function("webhook")


def post(body: str | bytes, base64_encoded: bool = False) -> tuple[int, Any, dict[str, str]]:
    event = api_event("POST", "/webhooks/wix", raw_body=body, base64_encoded=base64_encoded, headers={"Content-Type": "text/plain"})
    return invoke(webhook_app, event)


def store() -> PaymentRequestStore:
    settings = get_settings()
    return PaymentRequestStore(aws_clients.client("dynamodb"), settings.table_name, settings.terminal_record_ttl_days)


def stored_request(wix: Any, *, external_id: str = "inv-1", amount: str = "25.00") -> PaymentRequest:
    """An UNPAID request created through the product: at Wix and in our table, reminders scheduled."""
    order_id = wix.add_order(balance="40.00")
    request_id = wix.add_request(order_id, amount=amount, external_id=external_id)
    now = datetime.now(UTC)
    record = PaymentRequest(
        id=request_id,
        order_id=order_id,
        external_id=external_id,
        amount=Decimal(amount),
        currency="USD",
        title="Balance due",
        url=wix.url_for(request_id),
        created_at=now,
        updated_at=now,
        channels=["EMAIL"],
        reminders=ReminderPlan(enabled=True, schedule=["P1D", "P3D"]),
    )
    record.customer.email = "jane@example.com"
    record.record(now, "CREATED")
    schedule_next(record, get_settings(), now, first_step=0)
    return store().create(record)


def table_items(aws: Any) -> list[dict[str, Any]]:
    return aws.state_items()


def set_webhook_keys(secret_text: str) -> None:
    moto_client("secretsmanager").put_secret_value(SecretId=os.environ["WIX_WEBHOOK_KEYS_SECRET"], SecretString=secret_text)
    clear_secret_cache()


class Bus:
    """The product's bus with a rule that copies every event of ours into a queue the test can read."""

    def __init__(self) -> None:
        sqs = moto_client("sqs")
        self.queue_url = sqs.create_queue(QueueName="paid-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = moto_client("events")
        bus = os.environ["EVENT_BUS_NAME"]
        events.put_rule(Name="all-ours", EventBusName=bus, EventPattern=json.dumps({"source": ["payment-links"]}))
        events.put_targets(Rule="all-ours", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
        self._sqs = sqs
        self.received: list[dict[str, Any]] = []

    def events(self) -> list[dict[str, Any]]:
        """Every event put so far (accumulated across calls)."""
        while True:
            messages = self._sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return self.received
            for message in messages:
                self.received.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def bus(aws: Any) -> Bus:
    return Bus()


def test_paid_event_moves_the_request_to_paid_stops_reminders_and_puts_one_paid_event(aws, wix, bus):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")  # the customer paid: Wix confirms what its event says
    assert "dueShard" in aws.table().get_item(Key={"pk": f"PR#{record.id}", "sk": "REQUEST"})["Item"]

    status, body, _ = post(
        signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), event_time="2026-05-02T12:00:00.000Z")
    )

    assert (status, body) == (200, {"received": True, "outcome": "applied"})
    stored = store().get(record.id)
    assert stored.status == "PAID" and stored.paid_at == datetime(2026, 5, 2, 12, tzinfo=UTC)
    assert [(h.event, h.detail) for h in stored.history] == [("CREATED", None), ("PAID", "webhook")]
    assert stored.reminders.next_at is None and stored.paid_event_pending is False
    item = aws.table().get_item(Key={"pk": f"PR#{record.id}", "sk": "REQUEST"})["Item"]
    assert "dueShard" not in item and "dueAt" not in item
    [event] = bus.events()
    assert (event["source"], event["detail-type"]) == ("payment-links", "PaymentRequestPaid")
    assert event["detail"] == {
        "id": record.id,
        "orderId": record.order_id,
        "externalId": "inv-1",
        "amount": "25.00",
        "currency": "USD",
        "paidAt": "2026-05-02T12:00:00Z",
        "instanceId": "test-instance",
    }


@pytest.mark.parametrize(("kind", "status"), [("expired", "EXPIRED"), ("voided", "VOIDED")])
def test_expired_and_voided_events_move_the_request_with_their_time_and_put_no_paid_event(aws, wix, bus, kind, status):
    record = stored_request(wix)
    wix.set_status(record.id, status)

    code, body, _ = post(signed_event(kind, opr_entity(record.id, record.order_id, status=status), event_time="2026-05-03T08:30:00.000Z"))

    assert code == 200 and body["outcome"] == "applied"
    stored = store().get(record.id)
    assert stored.status == status and stored.paid_at is None
    assert stored.history[-1].event == status and stored.history[-1].at == datetime(2026, 5, 3, 8, 30, tzinfo=UTC)
    assert stored.reminders.next_at is None and stored.reminders.stopped_reason == status
    assert bus.events() == []


def test_updated_event_refreshes_title_and_description(aws, wix):
    record = stored_request(wix)

    code, body, _ = post(signed_event("updated", opr_entity(record.id, record.order_id, title="Final balance", description="Due Friday")))

    assert code == 200 and body["outcome"] == "applied"
    stored = store().get(record.id)
    assert (stored.title, stored.description, stored.status) == ("Final balance", "Due Friday", "UNPAID")
    assert (stored.history[-1].event, stored.history[-1].detail) == ("UPDATED", "title,description")
    assert stored.reminders.next_at is not None  # still UNPAID: reminders go on


def test_updated_event_with_a_terminal_status_applies_that_status(aws, wix, bus):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")

    code, body, _ = post(signed_event("updated", opr_entity(record.id, record.order_id, status="PAID")))

    assert code == 200 and body["outcome"] == "applied"
    assert store().get(record.id).status == "PAID"
    assert [e["detail"]["id"] for e in bus.events()] == [record.id]


def test_deleted_event_marks_the_request_deleted_and_stops_its_reminders(aws, wix):
    record = stored_request(wix)

    code, body, _ = post(signed_event("deleted", opr_entity(record.id, record.order_id), event_time="2026-05-04T00:00:00.000Z"))

    assert code == 200 and body["outcome"] == "applied"
    stored = store().get(record.id)
    assert stored.deleted_at == datetime(2026, 5, 4, tzinfo=UTC) and stored.status == "UNPAID"
    assert stored.history[-1].event == "DELETED" and stored.reminders.next_at is None
    assert "dueShard" not in aws.table().get_item(Key={"pk": f"PR#{record.id}", "sk": "REQUEST"})["Item"]


def test_created_event_for_a_request_we_do_not_hold_is_recorded_as_an_external_request(aws, wix, bus):
    order_id = wix.add_order(balance="40.00")
    request_id = wix.add_request(order_id, amount="15.00", external_id="shop-77")

    code, body, _ = post(signed_event("created", wix.requests[request_id]))

    assert code == 200 and body["outcome"] == "applied"
    assert (wix.count("get"), wix.count("getOrder")) == (1, 1)
    stored = store().get(request_id)
    assert stored.origin == ORIGIN_EXTERNAL and stored.status == "UNPAID"
    assert (stored.order_id, stored.external_id, stored.amount, stored.currency) == (order_id, "shop-77", Decimal("15.00"), "USD")
    assert stored.instance_id == "test-instance"
    assert (stored.customer.email, stored.customer.phone, stored.customer.name) == ("jane@example.com", "+12015550123", "Jane Doe")
    assert stored.channels == ["EMAIL", "SMS"]
    # Not created by this product: no reminders unless the deployment says so (RemindExternalRequests).
    assert stored.reminders.next_at is None and stored.reminders.stopped_reason == "CREATED_OUTSIDE"
    assert [h.event for h in stored.history] == ["CREATED"] and stored.history[0].detail == "external"
    assert bus.events() == []


def test_paid_event_for_a_request_we_never_stored_is_fetched_from_wix_and_stored_paid(aws, wix, bus):
    order_id = wix.add_order()
    request_id = wix.add_request(order_id, amount="10.00", status="PAID")

    code, body, _ = post(signed_event("paid", wix.requests[request_id]))

    assert code == 200 and body["outcome"] == "applied"
    assert wix.count("get") == 1
    stored = store().get(request_id)
    assert stored.status == "PAID" and stored.origin == ORIGIN_EXTERNAL and stored.paid_event_pending is False
    assert [h.event for h in stored.history] == ["CREATED", "PAID"]
    [event] = bus.events()
    assert event["detail"]["id"] == request_id and event["detail"]["amount"] == "10.00"


def test_event_for_a_request_wix_does_not_know_is_acknowledged_and_stores_no_request(aws, wix):
    code, body, _ = post(signed_event("paid", opr_entity("no-such-request", status="PAID"), event_id="evt-ghost"))

    assert code == 200 and body["outcome"] == "ignored"
    assert wix.count("get") == 1
    assert store().get("no-such-request") is None
    assert store().event_seen("evt-ghost")  # a redelivery does not ask Wix again
    assert post(signed_event("paid", opr_entity("no-such-request", status="PAID"), event_id="evt-ghost"))[1]["outcome"] == "duplicate"
    assert wix.count("get") == 1


def test_the_same_paid_event_five_times_has_one_transition_one_history_entry_and_one_bus_event(aws, wix, bus):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    entity = opr_entity(record.id, record.order_id, status="PAID")

    # Wix signs each delivery anew; the inner event id is what stays the same.
    outcomes = [post(signed_event("paid", entity, event_id="evt-paid-1"))[1]["outcome"] for _ in range(5)]

    assert outcomes == ["applied", "duplicate", "duplicate", "duplicate", "duplicate"]
    stored = store().get(record.id)
    assert [h.event for h in stored.history].count("PAID") == 1
    assert len(bus.events()) == 1


def test_a_redelivered_created_event_for_an_external_request_asks_wix_once(aws, wix):
    order_id = wix.add_order()
    request_id = wix.add_request(order_id)
    body = signed_event("created", wix.requests[request_id], event_id="evt-created-1")

    assert [post(body)[1]["outcome"] for _ in range(3)] == ["applied", "duplicate", "duplicate"]
    assert (wix.count("get"), wix.count("getOrder")) == (1, 1)
    assert [h.event for h in store().get(request_id).history] == ["CREATED"]


@pytest.mark.parametrize(
    "late",
    [
        pytest.param(("updated", "UNPAID", None), id="updated-unpaid-without-sequence"),
        pytest.param(("updated", "UNPAID", 1), id="updated-unpaid-with-older-sequence"),
        pytest.param(("expired", "EXPIRED", None), id="expired-without-sequence"),
        pytest.param(("voided", "VOIDED", 3), id="voided-with-newer-sequence"),
    ],
)
def test_a_late_event_after_paid_never_moves_the_request_back(aws, wix, bus, late):
    kind, status, sequence = late
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    post(signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), sequence=2))

    code, body, _ = post(signed_event(kind, opr_entity(record.id, record.order_id, status=status, title="Old title"), sequence=sequence))

    assert code == 200 and body["outcome"] in ("unchanged", "stale")
    stored = store().get(record.id)
    assert stored.status == "PAID" and stored.title == "Balance due"
    assert [h.event for h in stored.history] == ["CREATED", "PAID"]
    assert len(bus.events()) == 1


def test_an_event_older_than_the_last_one_applied_is_ignored(aws, wix):
    record = stored_request(wix)
    post(signed_event("updated", opr_entity(record.id, record.order_id, title="Newest"), sequence=5))

    code, body, _ = post(signed_event("updated", opr_entity(record.id, record.order_id, title="Older"), sequence=4))

    assert code == 200 and body["outcome"] == "stale"
    stored = store().get(record.id)
    assert stored.title == "Newest" and stored.last_event_sequence == 5


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_duplicated_deliveries_end_paid_with_one_paid_event(aws, wix, bus, seed):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    entity = opr_entity(record.id, record.order_id)
    deliveries = [
        ("evt-1", "updated", {**entity, "title": "Renamed"}, 1),
        ("evt-2", "paid", {**entity, "status": "PAID"}, 2),
        ("evt-3", "updated", {**entity, "status": "PAID"}, 3),
    ] * 3
    random.Random(seed).shuffle(deliveries)

    for event_id, kind, body, sequence in deliveries:
        assert post(signed_event(kind, body, event_id=event_id, sequence=sequence))[0] == 200

    stored = store().get(record.id)
    assert stored.status == "PAID"
    assert [h.event for h in stored.history].count("PAID") == 1
    assert len(bus.events()) == 1


def test_a_crash_between_the_state_change_and_the_bus_put_still_emits_the_paid_event_once(aws, wix, bus, monkeypatch):
    record = stored_request(wix)
    wix.set_status(record.id, "PAID")
    events_client = aws_clients.client("events")
    real_put = events_client.put_events
    calls = {"n": 0}

    def put_that_dies_once(**kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the process died before the put")
        return real_put(**kwargs)

    monkeypatch.setattr(events_client, "put_events", put_that_dies_once)
    body = signed_event("paid", opr_entity(record.id, record.order_id, status="PAID"), event_id="evt-paid-crash")

    first, _, _ = post(body)
    assert first == 500  # Wix will deliver again
    stored = store().get(record.id)
    assert stored.status == "PAID" and stored.paid_event_pending is True and bus.events() == []

    assert post(body)[:2] == (200, {"received": True, "outcome": "duplicate"})
    assert len(bus.events()) == 1 and store().get(record.id).paid_event_pending is False
    assert post(body)[0] == 200 and len(bus.events()) == 1
    assert [h.event for h in store().get(record.id).history].count("PAID") == 1


def test_a_paid_event_whose_put_is_leased_by_a_concurrent_delivery_is_not_put_twice(aws, wix, bus, concurrent_invocations):
    record = stored_request(wix)
    now = datetime.now(UTC)

    def paid_with_lease_held(current: PaymentRequest) -> bool:
        apply_status(current, "PAID", now, "webhook")
        current.paid_event_lease_until = now + timedelta(seconds=30)  # another delivery is putting it right now
        return True

    held = store().update(record.id, paid_with_lease_held)
    deps = webhook_app.dependencies()

    assert publish_pending_paid_event(held, deps).paid_event_pending is True
    assert bus.events() == []

    deps.clock = lambda: now + timedelta(seconds=31)  # that delivery died; its lease ran out
    assert publish_pending_paid_event(held, deps).paid_event_pending is False
    assert len(bus.events()) == 1


def test_an_event_type_we_do_not_handle_is_acknowledged_and_writes_nothing(aws, wix):
    record = stored_request(wix)
    before = table_items(aws)
    inner = domain_event("paid", opr_entity(record.id, record.order_id, status="PAID"))
    body = sign(claims_for(envelope("wix.ecom.v1.order_approved", inner)), default_keys())

    code, response, _ = post(body)

    assert code == 200 and response["outcome"] == "ignored"
    assert table_items(aws) == before


def test_wix_unavailable_while_fetching_an_unknown_request_answers_503_and_writes_nothing(aws, wix):
    order_id = wix.add_order()
    request_id = wix.add_request(order_id)
    wix.fail("get", *[wix_error(503)] * 3)
    body = signed_event("created", wix.requests[request_id], event_id="evt-later")

    code, response, _ = post(body)

    assert code == 503 and response["error"]["code"] == "WIX_UNAVAILABLE"
    assert table_items(aws) == []
    assert post(body)[:2] == (200, {"received": True, "outcome": "applied"})  # Wix's redelivery succeeds
    assert store().get(request_id) is not None


def test_metrics_count_verified_applied_by_kind_and_duplicates(aws, wix, capsys):
    record = stored_request(wix)
    wix.set_status(record.id, "VOIDED")
    body = signed_event("voided", opr_entity(record.id, record.order_id, status="VOIDED"), event_id="evt-void")
    capsys.readouterr()

    post(body)
    post(body)

    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics.count(("WebhookVerified", {})) == 2
    assert metrics.count(("WebhookApplied", {"kind": "voided"})) == 1
    assert metrics.count(("WebhookDuplicate", {})) == 1


def emitted_metrics(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, dimensions other than service) of every EMF blob printed."""
    found = []
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            dims = {d: blob[d] for group in directive["Dimensions"] for d in group if d != "service"}
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                found += [(metric["Name"], dims)] * int(sum(values) if isinstance(values, list) else values)
    return found
