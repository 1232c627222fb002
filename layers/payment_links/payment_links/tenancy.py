"""Which Wix site a call is for: the one thing every data access is built from.

A deployment runs in one of two modes (``DeploymentMode``):

- ``SITE``: one Wix site; its records keep the keys they always had (``PR#…``), so an existing table needs no
  migration.
- ``APP``: one deployment serves every site that installs the Wix app. A site is a Wix *app instance*; its records
  live under ``S#<instanceId>#…``, and a storefront call's site comes from the API Gateway authorizer that mapped its
  ``x-api-key`` to that site (``functions/authorizer``), never from the body. Webhook events name their instance.

``Site`` is passed to the store's constructor, so a store that is not scoped to a site cannot exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

APP_MODE = "APP"
SITE_MODE = "SITE"
# Wix app instance ids are GUIDs; nothing else may become part of a key.
_INSTANCE_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class NotASite(ValueError):
    """A value that cannot name a site (not an app instance id)."""


@dataclass(frozen=True)
class Site:
    """A Wix site this deployment serves. ``instance_id`` is empty for the one site of a SITE deployment."""

    instance_id: str = ""

    def __post_init__(self) -> None:
        if self.instance_id and not _INSTANCE_ID.fullmatch(self.instance_id):
            raise NotASite("a Wix app instance id is a GUID")

    @property
    def key_prefix(self) -> str:
        """What every key of this site's records starts with ("" for a SITE deployment's one site)."""
        return f"S#{self.instance_id.lower()}#" if self.instance_id else ""

    @property
    def registry_id(self) -> str:
        """The site's entry in the sites registry (settings, keys)."""
        return self.instance_id.lower() or "default"

    @classmethod
    def of_key(cls, key: str) -> tuple[Site, str]:
        """The site of a stored key and the key without its site prefix: ``S#<id>#PR#x`` → (Site(id), ``PR#x``)."""
        if key.startswith("S#"):
            instance_id, _, rest = key[2:].partition("#")
            return cls(instance_id), rest
        return cls(), key


THE_SITE = Site()  # the one site of a SITE deployment


def instance_of(value: Any) -> str | None:
    """An app instance id from outside (a path, an event), normalised, or None when it is not one."""
    if isinstance(value, str) and _INSTANCE_ID.fullmatch(value):
        return value.lower()
    return None


def site_of_request(event: Mapping[str, Any], mode: str) -> Site:
    """The site of an API Gateway request: in APP mode the instance the authorizer put in the request context.

    Raises NotASite when an APP deployment receives a storefront request without it (the route is misconfigured:
    every storefront route must sit behind the authorizer)."""
    if mode != APP_MODE:
        return THE_SITE
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    instance_id = instance_of(context.get("instanceId"))
    if instance_id is None:
        raise NotASite("no site in the request context: is the route behind the site-key authorizer?")
    return Site(instance_id)
