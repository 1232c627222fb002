"""A webhook body from the internet, verified, checked against this deployment's site, then applied.

verify (``verify_body``: anything that is not a token Wix signed for us is a rejection, never a failure) → the
event's instance must be this deployment's site (``site_of_event``; another site's events are acknowledged and
not applied) → the event is applied (``flows.payment_request_events``). The handler counts each stage's outcome
separately, so a stranger's garbage can never page the on-call: only verified events that fail count as failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from payment_links.domain import errors
from payment_links.flows import app_lifecycle, order_events, payment_request_events
from payment_links.flows.payment_request_events import FOREIGN_INSTANCE, IGNORED
from payment_links.sites import for_site
from payment_links.tenancy import APP_MODE, Site, instance_of
from payment_links.wix import webhooks

if TYPE_CHECKING:
    from payment_links.config import Settings
    from payment_links.sites import SiteRegistry
    from payment_links.store import PaymentRequestStore
    from payment_links.wix.client import WixClient

logger = Logger(child=True)


class WebhookDeps(Protocol):
    """What the webhook needs; ``payment_links.deps.Dependencies`` has all of it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def store(self) -> PaymentRequestStore: ...
    @property
    def wix(self) -> WixClient: ...
    @property
    def events(self) -> Any: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def registry(self) -> SiteRegistry | None: ...
    def for_site(self, site: Site, overrides: dict[str, Any] | None = None) -> Any: ...


UNREGISTERED_SITE = "unregistered_site"  # APP mode: an event of a site the app is not installed on


@dataclass(frozen=True)
class WebhookResult:
    outcome: str
    event_type: str
    kind: str | None = None
    event_id: str | None = None
    request_id: str | None = None


def verify_body(body: str, deps: WebhookDeps) -> webhooks.WebhookEnvelope:
    """The envelope of a token Wix signed with a configured key, or a rejection (a DomainError with a reason).

    Nothing about an unverified body is trusted or logged beyond a reason word: whatever the token parser trips on
    is a rejection. Only a missing key is our fault (503, and Wix retries)."""
    try:
        keys = webhooks.public_keys_from_secret(deps.settings.wix_webhook_keys_secret)
    except webhooks.WebhookKeysMissing as exc:
        logger.error("webhook public key not configured", extra={"problem": str(exc)})
        raise errors.WebhookNotConfigured("The Wix webhook public key is not configured.") from exc
    try:
        return webhooks.verify_webhook(body, keys)
    except webhooks.NotAJwt as exc:
        raise errors.MalformedWebhook(exc.message, details=[{"reason": exc.reason}]) from exc
    except webhooks.InvalidWebhookSignature as exc:
        raise errors.InvalidSignature(exc.message, details=[{"reason": exc.reason}]) from exc
    except webhooks.MalformedEvent as exc:
        logger.warning("verified webhook is unreadable", extra={"problem": str(exc)})
        raise errors.MalformedWebhook("The event in the webhook cannot be read.", details=[{"reason": "unreadable"}]) from exc
    except Exception as exc:  # an unverified body: refused whatever the parser raised, without a trace
        logger.warning("webhook body refused", extra={"error": type(exc).__name__})
        raise errors.MalformedWebhook("The body is not a JWT.", details=[{"reason": "unverifiable"}]) from exc


def expected_instance(deps: WebhookDeps) -> str | None:
    """The Wix app instance (site) this deployment serves: the ``WixInstanceId`` parameter, else the OAuth
    credentials' instance; None when neither says (then each request is pinned to the first instance seen)."""
    if deps.settings.wix_instance_id:
        return deps.settings.wix_instance_id
    if deps.settings.wix_auth_mode == "OAUTH":
        return deps.wix.instance_id()
    return None


def apply_envelope(envelope: webhooks.WebhookEnvelope, deps: WebhookDeps) -> WebhookResult:
    """Apply a verified event. Raises a DomainError for an event that cannot be applied now (Wix redelivers)."""
    app_mode = deps.settings.deployment_mode == APP_MODE
    if envelope.event_type in app_lifecycle.LIFECYCLE_EVENTS and app_mode and deps.registry is not None:
        outcome = app_lifecycle.apply_lifecycle_event(envelope, deps.registry, deps.settings.retention_days, deps.clock())
        return WebhookResult(outcome, envelope.event_type)
    kind = envelope.kind
    is_order_event = envelope.event_type in order_events.ORDER_EVENT_TYPES
    if kind not in payment_request_events.HANDLED_KINDS and not is_order_event:
        logger.info("webhook event type ignored", extra={"event_type": envelope.event_type})
        return WebhookResult(IGNORED, envelope.event_type)
    if app_mode:
        # One app key signs every site's events: the instance routes the event to its site, if we serve it.
        instance_id = instance_of(envelope.instance_id)
        scoped = for_site(deps, Site(instance_id)) if instance_id else None
        if scoped is None:
            logger.warning("webhook event of a site the app is not installed on", extra={"event_type": envelope.event_type})
            return WebhookResult(UNREGISTERED_SITE, envelope.event_type, kind)
        deps = scoped
    else:
        expected = expected_instance(deps)
        if expected is not None and envelope.instance_id != expected:
            logger.warning("webhook event of another Wix site ignored", extra={"event_type": envelope.event_type})
            return WebhookResult(FOREIGN_INSTANCE, envelope.event_type, kind)
    try:
        event = webhooks.parse_domain_event(envelope)
    except webhooks.MalformedEvent as exc:
        logger.warning("verified webhook is unreadable", extra={"problem": str(exc), "event_type": envelope.event_type})
        raise errors.MalformedWebhook("The event in the webhook cannot be read.", details=[{"reason": "unreadable"}]) from exc
    if is_order_event:
        logger.append_keys(event_id=event.id, order_id=event.entity_id, event_type=envelope.event_type)
        outcome = order_events.apply_order_event(event, deps)
        logger.info("webhook event processed", extra={"outcome": outcome})
        return WebhookResult(outcome, envelope.event_type, None, event.id)
    logger.append_keys(event_id=event.id, payment_request_id=event.entity_id, event_type=envelope.event_type)
    assert kind is not None
    outcome = payment_request_events.apply_event(kind, event, envelope.instance_id, deps)
    logger.info("webhook event processed", extra={"outcome": outcome})
    return WebhookResult(outcome, envelope.event_type, kind, event.id, event.entity_id)


def receive_webhook(body: str, deps: WebhookDeps) -> WebhookResult:
    """Verify a raw webhook body and apply its event (both stages; the handler calls them one by one)."""
    return apply_envelope(verify_body(body, deps), deps)
