"""The sandbox's settings in one place: credentials it accepts, where it pushes webhooks, how it behaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# The two demo Wix sites (app instances). Both exist from the start and after every reset, app installed.
SITE_A_INSTANCE_ID = "11111111-1111-4111-8111-111111111111"
SITE_B_INSTANCE_ID = "22222222-2222-4222-8222-222222222222"
DEMO_INSTANCE_IDS = (SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID)


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 3100
    # API-key mode: both headers must match (wix-api.md §5.2); the key reaches the site ``instance_id``.
    api_key: str = "local-wix-key"
    site_id: str = "local-site"
    # OAuth client-credentials mode (wix-api.md §5.1); the client id is also the app id Wix stamps on entities.
    client_id: str = "local-app-id"
    client_secret: str = "local-app-secret"  # noqa: S105 - a well-known local-only credential
    # The home site: what API-key mode reaches and where control routes that name no site act. It always exists
    # (created like the demo sites if it is not one of them), with the app installed.
    instance_id: str = SITE_A_INSTANCE_ID
    webhook_url: str | None = None
    key_dir: Path = Path(".local")
    # Where payment links point; defaults to the server's own URL.
    public_base_url: str | None = None
    state_file: Path | None = None
    seed_demo_order: bool = True
    # How long a "timeout" fault holds a response before dropping the connection.
    timeout_hold_seconds: float = 30.0
    # How often UNPAID requests are checked against their expiration date.
    expiry_check_seconds: float = 1.0
    webhook_request_timeout_seconds: float = 5.0
    webhook_retry_delays_seconds: tuple[float, ...] = (0.2, 0.5)
    webhook_shuffle_window_seconds: float = 0.3
    quiet: bool = True
