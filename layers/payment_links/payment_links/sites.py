"""The sites registry: which Wix sites this deployment serves, their storefront API keys, their settings.

A site exists in an APP deployment when the Wix app is installed on it (the *App Instance Installed* webhook) and is
retired when it is removed (*App Instance Removed*): its keys are revoked at once, its reminders stop, and its data is
deleted ``RetentionDays`` later (a reinstall before then keeps everything). A SITE deployment has one site, whose entry
holds only its settings.

Items (``pk`` / ``sk``), in the payment-requests table:
- ``SITE#<id>`` / ``SITE``: status (ACTIVE, REMOVED), dates, ``settings`` (the site's overrides). While a removed
  site waits for deletion it sits in the DueReminders index under the shard ``PURGE`` at its purge time, so the
  scheduled sweep finds it without a scan.
- ``SITE#<id>`` / ``KEY#<keyId>``: a storefront key of the site (its hash only), for listing and revoking.
- ``APIKEY#<sha256 of the key>`` / ``APIKEY``: what the authorizer reads: the key's site and whether it is revoked.
Every item of an APP site carries ``siteId`` (the BySite index): the purge finds them all there.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic
from time import time as epoch_seconds
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from botocore.exceptions import ClientError

from payment_links.dynamo import is_condition_failure, iso, plain, wire
from payment_links.store import DUE_INDEX, SITE_ATTRIBUTE
from payment_links.tenancy import Site

if TYPE_CHECKING:
    from payment_links.config import Settings

D = TypeVar("D", bound="SiteScoped")

ACTIVE = "ACTIVE"
REMOVED = "REMOVED"
PURGE_SHARD = "PURGE"
BY_SITE_INDEX = "BySite"
KEY_PREFIX = "plk_"  # recognisable in a leaked-secret scan, like other providers' key prefixes


@dataclass
class SiteRecord:
    instance_id: str
    status: str = ACTIVE
    installed_at: str | None = None
    removed_at: str | None = None
    purge_at: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    instance_id: str
    created_at: str
    revoked_at: str | None = None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class SiteRegistry:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- sites ---------------------------------------------------------------------------------------------

    def get(self, site: Site) -> SiteRecord | None:
        item = self._get(f"SITE#{site.registry_id}", "SITE")
        if item is None:
            return None
        return SiteRecord(
            instance_id=item.get("instanceId", site.registry_id),
            status=item.get("status", ACTIVE),
            installed_at=item.get("installedAt"),
            removed_at=item.get("removedAt"),
            purge_at=item.get("dueAt") if item.get("dueShard") == PURGE_SHARD else None,
            settings=dict(item.get("settings") or {}),
        )

    def install(self, site: Site, at: datetime) -> None:
        """Register the site, or bring a removed one back (its data is kept; a pending deletion is cancelled)."""
        self._client.update_item(
            TableName=self._table,
            Key=wire({"pk": f"SITE#{site.registry_id}", "sk": "SITE"}),
            UpdateExpression="SET #status = :active, instanceId = :id, installedAt = :at, siteId = :id "
            "REMOVE removedAt, dueShard, dueAt, purgeCursor, expiresAt",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=wire({":active": ACTIVE, ":id": site.registry_id, ":at": iso(at)}),
        )

    def remove(self, site: Site, at: datetime, retention_days: int) -> bool:
        """Retire the site: revoke its keys now, delete its data after ``retention_days``. False if unknown."""
        purge_at = at + timedelta(days=retention_days)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=wire({"pk": f"SITE#{site.registry_id}", "sk": "SITE"}),
                UpdateExpression="SET #status = :removed, removedAt = :at, dueShard = :purge, dueAt = :purge_at",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=wire({":removed": REMOVED, ":at": iso(at), ":purge": PURGE_SHARD, ":purge_at": iso(purge_at)}),
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        for key in self.keys(site):
            if key.revoked_at is None:
                self.revoke_key(site, key.key_id, at)
        return True

    # -- storefront keys -----------------------------------------------------------------------------------

    def create_key(self, site: Site, at: datetime, key: str | None = None, key_id: str | None = None) -> tuple[ApiKey, str]:
        """A new storefront key for ``site``: returned once, stored only as its hash. (``key`` and ``key_id`` are given
        only by the local stack, whose demo sites have the fixed keys of the contract.)"""
        key = key or KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = key_id or "key_" + secrets.token_hex(8)
        digest = key_hash(key)
        record = ApiKey(key_id=key_id, instance_id=site.registry_id, created_at=iso(at))
        common = {"instanceId": site.registry_id, "keyId": key_id, "createdAt": record.created_at, SITE_ATTRIBUTE: site.registry_id}
        self._client.transact_write_items(
            TransactItems=[
                self._put({"pk": f"APIKEY#{digest}", "sk": "APIKEY", **common}),
                self._put({"pk": f"SITE#{site.registry_id}", "sk": f"KEY#{key_id}", "keyHash": digest, **common}),
            ]
        )
        return record, key

    def revoke_key(self, site: Site, key_id: str, at: datetime) -> bool:
        """False when the site has no such key. Revoking twice changes nothing."""
        item = self._get(f"SITE#{site.registry_id}", f"KEY#{key_id}")
        if item is None:
            return False
        if item.get("revokedAt"):
            return True
        values = wire({":at": iso(at)})
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": wire({"pk": pk, "sk": sk}),
                        "UpdateExpression": "SET revokedAt = :at",
                        "ExpressionAttributeValues": values,
                    }
                }
                for pk, sk in ((f"APIKEY#{item['keyHash']}", "APIKEY"), (f"SITE#{site.registry_id}", f"KEY#{key_id}"))
            ]
        )
        return True

    def keys(self, site: Site) -> list[ApiKey]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :keys)",
            ExpressionAttributeValues=wire({":pk": f"SITE#{site.registry_id}", ":keys": "KEY#"}),
            ConsistentRead=True,
        )
        return [
            ApiKey(item["keyId"], item["instanceId"], item["createdAt"], item.get("revokedAt"))
            for item in map(plain, response.get("Items", []))
        ]

    def site_of_key(self, key: str) -> tuple[str, str] | None:
        """(instance id, key id) of a key that is valid now: known, not revoked, its site installed."""
        if not key or len(key) > 200:
            return None
        item = self._get(f"APIKEY#{key_hash(key)}", "APIKEY")
        if item is None or item.get("revokedAt"):
            return None
        record = self.get(Site(item["instanceId"]))
        if record is None or not record.active:
            return None
        return item["instanceId"], item["keyId"]

    # -- settings ------------------------------------------------------------------------------------------

    def put_settings(self, site: Site, overrides: dict[str, Any], at: datetime) -> None:
        """Replace the site's overrides (an empty dict: every setting falls back to the template's)."""
        self._client.update_item(
            TableName=self._table,
            Key=wire({"pk": f"SITE#{site.registry_id}", "sk": "SITE"}),
            UpdateExpression="SET settings = :settings, settingsUpdatedAt = :at",
            ExpressionAttributeValues=wire({":settings": overrides, ":at": iso(at)}),
        )

    # -- deletion of removed sites -------------------------------------------------------------------------

    def purges_due(self, now: datetime, limit: int = 20) -> list[str]:
        """Instance ids of removed sites whose retention has run out."""
        response = self._client.query(
            TableName=self._table,
            IndexName=DUE_INDEX,
            KeyConditionExpression="dueShard = :shard AND dueAt <= :now",
            ExpressionAttributeValues=wire({":shard": PURGE_SHARD, ":now": iso(now)}),
            ProjectionExpression="pk",
            Limit=limit,
        )
        return [item["pk"]["S"].removeprefix("SITE#") for item in response.get("Items", [])]

    def purge_page(self, instance_id: str, page_size: int = 100) -> bool:
        """Expire (DynamoDB TTL deletes them) one page of a removed site's items; True when none is left but the
        site's own entry, which then expires too. Safe to repeat and to run concurrently."""
        response = self._client.query(
            TableName=self._table,
            IndexName=BY_SITE_INDEX,
            KeyConditionExpression="siteId = :site",
            ExpressionAttributeValues=wire({":site": instance_id}),
            Limit=page_size,
        )
        now = int(epoch_seconds())
        keys = [{"pk": item["pk"], "sk": item["sk"]} for item in response.get("Items", [])]
        pending = [key for key in keys if not (key["pk"]["S"] == f"SITE#{instance_id}" and key["sk"]["S"] == "SITE")]
        for key in pending:
            # REMOVE siteId takes the item out of the index, so the next page is the next items: no cursor to keep.
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET expiresAt = :now REMOVE siteId, dueShard, dueAt",
                ExpressionAttributeValues=wire({":now": now}),
            )
        if pending:
            return False
        self._client.update_item(
            TableName=self._table,
            Key=wire({"pk": f"SITE#{instance_id}", "sk": "SITE"}),
            UpdateExpression="SET expiresAt = :now, purgedAt = :now REMOVE siteId, dueShard, dueAt",
            ConditionExpression="#status = :removed",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=wire({":now": now, ":removed": REMOVED}),
        )
        return True

    # -- wire ----------------------------------------------------------------------------------------------

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=wire({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
        return plain(item) if item else None

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": wire(item), "ConditionExpression": "attribute_not_exists(pk)"}}


# -- a site's settings over the template's -----------------------------------------------------------------------


def effective_settings(base: Settings, overrides: dict[str, Any]) -> Settings:
    """The deployment's settings with a site's overrides (``PUT /settings``, stored as validated there) applied;
    what a site left unset falls back to the template's parameters."""
    update: dict[str, Any] = {}
    if overrides.get("storeName"):
        update["store_name"] = overrides["storeName"]
    if overrides.get("senderEmail"):
        update["sender_email"] = overrides["senderEmail"]
    if overrides.get("channels"):
        update["default_channels"] = tuple(overrides["channels"])
    reminders = overrides.get("reminders") or {}
    if reminders.get("schedule") is not None:
        update["default_reminder_schedule"] = tuple(reminders["schedule"])
    if reminders.get("max") is not None:
        update["max_reminders"] = int(reminders["max"])
    if reminders.get("enabled") is not None:
        update["reminders_enabled_by_default"] = bool(reminders["enabled"])
    quiet = overrides.get("quietHours") or {}
    if quiet.get("start") and quiet.get("end"):
        update["quiet_hours_start"] = time.fromisoformat(quiet["start"])
        update["quiet_hours_end"] = time.fromisoformat(quiet["end"])
    if overrides.get("timeZone"):
        update["default_time_zone"] = overrides["timeZone"]
    if overrides.get("locale"):
        update["default_locale"] = overrides["locale"]
    if overrides.get("linkMode"):
        update["link_mode"] = overrides["linkMode"]
    if overrides.get("templates"):
        update["message_templates"] = dict(overrides["templates"])
    for wire_name, name in (("voidWhenOrderSettled", "void_when_order_settled"), ("reissueOnBalanceChange", "reissue_on_balance_change")):
        if overrides.get(wire_name) is not None:
            update[name] = bool(overrides[wire_name])
    return base.model_copy(update=update) if update else base


# -- a site's dependencies, with what this process last read of it ------------------------------------------------

# How long a process trusts a site's entry (status, settings) before reading it again: PUT /settings and a removal
# take effect everywhere within this long (the authorizer's cache of a key is the other bound).
SITE_CACHE_SECONDS = 30.0
_site_cache: dict[tuple[str, str], tuple[float, SiteRecord | None]] = {}
_cache_lock = threading.Lock()


class SiteScoped(Protocol):
    """Dependencies that can be scoped to a site (``deps.Dependencies``, the webhook function's lean ones)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def registry(self) -> SiteRegistry | None: ...
    def for_site(self, site: Site, overrides: dict[str, Any] | None = None) -> Any: ...


def for_site(deps: D, site: Site) -> D | None:
    """``deps`` scoped to ``site`` with its settings, or None when the deployment does not serve it (an APP site
    that is not installed, or was removed)."""
    record = site_record(deps, site)
    if deps.settings.deployment_mode == "APP" and (record is None or not record.active):
        return None
    return cast(D, deps.for_site(site, record.settings if record else None))


def site_record(deps: SiteScoped, site: Site) -> SiteRecord | None:
    if deps.registry is None:
        return None
    key = (deps.settings.table_name, site.registry_id)
    now = monotonic()
    with _cache_lock:
        cached = _site_cache.get(key)
    if cached is not None and now - cached[0] < SITE_CACHE_SECONDS:
        return cached[1]
    record = deps.registry.get(site)
    with _cache_lock:
        _site_cache[key] = (now, record)
    return record


def forget_site(site: Site) -> None:
    """Drop what this process cached of ``site`` (after its settings or status changed here)."""
    with _cache_lock:
        for key in [key for key in _site_cache if key[1] == site.registry_id]:
            del _site_cache[key]


def forget_sites() -> None:
    with _cache_lock:
        _site_cache.clear()
