"""A local imitation of ``www.wixapis.com`` for Order Payment Requests and Get Order, with signed webhooks,
serving several Wix sites (app instances) each with its own orders and payment requests.

Modules: ``server`` (SandboxServer, CLI), ``app`` (routing), ``api`` (the Wix routes), ``auth`` (API key, OAuth
tokens per instance), ``control`` and ``control_parsing`` (/_sandbox), ``page`` (payment page), ``sites``,
``payment_requests`` and ``orders`` (the domain), ``query`` (WQL), ``validation``, ``events`` (envelopes and
signing), ``keys`` (the key pair), ``webhooks`` (delivery), ``state`` (the store), ``formats``, ``errors``,
``config``.
"""

from .config import SITE_A_INSTANCE_ID, SITE_B_INSTANCE_ID, SandboxConfig
from .events import (
    APP_INSTALLED,
    APP_REMOVED,
    build_app_envelope,
    build_app_webhook_jwt,
    build_envelope,
    build_webhook_jwt,
    decode_webhook_jwt,
    sign_event,
)
from .keys import PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, WebhookKeys, load_or_create_keys
from .orders import DEMO_ORDER_ID
from .server import SandboxServer, main

__all__ = [
    "APP_INSTALLED",
    "APP_REMOVED",
    "DEMO_ORDER_ID",
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "SITE_A_INSTANCE_ID",
    "SITE_B_INSTANCE_ID",
    "SandboxConfig",
    "SandboxServer",
    "WebhookKeys",
    "build_app_envelope",
    "build_app_webhook_jwt",
    "build_envelope",
    "build_webhook_jwt",
    "decode_webhook_jwt",
    "load_or_create_keys",
    "main",
    "sign_event",
]
