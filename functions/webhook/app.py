"""Webhook function: ``POST /webhooks/wix`` verifies Wix's signed event and applies it exactly once.

Thin by design: size check and base64 here, everything else in ``payment_links.flows.webhook``.
Lean on purpose: Wix waits 1250 ms, cold start included. This module imports only what verification,
the store and the bus need; the Wix HTTP client (httpx, stamina, credentials) is loaded only for an
event about a request we never stored.
"""

from payment_links import cold_start

cold_start.pause_collector()  # until every import below is done (payment_links/cold_start.py)

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext
from payment_links import aws
from payment_links.config import Settings, get_settings
from payment_links.domain import errors
from payment_links.flows import app_lifecycle
from payment_links.flows import webhook as flow
from payment_links.flows.payment_request_events import APPLIED, DUPLICATE, FOREIGN_INSTANCE
from payment_links.http import register_error_handlers
from payment_links.sites import SiteRegistry, effective_settings
from payment_links.store import PaymentRequestStore
from payment_links.tenancy import THE_SITE, Site

if TYPE_CHECKING:
    from payment_links.wix.client import WixClient

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()
register_error_handlers(app)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebhookDependencies:
    """The part of ``payment_links.deps.Dependencies`` this function uses, without the notifier's clients.

    Built per invocation from process-wide clients (``payment_links.aws``), so it costs nothing warm.
    """

    settings: Settings
    store: PaymentRequestStore
    events: Any
    registry: SiteRegistry | None = None
    clock: Callable[[], datetime] = field(default=_utc_now)
    site: Site = THE_SITE
    base_settings: Settings | None = None

    @cached_property
    def wix(self) -> "WixClient":
        from payment_links.deps import webhook_wix_settings, wix_auth_from_secrets, wix_quota
        from payment_links.wix.client import WixClient, get_http_client

        base = self.base_settings or self.settings
        budget = webhook_wix_settings(self.settings)
        return WixClient(get_http_client(base), wix_auth_from_secrets(base, self.site), budget, wix_quota(budget, self.site))

    def for_site(self, site: Site, overrides: dict[str, Any] | None = None) -> "WebhookDependencies":
        base = self.base_settings or self.settings
        return WebhookDependencies(
            settings=effective_settings(base, overrides or {}),
            store=self.store.for_site(site),
            events=self.events,
            registry=self.registry,
            clock=self.clock,
            site=site,
            base_settings=base,
        )


def dependencies() -> WebhookDependencies:
    settings = get_settings()
    client = aws.client("dynamodb")
    store = PaymentRequestStore(client, settings.table_name, settings.terminal_record_ttl_days)
    return WebhookDependencies(
        settings=settings, store=store, events=aws.client("events"), registry=SiteRegistry(client, settings.table_name)
    )


def _count(name: str, dimension: tuple[str, str] | None = None) -> None:
    """Count one; with a dimension, also once more under it (the total feeds alarms, the split dashboards)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if dimension is None:
        return
    with single_metric(
        name=name, unit=MetricUnit.Count, value=1, namespace=metrics.namespace, default_dimensions=metrics.default_dimensions
    ) as metric:
        metric.add_dimension(name=dimension[0], value=dimension[1])


def _raw_body(max_bytes: int) -> str:
    """The body exactly as Wix sent it (API Gateway base64-encodes it for binary media types)."""
    event = app.current_event
    body = event.body or ""
    size = len(body) * 3 // 4 if event.is_base64_encoded else len(body.encode())
    if size > max_bytes:
        raise errors.PayloadTooLarge(f"The body is larger than {max_bytes} bytes.", details=[{"reason": "too_large"}])
    if not event.is_base64_encoded:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise errors.MalformedWebhook("The body is not a JWT.", details=[{"reason": "malformed"}]) from exc


@app.post("/webhooks/wix")
@tracer.capture_method
def receive_wix_webhook() -> dict[str, Any]:
    deps = dependencies()
    try:
        envelope = flow.verify_body(_raw_body(deps.settings.webhook_max_body_bytes), deps)
    except (errors.InvalidSignature, errors.MalformedWebhook, errors.PayloadTooLarge) as exc:
        _count("WebhookRejected", ("reason", _reason(exc)))  # a stranger's input: counted, never a failure
        raise
    except Exception:
        _count("WebhookFailed")  # ours: no usable key, Secrets Manager down
        raise
    _count("WebhookVerified")
    try:
        result = flow.apply_envelope(envelope, deps)
    except errors.MalformedWebhook as exc:
        _count("WebhookRejected", ("reason", _reason(exc)))  # signed by Wix, but not what Wix documents
        raise
    except errors.EventNotConfirmed:
        _count("WebhookUnconfirmed")  # Wix does not show the claimed status yet; it delivers the event again
        raise
    except Exception:
        _count("WebhookFailed")  # a verified event we could not apply: Wix delivers again; the alarm watches this
        raise
    if result.outcome == DUPLICATE:
        _count("WebhookDuplicate")
    elif result.outcome == APPLIED:
        _count("WebhookApplied", ("kind", result.kind or "unknown"))
    elif result.outcome in (FOREIGN_INSTANCE, flow.UNREGISTERED_SITE):
        _count("WebhookForeignInstance")  # another site's event (SITE mode) or a site the app is not on (APP mode)
    elif result.outcome in (app_lifecycle.INSTALLED, app_lifecycle.REMOVED):
        _count("SiteLifecycle", ("change", result.outcome))
    else:
        _count("WebhookNotApplied", ("outcome", result.outcome))
    return {"received": True, "outcome": result.outcome}


def _reason(exc: errors.DomainError) -> str:
    return str(exc.details[0].get("reason", exc.code)) if exc.details else exc.code


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


try:  # Lambda SnapStart: build the AWS clients (service models load slowly) before the snapshot is taken
    from snapshot_restore_py import register_before_snapshot  # type: ignore[import-not-found]
except ImportError:  # not on Lambda, or a runtime without SnapStart
    register_before_snapshot = None

if register_before_snapshot is not None:
    register_before_snapshot(dependencies)

cold_start.settle()
