"""Who is calling: the API key with its site id, or an OAuth access token bound to one app instance.

Either way a Wix API call acts for exactly one site (wix-api.md §5.1, §5.2): the API key reaches the home site;
a token reaches the instance it was issued for and nothing else. A token stops working when it expires or when
the app is removed from its site.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from .config import SandboxConfig
from .errors import WixError, json_response
from .state import SandboxState

TOKEN_LIFETIME = timedelta(hours=4)


@dataclass(frozen=True)
class Caller:
    mode: str  # "apiKey" or "oauth", as the call log shows it
    instance_id: str


def authenticate(request: Request, config: SandboxConfig, state: SandboxState) -> Caller:
    """Accept an OAuth access token, or the API key with its site id; raise Wix's 401/403 otherwise."""
    authorization = request.headers.get("Authorization", "").strip()
    if not authorization:
        raise WixError(401, "UNAUTHENTICATED", "Missing Authorization header")
    instance_id = state.token_instance(authorization.removeprefix("Bearer ").strip())
    if instance_id is not None:
        return Caller("oauth", instance_id)
    if authorization != config.api_key:
        raise WixError(401, "UNAUTHENTICATED", "Invalid or expired access token or API key")
    site_id = request.headers.get("wix-site-id")
    if request.headers.get("wix-account-id") and site_id:
        raise WixError(403, "PERMISSION_DENIED", "Send either wix-site-id or wix-account-id, not both")
    if site_id != config.site_id:
        raise WixError(403, "PERMISSION_DENIED", "API key has no access to this site (check wix-site-id)")
    return Caller("apiKey", state.home_instance_id)


def issue_token(request: Request, config: SandboxConfig, state: SandboxState) -> tuple[Response, str | None]:
    """``POST /oauth2/token`` (client credentials): the response, and the instance a token was issued for."""
    body = _json_object(request)
    if body is None:
        return oauth_error(400, "invalid_request", "body must be a JSON object"), None
    if body.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials"), None
    if body.get("client_id") != config.client_id or body.get("client_secret") != config.client_secret:
        return oauth_error(401, "invalid_client", "unknown client_id or wrong client_secret"), None
    requested = body.get("instance_id")
    site = state.site(requested) if isinstance(requested, str) else None
    if site is None or not site.installed:
        # Wix documents only "the relevant 4XX" in RFC 6749 shape for a refused token. 400 invalid_request is the
        # closest RFC 6749 answer (the client is fine, the instance it names is not one it may act for), and the
        # same text for "no such site" and "app not installed" so an unknown instance is not told apart.
        return oauth_error(400, "invalid_request", "the app is not installed on this instance_id"), None
    token = state.issue_token(TOKEN_LIFETIME, site.instance_id)
    body = {"access_token": token, "token_type": "Bearer", "expires_in": int(TOKEN_LIFETIME.total_seconds())}
    return json_response(body), site.instance_id


def oauth_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status)


def _json_object(request: Request) -> dict[str, Any] | None:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}  # like the other routes: no body is an empty object (here: no grant_type)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None
