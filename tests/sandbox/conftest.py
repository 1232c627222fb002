"""Fixtures: a running sandbox on a free port (keys in a temp dir) with a webhook receiver, and API clients."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from local.wix_sandbox import SandboxServer

from .support import API_HEADERS, WebhookReceiver, create_order


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory) -> Path:
    """One key pair for the session: generating RSA keys for every test would dominate the run time."""
    return tmp_path_factory.mktemp("keys")


@pytest.fixture
def sandbox(key_dir, receiver) -> Iterator[SandboxServer]:
    server = SandboxServer(
        port=0,
        key_dir=key_dir,
        webhook_url=receiver.url,
        webhook_retry_delays_seconds=(0.05, 0.1),
        webhook_shuffle_window_seconds=0.3,
        expiry_check_seconds=0.05,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(sandbox) -> Iterator[httpx.Client]:
    """Authenticated in API-key mode, like the local stack's functions."""
    with httpx.Client(base_url=sandbox.url, headers=API_HEADERS, timeout=10, verify=False) as http:
        yield http


@pytest.fixture
def anonymous(sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10, verify=False) as http:
        yield http


@pytest.fixture
def order(client) -> dict:
    return create_order(client, "40.00")
