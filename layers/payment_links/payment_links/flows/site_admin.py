"""Running the sites of an APP deployment: their storefront keys (operator routes) and their settings (the site's).

Keys are made and revoked by the deployment's operator (IAM-authorized routes): a merchant's storefront gets its key
from the app builder, never through a storefront route. A key is shown once; only its hash is stored. Settings are
the site's own (its storefront key): what it sets overrides the template's parameter, what it leaves out falls back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from payment_links.api_models import ApiKeyList, ApiKeyView, NewApiKeyView, SiteSettingsInput, SiteSettingsView
from payment_links.deps import Dependencies
from payment_links.domain import errors
from payment_links.sites import SiteRegistry, effective_settings, forget_site
from payment_links.tenancy import APP_MODE, NotASite, Site, instance_of

logger = Logger(child=True)


def _registry(deps: Dependencies) -> SiteRegistry:
    assert deps.registry is not None, "the dependencies of a deployment always have the registry"
    return deps.registry


def _installed_site(instance_id: str, deps: Dependencies) -> Site:
    if deps.settings.deployment_mode != APP_MODE:
        raise errors.NotAppMode("This deployment serves one Wix site (DeploymentMode=SITE): it has no per-site keys.")
    normalised = instance_of(instance_id)
    if normalised is None:
        raise errors.SiteNotFound("No such site: an app instance id is a GUID.", details=[{"field": "instanceId"}])
    try:
        site = Site(normalised)
    except NotASite as exc:  # pragma: no cover - instance_of already checked the shape
        raise errors.SiteNotFound("No such site.") from exc
    record = _registry(deps).get(site)
    if record is None or not record.active:
        raise errors.SiteNotFound("The app is not installed on this site.", details=[{"instanceId": normalised}])
    return site


def create_api_key(instance_id: str, deps: Dependencies) -> NewApiKeyView:
    site = _installed_site(instance_id, deps)
    key, secret = _registry(deps).create_key(site, deps.clock())
    logger.info("storefront key created", extra={"instance_id": site.registry_id, "key_id": key.key_id})
    return NewApiKeyView(key_id=key.key_id, api_key=secret)


def list_api_keys(instance_id: str, deps: Dependencies) -> ApiKeyList:
    site = _installed_site(instance_id, deps)
    keys = _registry(deps).keys(site)
    return ApiKeyList(api_keys=[ApiKeyView(key_id=k.key_id, created_at=k.created_at, revoked_at=k.revoked_at) for k in keys])


def revoke_api_key(instance_id: str, key_id: str, deps: Dependencies) -> None:
    if deps.settings.deployment_mode != APP_MODE:
        raise errors.NotAppMode("This deployment serves one Wix site (DeploymentMode=SITE): it has no per-site keys.")
    site = Site(instance_of(instance_id) or "")
    if not site.instance_id or not _registry(deps).revoke_key(site, key_id, deps.clock()):
        raise errors.ApiKeyNotFound("The site has no such key.", details=[{"keyId": key_id}])
    logger.info("storefront key revoked", extra={"instance_id": site.registry_id, "key_id": key_id})


# ---- settings ---------------------------------------------------------------------------------------------


def settings_view(deps: Dependencies) -> SiteSettingsView:
    record = _registry(deps).get(deps.site)
    overrides: dict[str, Any] = record.settings if record else {}
    settings = effective_settings(deps.base_settings or deps.settings, overrides)
    return SiteSettingsView(
        store_name=settings.store_name,
        sender_email=settings.sender_email,
        channels=list(settings.default_channels),
        reminders={
            "enabled": settings.reminders_enabled_by_default,
            "schedule": list(settings.default_reminder_schedule),
            "max": settings.max_reminders,
        },
        quiet_hours={"start": settings.quiet_hours_start.strftime("%H:%M"), "end": settings.quiet_hours_end.strftime("%H:%M")},
        time_zone=settings.default_time_zone,
        locale=settings.default_locale,
        void_when_order_settled=settings.void_when_order_settled,
        reissue_on_balance_change=settings.reissue_on_balance_change,
        link_mode=settings.link_mode,
        templates=settings.message_templates,
        overridden=sorted(overrides),
    )


def put_settings(request: SiteSettingsInput, deps: Dependencies, ses: Any) -> SiteSettingsView:
    """Replace the site's settings: what the body sets overrides the template's, what it leaves out falls back."""
    if request.sender_email:
        _check_sender(request.sender_email, ses)
    _registry(deps).put_settings(deps.site, request.overrides(), deps.clock())
    forget_site(deps.site)
    logger.info("site settings saved", extra={"instance_id": deps.site.registry_id, "fields": sorted(request.overrides())})
    return settings_view(deps)


def _check_sender(address: str, ses: Any) -> None:
    """SES sends only from a verified identity: the address itself, or its domain."""
    domain = address.rpartition("@")[2]
    for identity in (address, domain):
        try:
            found = ses.get_email_identity(EmailIdentity=identity)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NotFoundException", "NotFound"):
                continue
            raise
        if found.get("VerifiedForSendingStatus"):
            return
    raise errors.SenderNotVerified(
        "The sender address is not a verified SES identity of this deployment (neither the address nor its domain).",
        details=[{"field": "senderEmail"}],
    )


# ---- what the messages earned ----------------------------------------------------------------------------------


def stats_report(first: date, last: date, deps: Dependencies) -> dict[str, Any]:
    """``GET /stats``: the site's daily counters from ``first`` to ``last`` (one Query), totals, per channel and
    step, recovery rate and median time to pay (payment_links.stats)."""
    from payment_links import stats

    if last < first:
        raise errors.ValidationFailed(
            "`to` is before `from`.", details=[{"field": "to", "from": first.isoformat(), "to": last.isoformat()}]
        )
    if (last - first).days + 1 > stats.MAX_DAYS:
        raise errors.ValidationFailed(
            f"Ask for at most {stats.MAX_DAYS} days at a time.", details=[{"field": "to", "days": (last - first).days + 1}]
        )
    return stats.report(first, last, deps.store.daily_counters(first, last))
