"""Tokens that carry their own proof: ``base64url(payload).base64url(HMAC-SHA256(purpose + payload))``.

Used for the links in our messages (the opt-out link, the tracked pay link). The purpose separates them: a token
signed for one can never be replayed as the other. A token has one spelling: base64 decoding forgives padding, the
standard alphabet and stray characters, so a genuine token has many spellings that decode alike; only the one we
issue is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

MAX_TOKEN_CHARS = 400


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: bytes, key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose + payload, hashlib.sha256).digest()


def sign(payload: bytes, key: bytes, purpose: bytes) -> str:
    return f"{_b64(payload)}.{_b64(_signature(payload, key, purpose))}"


def verify(token: str, key: bytes, purpose: bytes) -> bytes | None:
    """The payload of a genuine token, or None for anything forged, altered, truncated, respelt or malformed."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    encoded_payload, encoded_signature = token.split(".")
    try:
        payload, signature = _unb64(encoded_payload), _unb64(encoded_signature)
    except ValueError:
        return None
    if _b64(payload) != encoded_payload or _b64(signature) != encoded_signature:
        return None
    if not hmac.compare_digest(signature, _signature(payload, key, purpose)):
        return None
    return payload
