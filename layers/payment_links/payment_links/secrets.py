"""Secrets from AWS Secrets Manager through Powertools Parameters, cached for ``SECRETS_CACHE_SECONDS``."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities import parameters

from payment_links import aws
from payment_links.config import get_settings


@cache
def _provider() -> parameters.SecretsProvider:
    # With the process's own client: Powertools' default provider builds a boto3 Session of its own, which
    # loads botocore's data files again: ~65 ms of CPU on a cold start's first secret (docs/performance.md).
    return parameters.SecretsProvider(boto3_client=aws.client("secretsmanager"))


def get_secret_text(name: str) -> str:
    value = _provider().get(name, max_age=get_settings().secrets_max_age)
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


def get_secret_json(name: str) -> dict[str, Any]:
    value = json.loads(get_secret_text(name))
    if not isinstance(value, dict):
        raise ValueError(f"secret {name} must hold a JSON object")
    return value


def clear_secret_cache() -> None:
    parameters.clear_caches()
    _provider.cache_clear()
