"""Orders settled outside any payment request (the control routes and their pushed order events), and Search Orders
served under Wix's path with its filter, paging and status defaults."""

from __future__ import annotations

import json

from local.wix_sandbox import SITE_B_INSTANCE_ID

from .support import OPR, create_order, create_payment_request, oauth_client, unwrap_webhook, wait_until


def control_code(response):
    """A control route's refusal: the local stack's error shape ``{"error": {"code", "message"}}``."""
    return response.json()["error"]["code"]


def _search(client, **search):
    return client.post("/ecom/v1/orders/search", json={"search": search})


# -- mark-paid and cancel ----------------------------------------------------------------------------------------


def test_a_payment_made_another_way_lowers_the_balance_and_pushes_the_payment_status_event(client, sandbox, receiver):
    order = create_order(client, "40.00")
    request = create_payment_request(client, order["id"])

    partly = client.post(f"/_sandbox/orders/{order['id']}/mark-paid", json={"amount": "15.00"})
    assert partly.status_code == 200, partly.text
    assert partly.json()["previousPaymentStatus"] == "NOT_PAID"
    after = client.get(f"/ecom/v1/orders/{order['id']}").json()["order"]
    assert after["paymentStatus"] == "PARTIALLY_PAID" and after["balanceSummary"]["balance"]["amount"] == "25.00"
    # The payment request knows nothing of it: it stays UNPAID at Wix, as in Wix.
    assert client.get(f"{OPR}/{request['id']}").json()["orderPaymentRequest"]["status"] == "UNPAID"

    rest = client.post(f"/_sandbox/orders/{order['id']}/mark-paid")  # no amount: all that is open
    assert rest.json()["order"]["paymentStatus"] == "PAID" and rest.json()["order"]["balanceSummary"]["balance"]["amount"] == "0.00"

    bodies = wait_until(lambda: len(receiver.bodies()) >= 3 and receiver.bodies())  # created, then two order events
    events = [unwrap_webhook(body, sandbox.keys.public_pem) for body in bodies]
    order_events = [(envelope, data) for _, envelope, data in events if data["entityFqdn"] == "wix.ecom.v1.order"]
    assert [envelope["eventType"] for envelope, _ in order_events] == ["wix.ecom.v1.order_payment_status_updated"] * 2
    first = json.loads(order_events[0][1]["actionEvent"]["bodyAsJson"])
    assert first["previousPaymentStatus"] == "NOT_PAID" and first["order"]["paymentStatus"] == "PARTIALLY_PAID"
    assert order_events[0][1]["entityId"] == order["id"]
    sequences = [int(data["entityEventSequence"]) for _, data in order_events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 2


def test_cancelling_an_order_pushes_order_canceled_and_a_settled_order_takes_no_more_payments(client, sandbox, receiver):
    order = create_order(client, "40.00")

    canceled = client.post(f"/_sandbox/orders/{order['id']}/cancel")
    assert canceled.status_code == 200 and canceled.json()["order"]["status"] == "CANCELED"
    _, envelope, data = unwrap_webhook(wait_until(lambda: receiver.bodies())[0], sandbox.keys.public_pem)
    assert envelope["eventType"] == "wix.ecom.v1.order_canceled" and data["slug"] == "canceled"
    assert json.loads(data["actionEvent"]["bodyAsJson"])["order"]["status"] == "CANCELED"

    assert control_code(client.post(f"/_sandbox/orders/{order['id']}/cancel")) == "ORDER_ALREADY_CANCELED"
    assert control_code(client.post(f"/_sandbox/orders/{order['id']}/mark-paid")) == "ORDER_NOT_PAYABLE"


def test_an_amount_over_the_balance_or_not_a_positive_decimal_is_refused(client):
    order = create_order(client, "40.00")
    assert control_code(client.post(f"/_sandbox/orders/{order['id']}/mark-paid", json={"amount": "40.01"})) == "INVALID_AMOUNT"
    assert client.post(f"/_sandbox/orders/{order['id']}/mark-paid", json={"amount": "abc"}).status_code == 400
    assert client.post("/_sandbox/orders/no-such-order/mark-paid").status_code == 404


def test_with_webhook_delivery_off_nothing_is_pushed(client, receiver):
    assert client.put("/_sandbox/webhooks", json={"url": None}).status_code == 200
    order = create_order(client, "40.00")
    assert client.post(f"/_sandbox/orders/{order['id']}/mark-paid").status_code == 200
    assert receiver.bodies() == []


# -- Search Orders -----------------------------------------------------------------------------------------------


def test_search_by_id_in_returns_those_orders_newest_first_with_wix_metadata(client):
    orders = [create_order(client, "10.00") for _ in range(3)]
    wanted = [orders[0]["id"], orders[2]["id"]]

    response = _search(client, filter={"id": {"$in": wanted}})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [o["id"] for o in body["orders"]] == [orders[2]["id"], orders[0]["id"]]
    assert body["metadata"] == {"count": 2, "cursors": {"next": None, "prev": None}, "hasNext": False}
    assert body["orders"][0]["balanceSummary"]["balance"]["amount"] == "10.00"


def test_search_pages_with_a_cursor_alone(client):
    ids = [create_order(client, "10.00")["id"] for _ in range(5)]
    first = _search(client, filter={"id": {"$in": ids}}, cursorPaging={"limit": 2}).json()
    assert first["metadata"]["hasNext"] is True and len(first["orders"]) == 2

    seen = [o["id"] for o in first["orders"]]
    cursor = first["metadata"]["cursors"]["next"]
    while cursor:
        page = _search(client, cursorPaging={"limit": 2, "cursor": cursor}).json()
        seen += [o["id"] for o in page["orders"]]
        cursor = page["metadata"]["cursors"]["next"]
    assert sorted(seen) == sorted(ids) and len(seen) == 5
    # Wix: a cursor request carries no filter.
    refused = _search(client, filter={"id": {"$in": ids}}, cursorPaging={"cursor": first["metadata"]["cursors"]["next"]})
    assert refused.status_code == 400


def test_search_leaves_out_pending_orders_unless_status_is_asked_for_and_never_another_sites(client, sandbox):
    pending = create_order(client, "10.00", status="PENDING")
    approved = create_order(client, "10.00")
    theirs = create_order(client, "10.00", instanceId=SITE_B_INSTANCE_ID)
    ids = [pending["id"], approved["id"], theirs["id"]]

    assert [o["id"] for o in _search(client, filter={"id": {"$in": ids}}).json()["orders"]] == [approved["id"]]
    asked = _search(client, filter={"id": {"$in": ids}, "status": {"$in": ["PENDING", "APPROVED"]}}).json()["orders"]
    assert sorted(o["id"] for o in asked) == sorted([pending["id"], approved["id"]])
    with oauth_client(sandbox.url, SITE_B_INSTANCE_ID) as site_b:
        assert [o["id"] for o in _search(site_b, filter={"id": {"$in": ids}}).json()["orders"]] == [theirs["id"]]


def test_search_refuses_what_it_does_not_support(client):
    assert _search(client, filter={"buyerInfo.email": {"$eq": "x"}}).status_code == 400
    assert _search(client, filter={"id": {"$in": "not-a-list"}}).status_code == 400
    assert _search(client, cursorPaging={"limit": 101}).status_code == 400
    assert _search(client, cursorPaging={"cursor": "garbage!"}).status_code == 400
