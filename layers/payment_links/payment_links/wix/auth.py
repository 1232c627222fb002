"""How we prove to Wix who we are: an API key with ``wix-site-id``, or an app's OAuth client credentials.

Wix's own SDK sends the raw key or token in ``Authorization`` with no ``Bearer`` prefix; so do we.
OAuth tokens live 4 hours; we cache one per app instance and renew it five minutes before it expires.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from payment_links.wix.errors import WixAuthError, WixUnavailable

TOKEN_RENEW_MARGIN_SECONDS = 300


class WixAuth(Protocol):
    def headers(self, http: httpx.Client, base_url: str) -> dict[str, str]: ...

    def invalidate(self) -> None: ...


@dataclass(frozen=True)
class ApiKeyAuth:
    api_key: str
    site_id: str
    renewable = False  # a refused key stays refused

    def headers(self, http: httpx.Client, base_url: str) -> dict[str, str]:
        return {"Authorization": self.api_key, "wix-site-id": self.site_id}

    def invalidate(self) -> None:
        """An API key does not expire; nothing to renew."""


@dataclass
class OAuthAuth:
    app_id: str
    app_secret: str = field(repr=False)
    instance_id: str
    renewable = True  # a refused token is replaced by a fresh one
    _token: str | None = field(default=None, repr=False)
    _expires_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def headers(self, http: httpx.Client, base_url: str) -> dict[str, str]:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._token, lifetime = self._fetch_token(http, base_url)
                self._expires_at = time.monotonic() + max(lifetime - TOKEN_RENEW_MARGIN_SECONDS, 30)
            return {"Authorization": self._token}

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch_token(self, http: httpx.Client, base_url: str) -> tuple[str, int]:
        body = {
            "grant_type": "client_credentials",
            "client_id": self.app_id,
            "client_secret": self.app_secret,
            "instance_id": self.instance_id,
        }
        try:
            response = http.post(f"{base_url}/oauth2/token", json=body)
        except httpx.HTTPError as exc:
            raise WixUnavailable(f"Wix token endpoint unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise WixUnavailable("Wix token endpoint unavailable", status=response.status_code)
        if response.status_code != 200:
            raise WixAuthError("Wix refused the app credentials", status=response.status_code)
        payload = response.json()
        return str(payload["access_token"]), int(payload.get("expires_in", 14400))


_auth_cache: dict[tuple[str, ...], WixAuth] = {}


def forget_tokens() -> None:
    """Drop every cached auth strategy and its token (a process that changes its Wix: the tests, the local stack)."""
    _auth_cache.clear()


def auth_from_credentials(mode: str, credentials: dict[str, str], site_id: str, instance_id: str | None = None) -> WixAuth:
    """Build (once per distinct credentials) the auth strategy for the configured mode.

    OAuth tokens are per app instance (site): ``instance_id`` (an APP deployment's site) or the credentials' own
    ``instanceId`` (a SITE deployment's). Each instance has its own cached token, so a 401 for one site (its token
    invalidated) never touches another's."""
    if mode == "OAUTH":
        instance = instance_id or credentials["instanceId"]
        key = ("OAUTH", credentials["appId"], instance, credentials["appSecret"])
        if key not in _auth_cache:
            _auth_cache[key] = OAuthAuth(credentials["appId"], credentials["appSecret"], instance)
        return _auth_cache[key]
    return ApiKeyAuth(credentials["apiKey"], credentials.get("siteId") or site_id)
