"""Wix's app-management events in an APP deployment: a site exists while the app is installed on it.

*App Instance Installed* (``AppInstalled``) registers the site, or brings back one that was removed (its data is
kept until its retention runs out). *App Instance Removed* (``AppRemoved``) retires it: its storefront keys are
revoked at once, its reminders stop, and its data is deleted ``RetentionDays`` later (``sites.py``). The instance is
the envelope's ``instanceId`` (the event data holds only ``appId``). These events carry no sequence; the token's
``iat`` orders them, so a late redelivery of an install never brings back a site removed after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from payment_links.sites import SiteRegistry, forget_site
from payment_links.tenancy import Site, instance_of
from payment_links.wix import webhooks

logger = Logger(child=True)

LIFECYCLE_EVENTS = frozenset({webhooks.APP_INSTALLED, webhooks.APP_REMOVED})
INSTALLED = "installed"
REMOVED = "removed"
STALE = "stale"
UNKNOWN_SITE = "unknown_site"


def apply_lifecycle_event(envelope: webhooks.WebhookEnvelope, registry: SiteRegistry, retention_days: int, now: datetime) -> str:
    """Register or retire the envelope's site; returns what happened."""
    instance_id = instance_of(envelope.instance_id)
    if instance_id is None:
        return UNKNOWN_SITE
    site = Site(instance_id)
    at = datetime.fromtimestamp(envelope.issued_at, UTC) if envelope.issued_at else now
    current = registry.get(site)
    if current is not None and _changed_after(current, at):
        logger.info("app lifecycle event older than the site's last change ignored", extra={"event_type": envelope.event_type})
        return STALE
    if envelope.event_type == webhooks.APP_INSTALLED:
        registry.install(site, at)
        forget_site(site)
        logger.info("site registered", extra={"instance_id": instance_id})
        return INSTALLED
    removed = registry.remove(site, at, retention_days)
    forget_site(site)  # this process at once; the others within sites.SITE_CACHE_SECONDS
    if not removed:
        return UNKNOWN_SITE
    logger.info("site removed", extra={"instance_id": instance_id, "retention_days": retention_days})
    return REMOVED


def _changed_after(current: Any, at: datetime) -> bool:
    last = max((value for value in (current.installed_at, current.removed_at) if value), default=None)
    return last is not None and datetime.fromisoformat(last.replace("Z", "+00:00")) > at
