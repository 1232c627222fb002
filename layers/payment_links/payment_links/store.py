"""DynamoDB repository of payment requests (single table; every access path is a GetItem or a Query).

On the low-level client, with items converted by boto3's own ``TypeSerializer``: a boto3 *resource* would cost
each cold start ~45 ms of CPU to build (its model and classes) for the same calls (docs/performance.md).

Every key starts with the site's prefix (``tenancy.Site``: nothing in a SITE deployment, ``S#<instanceId>#`` in an
APP one), and a store is built for one site: every read and write of it is scoped to that site.

Items (``pk`` / ``sk``), after the site prefix:
- ``PR#{id}`` / ``REQUEST``: the record; ``version`` guards every write (optimistic concurrency).
  ``gsi1pk``=``<prefix>ORDER#{orderId}``, ``gsi1sk``=createdAt#id feed the ByOrder index (newest first).
  ``dueShard``/``dueAt`` exist only while reminders are due (sparse DueReminders index, shared by every site).
  ``expiresAt`` (TTL) is set once a request is terminal, so old records age out.
- ``EXT#{externalId}`` / ``CLAIM``: one per externalId and site, written with the record in one transaction.
- ``EVENT#{eventId}`` / ``EVENT``: a processed Wix webhook event (TTL), written with its state change.
In an APP deployment every item also carries ``siteId`` (the sparse BySite index), so a removed site's items can be
found and deleted (``sites.py``).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from botocore.exceptions import ClientError

from payment_links.domain.payment_request import UNPAID, PaymentRequest
from payment_links.dynamo import cancellation_codes as _cancellation_codes
from payment_links.dynamo import is_condition_failure as _is_condition_failure
from payment_links.dynamo import iso as _iso
from payment_links.dynamo import plain as _plain
from payment_links.dynamo import wire as _wire
from payment_links.stats import Baseline, Delta, counter_deltas, publish_metrics
from payment_links.tenancy import THE_SITE, Site

DUE_SHARDS = 4
BY_ORDER_INDEX = "ByOrder"
DUE_INDEX = "DueReminders"
MAX_UPDATE_ATTEMPTS = 8
# Keys per BatchGetItem: DynamoDB takes 100, but a call's answer is bounded by 16 MB and one slow call holds a whole
# batch behind one timeout; 25 records (up to a few hundred KB) come back well inside the client's 5 s read timeout.
BATCH_GET_LIMIT = 25


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


SITE_ATTRIBUTE = "siteId"  # the BySite index's key: set on every item of an APP deployment's site


def due_shards() -> list[str]:
    """Every partition of the DueReminders index (see ``due_shard``)."""
    return [f"DUE#{n}" for n in range(DUE_SHARDS)]


class PaymentRequestStore:
    def __init__(self, client: Any, table_name: str, terminal_ttl_days: int = 400, site: Site = THE_SITE) -> None:
        self._client = client  # a boto3 DynamoDB client
        self._table_name = table_name
        self._terminal_ttl_days = terminal_ttl_days
        self._terminal_ttl_seconds = terminal_ttl_days * 86400
        self.site = site

    def for_site(self, site: Site) -> PaymentRequestStore:
        """The same table, scoped to ``site``."""
        return PaymentRequestStore(self._client, self._table_name, self._terminal_ttl_days, site)

    def _key(self, kind: str, value: str) -> str:
        return f"{self.site.key_prefix}{kind}#{value}"

    # -- reads ------------------------------------------------------------------------------

    def get(self, request_id: str) -> PaymentRequest | None:
        item = self._get({"pk": self._key("PR", request_id), "sk": "REQUEST"})
        return self._record(item) if item else None

    def get_many(self, request_ids: list[str]) -> dict[str, PaymentRequest]:
        """The records among ``request_ids`` (missing ones left out): BatchGetItem, 25 keys a call, consistent."""
        unique = list(dict.fromkeys(request_ids))
        found: dict[str, PaymentRequest] = {}
        for start in range(0, len(unique), BATCH_GET_LIMIT):
            keys = [_wire({"pk": self._key("PR", rid), "sk": "REQUEST"}) for rid in unique[start : start + BATCH_GET_LIMIT]]
            for attempt in range(MAX_UPDATE_ATTEMPTS):
                response = self._client.batch_get_item(RequestItems={self._table_name: {"Keys": keys, "ConsistentRead": True}})
                for item in response.get("Responses", {}).get(self._table_name, []):
                    record = self._record(_plain(item))
                    found[record.id] = record
                keys = response.get("UnprocessedKeys", {}).get(self._table_name, {}).get("Keys", [])
                if not keys:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))  # DynamoDB asked us to slow down: back off, then the rest
            else:
                raise RuntimeError("DynamoDB left keys unprocessed after every retry")
        return found

    def get_claim(self, external_id: str) -> Claim | None:
        item = self._get({"pk": self._key("EXT", external_id), "sk": "CLAIM"})
        return Claim(item["requestId"], item.get("contentHash")) if item else None

    def list_by_order(self, order_id: str, limit: int = 100) -> list[PaymentRequest]:
        response = self._client.query(
            TableName=self._table_name,
            IndexName=BY_ORDER_INDEX,
            KeyConditionExpression="gsi1pk = :pk",
            ExpressionAttributeValues=_wire({":pk": self._key("ORDER", order_id)}),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [self._record(_plain(item)) for item in response.get("Items", [])]

    # -- writes -----------------------------------------------------------------------------

    def create(self, record: PaymentRequest) -> PaymentRequest:
        """Store a new record and, when it has one, claim its externalId, atomically."""
        record.version = 1
        items: list[dict[str, Any]] = [self._put(self._item(record), "attribute_not_exists(pk)")]
        if record.external_id:
            items.append(self._put(self._claim(record), "attribute_not_exists(pk)"))
        deltas = counter_deltas(record._counted, record)
        items += self._counter_updates(deltas)
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            codes = _cancellation_codes(exc)
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise ClaimTaken(record.external_id) from exc
            if codes and codes[0] == "ConditionalCheckFailed":
                raise RecordExists(record.id) from exc
            raise
        self._mark_counted(record, deltas)
        return record

    def adopt(self, record: PaymentRequest) -> PaymentRequest:
        """Replace a record stored from a webhook (origin EXTERNAL) with ours and claim its externalId,
        atomically; ``record.version`` must be the stored version."""
        deltas = counter_deltas(record._counted, record)
        expected = record.version
        record.version = expected + 1
        try:
            self._client.transact_write_items(
                TransactItems=[
                    self._put(self._item(record), "version = :expected", {":expected": expected}),
                    self._put(self._claim(record), "attribute_not_exists(pk)"),
                    *self._counter_updates(deltas),
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
        self._mark_counted(record, deltas)
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
        deltas = counter_deltas(record._counted, record)
        counters = self._counter_updates(deltas)
        try:
            if counters:
                # The counters this write changes go with it, or not at all (payment_links.stats).
                put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
                self._client.transact_write_items(TransactItems=[{"Put": put}, *counters])
            else:
                self._client.put_item(**put, ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as exc:
            if _written_by(exc, write_id):
                self._mark_counted(record, deltas)
                return record
            record.version = expected
            if _is_condition_failure(exc) or _cancellation_codes(exc)[:1] == ["ConditionalCheckFailed"]:
                raise StaleRecord(record.id) from exc
            raise
        self._mark_counted(record, deltas)
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

    def mark_send_started(self, request_id: str, version: int) -> bool:
        """Flag the in-flight reminder of the record at ``version`` as handed to SES/SNS (one UpdateItem). False
        when the record changed since: the caller reads it again."""
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key=_wire({"pk": self._key("PR", request_id), "sk": "REQUEST"}),
                UpdateExpression="SET #record.#reminders.#inFlight.#started = :true, #version = :next",
                ConditionExpression="#version = :version AND attribute_type(#record.#reminders.#inFlight, :map)",
                ExpressionAttributeNames={
                    "#record": "record",
                    "#reminders": "reminders",
                    "#inFlight": "inFlight",
                    "#started": "started",
                    "#version": "version",
                },
                ExpressionAttributeValues=_wire({":true": True, ":version": version, ":next": version + 1, ":map": "M"}),
            )
            return True
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise

    def save_with_event(self, record: PaymentRequest, event_id: str, event_ttl_seconds: int) -> PaymentRequest:
        """Write the state change and mark the webhook event processed in one transaction, so a redelivered
        event can never apply twice and a failed write never marks the event as seen."""
        deltas = counter_deltas(record._counted, record)
        expected = record.version
        record.version = expected + 1
        event_item = self._sited(
            {"pk": self._key("EVENT", event_id), "sk": "EVENT", "requestId": record.id, "expiresAt": int(time.time()) + event_ttl_seconds}
        )
        if expected:
            record_put = self._put(self._item(record), "version = :expected", {":expected": expected})
        else:
            record_put = self._put(self._item(record), "attribute_not_exists(pk)")
        try:
            self._client.transact_write_items(
                TransactItems=[self._put(event_item, "attribute_not_exists(pk)"), record_put, *self._counter_updates(deltas)]
            )
        except ClientError as exc:
            record.version = expected
            codes = _cancellation_codes(exc)
            if codes and codes[0] == "ConditionalCheckFailed":
                raise EventAlreadySeen(event_id) from exc
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                raise StaleRecord(record.id) from exc
            raise
        self._mark_counted(record, deltas)
        return record

    def mark_event_seen(self, event_id: str, event_ttl_seconds: int) -> bool:
        """Mark an event that changes no record. False when it was seen before."""
        event_item = self._sited({"pk": self._key("EVENT", event_id), "sk": "EVENT", "expiresAt": int(time.time()) + event_ttl_seconds})
        try:
            self._client.put_item(**self._put(event_item, "attribute_not_exists(pk)")["Put"])
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def take_order_lease(self, order_id: str, owner: str, seconds: int) -> bool:
        """A short lease on one order (its reissues are made one at a time: each computes what is open from the
        others). False while another owner holds an unexpired one; a dead holder's lease simply runs out."""
        now = time.time()
        item = self._sited(
            {
                "pk": self._key("ORDERLEASE", order_id),
                "sk": "LEASE",
                "owner": owner,
                "leaseUntil": int(now) + seconds,
                "expiresAt": int(now) + seconds + 3600,
            }
        )
        try:
            self._client.put_item(
                **self._put(item, "attribute_not_exists(pk) OR leaseUntil < :now OR #owner = :owner", {":now": int(now), ":owner": owner})[
                    "Put"
                ],
                ExpressionAttributeNames={"#owner": "owner"},
            )
        except ClientError as exc:
            if _is_condition_failure(exc):
                return False
            raise
        return True

    def release_order_lease(self, order_id: str, owner: str) -> None:
        item = self._sited(
            {"pk": self._key("ORDERLEASE", order_id), "sk": "LEASE", "owner": owner, "leaseUntil": 0, "expiresAt": int(time.time()) + 3600}
        )
        try:
            self._client.put_item(
                **self._put(item, "#owner = :owner", {":owner": owner})["Put"], ExpressionAttributeNames={"#owner": "owner"}
            )
        except ClientError as exc:
            if not _is_condition_failure(exc):  # a failed condition: it ran out and another took it; nothing to release
                raise

    def suppress(self, channel: str, address_hash: str, reason: str, at: datetime) -> None:
        """Never send on ``channel`` to this address (by its hash: the address itself is not kept) again: an e-mail
        that bounced for good or complained, a phone number SNS could not reach for good. The first reason stays."""
        item = self._sited({"pk": self._key(f"SUPPRESS#{channel}", address_hash), "sk": "SUPPRESSION", "reason": reason, "at": _iso(at)})
        try:
            self._client.put_item(**self._put(item, "attribute_not_exists(pk)")["Put"])
        except ClientError as exc:
            if not _is_condition_failure(exc):
                raise

    def suppression(self, channel: str, address_hash: str) -> str | None:
        """Why this address may not be sent to on ``channel`` (its reason), or None."""
        item = self._get({"pk": self._key(f"SUPPRESS#{channel}", address_hash), "sk": "SUPPRESSION"})
        return str(item["reason"]) if item else None

    def event_seen(self, event_id: str) -> bool:
        return self._get({"pk": self._key("EVENT", event_id), "sk": "EVENT"}) is not None

    # -- the daily counters (payment_links.stats) ------------------------------------------------------------------

    def _counter_updates(self, deltas: list[Delta]) -> list[dict[str, Any]]:
        """The ADD updates of the site's day items for ``deltas``, what a record's write counts (TransactItems)."""
        updates = []
        for delta in deltas:
            names: dict[str, str] = {f"#c{i}": name for i, name in enumerate(delta.counters)}
            values: dict[str, Any] = {f":c{i}": value for i, value in enumerate(delta.counters.values())}
            expression = "ADD " + ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
            if self.site.instance_id:  # the BySite index finds a removed site's counters for deletion too
                names["#site"], values[":site"] = SITE_ATTRIBUTE, self.site.registry_id
                expression = "SET #site = :site " + expression
            updates.append(
                {
                    "Update": {
                        "TableName": self._table_name,
                        "Key": _wire({"pk": self._key("STATS", "DAYS"), "sk": f"DAY#{delta.day.isoformat()}"}),
                        "UpdateExpression": expression,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": _wire(values),
                    }
                }
            )
        return updates

    @staticmethod
    def _mark_counted(record: PaymentRequest, deltas: list[Delta]) -> None:
        """The write took: publish what it counted, and count from here on."""
        publish_metrics(deltas)
        record._counted = Baseline.of(record)

    def daily_counters(self, first: date, last: date) -> dict[date, dict[str, int]]:
        """The site's counters of each day from ``first`` to ``last`` that has any: one Query, O(days)."""
        found: dict[date, dict[str, int]] = {}
        query: dict[str, Any] = {
            "TableName": self._table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": _wire(
                {":pk": self._key("STATS", "DAYS"), ":first": f"DAY#{first.isoformat()}", ":last": f"DAY#{last.isoformat()}"}
            ),
            "ConsistentRead": True,
        }
        while True:
            page = self._client.query(**query)
            for item in page.get("Items", []):
                plain = _plain(item)
                day = date.fromisoformat(str(plain["sk"]).removeprefix("DAY#"))
                found[day] = {k: int(v) for k, v in plain.items() if k not in ("pk", "sk", SITE_ATTRIBUTE)}
            if "LastEvaluatedKey" not in page:
                return found
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

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

    def _sited(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.site.instance_id:
            item[SITE_ATTRIBUTE] = self.site.registry_id
        return item

    def _claim(self, record: PaymentRequest) -> dict[str, Any]:
        claim = {
            "pk": self._key("EXT", record.external_id or ""),
            "sk": "CLAIM",
            "requestId": record.id,
            "contentHash": record.content_hash,
        }
        return self._sited(claim)

    def _item(self, record: PaymentRequest) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": self._key("PR", record.id),
            "sk": "REQUEST",
            "version": record.version,
            "record": record.to_storage(),
            "gsi1pk": self._key("ORDER", record.order_id),
            "gsi1sk": f"{_iso(record.created_at)}#{record.id}",
            "status": record.status,
        }
        self._sited(item)
        plan = record.reminders
        # A reissue under way is due too, reminders or not: the workers finish it (flows.reissue).
        if record.status == UNPAID and record.deleted_at is None and (plan.enabled or record.reissue_pending) and plan.next_at is not None:
            item["dueShard"] = due_shard(record.id)
            item["dueAt"] = _iso(plan.next_at)
        if record.is_terminal and not record.paid_event_pending:
            item["expiresAt"] = int(time.time()) + self._terminal_ttl_seconds
        return item

    @staticmethod
    def _record(item: dict[str, Any]) -> PaymentRequest:
        record = PaymentRequest.model_validate(item["record"])
        record.version = int(item["version"])
        record._counted = Baseline.of(record)
        return record


class DueIndex:
    """The DueReminders index, shared by every site: what is due, and whose it is."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name

    def due_page(
        self, shard: str, now: datetime, limit: int, start_key: dict[str, Any] | None = None
    ) -> tuple[list[tuple[Site, str]], dict[str, Any] | None]:
        """(site, request id) of requests whose next reminder is due by ``now`` in one shard, oldest due first.

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
        due = []
        for item in response.get("Items", []):
            site, key = Site.of_key(item["pk"]["S"])
            if key.startswith("PR#"):
                due.append((site, key.removeprefix("PR#")))
        return due, response.get("LastEvaluatedKey")


def _written_by(exc: ClientError, write_id: str) -> bool:
    """Did the write that failed its condition find our own write (``writeId``) there? Then an earlier attempt
    whose answer was lost applied it (and, in a transaction, its counters with it)."""
    if _is_condition_failure(exc):
        return bool(exc.response.get("Item", {}).get("writeId", {}).get("S") == write_id)
    reasons = exc.response.get("CancellationReasons") or []
    return bool(reasons) and reasons[0].get("Item", {}).get("writeId", {}).get("S") == write_id
