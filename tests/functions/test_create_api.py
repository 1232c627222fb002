"""The create function through API Gateway events, against moto and Wix mocked at HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.lambda_runtime import api_event, invoke, load_function

create_app = load_function("create")


def create(body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    return invoke(create_app, api_event("POST", "/payment-requests", body))


def body_for(order_id: str, external_id: str = "inv-1", **extra: Any) -> dict[str, Any]:
    return {"orderId": order_id, "externalId": external_id, "title": "Balance due", **extra}


def test_create_sends_link_by_email_and_sms_and_stores_the_request(aws, wix):
    order_id = wix.add_order(balance="40.00")
    status, body, _ = create(body_for(order_id, amount="25.00"))

    assert status == 201, body
    assert body["status"] == "UNPAID"
    assert body["amount"] == "25.00" and body["currency"] == "USD"
    assert body["url"] == wix.url_for(body["id"])
    assert body["customer"] == {"email": "j***@example.com", "phone": "+1******0123"}
    assert [(n["channel"], n["kind"], n["status"]) for n in body["notifications"]] == [
        ("EMAIL", "INITIAL", "SENT"),
        ("SMS", "INITIAL", "SENT"),
    ]
    assert body["reminders"]["schedule"] == ["P1D", "P3D", "P7D"] and body["reminders"]["nextAt"]
    emails = aws.sent_emails()
    assert len(emails) == 1 and emails[0].destinations["ToAddresses"] == ["jane@example.com"]
    assert wix.url_for(body["id"]) in emails[0].body
    sms = aws.sent_sms()
    assert len(sms) == 1 and sms[0][0] == "+12015550123" and wix.url_for(body["id"]) in sms[0][1]
    assert wix.requests[body["id"]]["source"]["externalId"] == "inv-1"

    status, stored, _ = invoke(create_app, api_event("GET", f"/payment-requests/{body['id']}"))
    assert status == 200 and stored["id"] == body["id"] and stored["history"][0]["event"] == "CREATED"


def test_amount_defaults_to_the_balance_less_open_unpaid_requests(aws, wix):
    order_id = wix.add_order(balance="40.00")
    wix.add_request(order_id, amount="15.00")
    status, body, _ = create(body_for(order_id))
    assert status == 201, body
    assert body["amount"] == "25.00"
    assert wix.requests[body["id"]]["amount"]["amount"] == "25.00"


def test_contact_details_default_from_the_order_field_by_field(aws, wix):
    order_id = wix.add_order(email="buyer@example.com", phone="+447400900123")
    status, body, _ = create(body_for(order_id, amount="5.00", customer={"email": "other@example.org"}))
    assert status == 201, body
    assert body["customer"] == {"email": "o***@example.org", "phone": "+4*******0123"}
    assert aws.sent_emails()[0].destinations["ToAddresses"] == ["other@example.org"]
    assert aws.sent_sms()[0][0] == "+447400900123"


def test_channels_default_to_what_is_reachable(aws, wix):
    order_id = wix.add_order(phone=None)
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201
    assert body["channels"] == ["EMAIL"]
    assert aws.sent_sms() == []


def test_amount_above_what_is_open_is_refused_before_wix_and_lists_open_requests(aws, wix):
    order_id = wix.add_order(balance="40.00")
    open_id = wix.add_request(order_id, amount="30.00")
    status, body, _ = create(body_for(order_id, amount="20.00"))
    assert status == 422
    assert body["error"]["code"] == "AMOUNT_EXCEEDS_BALANCE"
    assert body["error"]["details"][0]["openRequests"][0]["id"] == open_id
    assert body["error"]["details"][0]["openAmount"] == "10.00"
    assert wix.count("create") == 0


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_amount_not_above_zero_is_refused(aws, wix, amount):
    order_id = wix.add_order()
    status, body, _ = create(body_for(order_id, amount=amount))
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
    assert wix.count("create") == 0


def test_nothing_open_refuses_the_default_amount(aws, wix):
    order_id = wix.add_order(balance="10.00")
    wix.add_request(order_id, amount="10.00")
    status, body, _ = create(body_for(order_id))
    assert status == 422 and body["error"]["code"] == "AMOUNT_EXCEEDS_BALANCE"
    assert wix.count("create") == 0


@pytest.mark.parametrize("payment_status", ["PAID", "PENDING", "FULLY_REFUNDED", "PARTIALLY_REFUNDED"])
def test_orders_that_cannot_be_asked_for_money_are_refused(aws, wix, payment_status):
    order_id = wix.add_order(payment_status=payment_status)
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 409 and body["error"]["code"] == "ORDER_NOT_PAYABLE"
    assert body["error"]["details"][0]["paymentStatus"] == payment_status
    assert wix.count("create") == 0


def test_unknown_order_is_404(aws, wix):
    status, body, _ = create(body_for("00000000-0000-0000-0000-000000000000", amount="5.00"))
    assert status == 404 and body["error"]["code"] == "ORDER_NOT_FOUND"


def test_no_reachable_channel_is_refused(aws, wix):
    order_id = wix.add_order(email=None, phone=None)
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 422 and body["error"]["code"] == "NO_REACHABLE_CHANNEL"
    assert wix.count("create") == 0


def test_requested_channel_without_contact_is_refused(aws, wix):
    order_id = wix.add_order(phone=None)
    status, body, _ = create(body_for(order_id, amount="5.00", channels=["SMS"]))
    assert status == 422 and body["error"]["code"] == "NO_REACHABLE_CHANNEL"
    assert body["error"]["details"][0]["unreachable"] == ["SMS"]


def test_unpublished_payment_page_is_424_with_instructions(aws, wix):
    order_id = wix.add_order()
    wix.page_published = False
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 424 and body["error"]["code"] == "PAYMENT_PAGE_NOT_PUBLISHED"
    assert "publish" in body["error"]["message"]
    assert aws.state_items() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"description": "x" * 301}, "description"),
        ({"externalId": "x" * 101}, "externalId"),
        ({"amount": 25.0}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"channels": ["FAX"]}, "channels"),
        ({"channels": []}, "channels"),
        ({"customer": {"email": "not-an-email"}}, "customer.email"),
        ({"customer": {"phone": "12"}}, "customer.phone"),
        ({"customer": {"timeZone": "Mars/Olympus"}}, "customer.timeZone"),
        ({"reminders": {"schedule": ["P1M"]}}, "reminders.schedule"),
        ({"reminders": {"schedule": ["P3D", "P1D"]}}, "reminders.schedule"),
        ({"expirationDate": "2026-12-01T00:00:00"}, "expirationDate"),
        ({"unknownField": 1}, "unknownField"),
    ],
)
def test_invalid_fields_are_422_with_the_field_named(aws, wix, change, field):
    order_id = wix.add_order()
    status, body, _ = create({**body_for(order_id, amount="5.00"), **change})
    assert status == 422, body
    assert body["error"]["code"] == "VALIDATION_FAILED"
    assert any(d["field"].startswith(field) for d in body["error"]["details"]), body
    assert wix.count("create") == 0


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', ""])
def test_a_body_that_is_not_a_json_object_is_a_4xx(aws, wix, raw):
    status, body, _ = invoke(create_app, api_event("POST", "/payment-requests", raw_body=raw))
    assert status in (400, 422)
    assert body["error"]["code"] == "VALIDATION_FAILED"


def test_replayed_external_id_returns_the_first_result_and_sends_nothing(aws, wix):
    order_id = wix.add_order()
    first_status, first, _ = create(body_for(order_id, amount="5.00"))
    second_status, second, _ = create(body_for(order_id, amount="5.00"))
    assert (first_status, second_status) == (201, 200)
    assert second == first
    assert wix.count("create") == 1
    assert len(aws.sent_emails()) == 1 and len(aws.sent_sms()) == 1


def test_replay_of_a_request_that_later_became_invalid_still_returns_the_first_result(aws, wix):
    order_id = wix.add_order()
    _, first, _ = create(body_for(order_id, amount="5.00"))
    wix.orders[order_id]["paymentStatus"] = "PAID"
    status, second, _ = create(body_for(order_id, amount="5.00"))
    assert status == 200 and second["id"] == first["id"]


def test_same_external_id_with_different_content_is_409(aws, wix):
    order_id = wix.add_order()
    create(body_for(order_id, amount="5.00"))
    status, body, _ = create(body_for(order_id, amount="6.00"))
    assert status == 409 and body["error"]["code"] == "EXTERNAL_ID_CONFLICT"
    assert wix.count("create") == 1


def test_replay_after_the_idempotency_record_expired_is_answered_from_the_claim(aws, wix):
    from payment_links.idempotency import reset_idempotency

    order_id = wix.add_order()
    _, first, _ = create(body_for(order_id, amount="5.00"))
    boto3_table = aws.table().meta.client
    for item in boto3_table.scan(TableName="test-idempotency")["Items"]:
        boto3_table.delete_item(TableName="test-idempotency", Key={"id": item["id"]})
    reset_idempotency()
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 200 and body["id"] == first["id"]
    status, body, _ = create(body_for(order_id, amount="7.00"))
    assert status == 409 and body["error"]["code"] == "EXTERNAL_ID_CONFLICT"
    assert wix.count("create") == 1


def test_wix_503_then_success_creates_once(aws, wix):
    from tests.support.fake_wix import wix_error

    order_id = wix.add_order()
    wix.fail("getOrder", wix_error(503))
    wix.fail("create", wix_error(503))
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201, body
    assert len(wix.requests) == 1
    assert wix.count("getOrder") == 2


def test_lost_create_response_is_adopted_not_duplicated(aws, wix):
    """Wix created the request but the answer never came back: the retry finds it by externalId."""
    import httpx

    order_id = wix.add_order()
    real_create = wix._create

    def create_then_drop(body, **params):
        real_create(body, **params)
        raise httpx.ReadTimeout("response lost")

    wix._create = create_then_drop
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201, body
    assert len(wix.requests) == 1 and body["id"] in wix.requests
    assert wix.count("create") == 1  # the retry asked first, found it, and did not create again


def test_wix_timeouts_exhausting_retries_are_503_and_nothing_is_written(aws, wix):
    import httpx

    order_id = wix.add_order()
    wix.fail("getOrder", *[httpx.ReadTimeout("slow")] * 5)
    status, body, headers = create(body_for(order_id, amount="5.00"))
    assert status == 503 and body["error"]["code"] == "WIX_UNAVAILABLE"
    assert "retry-after" in headers
    assert wix.count("getOrder") == 3
    assert aws.state_items() == []
    # The idempotency record was released: the same call succeeds once Wix is back.
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201


def test_failed_send_keeps_the_request_and_records_failure(aws, wix, monkeypatch):
    from botocore.exceptions import ClientError
    from payment_links.deps import get_dependencies

    order_id = wix.add_order()
    notifier = get_dependencies().notifier

    def failing_sms(**_kwargs):
        raise ClientError({"Error": {"Code": "Throttling", "Message": "slow down"}}, "Publish")

    monkeypatch.setattr(notifier._sns, "publish", failing_sms)
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201
    assert {(n["channel"], n["status"]) for n in body["notifications"]} == {("EMAIL", "SENT"), ("SMS", "FAILED")}
    _, stored, _ = invoke(create_app, api_event("GET", f"/payment-requests/{body['id']}"))
    assert stored["notifications"] == body["notifications"]


def test_concurrent_duplicates_create_one_wix_request_and_one_notification(aws, wix, concurrent_invocations):
    from concurrent.futures import ThreadPoolExecutor

    order_id = wix.add_order()
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: create(body_for(order_id, amount="5.00")), range(8)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(201) == 1 and set(statuses) <= {200, 201}, statuses
    assert len({body["id"] for _, body, _ in results}) == 1
    assert wix.count("create") == 1
    assert len(aws.sent_emails()) == 1 and len(aws.sent_sms()) == 1


def test_get_unknown_request_is_404(aws, wix):
    status, body, _ = invoke(create_app, api_event("GET", "/payment-requests/nope"))
    assert status == 404 and body["error"]["code"] == "PAYMENT_REQUEST_NOT_FOUND"


def test_list_by_order_is_newest_first(aws, wix):
    import time_machine

    order_id = wix.add_order(balance="100.00")
    with time_machine.travel("2026-11-01T10:00:00Z", tick=True):
        _, first, _ = create(body_for(order_id, "a", amount="5.00"))
    with time_machine.travel("2026-11-02T10:00:00Z", tick=True):
        _, second, _ = create(body_for(order_id, "b", amount="5.00"))
    status, body, _ = invoke(create_app, api_event("GET", "/payment-requests", query={"orderId": order_id}))
    assert status == 200
    assert [r["id"] for r in body["paymentRequests"]] == [second["id"], first["id"]]
    status, body, _ = invoke(create_app, api_event("GET", "/payment-requests"))
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"


def test_void_voids_at_wix_stops_reminders_and_is_idempotent(aws, wix):
    order_id = wix.add_order()
    _, created, _ = create(body_for(order_id, amount="5.00"))
    status, body, _ = invoke(create_app, api_event("POST", f"/payment-requests/{created['id']}/void"))
    assert status == 200 and body["status"] == "VOIDED"
    assert body["reminders"]["nextAt"] is None
    assert wix.requests[created["id"]]["status"] == "VOIDED"
    status, again, _ = invoke(create_app, api_event("POST", f"/payment-requests/{created['id']}/void"))
    assert status == 200 and again["status"] == "VOIDED"
    assert [h["event"] for h in again["history"]].count("VOIDED") == 1


def test_void_of_a_request_paid_at_wix_is_409_and_reconciles(aws, wix):
    order_id = wix.add_order()
    _, created, _ = create(body_for(order_id, amount="5.00"))
    wix.set_status(created["id"], "PAID")
    status, body, _ = invoke(create_app, api_event("POST", f"/payment-requests/{created['id']}/void"))
    assert status == 409 and body["error"]["code"] == "NOT_PAYABLE"
    _, stored, _ = invoke(create_app, api_event("GET", f"/payment-requests/{created['id']}"))
    assert stored["status"] == "PAID"
    from payment_links.deps import get_dependencies

    assert get_dependencies().store.get(created["id"]).paid_event_pending is False  # PaymentRequestPaid was put


def test_unknown_route_is_404_in_the_error_shape(aws, wix):
    status, body, _ = invoke(create_app, api_event("DELETE", "/payment-requests/x"))
    assert status in (404, 405) and "error" in body


def _store_as_webhook_would(wix, status: str):
    """Make Wix's create also deliver its webhook 'first': the record is stored before the create flow writes."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from payment_links.deps import get_dependencies
    from payment_links.domain.payment_request import ORIGIN_EXTERNAL, PaymentRequest, apply_status

    real_create = wix._create

    def create_with_early_webhook(body, **params):
        response = real_create(body, **params)
        opr = response.json()["orderPaymentRequest"]
        now = datetime.now(UTC)
        external = PaymentRequest(
            id=opr["id"],
            order_id=opr["orderId"],
            amount=Decimal(opr["amount"]["amount"]),
            currency="USD",
            title=opr["title"],
            created_at=now,
            updated_at=now,
            origin=ORIGIN_EXTERNAL,
            last_event_sequence=3,
        )
        external.record(now, "CREATED", detail="webhook")
        apply_status(external, status, now, "webhook")
        get_dependencies().store.create(external)
        return response

    wix._create = create_with_early_webhook


def test_a_created_webhook_stored_before_our_write_is_taken_over(aws, wix):
    order_id = wix.add_order()
    _store_as_webhook_would(wix, "UNPAID")
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201, body
    assert body["externalId"] == "inv-1" and body["customer"]["email"] == "j***@example.com"
    assert [n["status"] for n in body["notifications"]] == ["SENT", "SENT"]
    status, replay, _ = create(body_for(order_id, amount="5.00"))
    assert status == 200 and replay["id"] == body["id"]


def test_a_paid_webhook_stored_before_our_write_keeps_paid_and_sends_nothing(aws, wix):
    order_id = wix.add_order()
    _store_as_webhook_would(wix, "PAID")
    status, body, _ = create(body_for(order_id, amount="5.00"))
    assert status == 201, body
    assert body["status"] == "PAID" and body["notifications"] == []
    assert aws.sent_emails() == [] and aws.sent_sms() == []
