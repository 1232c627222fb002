"""boto3 clients, built once per process with explicit timeouts and bounded retries.

``AWS_ENDPOINT_URL`` (read by boto3 itself) points them at moto's server locally.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.config import Config

AWS_CONFIG = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "max_attempts": 3},
    max_pool_connections=32,
)
_lock = threading.Lock()


@cache
def client(service: str) -> Any:
    with _lock:  # boto3's default session is not thread-safe while it builds clients
        return boto3.client(service, config=AWS_CONFIG)  # type: ignore[call-overload]


def reset_clients() -> None:
    client.cache_clear()
