"""The rig the reliability suites run on: AWS in moto's server mode, Wix in the sandbox, both over real HTTP.

- ``Containers``: several loaded copies of one function, as Lambda runs several containers (one copy serves one
  invocation at a time; ``local.lambda_isolation``, installed by tests/conftest.py, keeps the state
  Powertools holds on a class per thread).
- ``AwsFaults``: errors injected into the product's boto3 clients at the ``before-send`` hook (the request
  never leaves; botocore parses the error and retries it as it would a real one).
- ``WixSandbox``: the sandbox's Wix API and its ``/_sandbox`` switches (faults, the call log).
- ``Cloud``: what the product sent (SES, SNS), the paid events on the bus (through an SQS queue), the table.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import httpx
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from tests.support.aws_env import SentEmail
from tests.support.lambda_runtime import LambdaContext, load_function

SANDBOX_API_KEY = "local-wix-key"
SANDBOX_SITE_ID = "local-site"
WIX_HEADERS = {"Authorization": SANDBOX_API_KEY, "wix-site-id": SANDBOX_SITE_ID}
OPR = "/ecom/v1/order-payment-requests"


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- functions ---------------------------------------------------------------------------------------------


class Containers:
    """``count`` warm copies of ``functions/<name>/app.py``; ``invoke`` takes an idle one for the call."""

    def __init__(self, name: str, count: int) -> None:
        self._idle = [load_function(name, f"reliability_{name}_app_{copy}") for copy in range(count)]
        self._lock = threading.Condition()

    def invoke(self, event: dict[str, Any], context: LambdaContext | None = None) -> Any:
        with self._lock:
            while not self._idle:
                self._lock.wait()
            module = self._idle.pop()
        try:
            return module.lambda_handler(event, context or LambdaContext(remaining_ms=300_000))
        finally:
            with self._lock:
                self._idle.append(module)
                self._lock.notify()

    def call(self, event: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        """Invoke with an API Gateway event; (status, parsed body, lower-cased headers)."""
        response = self.invoke(event)
        try:
            body = json.loads(response.get("body") or "null")
        except ValueError:
            body = response.get("body")
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        for key, values in (response.get("multiValueHeaders") or {}).items():
            headers.setdefault(key.lower(), values[0])
        return response["statusCode"], body, headers


def scheduled_event(at: datetime) -> dict[str, Any]:
    """What EventBridge Scheduler hands the resend function; the sweep takes ``time`` as now."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": DEFAULT_ACCOUNT_ID,
        "time": iso(at),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:{DEFAULT_ACCOUNT_ID}:rule/reminder-sweep"],
        "detail": {},
    }


# -- AWS ---------------------------------------------------------------------------------------------------


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self._data


@dataclass(frozen=True)
class AwsError:
    """An error response in the service's own wire format."""

    status: int
    code: str
    protocol: str = "json"  # "json" (DynamoDB), "rest-json" (SES v2), "query" (SNS)

    def response(self, url: str) -> AWSResponse:
        message = f"injected {self.code}"
        if self.protocol == "query":
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{self.code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        elif self.protocol == "rest-json":
            body = json.dumps({"message": message}).encode()
            headers = {"Content-Type": "application/json", "x-amzn-ErrorType": self.code}
        else:
            body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": message}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(url, self.status, headers, _Body(body))


DYNAMODB_THROTTLED = AwsError(400, "ProvisionedThroughputExceededException")
DYNAMODB_CONDITION_FAILED = AwsError(400, "ConditionalCheckFailedException")
DYNAMODB_INTERNAL_ERROR = AwsError(500, "InternalServerError")
SES_THROTTLED = AwsError(429, "TooManyRequestsException", "rest-json")
SES_REJECTED = AwsError(400, "MessageRejected", "rest-json")
SNS_THROTTLED = AwsError(400, "Throttling", "query")
SNS_INTERNAL_ERROR = AwsError(500, "InternalError", "query")


class LostResponse:
    """The request reaches the service and is applied there, but its answer never comes back (a read timeout):
    botocore then sends the same request again, as it would after a real network fault."""


LOST_RESPONSE = LostResponse()


class WorkerCrash(BaseException):
    """The invocation's process dies here (a timeout, out of memory): a BaseException, so nothing in the product
    catches it; the Lambda invocation fails and SQS hands its message out again."""


class Crash:
    """The process dies at this call: ``after=False`` before the request leaves, ``after=True`` once the service
    has applied it (an e-mail SES accepted, then nothing more)."""

    def __init__(self, after: bool) -> None:
        self.after = after


CRASH_BEFORE = Crash(after=False)
CRASH_AFTER = Crash(after=True)


@dataclass
class AwsFaults:
    """Queued errors per (service, operation), served to the product's clients instead of moto's answer."""

    queues: dict[tuple[str, str], deque[AwsError | LostResponse | Crash]] = field(default_factory=dict)
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, service: str, operation: str, error: AwsError | LostResponse | Crash, times: int = 1) -> None:
        with self.lock:
            self.queues.setdefault((service, operation), deque()).extend([error] * times)

    def clear(self) -> None:
        with self.lock:
            self.queues.clear()

    def total_injected(self) -> int:
        return sum(self.injected.values())

    def install(self, session: boto3.Session) -> None:
        session.events.register("before-send", self._before_send)

    def _before_send(self, request: Any, event_name: str = "", **_kwargs: Any) -> AWSResponse | None:
        # event_name: before-send.<service-id>.<Operation>
        _, service, operation = event_name.split(".", 2)
        key = (service, operation)
        with self.lock:
            self.calls[key] += 1
            queue = self.queues.get(key)
            if not queue:
                return None
            error = queue.popleft()
            self.injected[key] += 1
        if isinstance(error, LostResponse | Crash) and not (isinstance(error, Crash) and not error.after):
            body = request.body.encode() if isinstance(request.body, str) else request.body
            httpx.request(request.method, request.url, headers=dict(request.headers.items()), content=body, timeout=30)
        if isinstance(error, Crash):
            raise WorkerCrash(f"crash {'after' if error.after else 'before'} {service}.{operation}")
        if isinstance(error, LostResponse):
            raise ReadTimeoutError(endpoint_url=request.url)
        return error.response(request.url)


