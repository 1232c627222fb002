"""DynamoDB repository of payment requests (single table; every access path is a GetItem or a Query).

On the low-level client, with items converted by boto3's own ``TypeSerializer``: a boto3 *resource* would cost
each cold start ~45 ms of CPU to build (its model and classes) for the same calls (docs/performance.md).

Items (``pk`` / ``sk``):
- ``PR#{id}`` / ``REQUEST``: the record; ``version`` guards every write (optimistic concurrency).
  ``gsi1pk``=``ORDER#{orderId}``, ``gsi1sk``=createdAt#id feed the ByOrder index (newest first).
  ``dueShard``/``dueAt`` exist only while reminders are due (sparse DueReminders index).
  ``expiresAt`` (TTL) is set once a request is terminal, so old records age out.
- ``EXT#{externalId}`` / ``CLAIM``: one per externalId, written with the record in one transaction.
- ``EVENT#{eventId}`` / ``EVENT``: a processed Wix webhook event (TTL), written with its state change.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from payment_links.domain.payment_request import UNPAID, PaymentRequest

DUE_SHARDS = 4
BY_ORDER_INDEX = "ByOrder"
DUE_INDEX = "DueReminders"
MAX_UPDATE_ATTEMPTS = 8


class StaleRecord(Exception):
    """The record changed since it was read; read again and retry."""


class ClaimTaken(Exception):
    """The externalId is already claimed by another request."""


class EventAlreadySeen(Exception):
    """This webhook event id was processed before."""


class RecordExists(Exception):
    """A record with this id exists already."""


@dataclass(frozen=True)
class Claim:
    request_id: str
    content_hash: str | None


def due_shard(request_id: str) -> str:
    digest = hashlib.sha256(request_id.encode()).digest()
    return f"DUE#{digest[0] % DUE_SHARDS}"


def due_shards() -> list[str]:
    """Every partition of the DueReminders index (see ``due_shard``)."""
    return [f"DUE#{n}" for n in range(DUE_SHARDS)]


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _cancellation_codes(exc: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in exc.response.get("CancellationReasons", [])]


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _wire(values: dict[str, Any]) -> dict[str, Any]:
    """Python values as DynamoDB attribute values (what a resource would send)."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


