"""Wix's per-site quota, shared by every invocation of every function: a sliding window kept in DynamoDB.

Wix allows each app instance (site) a number of calls a minute (200 by default). Every Lambda that calls Wix
(create, resend, the reminder workers, the webhook's confirming Get) takes a slot here before each HTTP request,
retries included, so all of them together stay within the quota, whatever their number.

How: time is cut into slots of ``SLOT_SECONDS``; each slot of each site is one item (``QUOTA#<site>`` /
``<slot>``) whose ``calls`` counter only grows while the slot is current, then ages out (TTL). A 60-second
window touches at most ``WINDOW_SLOTS`` consecutive slots, so a call is allowed only while the calls of those
slots, this one included, stay below the limit: the condition of a single ``UpdateItem`` on the current slot
(``calls <= room - 1``), where ``room`` is the limit less the slots before it. Those earlier slots no longer
change, so each process reads them once per slot (one Query) and every call costs one conditional write.
Any 60 s window holds at most the limit; the price is that the limit is spread over 65 s.

Priorities: reminders (``BACKGROUND``) may use the limit less a reserve (``WIX_STOREFRONT_RESERVE_PERCENT``),
so storefront calls and webhook checks (``INTERACTIVE``) always find room. A caller that finds no room waits
for a slot that frees it, up to its own wait limit, then gets ``QuotaExhausted`` with the seconds to wait.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from payment_links.dynamo import is_condition_failure

SLOT_SECONDS = 5
WINDOW_SECONDS = 60
WINDOW_SLOTS = math.ceil(WINDOW_SECONDS / SLOT_SECONDS) + 1  # the slots any 60 s window can touch
INTERACTIVE = "INTERACTIVE"
BACKGROUND = "BACKGROUND"
_SLOT_DIGITS = 12  # zero-padded, so slots sort as strings


class QuotaExhausted(Exception):
    """No slot within the caller's wait; ``retry_after`` seconds until one is expected to free."""

    def __init__(self, scope: str, retry_after: float) -> None:
        super().__init__(f"Wix quota of {scope} is used up for now")
        self.retry_after = retry_after


@dataclass
class _Window:
    """One process's view of a scope's past slots (they no longer change), refreshed once per slot."""

    slot: int = -1
    counts: dict[int, int] | None = None


class SharedQuota:
    """At most ``per_minute`` acquisitions in any 60 s window, counted in ``table`` across processes."""

    def __init__(
        self,
        client: Any,
        table: str,
        per_minute: int,
        reserve_percent: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive (no SharedQuota turns limiting off)")
        self._client = client
        self._table = table
        self.per_minute = per_minute
        # Reminders' limit: never zero, so a tiny quota still lets reminders trickle out.
        self.background_limit = max(per_minute - per_minute * reserve_percent // 100, 1)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def limit(self, priority: str) -> int:
        return self.per_minute if priority == INTERACTIVE else self.background_limit

    def acquire(self, scope: str, priority: str = INTERACTIVE, max_wait: float = 0.0) -> None:
        """Take one slot of ``scope``'s quota, waiting up to ``max_wait`` seconds; else ``QuotaExhausted``."""
        deadline = self._clock() + max_wait
        limit = self.limit(priority)
        while True:
            now = self._clock()
            slot = int(now // SLOT_SECONDS)
            earlier = self._earlier_slots(scope, slot)
            room = limit - sum(earlier.values())
            if room > 0 and self._take(scope, slot, room):
                return
            wait = self._seconds_until_room(earlier, slot, now, limit)
            if now + wait > deadline:
                raise QuotaExhausted(scope, round(max(wait, 0.001), 3))
            self._sleep(wait)

    def _take(self, scope: str, slot: int, room: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"QUOTA#{scope}"}, "sk": {"S": str(slot).zfill(_SLOT_DIGITS)}},
                UpdateExpression="ADD calls :one SET expiresAt = if_not_exists(expiresAt, :expires)",
                ConditionExpression="attribute_not_exists(calls) OR calls < :room",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":room": {"N": str(room)},
                    ":expires": {"N": str((slot + WINDOW_SLOTS) * SLOT_SECONDS + 3600)},
                },
            )
            return True
        except ClientError as exc:
            if is_condition_failure(exc):
                return False  # this slot is full: wait for the next one
            raise

    def _earlier_slots(self, scope: str, slot: int) -> dict[int, int]:
        """Calls in the slots before ``slot`` that share its window (read once per slot and process)."""
        with self._lock:
            window = self._windows.setdefault(scope, _Window())
            if window.slot == slot and window.counts is not None:
                return window.counts
        first = slot - WINDOW_SLOTS + 1
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": f"QUOTA#{scope}"},
                ":first": {"S": str(first).zfill(_SLOT_DIGITS)},
                ":last": {"S": str(slot - 1).zfill(_SLOT_DIGITS)},
            },
            ConsistentRead=True,
            ProjectionExpression="sk, calls",
        )
        counts = {int(item["sk"]["S"]): int(item["calls"]["N"]) for item in response.get("Items", [])}
        with self._lock:
            self._windows[scope] = _Window(slot, counts)
        return counts

    @staticmethod
    def _seconds_until_room(earlier: dict[int, int], slot: int, now: float, limit: int) -> float:
        """When the window ending at a later slot leaves room: the earliest slot boundary at which the slots
        still inside hold fewer than ``limit`` calls. This slot is counted full: its write failed, or no room was left."""
        used = max(sum(earlier.values()), limit)
        for later in range(slot + 1, slot + WINDOW_SLOTS + 1):
            used -= earlier.get(later - WINDOW_SLOTS, 0)  # the oldest slot leaves the window
            if used < limit:
                return later * SLOT_SECONDS - now
        return WINDOW_SLOTS * SLOT_SECONDS - (now - slot * SLOT_SECONDS)


def quota_scope(instance_id: str) -> str:
    """The quota's key for a site: its Wix instance (the deployment's one site when there is none)."""
    return f"WIX#{instance_id.lower() or 'site'}"
