"""Deployment settings: every environment variable the product reads, read once into one model.

Nothing else in the code base calls ``os.environ``. Secrets are not here: only the names of the
Secrets Manager secrets that hold them (see ``payment_links.secrets``).
"""

from __future__ import annotations

import os
from datetime import time
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    """The product's configuration, as set by ``template.yaml`` (or the local stack)."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # SITE: one Wix site per deployment. APP: every site that installs the Wix app (payment_links.tenancy).
    deployment_mode: Literal["SITE", "APP"] = Field("SITE", alias="DEPLOYMENT_MODE")
    # APP mode: how long a removed site's data is kept before it is deleted (a reinstall within it keeps it all).
    retention_days: int = Field(30, ge=0, le=3650, alias="RETENTION_DAYS")
    # APP mode: the secret holding the usage plan key the site-key authorizer hands back to API Gateway.
    usage_plan_key_secret: str = Field("", alias="USAGE_PLAN_KEY_SECRET")
    table_name: str = Field("payment-links", alias="TABLE_NAME")
    idempotency_table_name: str = Field("payment-links-idempotency", alias="IDEMPOTENCY_TABLE_NAME")
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME")

    wix_base_url: str = Field("https://www.wixapis.com", alias="WIX_BASE_URL")
    wix_auth_mode: Literal["API_KEY", "OAUTH"] = Field("API_KEY", alias="WIX_AUTH_MODE")
    wix_site_id: str = Field("", alias="WIX_SITE_ID")
    # The Wix app instance (site) this deployment serves, for API-key mode; OAuth credentials name their own.
    # Webhook events of any other instance are acknowledged and not applied.
    wix_instance_id: str = Field("", alias="WIX_INSTANCE_ID")
    # Name or ARN of a Secrets Manager secret: {"apiKey": ...} or {"appId", "appSecret", "instanceId"}.
    wix_credentials_secret: str = Field("payment-links/wix-credentials", alias="WIX_CREDENTIALS_SECRET")
    # Name or ARN of a secret holding one PEM public key, or a JSON list of them (key rotation).
    wix_webhook_keys_secret: str = Field("payment-links/wix-webhook-public-key", alias="WIX_WEBHOOK_KEYS_SECRET")
    wix_connect_timeout: float = Field(2.0, alias="WIX_CONNECT_TIMEOUT_SECONDS")
    wix_read_timeout: float = Field(8.0, alias="WIX_READ_TIMEOUT_SECONDS")
    wix_max_attempts: int = Field(3, ge=1, le=10, alias="WIX_MAX_ATTEMPTS")
    wix_retry_wait_initial: float = Field(0.2, alias="WIX_RETRY_WAIT_INITIAL_SECONDS")
    wix_retry_wait_max: float = Field(2.0, alias="WIX_RETRY_WAIT_MAX_SECONDS")
    wix_retry_budget: float = Field(20.0, alias="WIX_RETRY_BUDGET_SECONDS")
    secrets_max_age: int = Field(300, alias="SECRETS_CACHE_SECONDS")
    # Wix waits 1,250 ms for a webhook's answer, cold start included: Wix calls made while answering (confirming a
    # payment, fetching a request we never stored) get this much in all, retries included.
    webhook_wix_budget_seconds: float = Field(0.6, gt=0, le=5, alias="WEBHOOK_WIX_BUDGET_SECONDS")

    # What a site may override with PUT /settings (payment_links.sites); the template's parameters otherwise.
    store_name: str = Field("our store", alias="STORE_NAME")
    sender_email: str = Field("payments@example.com", alias="SENDER_EMAIL")
    ses_configuration_set: str = Field("", alias="SES_CONFIGURATION_SET")
    sms_sender_id: str = Field("", alias="SMS_SENDER_ID")
    # ISO 3166 regions SMS may go to (empty: every country); premium-rate and similar numbers are always refused.
    sms_allowed_countries: frozenset[str] = Field(frozenset(), alias="SMS_ALLOWED_COUNTRIES")
    # A resend may name a contact the order does not know: sent once, never stored for reminders.
    allow_contact_override: bool = Field(False, alias="ALLOW_CONTACT_OVERRIDE")
    # A request whose order was settled another way (paid, refunded, canceled) is voided at Wix, not only left unreminded.
    void_when_order_settled: bool = Field(True, alias="VOID_WHEN_ORDER_SETTLED")
    # A request asking more than its order still owes (paid in part elsewhere) is voided and a new one made for what is open.
    reissue_on_balance_change: bool = Field(False, alias="REISSUE_ON_BALANCE_CHANGE")
    # Reminders for requests this product did not create (made in the dashboard, adopted from Wix).
    remind_external_requests: bool = Field(False, alias="REMIND_EXTERNAL_REQUESTS")

    default_channels: tuple[Literal["EMAIL", "SMS"], ...] = Field(("EMAIL", "SMS"), alias="DEFAULT_CHANNELS")
    default_locale: str = Field("en", alias="DEFAULT_LOCALE")
    # The wording of reminder n is entry n (the last repeats); FINAL replaces it when the request expires first.
    reminder_stages: tuple[Literal["FRIENDLY", "FIRM"], ...] = Field(("FRIENDLY", "FIRM"), min_length=1, alias="REMINDER_STAGES")
    # A site's own message templates (PUT /settings ``templates``, by messages.render.TEMPLATE_NAMES key); never from env.
    message_templates: dict[str, str] = Field(default_factory=dict, exclude=True)
    # DIRECT: messages carry Wix's payment page URL; TRACKED: our /l/{token} link, which counts the click and sends
    # the customer to a fresh Wix URL (or says the request is paid, expired or voided).
    link_mode: Literal["DIRECT", "TRACKED"] = Field("DIRECT", alias="LINK_MODE")
    # An SMS longer than this many segments is sent in its short form, else not at all (recorded SMS_TOO_LONG).
    sms_max_segments: int = Field(3, ge=1, le=10, alias="SMS_MAX_SEGMENTS")
    default_reminder_schedule: tuple[str, ...] = Field(("P1D", "P3D", "P7D"), alias="DEFAULT_REMINDER_SCHEDULE")
    reminders_enabled_by_default: bool = Field(True, alias="REMINDERS_ENABLED_BY_DEFAULT")
    max_reminders: int = Field(5, ge=0, le=20, alias="MAX_REMINDERS")
    quiet_hours_start: time = Field(time(21, 0), alias="QUIET_HOURS_START")
    quiet_hours_end: time = Field(time(8, 0), alias="QUIET_HOURS_END")
    default_time_zone: str = Field("UTC", alias="DEFAULT_TIME_ZONE")
    resend_cooldown_seconds: int = Field(300, ge=0, alias="RESEND_COOLDOWN_SECONDS")
    reminder_max_failures: int = Field(5, ge=1, alias="REMINDER_MAX_FAILURES")
    # How long a claimed reminder belongs to its worker (longer than a worker's 300 s timeout): a worker that died
    # with it is recovered by a sweep after that (flows.reminder).
    reminder_lease_seconds: int = Field(900, ge=1, le=86_400, alias="REMINDER_LEASE_SECONDS")
    sweep_concurrency: int = Field(8, ge=1, le=64, alias="SWEEP_CONCURRENCY")
    # Wix's quota per site, shared by every function through DynamoDB (payment_links.quota); 0 turns it off.
    wix_requests_per_minute: int = Field(200, ge=0, alias="WIX_REQUESTS_PER_MINUTE")
    # The share of that quota reminders may not touch: kept for storefront calls and webhook checks.
    wix_storefront_reserve_percent: int = Field(25, ge=0, le=90, alias="WIX_STOREFRONT_RESERVE_PERCENT")
    # How long a storefront call waits for a quota slot before it answers 503 with Retry-After.
    wix_quota_wait_seconds: float = Field(3.0, ge=0, le=20, alias="WIX_QUOTA_WAIT_SECONDS")
    # Reminders reuse the URL saved with the request until it is this old; then Get URL again.
    url_max_age_hours: int = Field(24, ge=0, le=24 * 365, alias="URL_MAX_AGE_HOURS")
    # The account's sending rates (SES: 14/s in a new account; SNS SMS: per account and country), shared by the
    # reminder workers; storefront sends are few and ride SES's and SNS's own retry on throttling.
    ses_max_send_rate: float = Field(14.0, gt=0, le=10_000, alias="SES_MAX_SEND_RATE")
    sms_max_send_rate: float = Field(20.0, gt=0, le=10_000, alias="SMS_MAX_SEND_RATE")
    # The fan-out: the sweep enqueues batches of due requests here, the resend function's workers send them.
    # Empty: the sweep sends in its own invocation (one process: tests, a deployment without the queue).
    reminder_queue_url: str = Field("", alias="REMINDER_QUEUE_URL")
    reminder_worker_concurrency: int = Field(4, ge=1, le=1000, alias="REMINDER_WORKER_CONCURRENCY")

    unsubscribe_base_url: str = Field("", alias="UNSUBSCRIBE_BASE_URL")
    unsubscribe_secret_name: str = Field("payment-links/unsubscribe-signing-key", alias="UNSUBSCRIBE_SECRET")

    idempotency_ttl_seconds: int = Field(7 * 24 * 3600, alias="IDEMPOTENCY_TTL_SECONDS")
    terminal_record_ttl_days: int = Field(400, alias="TERMINAL_RECORD_TTL_DAYS")
    webhook_max_body_bytes: int = Field(64 * 1024, alias="WEBHOOK_MAX_BODY_BYTES")

    @field_validator("default_reminder_schedule", "default_channels", "reminder_stages", mode="before")
    @classmethod
    def _split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(step.strip() for step in value.split(",") if step.strip())
        return value

    @field_validator("sms_allowed_countries", mode="before")
    @classmethod
    def _split_countries(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(code.strip().upper() for code in value.split(",") if code.strip())
        return value

    @field_validator("wix_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings.model_validate(dict(os.environ))


def is_app_mode(settings: Settings) -> bool:
    return settings.deployment_mode == "APP"


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment between cases)."""
    get_settings.cache_clear()
