"""Wiring: the store, Wix client and notifier of this process, built once on first use.

Flows take a ``Dependencies`` argument, so tests can hand them other adapters; the handlers use
``get_dependencies()``, whose clients survive across warm invocations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from payment_links import aws
from payment_links.config import Settings, get_settings
from payment_links.notify.sender import Notifier
from payment_links.secrets import get_secret_json
from payment_links.store import PaymentRequestStore
from payment_links.wix.auth import WixAuth, auth_from_credentials
from payment_links.wix.client import WixClient, get_http_client


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dependencies:
    settings: Settings
    store: PaymentRequestStore
    wix: WixClient
    notifier: Notifier
    events: Any  # EventBridge client: PaymentRequestPaid goes on the product's bus
    clock: Callable[[], datetime] = utc_now


def wix_auth_from_secrets(settings: Settings) -> Callable[[], WixAuth]:
    def auth() -> WixAuth:
        credentials = get_secret_json(settings.wix_credentials_secret)
        return auth_from_credentials(settings.wix_auth_mode, credentials, settings.wix_site_id)

    return auth


def webhook_wix_settings(settings: Settings) -> Settings:
    """The Wix client's settings while a webhook is being answered: the same Wix, a budget Wix's 1,250 ms allow.
    A call that does not fit fails as Wix unavailable (503), and Wix delivers the event again."""
    budget = settings.webhook_wix_budget_seconds
    return settings.model_copy(
        update={
            "wix_connect_timeout": min(settings.wix_connect_timeout, budget),
            "wix_read_timeout": min(settings.wix_read_timeout, budget),
            "wix_retry_budget": budget,
            "wix_max_attempts": min(settings.wix_max_attempts, 2),
        }
    )


@lru_cache(maxsize=1)
def get_dependencies() -> Dependencies:
    settings = get_settings()
    return Dependencies(
        settings=settings,
        store=PaymentRequestStore(aws.client("dynamodb"), settings.table_name, settings.terminal_record_ttl_days),
        wix=WixClient(get_http_client(settings), wix_auth_from_secrets(settings), settings),
        notifier=Notifier(aws.client("sesv2"), aws.client("sns"), settings),
        events=aws.client("events"),
    )


def reset_dependencies() -> None:
    get_dependencies.cache_clear()
