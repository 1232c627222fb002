"""What each message earned, end to end on the local stack: GET /stats after a request is paid, the chart page
drawn from it, and (APP mode, a site's linkMode) a tracked link clicked and counted."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest

from local.stack import LocalStack

from .support import Customer, Stack

pytestmark = pytest.mark.e2e
TODAY = datetime.now(UTC).date().isoformat()
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}


def _stats(stack: Stack) -> dict:
    response = stack.api.get("/stats", params={"from": TODAY, "to": TODAY})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_paid_request_shows_in_stats_and_on_the_chart_page(stack: Stack, local_stack: LocalStack):
    before = _stats(stack)["totals"]
    customer = Customer.new()
    created = stack.create_payment_request(stack.create_order(customer, balance="30.00")["id"], amount="30.00")

    assert stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay").status_code == 200
    stack.wait_for_status(created["id"], "PAID")

    after = _stats(stack)["totals"]
    assert after["requested"]["count"] == before["requested"]["count"] + 1
    assert after["paid"]["count"] == before["paid"]["count"] + 1
    assert after["recoveryRate"] is not None and after["medianTimeToPaySeconds"] is not None
    page = httpx.get(f"{local_stack.api_url}/_local/stats", params={"from": TODAY, "to": TODAY}, timeout=30)
    assert page.status_code == 200 and "<svg" in page.text and 'id="recovery-rate"' in page.text
    assert "https://" not in page.text.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from outside
    assert stack.api.get("/stats", params={"from": TODAY, "to": "2000-01-01"}).status_code == 422


@pytest.mark.app_mode_only
def test_a_tracked_link_is_counted_once_per_person_and_leads_to_the_wix_page(stack: Stack):
    assert stack.api.put("/settings", json={"linkMode": "TRACKED"}).json()["linkMode"] == "TRACKED"
    try:
        customer = Customer.new()
        created = stack.create_payment_request(stack.create_order(customer)["id"])
        email = stack.emails_to(customer)[0]
        link = next(url for url in email["links"] if "/l/" in url)
        assert created["url"] not in email["text"]
        clicked_before = _stats(stack)["byChannel"].get("EMAIL", {}).get("clicked", 0)

        assert stack.anonymous.head(link).status_code == 302  # a link checker: answered, not counted
        response = stack.anonymous.get(link, headers=BROWSER, follow_redirects=False)

        assert response.status_code == 302 and response.headers["location"] == created["url"]
        assert _stats(stack)["byChannel"]["EMAIL"]["clicked"] == clicked_before + 1
        stack.sandbox.post(f"/_sandbox/order-payment-requests/{created['id']}/pay")
        stack.wait_for_status(created["id"], "PAID")
        page = stack.anonymous.get(link, headers=BROWSER, follow_redirects=False)
        assert page.status_code == 200 and "Already paid" in page.text and "location" not in page.headers
        assert re.search(r"default-src 'none'", page.headers["content-security-policy"])
    finally:
        stack.api.put("/settings", json={})
