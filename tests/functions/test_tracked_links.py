"""LinkMode TRACKED: messages carry GET /l/{token}; a person's click is counted and goes to a fresh Wix URL; a paid,
expired or voided request gets a page, never a Wix URL; scanners and HEAD are not counted; tokens cannot be forged."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.functions.test_stats import stats
from tests.functions.test_sweep_support import create_request, get_request, resend_app
from tests.support.aws_env import reset_process_state
from tests.support.fake_wix import wix_error
from tests.support.lambda_runtime import api_event, invoke
from tests.support.webhook_signing import opr_entity, signed_event

CREATED = "2026-05-04T12:00:00Z"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"
TRACKED = re.compile(r"https?://[^\s\"<>]+/l/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


@pytest.fixture(autouse=True)
def _tracked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")
    monkeypatch.setenv("LINK_MODE", "TRACKED")
    reset_process_state()


def click(token: str, method: str = "GET", agent: str | None = BROWSER, **headers: str) -> tuple[int, Any, dict[str, str]]:
    all_headers = {"User-Agent": agent, **headers} if agent else headers
    return invoke(resend_app, api_event(method, f"/l/{token}", headers=all_headers))


def email_token(aws: Any) -> str:
    match = TRACKED.search(aws.sent_emails()[-1].body)
    assert match, "the e-mail has no tracked link"
    return match.group(1)


def test_messages_carry_our_link_and_a_persons_click_is_counted_and_sent_to_a_fresh_wix_url(aws, wix):
    created = create_request(wix, CREATED)
    email = aws.sent_emails()[-1]
    assert wix.url_for(created["id"]) not in email.body and TRACKED.search(email.body)
    assert any(TRACKED.search(text) for _, text in aws.sent_sms())
    token = email_token(aws)
    urls_before = wix.count("url")

    status, _, headers = click(token)

    assert status == 302 and headers["location"] == wix.url_for(created["id"]) and headers["cache-control"] == "no-store"
    assert wix.count("url") == urls_before + 1  # fresh from Wix
    stored = get_request(created["id"])
    assert stored["status"] == "UNPAID"
    assert stats("2026-05-01", "2026-12-31")[1]["byChannel"]["EMAIL"]["clicked"] == 1


def test_head_prefetch_and_scanners_get_an_answer_but_are_not_counted_and_spend_no_wix_call(aws, wix):
    created = create_request(wix, CREATED)
    token = email_token(aws)
    urls_before = wix.count("url")

    assert click(token, "HEAD")[0] == 302
    assert click(token, agent="Mozilla/5.0 (compatible; Barracuda Sentinel)")[2]["location"] == wix.url_for(created["id"])
    assert click(token, **{"Sec-Purpose": "prefetch"})[0] == 302
    assert click(token, agent=None)[0] == 302

    assert wix.count("url") == urls_before
    assert stats("2026-05-01", "2026-12-31")[1]["byChannel"].get("EMAIL", {}).get("clicked", 0) == 0


def test_a_paid_request_gets_a_thank_you_page_in_the_customers_language_never_a_wix_url(aws, wix):
    order_id = wix.add_order(balance="40.00", currency="EUR", buyer_language="de")
    created = create_request(wix, CREATED, order_id=order_id, amount="40.00")
    token = email_token(aws)
    wix.set_status(created["id"], "PAID")
    from tests.functions.test_webhook_api import post

    post(signed_event("paid", opr_entity(created["id"], order_id, status="PAID")))

    status, page, headers = click(token)
    assert status == 200 and "location" not in headers and "Bereits bezahlt" in page and '<html lang="de"' in page
    assert headers["content-security-policy"].startswith("default-src 'none'") and "<script" not in page


@pytest.mark.parametrize(("wix_status", "text"), [("EXPIRED", "This payment link has expired"), ("VOIDED", "was cancelled")])
def test_an_expired_or_voided_request_gets_a_page_saying_so_and_how_to_get_a_new_link(aws, wix, wix_status, text):
    created = create_request(wix, CREATED)
    token = email_token(aws)
    wix.set_status(created["id"], wix_status)
    from payment_links.deps import get_dependencies
    from payment_links.flows.delivery import reconcile_status

    deps = get_dependencies()
    reconcile_status(created["id"], wix_status, deps, deps.clock())

    status, page, headers = click(token)
    assert status == 200 and text in page and "ask" in page.lower() and "location" not in headers


def test_wix_unavailable_sends_the_customer_to_the_saved_url(aws, wix):
    created = create_request(wix, CREATED)
    token = email_token(aws)
    wix.fail("url", *[wix_error(503)] * 6)

    status, _, headers = click(token)

    assert status == 302 and headers["location"] == created["url"]


def test_a_forged_respelt_or_foreign_token_gets_the_not_valid_page(aws, wix):
    create_request(wix, CREATED)
    token = email_token(aws)
    payload, signature = token.split(".")
    unsubscribe = re.search(r"/unsubscribe/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", aws.sent_emails()[-1].body)

    for bad in (payload + "." + signature[:-2] + "AA", payload + "=." + signature, "x" * 500, "not-a-token"):
        status, page, headers = click(bad)
        assert status == 404 and "This link is not valid" in page and "location" not in headers
    if unsubscribe:  # an opt-out token is no pay link (and the other way round)
        assert click(unsubscribe.group(1))[0] == 404


def test_the_payment_is_credited_to_the_last_click(aws, wix):
    created = create_request(wix, CREATED)
    token = email_token(aws)
    click(token)
    wix.set_status(created["id"], "PAID")
    from tests.functions.test_webhook_api import post

    post(signed_event("paid", opr_entity(created["id"], created["orderId"], status="PAID"), event_time="2030-01-01T00:00:00.000Z"))

    attribution = get_request(created["id"])["attribution"]
    assert attribution["clickedAt"] is not None and attribution["channel"] in ("EMAIL", "SMS")
