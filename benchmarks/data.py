"""Test data at benchmark scale: payment requests at the Wix sandbox and their records in DynamoDB.

Records are built with the product's own model and item mapping (``PaymentRequest``, ``PaymentRequestStore``),
so the table holds exactly what the functions would have written. Large volumes go straight into moto's
backend (the object its server serves from) and the sandbox's state: 100,000 items through HTTP would take
minutes and measure nothing of ours. Tables are created from template.yaml's definition under any name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from benchmarks.stack import LAYER_DIR, REGION, BenchStack
from local.template import create_tables

if str(LAYER_DIR) not in sys.path:
    sys.path.insert(0, str(LAYER_DIR))

from payment_links.domain.contacts import Customer
from payment_links.domain.payment_request import PAID, Notification, PaymentRequest, ReminderPlan
from payment_links.store import PaymentRequestStore

CREATED = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
DUE = CREATED + timedelta(days=1)
_serializer = TypeSerializer()


_mapping = PaymentRequestStore(client=None, table_name="unused")  # only its mapping (``_item``) is used: no I/O


def item_of(record: PaymentRequest) -> dict[str, Any]:
    return _mapping._item(record)


def low_level(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def create_table(stack: BenchStack, name: str) -> None:
    create_tables(stack.dynamodb(), {"PaymentRequestsTable": name})


def put_items(table: str, items: Iterable[dict[str, Any]]) -> None:
    """Write items straight into moto's backend (same process as its server)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    for item in items:
        backend.put_item(table, low_level(item))


def wix_request(stack: Any, order_id: str, external_id: str, instance_id: str | None = None) -> dict[str, Any]:
    """A payment request at the sandbox (``stack.sandbox``) of site ``instance_id`` (default: its home site), made by
    its own service (no HTTP, no webhook: the dispatcher is off)."""
    from local.wix_sandbox.validation import NewPaymentRequest

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


def record_for(entity: dict[str, Any], *, due_at: datetime | None = None, status: str = "UNPAID") -> PaymentRequest:
    """The record the create function would have stored for ``entity``: e-mail and SMS, reminders on."""
    record = PaymentRequest(
        id=entity["id"],
        order_id=entity["orderId"],
        order_number=entity.get("orderNumber"),
        external_id=entity["source"]["externalId"],
        status=status,
        amount=Decimal(entity["amount"]["amount"]),
        currency=entity.get("currency", "USD"),
        title=entity["title"],
        url=f"https://example.com/pay/{entity['id']}",
        url_fetched_at=CREATED,  # as create saves it
        created_at=CREATED,
        updated_at=CREATED,
        paid_at=CREATED if status == PAID else None,
        customer=Customer(email="buyer@example.com", phone="+12015550123", name="Jane Doe"),
        channels=["EMAIL", "SMS"],
        reminders=ReminderPlan(schedule=["P1D", "P3D", "P7D"], next_step=0, next_at=due_at if status == "UNPAID" else None),
        version=1,
    )
    record.record(CREATED, "CREATED")
    for channel in record.channels:  # what a create leaves: the initial link sent on each channel
        sent = Notification(channel=channel, kind="INITIAL", status="SENT", message_id=f"{channel}-{entity['id']}", at=CREATED)
        record.notifications.append(sent)
    record.record(CREATED, "LINK_SENT", detail="EMAIL,SMS")
    record.last_sent_at = CREATED
    return record


def synthetic_record(n: int, *, due_at: datetime | None, status: str) -> PaymentRequest:
    """A stored request that never reaches Wix in a benchmark (bulk filler of a large table)."""
    entity = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "orderId": f"00000000-0000-4000-9000-{n // 3:012d}",
        "orderNumber": str(20000 + n // 3),
        "source": {"externalId": f"filler-{n}"},
        "amount": {"amount": "10.00"},
        "currency": "USD",
        "title": "Balance due",
    }
    return record_for(entity, due_at=due_at, status=status)
