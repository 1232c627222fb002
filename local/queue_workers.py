"""Lambda's SQS event source, locally: poll a queue in moto and invoke the function with its messages.

What AWS does for the template's ``Type: SQS`` events: up to ``MaximumConcurrency`` pollers receive batches
of ``BatchSize`` messages, invoke the function with an SQS event, delete the messages that succeeded and
leave the ones named in ``batchItemFailures`` to come back after their visibility timeout (the queue's
redrive policy moves a message that keeps failing to its dead-letter queue, which moto applies too). Locally a
failed message comes back after ``RETRY_VISIBILITY_SECONDS`` instead of the queue's 30 minutes, so a retry is
seen while the stack runs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local.environment import Deployment

logger = logging.getLogger("local.queues")
RETRY_VISIBILITY_SECONDS = 2
WAIT_SECONDS = 1  # long polling: an idle poller asks moto once a second


@dataclass(frozen=True)
class QueueSource:
    function: str  # logical id
    queue: str  # the queue's logical id
    batch_size: int
    concurrency: int


def queue_sources(deployment: Deployment) -> list[QueueSource]:
    """The template's SQS event sources."""
    from local.template import resources  # here: sqs_event is also used where the template (PyYAML) cannot be loaded

    found = []
    for function, res in resources("AWS::Serverless::Function").items():
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            props = event["Properties"]
            queue = props["Queue"]["Fn::GetAtt"][0] if isinstance(props["Queue"], dict) else props["Queue"]
            scaling = props.get("ScalingConfig", {})
            concurrency = int(deployment.resolve(scaling["MaximumConcurrency"])) if "MaximumConcurrency" in scaling else 2
            found.append(QueueSource(function, queue, int(props.get("BatchSize", 10)), concurrency))
    return found


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda hands a function for these received messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    "ApproximateReceiveCount": message.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": message.get("Attributes", {}).get("SentTimestamp", str(int(time.time() * 1000))),
                    "SenderId": queue_arn.split(":")[4],  # the queue's account
                    "ApproximateFirstReceiveTimestamp": message.get("Attributes", {}).get(
                        "ApproximateFirstReceiveTimestamp", str(int(time.time() * 1000))
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueuePoller:
    """``concurrency`` threads, each receiving a batch and invoking ``invoke`` with it, until stopped."""

    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, region: str, source: QueueSource, invoke: Any) -> None:
        self._sqs = sqs
        self._url = queue_url
        self._arn = queue_arn
        self._region = region
        self._source = source
        self._invoke = invoke
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._busy_lock = threading.Lock()

    def start(self) -> QueuePoller:
        for n in range(self._source.concurrency):
            thread = threading.Thread(target=self._run, name=f"sqs-{self._source.queue}-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=WAIT_SECONDS + 30)
        self._threads = []

    @property
    def busy(self) -> bool:
        with self._busy_lock:
            return self._busy > 0

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                messages = self._sqs.receive_message(
                    QueueUrl=self._url,
                    MaxNumberOfMessages=min(self._source.batch_size, 10),
                    WaitTimeSeconds=WAIT_SECONDS,
                    AttributeNames=["All"],
                ).get("Messages", [])
            except Exception:
                if self._stopping.is_set():
                    return
                logger.exception("could not poll %s", self._source.queue)
                time.sleep(WAIT_SECONDS)
                continue
            if messages:
                self._deliver(messages)

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        with self._busy_lock:
            self._busy += 1
        try:
            try:
                response = self._invoke(sqs_event(messages, self._arn, self._region)) or {}
                failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
            except Exception:
                logger.exception("%s failed on a batch from %s", self._source.function, self._source.queue)
                failed = {message["MessageId"] for message in messages}  # Lambda's error: the whole batch returns
            for message in messages:
                if message["MessageId"] in failed:
                    self._sqs.change_message_visibility(
                        QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_VISIBILITY_SECONDS
                    )
                else:
                    self._sqs.delete_message(QueueUrl=self._url, ReceiptHandle=message["ReceiptHandle"])
        finally:
            with self._busy_lock:
                self._busy -= 1
