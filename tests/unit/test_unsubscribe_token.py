"""Signed unsubscribe tokens: bound to one request and one channel, unforgeable without the key."""

from __future__ import annotations

import base64

import pytest
from payment_links import unsubscribe_token
from payment_links.config import Settings
from payment_links.unsubscribe_token import UnsubscribeClaim, make_token, read_token, unsubscribe_url

KEY = b"k" * 64
REQUEST_ID = "8b4f7c2e-1f0a-4c3e-9a57-2d1c0b9e6f11"


def test_a_token_reads_back_as_its_request_and_channel():
    token = make_token(REQUEST_ID, "EMAIL", KEY)

    assert read_token(token, KEY) == UnsubscribeClaim(REQUEST_ID, "EMAIL")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")  # URL-safe


def test_a_token_signed_with_another_key_is_refused():
    assert read_token(make_token(REQUEST_ID, "EMAIL", b"another key"), KEY) is None


def test_rebinding_a_token_to_another_request_or_channel_breaks_the_signature():
    token = make_token(REQUEST_ID, "EMAIL", KEY)
    signature = token.split(".")[1]
    for payload in ("v1:other-request:EMAIL", f"v1:{REQUEST_ID}:SMS"):
        forged = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode() + "." + signature
        assert read_token(forged, KEY) is None


@pytest.mark.parametrize("token", ["", ".", "abc", "a.b.c", "!!!.???", "x" * 500, "djE6YTpFTUFJTA.AAAA"])
def test_malformed_tokens_are_refused_not_crashed_on(token):
    assert read_token(token, KEY) is None


def test_a_genuine_token_for_an_unknown_channel_is_refused():
    assert read_token(make_token(REQUEST_ID, "FAX", KEY), KEY) is None


def test_the_link_is_the_public_route_under_the_configured_base_url(monkeypatch):
    monkeypatch.setattr(unsubscribe_token, "signing_key", lambda settings: KEY)
    settings = Settings(UNSUBSCRIBE_BASE_URL="https://abc.execute-api.us-east-1.amazonaws.com/v1/")

    url = unsubscribe_url(REQUEST_ID, "EMAIL", settings)

    prefix = "https://abc.execute-api.us-east-1.amazonaws.com/v1/unsubscribe/"
    assert url is not None and url.startswith(prefix)
    assert read_token(url.removeprefix(prefix), KEY) == UnsubscribeClaim(REQUEST_ID, "EMAIL")


def test_without_a_base_url_there_is_no_link():
    assert unsubscribe_url(REQUEST_ID, "EMAIL", Settings(UNSUBSCRIBE_BASE_URL="")) is None
