"""Wiring: the store, Wix client and notifier of this process, built once on first use.

Flows take a ``Dependencies`` argument, so tests can hand them other adapters; the handlers use
``get_dependencies()``, whose clients survive across warm invocations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from payment_links import aws
from payment_links.config import Settings, get_settings
from payment_links.domain import errors
from payment_links.domain.contacts import EMAIL, SMS
from payment_links.notify.sender import Notifier
from payment_links.quota import BACKGROUND, INTERACTIVE, SharedQuota, quota_scope
from payment_links.rate_limit import send_rate_bucket
from payment_links.secrets import get_secret_json
from payment_links.sites import SiteRegistry, effective_settings, for_site, forget_sites
from payment_links.store import PaymentRequestStore
from payment_links.tenancy import THE_SITE, NotASite, Site, site_of_request
from payment_links.wix.auth import WixAuth, auth_from_credentials
from payment_links.wix.client import WixClient, get_http_client


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dependencies:
    """What the flows use, scoped to one site: ``for_site`` gives another site's (its store partition, its Wix
    token, its settings). Built once per process for the deployment's default site; ``for_site`` is cheap."""

    settings: Settings
    store: PaymentRequestStore
    wix: WixClient
    notifier: Notifier
    events: Any  # EventBridge client: PaymentRequestPaid goes on the product's bus
    clock: Callable[[], datetime] = utc_now
    site: Site = THE_SITE
    registry: SiteRegistry | None = None
    base_settings: Settings | None = None  # the template's, before any site's overrides
    wix_priority: str = INTERACTIVE  # BACKGROUND for reminders: they leave a share of the site's quota to the rest

    def for_site(self, site: Site, overrides: dict[str, Any] | None = None) -> Dependencies:
        base = self.base_settings or self.settings
        settings = effective_settings(base, overrides or {})
        return Dependencies(
            settings=settings,
            store=self.store.for_site(site),
            wix=WixClient(get_http_client(base), wix_auth_from_secrets(base, site), settings, wix_quota(base, site, self.wix_priority)),
            notifier=self.notifier.with_settings(settings, site),
            events=self.events,
            clock=self.clock,
            site=site,
            registry=self.registry,
            base_settings=base,
            wix_priority=self.wix_priority,
        )

    def in_background(self, senders: int | None = None) -> Dependencies:
        """The same site, its Wix calls at reminder priority (the storefront reserve left alone), its sends within
        this process's share of the account's sending rates (``senders`` processes share them; default: the
        reminder workers' concurrency)."""
        base = self.base_settings or self.settings
        quota = wix_quota(base, self.site, BACKGROUND)
        wix = WixClient(get_http_client(base), wix_auth_from_secrets(base, self.site), self.settings, quota)
        sharers = senders or base.reminder_worker_concurrency
        rates = {EMAIL: send_rate_bucket(base.ses_max_send_rate, sharers), SMS: send_rate_bucket(base.sms_max_send_rate, sharers)}
        return replace(self, wix=wix, wix_priority=BACKGROUND, notifier=self.notifier.rate_limited(rates))


# How long a reminder worker waits for a Wix slot before it leaves the rest of its batch for the next sweep.
BACKGROUND_QUOTA_WAIT_SECONDS = 10.0


@lru_cache(maxsize=4)
def shared_quota(table_name: str, per_minute: int, reserve_percent: int) -> SharedQuota | None:
    """This process's handle on the shared per-site Wix quota (None when the quota is off)."""
    return SharedQuota(aws.client("dynamodb"), table_name, per_minute, reserve_percent) if per_minute > 0 else None


def wix_quota(settings: Settings, site: Site, priority: str = INTERACTIVE) -> Callable[[], None] | None:
    """What a Wix client of ``site`` calls before each request: a slot of the site's quota, or QuotaExhausted."""
    quota = shared_quota(settings.table_name, settings.wix_requests_per_minute, settings.wix_storefront_reserve_percent)
    if quota is None:
        return None
    wait = settings.wix_quota_wait_seconds if priority == INTERACTIVE else BACKGROUND_QUOTA_WAIT_SECONDS
    wait = min(wait, settings.wix_retry_budget)  # a webhook's 600 ms budget includes the wait
    scope = quota_scope(site.instance_id)
    return lambda: quota.acquire(scope, priority, wait)


def wix_auth_from_secrets(settings: Settings, site: Site = THE_SITE) -> Callable[[], WixAuth]:
    """Wix credentials from Secrets Manager (read through the cache, so a rotated secret is picked up). An APP
    deployment's secret holds its app's id and secret; the token is the site's own (``site.instance_id``)."""

    def auth() -> WixAuth:
        credentials = get_secret_json(settings.wix_credentials_secret)
        mode = "OAUTH" if settings.deployment_mode == "APP" else settings.wix_auth_mode
        return auth_from_credentials(mode, credentials, settings.wix_site_id, site.instance_id or None)

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
        wix=WixClient(get_http_client(settings), wix_auth_from_secrets(settings), settings, wix_quota(settings, THE_SITE)),
        notifier=Notifier(aws.client("sesv2"), aws.client("sns"), settings),
        events=aws.client("events"),
        registry=SiteRegistry(aws.client("dynamodb"), settings.table_name),
        base_settings=settings,
    )


def dependencies_for_request(event: Mapping[str, Any]) -> Dependencies:
    """The dependencies of a storefront request's site: in APP mode the site the authorizer resolved from the key."""
    deps = get_dependencies()
    try:
        site = site_of_request(event, deps.settings.deployment_mode)
    except NotASite as exc:
        raise errors.SiteNotServed("This request carries no site; use the site's storefront API key.") from exc
    scoped = for_site(deps, site)
    if scoped is None:
        raise errors.SiteNotServed("The app is not installed on this site (any more).")
    return scoped


def reset_dependencies() -> None:
    from payment_links.wix.auth import forget_tokens

    forget_tokens()
    get_dependencies.cache_clear()
    shared_quota.cache_clear()
    send_rate_bucket.cache_clear()
    forget_sites()
