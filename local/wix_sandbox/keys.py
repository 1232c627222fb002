"""The sandbox's webhook signing key pair: created on first run in the key directory, reused after.

Developers sign events of their own with the private half; the receiver verifies with the public half, exactly
as it verifies Wix's (wix-api.md §4.2).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

PRIVATE_KEY_FILE = "wix-webhook-private.pem"
PUBLIC_KEY_FILE = "wix-webhook-public.pem"


@dataclass(frozen=True)
class WebhookKeys:
    private_pem: bytes
    public_pem: bytes
    # Parsed once: loading a PEM validates the RSA key, which costs tens of milliseconds each time.
    private_key: rsa.RSAPrivateKey = field(compare=False, repr=False)

    @classmethod
    def from_private_pem(cls, private_pem: bytes) -> WebhookKeys:
        private_key = serialization.load_pem_private_key(private_pem, password=None)
        return cls(private_pem, public_pem_of(private_key), private_key)

    @cached_property
    def kid(self) -> str:
        return key_id(self.public_pem)


def key_id(public_pem: bytes) -> str:
    """A short, stable ``kid`` derived from the public key (Wix's are short opaque strings)."""
    public_key = serialization.load_pem_public_key(public_pem)
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode()[:8]


def load_or_create_keys(key_dir: str | Path) -> WebhookKeys:
    """The RSA key pair in ``key_dir``, created on first use and reused after."""
    directory = Path(key_dir)
    private_path, public_path = directory / PRIVATE_KEY_FILE, directory / PUBLIC_KEY_FILE
    if private_path.exists():
        keys = WebhookKeys.from_private_pem(private_path.read_bytes())
        if not public_path.exists() or public_path.read_bytes() != keys.public_pem:
            public_path.write_bytes(keys.public_pem)
        return keys
    directory.mkdir(parents=True, exist_ok=True)
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    # Created owner-only before the key is written into it.
    private_path.touch(mode=0o600)
    private_path.write_bytes(private_pem)
    keys = WebhookKeys(private_pem, public_pem_of(private_key), private_key)
    public_path.write_bytes(keys.public_pem)
    return keys


def public_pem_of(private_key: Any) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
