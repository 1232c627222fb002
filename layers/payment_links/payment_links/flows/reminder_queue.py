"""The reminder fan-out: the sweep puts batches of due requests on SQS; the resend function's workers send them.

A message is one site's batch of up to 100 due request ids (one Wix Query learns all their statuses). The
worker treats the sweep's ``time`` as now, moved on by the time the message waited in the queue. Whatever it
cannot do now (Wix down or the site's quota used up, SES throttling, too little time left) stays due in the
DueReminders index and the next sweep enqueues it again; so the worker acknowledges such a message, and only a
message whose processing raised (a bug, DynamoDB failing) is retried by SQS and, after ``maxReceiveCount``,
kept in the dead-letter queue with an alarm. Sending twice is prevented where it always was: the conditional
claim of each reminder (``flows.reminder``), so a redelivered or duplicated message sends nothing again.

Each sweep has a progress item (``SWEEP#<id>``): how many batches it enqueued, and the workers' counts as they
finish them, so the outcome of a sweep can be read back (the local stack's ``POST /_local/sweep`` waits on it).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from payment_links.tenancy import Site

SQS_BATCH = 10  # entries per SendMessageBatch
PROGRESS_TTL_SECONDS = 7 * 86400


class ReminderBatch(BaseModel):
    """The body of one queue message."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    sweep_id: str = Field(alias="sweepId", min_length=1, max_length=64)
    time: datetime
    site: str = Field("", max_length=100)  # the Wix instance id; empty for a SITE deployment's one site
    ids: list[str] = Field(min_length=1, max_length=100)

    def body(self) -> str:
        return self.model_dump_json(by_alias=True)

    @property
    def tenant(self) -> Site:
        return Site(self.site)


def enqueue(sqs: Any, queue_url: str, batches: list[ReminderBatch]) -> None:
    """Put the batches on the queue, ten messages a call; entries SQS did not take are sent again (bounded)."""
    for start in range(0, len(batches), SQS_BATCH):
        entries = [{"Id": str(n), "MessageBody": batch.body()} for n, batch in enumerate(batches[start : start + SQS_BATCH])]
        for attempt in range(5):
            failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
            if not failed:
                break
            retry = {entry["Id"] for entry in failed}
            entries = [entry for entry in entries if entry["Id"] in retry]
            time.sleep(min(0.1 * 2**attempt, 2.0))
        else:
            raise RuntimeError(f"SQS refused {len(entries)} reminder batches")


def batch_now(batch: ReminderBatch, sent_at_ms: int | None, real_now: float | None = None) -> datetime:
    """The worker's now: the sweep's time plus how long the message waited (never less than the sweep's time)."""
    if sent_at_ms is None:
        return batch.time
    waited = max((real_now if real_now is not None else time.time()) - sent_at_ms / 1000, 0.0)
    return batch.time + timedelta(seconds=waited)


class SweepProgress:
    """A sweep's counts, kept in the table: batches enqueued by the sweep, outcomes added by the workers."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _key(self, sweep_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"SWEEP#{sweep_id}"}, "sk": {"S": "RUN"}}

    def add(self, sweep_id: str, counts: Counter[str]) -> None:
        """Add ``counts`` (batches, done, sent, failed, skipped:<reason>, failed:<reason>) atomically."""
        names, values, parts = {}, {":ttl": {"N": str(int(time.time()) + PROGRESS_TTL_SECONDS)}}, []
        for n, (name, count) in enumerate(sorted(counts.items())):
            names[f"#c{n}"] = name
            values[f":c{n}"] = {"N": str(count)}
            parts.append(f"#c{n} :c{n}")
        if not parts:
            return
        self._client.update_item(
            TableName=self._table,
            Key=self._key(sweep_id),
            UpdateExpression="ADD " + ", ".join(parts) + " SET expiresAt = if_not_exists(expiresAt, :ttl)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def get(self, sweep_id: str) -> Counter[str]:
        item = self._client.get_item(TableName=self._table, Key=self._key(sweep_id), ConsistentRead=True).get("Item", {})
        return Counter({name: int(value["N"]) for name, value in item.items() if "N" in value and name != "expiresAt"})


def outcome_counts(outcomes: Any) -> Counter[str]:
    """An outcome list as progress counts."""
    counts: Counter[str] = Counter()
    for outcome in outcomes:
        if outcome.result == "SENT":
            counts["sent"] += 1
        elif outcome.result == "FAILED":
            counts["failed"] += 1
            counts[f"failed:{outcome.reason or 'UNKNOWN'}"] += 1
        else:
            counts[f"skipped:{outcome.reason or 'UNKNOWN'}"] += 1
    return counts


def parse_body(body: str) -> ReminderBatch:
    return ReminderBatch.model_validate(json.loads(body))
