"""Helpers shared by the resend and sweep tests (no tests here): the function under test, scheduled events,
creating requests through the create API at a chosen time, reading what was sent, and moto made atomic.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine

from tests.support.lambda_runtime import LambdaContext, api_event, invoke, load_function

ROOT = Path(__file__).resolve().parents[2]
resend_app = load_function("resend")
create_app = load_function("create")

UNSUBSCRIBE_LINK = re.compile(r"https://api\.test/v1/unsubscribe/([A-Za-z0-9_.\-]+)")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def scheduled_event(time: datetime | str) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "scheduled-sweep.json").read_text())
    event["time"] = time if isinstance(time, str) else time.isoformat().replace("+00:00", "Z")
    return event


class CountdownContext(LambdaContext):
    """A Lambda context whose remaining time runs out after ``checks`` looks at it."""

    def __init__(self, checks: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checks_left = checks
        self._lock = threading.Lock()

    def get_remaining_time_in_millis(self) -> int:
        with self._lock:
            self.checks_left -= 1
            return 300_000 if self.checks_left >= 0 else 1_000


def run_sweep(time: datetime | str, context: LambdaContext | None = None) -> dict[str, Any]:
    """Invoke the function with a scheduled event, travelling to its time as the real clock too."""
    event = scheduled_event(time)
    with time_machine.travel(at(event["time"]), tick=False):
        return resend_app.lambda_handler(event, context or LambdaContext(remaining_ms=300_000))


def create_request(wix: Any, when: datetime | str, **body: Any) -> dict[str, Any]:
    """Create a payment request through the create function at ``when``; returns its response body."""
    order_id = body.pop("order_id", None) or wix.add_order(
        balance="40.00", email=body.pop("email", "jane@example.com"), phone=body.pop("phone", "+12015550123")
    )
    request = {"orderId": order_id, "externalId": body.pop("external_id", f"inv-{len(wix.requests) + 1}"), "title": "Balance due"}
    request.update({"amount": "25.00", **body})
    with time_machine.travel(at(when) if isinstance(when, str) else when, tick=False):
        status, created, _ = invoke(create_app, api_event("POST", "/payment-requests", request))
    assert status == 201, created
    return created


def get_request(request_id: str) -> dict[str, Any]:
    status, body, _ = invoke(create_app, api_event("GET", f"/payment-requests/{request_id}"))
    assert status == 200, body
    return body


def reminder_emails(aws: Any, to: str | None = None) -> list[Any]:
    return [m for m in aws.sent_emails() if m.subject.startswith("Reminder:") and (to is None or m.destinations["ToAddresses"] == [to])]


def reminder_sms(aws: Any) -> list[tuple[str, str]]:
    return [(number, text) for number, text in aws.sent_sms() if text.startswith("Reminder:")]


def notifications(record: dict[str, Any], kind: str) -> list[tuple[str, str]]:
    return [(n["channel"], n["status"]) for n in record["notifications"] if n["kind"] == kind]
