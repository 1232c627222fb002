"""The log capture plugin (tests/support/log_capture.py) sees the product's lines and would catch a leak.

The plugin itself checks every test's lines; these tests prove it is really reading them, and that what it looks
for is what a leak would look like."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from tests.support.lambda_runtime import api_event, invoke, load_function
from tests.support.log_capture import ProductLog, find_leaks

create_app = load_function("create")


def test_the_product_s_lines_are_captured_with_their_structured_keys(aws, wix, product_log: ProductLog) -> None:
    mark = product_log.mark()
    order_id = wix.add_order(email="jane@example.com", phone="+12015550123")
    body = {"orderId": order_id, "externalId": "inv-1", "title": "t", "amount": "1.00"}
    status, _, _ = invoke(create_app, api_event("POST", "/payment-requests", body))
    assert status == 201
    lines = product_log.since(mark)
    assert any('"payment request created"' in line and '"payment_request_id"' in line for line in lines), lines
    assert product_log.leaks_since(mark) == []


def test_a_contact_detail_or_secret_in_a_log_line_is_caught(product_log: ProductLog) -> None:
    logger = Logger(service="payment-links", child=True)
    mark = product_log.mark()
    logger.info("sent", extra={"to": "jane@example.com"})
    logger.info("sent", extra={"to": "+12015550123"})
    logger.warning("auth", extra={"header": "test-api-key"})
    logger.info("masked ones are fine", extra={"to": "j***@example.com", "phone": "+1******0123", "from": "payments@shop.test"})
    kinds = [leak.kind for leak in product_log.leaks_since(mark)]
    product_log.discard_since(mark)  # emitted on purpose: do not fail this test for them
    assert kinds == ["e-mail", "phone", "secret"]


def test_secrets_held_in_secrets_manager_are_looked_for_too() -> None:
    leaks = find_leaks(['{"message": "x", "token": "a-generated-signing-key-9f8e7d"}'], {"a-generated-signing-key-9f8e7d"})
    assert [leak.kind for leak in leaks] == ["secret"]
    assert find_leaks(['{"message": "-----BEGIN PRIVATE KEY-----"}']) != []
