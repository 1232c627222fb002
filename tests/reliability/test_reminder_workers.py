"""The reminder pipeline under crashes: the sweep's batches on SQS, four workers at once, and workers dying between
the claim and the send and between the send and its record. Every reminder goes out once: none lost, none twice.

The crashes are injected into the product's own boto3 clients (``AwsFaults``): ``CRASH_BEFORE`` on the UpdateItem
that flags a claimed reminder as handed to SES (the last write before the send), ``CRASH_AFTER`` on SES's
SendEmail (SES accepted the e-mail, then the process died before recording it). A crash fails the invocation, so
its message comes back from the queue, as Lambda's SQS event source would hand it out again.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from payment_links.deps import get_dependencies
from payment_links.flows import sweep

from local.queue_workers import sqs_event
from tests.reliability import figures
from tests.reliability.harness import CRASH_AFTER, CRASH_BEFORE, Cloud, Containers, WixSandbox, WorkerCrash, scheduled_event
from tests.support.aws_env import reset_process_state
from tests.support.lambda_runtime import LambdaContext, api_event

pytestmark = pytest.mark.slow

REMINDER_AT = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
COUNT = 24
WORKERS = 4
CRASHES = 2  # of each kind
SECOND_STEP_AT = REMINDER_AT - timedelta(days=1, minutes=5) + timedelta(days=3)  # P3D after creation


@pytest.fixture
def queue(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> str:
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName=f"reminders-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    monkeypatch.setenv("REMINDER_QUEUE_URL", url)
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")  # the only UpdateItems before a send are the started flags
    monkeypatch.setenv("REMINDER_LEASE_SECONDS", "60")
    monkeypatch.setattr(sweep, "BATCH_SIZE", 4)  # six batches for four workers
    reset_process_state()
    return url


def seed(sandbox: WixSandbox) -> list[str]:
    creates = Containers("create", 1)
    ids = []
    for n in range(COUNT):
        order_id = sandbox.create_order(email=f"customer-{n}@example.com", phone=None)
        body = {"orderId": order_id, "externalId": f"inv-{uuid.uuid4().hex}", "title": "Balance due", "amount": "25.00"}
        with time_machine.travel(REMINDER_AT - timedelta(days=1, minutes=5), tick=False):
            status, created, _ = creates.call(api_event("POST", "/payment-requests", body))
        assert status == 201, created
        ids.append(created["id"])
    return ids


class Workers:
    """Lambda's SQS event source: ``WORKERS`` pollers, each invoking the resend function with one message."""

    def __init__(self, cloud: Cloud, queue_url: str) -> None:
        self.sqs = cloud.client("sqs")
        self.queue_url = queue_url
        self.functions = Containers("resend", WORKERS)
        self.crashed = 0
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()

    def drain(self) -> None:
        threads = [threading.Thread(target=self._run) for _ in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not self.errors, self.errors

    def _run(self) -> None:
        try:
            self._poll()
        except BaseException as exc:  # reported by drain(), never lost in a thread
            with self.lock:
                self.errors.append(exc)

    def _poll(self) -> None:
        idle = 0
        while idle < 3:  # the queue stayed empty for three polls (a crashed message comes back at once)
            received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, AttributeNames=["All"])
            messages = received.get("Messages", [])
            if not messages:
                idle += 1
                continue
            idle = 0
            self._deliver(messages[0])

    def _deliver(self, message: dict[str, Any]) -> None:
        event = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:reminders", "us-east-1")
        try:
            response = self.functions.invoke(event, LambdaContext(remaining_ms=300_000))
        except WorkerCrash:
            with self.lock:
                self.crashed += 1
            self.sqs.change_message_visibility(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            return
        assert response == {"batchItemFailures": []}, response
        self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_four_workers_crashing_between_claim_and_send_and_between_send_and_record_send_each_reminder_once(
    cloud: Cloud, sandbox: WixSandbox, queue: str
) -> None:
    ids = seed(sandbox)
    cloud.faults.fail("dynamodb", "UpdateItem", CRASH_BEFORE, times=CRASHES)
    cloud.faults.fail("sesv2", "SendEmail", CRASH_AFTER, times=CRASHES)
    workers = Workers(cloud, queue)
    sweeps = Containers("resend", 1)

    summaries = []
    for minutes in (0, 15, 30, 45):  # the leases (60 s) of the crashed workers' reminders run out between sweeps
        event = scheduled_event(REMINDER_AT + timedelta(minutes=minutes))
        summaries.append(dict(sweeps.invoke(event, LambdaContext(remaining_ms=300_000))))
        workers.drain()
        if summaries[-1]["due"] == 0:
            break

    figures.add("reminder workers", cases=COUNT, crashes=workers.crashed)
    assert cloud.faults.injected[("dynamodb", "UpdateItem")] == CRASHES and cloud.faults.injected[("sesv2", "SendEmail")] == CRASHES
    assert CRASHES <= workers.crashed <= 2 * CRASHES  # two crashes can land in one invocation (one batch)
    sent_to = Counter(email.destinations["ToAddresses"][0] for email in cloud.emails(subject_prefix="Reminder:"))
    assert sorted(sent_to) == sorted(f"customer-{n}@example.com" for n in range(COUNT)), "a reminder was lost"
    assert set(sent_to.values()) == {1}, f"sent twice: {[to for to, n in sent_to.items() if n > 1]}"

    store = get_dependencies().store
    history: Counter[str] = Counter()
    for request_id in ids:
        record = store.get(request_id)
        assert record is not None and record.reminders.sent == 1 and record.reminders.in_flight is None
        assert record.reminders.next_step == 1 and record.reminders.next_at == SECOND_STEP_AT
        history.update(entry.event for entry in record.history)
    # The two kinds of crash were each met and recovered as the pipeline promises.
    assert history["REMINDER_RECOVERED"] == CRASHES and history["REMINDER_UNCONFIRMED"] == CRASHES
    assert summaries[-1]["due"] == 0
