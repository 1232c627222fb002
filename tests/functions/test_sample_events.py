"""The sample events in events/ are valid input for the handlers they are meant for (sam local invoke)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.lambda_runtime import invoke, load_function

EVENTS = Path(__file__).resolve().parents[2] / "events"


@pytest.mark.parametrize("name", ["get-payment-request.json", "void-payment-request.json"])
def test_create_function_sample_events_route_to_their_handlers(aws, wix, name):
    status, body, _ = invoke(load_function("create"), json.loads((EVENTS / name).read_text()))
    # The sample ids are not stored in a fresh table: the route ran and answered in the error shape.
    assert status == 404 and body["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"


def test_create_sample_event_creates_a_request(aws, wix):
    event = json.loads((EVENTS / "create-payment-request.json").read_text())
    order_id = wix.add_order(balance="40.00")
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, "orderId": order_id})
    status, created, _ = invoke(load_function("create"), event)
    assert status == 201 and created["amount"] == "25.00"


def test_list_sample_event_lists(aws, wix):
    status, body, _ = invoke(load_function("create"), json.loads((EVENTS / "list-payment-requests-by-order.json").read_text()))
    assert status == 200 and body == {"paymentRequests": []}
