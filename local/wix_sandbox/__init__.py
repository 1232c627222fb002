"""A local imitation of ``www.wixapis.com`` for Order Payment Requests and Get Order, with signed webhooks.

Modules: ``server`` (SandboxServer, CLI), ``app`` (routing), ``api`` (the Wix routes), ``control`` (/_sandbox),
``page`` (payment page), ``payment_requests`` and ``orders`` (the domain), ``query`` (WQL), ``validation``,
``webhooks`` (keys, signing, delivery), ``state`` (the store), ``formats``, ``errors``, ``config``.
"""

from .config import SandboxConfig
from .orders import DEMO_ORDER_ID
from .server import SandboxServer, main
from .webhooks import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    WebhookKeys,
    build_envelope,
    build_webhook_jwt,
    decode_webhook_jwt,
    load_or_create_keys,
    sign_event,
)

__all__ = [
    "DEMO_ORDER_ID",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SandboxConfig",
    "SandboxServer",
    "WebhookKeys",
    "build_envelope",
    "build_webhook_jwt",
    "decode_webhook_jwt",
    "load_or_create_keys",
    "main",
    "sign_event",
]
