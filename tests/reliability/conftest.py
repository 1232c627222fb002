"""Fixtures of the reliability suites: moto in server mode and the Wix sandbox on free ports, reset per test.

The functions run in this process (as ``Containers``) with the environment a deployment gives them, pointed at
the two servers, so every DynamoDB conditional write, SES/SNS send, EventBridge put and Wix call goes over real
HTTP. ``RELIABILITY_MUTANT=<name>`` removes one product mechanism (see ``mutants.py``) to show which tests catch it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import boto3
import httpx
import pytest

from local.moto_bootstrap import MotoServer
from local.template import create_tables
from local.wix_sandbox import SandboxServer
from tests.reliability import figures
from tests.reliability.harness import (
    SANDBOX_API_KEY,
    SANDBOX_SITE_ID,
    AwsFaults,
    Cloud,
    WixSandbox,
)
from tests.support.aws_env import reset_process_state
from tests.support.webhook_signing import default_keys

REGION = "us-east-1"
# Short enough that a timed-out Wix call costs little, long enough for a loaded 2-core CI machine.
WIX_READ_TIMEOUT_SECONDS = "0.5"


@pytest.fixture(scope="package")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    server = SandboxServer(
        port=0,
        key_dir=tmp_path_factory.mktemp("sandbox-keys"),
        webhook_url=None,  # the suites deliver webhooks themselves, shuffled and duplicated on purpose
        seed_demo_order=False,
        timeout_hold_seconds=0.1,  # a "timeout" fault drops the connection before the client's read timeout
    ).start()
    yield server
    server.stop()


def _create_resources(cloud: Cloud) -> str:
    """The template's tables, the secrets, a verified sender, the bus and a queue that catches paid events."""
    create_tables(
        cloud.client("dynamodb"),
        {"PaymentRequestsTable": os.environ["TABLE_NAME"], "IdempotencyTable": os.environ["IDEMPOTENCY_TABLE_NAME"]},
    )
    secrets = cloud.client("secretsmanager")
    secrets.create_secret(Name=os.environ["WIX_CREDENTIALS_SECRET"], SecretString=json.dumps({"apiKey": SANDBOX_API_KEY}))
    secrets.create_secret(Name=os.environ["UNSUBSCRIBE_SECRET"], SecretString="unsubscribe-signing-key-for-tests")
    secrets.create_secret(Name=os.environ["WIX_WEBHOOK_KEYS_SECRET"], SecretString=default_keys().public_text)
    cloud.client("sesv2").create_email_identity(EmailIdentity=os.environ["SENDER_EMAIL"])
    events, sqs = cloud.client("events"), cloud.client("sqs")
    bus = os.environ["EVENT_BUS_NAME"]
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName="paid-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="paid", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["PaymentRequestPaid"]}))
    events.put_targets(Rule="paid", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


@pytest.fixture
def cloud(moto_server: MotoServer, sandbox_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.url)
    monkeypatch.setenv("WIX_BASE_URL", sandbox_server.url)
    monkeypatch.setenv("WIX_SITE_ID", SANDBOX_SITE_ID)
    monkeypatch.setenv("WIX_READ_TIMEOUT_SECONDS", WIX_READ_TIMEOUT_SECONDS)
    # The client-side Wix quota (200/min) would make a 1,000-reminder sweep take minutes; it is its own mechanism.
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")
    # Powertools keeps one metric set per process; concurrent invocations in one process would flush each other's.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    httpx.post(f"{moto_server.url}/moto-api/reset", timeout=10).raise_for_status()
    reset_process_state()
    faults = AwsFaults()
    # The product's clients come from boto3's default session: hook it before any client exists.
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    faults.install(boto3.DEFAULT_SESSION)
    env = Cloud(moto_server.url, REGION, queue_url="", faults=faults)
    env.queue_url = _create_resources(env)
    yield env
    figures.add("aws faults", injected=faults.total_injected())
    reset_process_state()
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[WixSandbox]:
    client = WixSandbox(sandbox_server.url)
    client.reset()
    yield client
    figures.add("wix faults", injected=client.faulted_calls())
    client.clear_faults()
    client.close()