class PaymentRequestStore:
    def __init__(self, client: Any, table_name: str, terminal_ttl_days: int = 400) -> None:
        self._client = client  # a boto3 DynamoDB client
        self._table_name = table_name
        self._terminal_ttl_seconds = terminal_ttl_days * 86400

    # -- reads ------------------------------------------------------------------------------

    def get(self, request_id: str) -> PaymentRequest | None:
        item = self._get({"pk": f"PR#{request_id}", "sk": "REQUEST"})
        return self._record(item) if item else None

    def get_claim(self, external_id: str) -> Claim | None:
        item = self._get({"pk": f"EXT#{external_id}", "sk": "CLAIM"})
        return Claim(item["requestId"], item.get("contentHash")) if item else None

    def list_by_order(self, order_id: str, limit: int = 100) -> list[PaymentRequest]:
        response = self._client.query(
            TableName=self._table_name,
            IndexName=BY_ORDER_INDEX,
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=_wire({":pk": f"ORDER#{order_id}"}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._record(_plain(item)) for item in response.get("Items", [])]

    def due_page(
        self, shard: str, now: datetime, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Ids of requests whose next reminder is due by ``now`` in one shard, oldest due first.

        The returned key is opaque: hand it back as ``start_key`` for the next page."""
        kwargs: dict[str, Any] = {
            "TableName": self._table_name,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dueShard = :shard AND dueAt <= :now",
            "ExpressionAttributeValues": _wire({":shard": shard, ":now": _iso(now)}),
            "ProjectionExpression": "pk",
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        response = self._client.query(**kwargs)
        ids = [item["pk"]["S"].removeprefix("PR#") for item in response.get("Items", [])]
        return ids, response.get("LastEvaluatedKey")

    # -- writes -----------------------------------------------------------------------------

    def create(self, record: PaymentRequest) -> PaymentRequest:
        """Store a new record and, when it has one, claim its externalId, atomically."""
        record.version = 1
        items: list[dict[str, Any]] = [self._put(self._item(record), "attribute_not_exists(pk)")]
        if record.external_id:
            items.append(self._put(self._claim(record), "attribute_not_exists(pk)"))
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = _cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise ClaimTaken(record.external_id) from exc
            if codes and codes[0] == "ConditionalCheckFailed":
                raise RecordExists(record.id) from exc
            raise
        return record

    def adopt(self, record: PaymentRequest) -> PaymentRequest:
        """Replace a record stored from a webhook (origin EXTERNAL) with ours and claim its externalId,
        atomically; ``record.version`` must be the stored version."""
        expected = record.version
        record.version = expected + 1
        try:
            self._client.transact_write_items(
                TransactItems=[
                    self._put(self._item(record), "version = :expected", {":expected": expected}),
                    self._put(self._claim(record), "attribute_not_exists(pk)"),
                ]
            )
        except ClientError as exc:
            record.version = expected
            codes = _cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise ClaimTaken(record.external_id) from exc
            if codes and codes[0] == "ConditionalCheckFailed":
                raise StaleRecord(record.id) from exc
            raise
        return record

    def save(self, record: PaymentRequest) -> PaymentRequest:
        """Write ``record`` if nobody else wrote it since it was read.

        Each write carries a fresh ``writeId``. When an answer is lost (a timeout) the SDK sends the same write
        again, which then fails its version check against the write it made itself; the item DynamoDB returns with
        the failure tells our own write from another writer's, so an applied write is never reported as lost
        (a claimed reminder would otherwise be skipped by every sweep, a claimed resend answered 429)."""
        expected = record.version
        record.version = expected + 1
        write_id = uuid.uuid4().hex
        put = self._put({**self._item(record), "writeId": write_id}, "version = :expected", {":expected": expected})["Put"]
        try:
            self._client.put_item(**put, ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if _is_condition_failure(exc) and exc.response.get("Item", {}).get("writeId", {}).get("S") == write_id:
                return record
            record.version = expected
            if _is_condition_failure(exc):
                raise StaleRecord(record.id) from exc
            raise
        return record

    def update(self, request_id: str, change: Callable[[PaymentRequest], bool]) -> PaymentRequest | None:
        """Read-change-write with retries on concurrent writes. ``change`` returns False to write nothing."""
        for _ in range(MAX_UPDATE_ATTEMPTS):
            record = self.get(request_id)
            if record is None:
                return None
            if not change(record):
                return record
            try:
                return self.save(record)
            except StaleRecord:
                continue
        raise StaleRecord(request_id)

    def save_with_event(self, record: PaymentRequest, event_id: str, event_ttl_seconds: int) -> PaymentRequest:
        """Write the state change and mark the webhook event processed in one transaction, so a redelivered
        event can never apply twice and a failed write never marks the event as seen."""
        expected = record.version
        record.version = expected + 1
        event_item = {"pk": f"EVENT#{event_id}", "sk": "EVENT", "requestId": record.id, "expiresAt": int(time.time()) + event_ttl_seconds}
        if expected:
            record_put = self._put(self._item(record), "version = :expected", {":expected": expected})
        else:
            record_put = self._put(self._item(record), "attribute_not_exists(pk)")
        try:
            self._client.transact_write_items(TransactItems=[self._put(event_item, "attribute_not_exists(pk)"), record_put])
        except ClientError as exc:
            record.version = expected
            codes = _cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise EventAlreadySeen(event_id) from exc
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise StaleRecord(record.id) from exc
            raise
        return record

    def mark_event_seen(self, event_id: str, event_ttl_seconds: int) -> bool:
        """Mark an event that changes no record. False when it was seen before."""
        event_item = {"pk": f"EVENT#{event_id}", "sk": "EVENT", "expiresAt": int(time.time()) + event_ttl_seconds}
        try:
            self._client.put_item(**self._put(event_item, "attribute_not_exists(pk)")["Put"])
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def event_seen(self, event_id: str) -> bool:
        return self._get({"pk": f"EVENT#{event_id}", "sk": "EVENT"}) is not None

    # -- wire -------------------------------------------------------------------------------

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table_name, Key=_wire(key), ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def _put(self, item: dict[str, Any], condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        """A conditional Put, as ``TransactItems`` wants it (``["Put"]`` is PutItem's arguments)."""
        put: dict[str, Any] = {"TableName": self._table_name, "Item": _wire(item), "ConditionExpression": condition}
        if values:
            put["ExpressionAttributeValues"] = _wire(values)
        return {"Put": put}

    # -- mapping ----------------------------------------------------------------------------

    @staticmethod
    def _claim(record: PaymentRequest) -> dict[str, Any]:
        return {"pk": f"EXT#{record.external_id}", "sk": "CLAIM", "requestId": record.id, "contentHash": record.content_hash}

    def _item(self, record: PaymentRequest) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"PR#{record.id}",
            "sk": "REQUEST",
            "version": record.version,
            "record": record.to_storage(),
            "gsi1pk": f"ORDER#{record.order_id}",
            "gsi1sk": f"{_iso(record.created_at)}#{record.id}",
            "status": record.status,
        }
        plan = record.reminders
        if record.status == UNPAID and record.deleted_at is None and plan.enabled and plan.next_at is not None:
            item["dueShard"] = due_shard(record.id)
            item["dueAt"] = _iso(plan.next_at)
        if record.is_terminal and not record.paid_event_pending:
            item["expiresAt"] = int(time.time()) + self._terminal_ttl_seconds
        return item

    @staticmethod
    def _record(item: dict[str, Any]) -> PaymentRequest:
        record = PaymentRequest.model_validate(item["record"])
        record.version = int(item["version"])
        return record
