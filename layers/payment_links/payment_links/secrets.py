"""Secrets from AWS Secrets Manager through Powertools Parameters, cached for ``SECRETS_CACHE_SECONDS``."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities import parameters

from payment_links.config import get_settings


def get_secret_text(name: str) -> str:
    value = parameters.get_secret(name, max_age=get_settings().secrets_max_age)
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