class Cloud:
    """The AWS side as the tests read it: what was sent, what reached the bus, the table."""

    def __init__(self, endpoint: str, region: str, queue_url: str, faults: AwsFaults) -> None:
        self.endpoint = endpoint
        self.region = region
        self.queue_url = queue_url
        self.faults = faults
        self._paid: list[dict[str, Any]] = []

    def client(self, service: str) -> Any:
        # A session of its own: the product's default session carries the fault hooks.
        return boto3.session.Session().client(
            service, endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )

    def table(self) -> Any:
        resource = boto3.session.Session().resource(
            "dynamodb", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        return resource.Table(os.environ["TABLE_NAME"])

    def emails(self, to: str | None = None, subject_prefix: str = "") -> list[Any]:
        sent = [SentEmail.of(m) for m in list(ses_backends[DEFAULT_ACCOUNT_ID][self.region].sent_messages)]
        return [m for m in sent if m.subject.startswith(subject_prefix) and (to is None or m.destinations["ToAddresses"] == [to])]

    def sms(self, prefix: str = "") -> list[tuple[str, str]]:
        backend = sns_backends[DEFAULT_ACCOUNT_ID][self.region]
        return [(number, text) for number, text in list(backend.sms_messages.values()) if text.startswith(prefix)]

    def paid_events(self) -> list[dict[str, Any]]:
        """Every PaymentRequestPaid that reached the bus (drained from the queue a rule on the bus feeds)."""
        sqs = self.client("sqs")
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                return list(self._paid)
            for message in batch:
                self._paid.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


# -- Wix ---------------------------------------------------------------------------------------------------


class WixSandbox:
    """The sandbox as Wix (its API, with the deployment's key) and as its operator (``/_sandbox``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.faults_set = 0

    def close(self) -> None:
        self.http.close()

    def reset(self) -> None:
        self.http.post("/_sandbox/reset", json={"seed": False}).raise_for_status()

    def create_order(self, balance: str = "40.00", email: str | None = "jane@example.com", phone: str | None = "+12015550123") -> str:
        buyer = {"firstName": "Jane", "lastName": "Doe", **({"email": email} if email else {}), **({"phone": phone} if phone else {})}
        response = self.http.post("/_sandbox/orders", json={"balance": balance, "currency": "USD", "buyer": buyer})
        assert response.status_code == 201, response.text
        return str(response.json()["order"]["id"])

    def create_request(self, order_id: str, amount: str = "10.00", external_id: str | None = None, title: str = "Balance due") -> str:
        """A payment request made at Wix directly (as another app or the merchant would)."""
        body = {
            "orderPaymentRequest": {
                "orderId": order_id,
                "amount": {"amount": amount},
                "title": title,
                "source": {"externalId": external_id or f"elsewhere-{uuid.uuid4().hex[:12]}"},
            }
        }
        response = self.http.post(OPR, json=body, headers=WIX_HEADERS)
        assert response.status_code == 200, response.text
        return str(response.json()["orderPaymentRequest"]["id"])

    def request(self, request_id: str) -> dict[str, Any]:
        response = self.http.get(f"{OPR}/{request_id}", headers=WIX_HEADERS)
        assert response.status_code == 200, response.text
        return dict(response.json()["orderPaymentRequest"])

    def pay(self, request_id: str) -> None:
        self.http.post(f"/_sandbox/order-payment-requests/{request_id}/pay").raise_for_status()

    def expire(self, request_id: str) -> None:
        self.http.post(f"/_sandbox/order-payment-requests/{request_id}/expire").raise_for_status()

    def void(self, request_id: str) -> None:
        self.http.post(f"{OPR}/void", json={"orderPaymentRequestId": request_id}, headers=WIX_HEADERS).raise_for_status()

    def fault(self, endpoint: str, **fault: Any) -> None:
        """``PUT /_sandbox/faults``: e.g. ``fault("create", status=503, count=2)``."""
        response = self.http.put("/_sandbox/faults", json={"endpoint": endpoint, **fault})
        assert response.status_code == 200, response.text
        self.faults_set += 1

    def clear_faults(self) -> None:
        self.http.delete("/_sandbox/faults").raise_for_status()

    def calls(self, endpoint: str | None = None) -> list[dict[str, Any]]:
        response = self.http.get("/_sandbox/calls", params={"endpoint": endpoint} if endpoint else None)
        response.raise_for_status()
        return list(response.json()["calls"])

    def count(self, endpoint: str) -> int:
        return len(self.calls(endpoint))

    def faulted_calls(self) -> int:
        return sum(1 for call in self.calls() if call.get("fault"))


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(n)`` for n in range(count) on ``count`` threads released together by a barrier."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(n)
        except BaseException as exc:  # reported by the caller's assertions, never lost in a thread
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,), name=f"concurrent-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
