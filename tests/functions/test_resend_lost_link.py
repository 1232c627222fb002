"""POST /orders/{orderId}/payment-requests/resend: the seed's lost-link flow, Wix paging, outside requests."""

from __future__ import annotations

import pytest
import time_machine

from tests.functions.test_sweep_support import at, create_request, get_request, notifications, resend_app
from tests.support.lambda_runtime import api_event, invoke

CREATED = "2026-05-04T12:00:00Z"
LATER = "2026-05-04T12:30:00Z"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def lost_link(order_id: str, body: object = None, when: str = LATER) -> tuple[int, object, dict[str, str]]:
    with time_machine.travel(at(when), tick=False):
        return invoke(resend_app, api_event("POST", f"/orders/{order_id}/payment-requests/resend", body))


def query_filters(wix) -> list[str]:
    return [path for name, path in wix.calls if name == "query"]


def test_lost_link_queries_wix_for_the_orders_unpaid_requests_and_sends_their_links(aws, wix):
    created = create_request(wix, CREATED)

    status, body, _ = lost_link(created["orderId"])

    assert status == 200, body
    [sent] = body["paymentRequests"]
    assert sent["id"] == created["id"]
    assert notifications(sent, "RESEND") == [("EMAIL", "SENT"), ("SMS", "SENT")]
    assert wix.count("url") == 1 and wix.url_for(created["id"]) in aws.sent_emails()[-1].body


def test_lost_link_follows_wix_cursors_across_pages_newest_first(aws, wix):
    wix.page_size_cap = 2  # Wix pages of two: five requests take three pages
    order_id = wix.add_order(balance="500.00")
    ids = [create_request(wix, f"2026-05-04T12:0{n}:00Z", order_id=order_id, amount="10.00")["id"] for n in range(5)]
    for request_id in ids:
        wix.requests[request_id]["createdDate"] = f"2026-05-04T12:0{ids.index(request_id)}:00.000Z"
    wix.calls.clear()

    status, body, _ = lost_link(order_id)

    assert status == 200, body
    assert [r["id"] for r in body["paymentRequests"]] == list(reversed(ids))
    assert wix.count("query") == 3


def test_lost_link_narrowed_by_external_id_finds_it_on_a_later_page(aws, wix):
    wix.page_size_cap = 2
    order_id = wix.add_order(balance="500.00")
    oldest = create_request(wix, "2026-05-04T11:00:00Z", order_id=order_id, amount="10.00", external_id="deposit")
    wix.requests[oldest["id"]]["createdDate"] = "2026-05-04T11:00:00.000Z"
    for n in range(4):
        newer = create_request(wix, f"2026-05-04T12:0{n}:00Z", order_id=order_id, amount="10.00", external_id=f"part-{n}")
        wix.requests[newer["id"]]["createdDate"] = f"2026-05-04T12:0{n}:00.000Z"
    emails_before = len(aws.sent_emails())

    status, body, _ = lost_link(order_id, {"externalId": "deposit", "channels": ["EMAIL"]})

    assert status == 200, body
    assert [r["id"] for r in body["paymentRequests"]] == [oldest["id"]]
    assert len(aws.sent_emails()) == emails_before + 1 and len(aws.sent_sms()) == 5  # SMS only from the creates


def test_a_request_created_outside_the_product_gets_the_orders_buyer_details(aws, wix):
    order_id = wix.add_order(email="buyer@example.com", phone="+12015550123")
    request_id = wix.add_request(order_id, amount="12.00")

    status, body, _ = lost_link(order_id)

    assert status == 200, body
    [sent] = body["paymentRequests"]
    assert sent["id"] == request_id and sent["amount"] == "12.00"
    assert sent["customer"] == {"email": "b***@example.com", "phone": "+1******0123"}
    assert sent["reminders"]["enabled"] is False  # its creator never asked us to chase it
    assert aws.sent_emails()[-1].destinations["ToAddresses"] == ["buyer@example.com"]
    assert [event["event"] for event in get_request(request_id)["history"]] == ["ADOPTED", "LINK_RESENT"]


def test_an_outside_request_with_no_contact_details_anywhere_is_422(aws, wix):
    order_id = wix.add_order(email=None, phone=None)
    wix.add_request(order_id)

    status, body, _ = lost_link(order_id)

    assert status == 422 and body["error"]["code"] == "NO_REACHABLE_CHANNEL"


def test_no_unpaid_request_at_wix_is_404(aws, wix):
    order_id = wix.add_order()
    wix.add_request(order_id, status="PAID")

    status, body, _ = lost_link(order_id)

    assert status == 404 and body["error"]["code"] == "NO_UNPAID_PAYMENT_REQUEST"
    assert aws.sent_emails() == []


def test_an_external_id_that_matches_nothing_is_404(aws, wix):
    created = create_request(wix, CREATED)

    status, body, _ = lost_link(created["orderId"], {"externalId": "nope"})

    assert status == 404 and body["error"]["code"] == "NO_UNPAID_PAYMENT_REQUEST"


def test_the_cooldown_applies_to_the_lost_link_flow_too(aws, wix):
    created = create_request(wix, CREATED)
    assert lost_link(created["orderId"])[0] == 200

    status, body, headers = lost_link(created["orderId"], when="2026-05-04T12:31:00Z")

    assert status == 429 and body["error"]["code"] == "RESEND_COOLDOWN" and headers["retry-after"] == "240"
