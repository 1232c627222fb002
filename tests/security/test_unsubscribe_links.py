"""The unsubscribe link is a capability for one request and one channel: it cannot be forged, altered or
pointed at another request, whatever is done to it (property-tested), and through the API a refused link
changes nothing."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st
from payment_links.unsubscribe_token import UnsubscribeClaim, make_token, read_token

from tests.support.lambda_runtime import api_event, invoke, load_function

KEY = b"unsubscribe-signing-key-for-tests"
resend_app = load_function("resend")
request_ids = st.text(alphabet=string.ascii_letters + string.digits + "-", min_size=1, max_size=40)
channels = st.sampled_from(["EMAIL", "SMS"])


@settings(max_examples=300, deadline=None)
@given(request_id=request_ids, channel=channels, position=st.integers(min_value=0), char=st.sampled_from(string.ascii_letters + "-_."))
def test_an_altered_token_is_refused_or_still_means_exactly_the_same(request_id: str, channel: str, position: int, char: str) -> None:
    token = make_token(request_id, channel, KEY)
    index = position % len(token)
    altered = token[:index] + char + token[index + 1 :]
    # Every token has one spelling: even a change that decodes to the same bytes (base64url's spare bits in the
    # last character) is refused.
    assert read_token(altered, KEY) is None or altered == token


@settings(max_examples=200, deadline=None)
@given(mine=request_ids, theirs=request_ids, channel=channels)
def test_a_token_cannot_be_rebound_to_another_request(mine: str, theirs: str, channel: str) -> None:
    genuine = make_token(mine, channel, KEY)
    other = make_token(theirs, channel, KEY)
    spliced = other.split(".")[0] + "." + genuine.split(".")[1]  # their payload, my signature
    assert read_token(spliced, KEY) in (None, UnsubscribeClaim(mine, channel))
    assert read_token(make_token(theirs, channel, b"another key"), KEY) is None


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=500))
def test_any_text_is_either_a_genuine_token_or_refused_without_error(text: str) -> None:
    claim = read_token(text, KEY)
    assert claim is None or make_token(claim.request_id, claim.channel, KEY) is not None


@settings(max_examples=200, deadline=None)
@given(
    request_id=request_ids, channel=channels, padding=st.sampled_from(["=", "==", "==="]), where=st.sampled_from(["payload", "signature"])
)
def test_a_padded_spelling_of_a_genuine_token_is_refused(request_id: str, channel: str, padding: str, where: str) -> None:
    payload, signature = make_token(request_id, channel, KEY).split(".")
    variant = f"{payload}{padding}.{signature}" if where == "payload" else f"{payload}.{signature}{padding}"
    assert read_token(variant, KEY) is None


def test_the_standard_alphabet_spelling_of_a_genuine_token_is_refused() -> None:
    for request_id in (f"req-{n:04d}-\u00ff" for n in range(200)):
        token = make_token(request_id, "EMAIL", KEY)
        standard = token.replace("-", "+").replace("_", "/")
        if standard != token:
            assert read_token(standard, KEY) is None
            return
    raise AssertionError("no token with '-' or '_' in 200 tries")


def test_the_opt_out_page_cannot_be_framed(aws, wix) -> None:
    status, _, headers = invoke(resend_app, api_event("GET", f"/unsubscribe/{make_token('r', 'EMAIL', KEY)}"))
    assert status == 200
    assert "frame-ancestors 'none'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"


def test_a_forged_link_through_the_api_is_404_and_opts_nobody_out(aws, wix) -> None:
    forged = make_token("some-request", "EMAIL", b"guessed key")
    status, body, _ = invoke(resend_app, api_event("POST", f"/unsubscribe/{forged}"))
    assert status == 404 and body["error"]["code"] == "INVALID_UNSUBSCRIBE_LINK"
    assert aws.state_items() == []
