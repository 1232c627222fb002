"""Wix sites (app instances): what the sandbox keeps for each, and installing or removing the app on one.

A Wix app backend sees each site as an app instance id (a GUID). Every order and payment request belongs to one
site; the Wix routes only ever show the caller's site. Installing the app pushes the signed ``AppInstalled``
webhook and removing it pushes ``AppRemoved``, as Wix does (its app-management events); removal also revokes the
site's OAuth tokens, since Wix stops issuing and honouring them for an instance the app left.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config import SITE_A_INSTANCE_ID
from .errors import FieldViolation, ValidationFailed, WixError
from .events import APP_INSTALLED, APP_REMOVED, AppEvent

if TYPE_CHECKING:
    from .state import SandboxState

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Site:
    """One Wix site as the sandbox keeps it. Mutated only under the state lock."""

    instance_id: str
    installed: bool = True
    payment_page_published: bool = True

    def to_wire(self) -> dict[str, Any]:
        return {"instanceId": self.instance_id, "installed": self.installed, "paymentPagePublished": self.payment_page_published}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Site:
        return cls(wire["instanceId"], bool(wire.get("installed", True)), bool(wire.get("paymentPagePublished", True)))


def normalize_instance_id(value: str) -> str:
    # Wix writes instance ids as lower-case GUIDs; accepting either case keeps one key per site.
    return value.strip().lower()


def parse_instance_id(value: Any, field: str = "instanceId") -> str:
    """A GUID from a control route's body, lower-cased; anything else is a 400."""
    if not isinstance(value, str) or not _GUID.fullmatch(normalize_instance_id(value)):
        raise ValidationFailed([FieldViolation(field, f"{field} must be a GUID such as {SITE_A_INSTANCE_ID}", "FORMAT")])
    return normalize_instance_id(value)


def site_not_found(instance_id: str) -> WixError:
    return WixError(404, "SITE_NOT_FOUND", f"No sandbox site with instance id {instance_id}", {"instanceId": instance_id})


class SiteService:
    """Creating sites and moving the app on and off them, for the control routes."""

    def __init__(self, state: SandboxState, publish: Callable[[AppEvent], None]):
        self.state = state
        self.publish = publish

    def create(self, instance_id: str, *, payment_page_published: bool = True) -> Site:
        """A new site; the app is not on it until ``install`` (which is what announces it)."""
        with self.state.lock:
            if self.state.site(instance_id) is not None:
                raise WixError(409, "SITE_EXISTS", f"Site {instance_id} already exists", {"instanceId": instance_id})
            site = Site(normalize_instance_id(instance_id), installed=False, payment_page_published=payment_page_published)
            self.state.sites[site.instance_id] = site
            self.state.commit()
            return replace(site)

    def install(self, instance_id: str, origin_instance_id: str | None = None) -> Site:
        """Mark the app installed and push ``AppInstalled``.

        Installing again re-announces it: demo sites start installed without an event, and a local stack that
        registers sites from these events needs a way to be told about them.
        """
        return self._set_installed(instance_id, APP_INSTALLED, origin_instance_id)

    def remove(self, instance_id: str) -> Site:
        """Mark the app removed, revoke the site's tokens, push ``AppRemoved``."""
        return self._set_installed(instance_id, APP_REMOVED)

    def set_payment_page(self, instance_id: str, published: bool) -> Site:
        with self.state.lock:
            site = self._require(instance_id)
            site.payment_page_published = published
            self.state.commit()
            return replace(site)

    def get(self, instance_id: str) -> Site:
        with self.state.lock:
            return replace(self._require(instance_id))

    def list_sites(self) -> list[Site]:
        with self.state.lock:
            return [replace(site) for site in self.state.sites.values()]

    def _set_installed(self, instance_id: str, event_type: str, origin_instance_id: str | None = None) -> Site:
        with self.state.lock:
            site = self._require(instance_id)
            site.installed = event_type == APP_INSTALLED
            if not site.installed:
                self.state.revoke_tokens(site.instance_id)
            self.state.commit()
            # Made under the lock so its time orders it with the change; pushed after, like the domain events.
            event = AppEvent(event_type, site.instance_id, origin_instance_id=origin_instance_id)
            result = replace(site)
        self.publish(event)
        return result

    def _require(self, instance_id: str) -> Site:
        site = self.state.site(instance_id)
        if site is None:
            raise site_not_found(instance_id)
        return site
