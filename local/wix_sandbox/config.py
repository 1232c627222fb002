"""The sandbox's settings in one place: credentials it accepts, where it pushes webhooks, how it behaves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 3100
    # API-key mode: both headers must match (wix-api.md §5.2).
    api_key: str = "local-wix-key"
    site_id: str = "local-site"
    # OAuth client-credentials mode (wix-api.md §5.1); the client id is also the app id Wix stamps on entities.
    client_id: str = "local-app-id"
    client_secret: str = "local-app-secret"  # noqa: S105 - a well-known local-only credential
    instance_id: str = "local-instance"
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
