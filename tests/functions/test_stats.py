"""What each message earned: daily counters written with the transitions they count, exactly once, and
``GET /stats`` reading a range of days in one Query."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.functions.test_sweep_support import create_request, get_request, run_sweep
from tests.functions.test_webhook_api import post
from tests.support.lambda_runtime import api_event, invoke, load_function
from tests.support.webhook_signing import opr_entity, signed_event

sites_app = load_function("sites")

CREATED = "2026-05-04T12:00:00Z"
DAY_1 = "2026-05-05T12:00:00Z"
TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "0")


def stats(first: str = "2026-05-01", last: str = "2026-05-31") -> tuple[int, dict[str, Any]]:
    status, body, _ = invoke(sites_app, api_event("GET", "/stats", query={"from": first, "to": last}))
    return status, body


PAID_AT = "2026-05-06T09:00:00.000Z"  # Wix's event time: when the customer paid (after the first reminder)


def pay_at_wix(wix: Any, created: dict[str, Any], copies: int = 1) -> list[str]:
    wix.set_status(created["id"], "PAID")
    event = signed_event("paid", opr_entity(created["id"], created["orderId"], status="PAID"), event_time=PAID_AT)
    return [post(event)[1].get("outcome") for _ in range(copies)]


def test_a_paid_webhook_delivered_three_times_is_counted_once_and_credited_to_the_last_message(aws, wix):
    created = create_request(wix, CREATED, amount="25.00")  # the first link: e-mail and SMS
    run_sweep(DAY_1)  # reminder 1 on both channels

    pay_at_wix(wix, created, copies=3)

    status, body = stats()
    assert status == 200
    totals = body["totals"]
    assert totals["requested"] == {"count": 1, "amount": {"USD": "25.00"}}
    assert totals["paid"] == {"count": 1, "amount": {"USD": "25.00"}} and totals["recoveryRate"] == 1.0
    # 1 day 21 hours after creation: in the histogram's 2048-4096 minute bucket, whose middle is ~48 hours.
    assert 40 * 3600 < totals["medianTimeToPaySeconds"] < 56 * 3600
    assert body["byStep"]["initial"]["sent"] == 2 and body["byStep"]["reminder-1"]["sent"] == 2
    credited = [(step, group["paid"]) for step, group in body["byStep"].items() if group["paid"]]
    assert credited == [("reminder-1", 1)]  # the last message before the payment
    attribution = get_request(created["id"])["attribution"]
    assert attribution["kind"] == "REMINDER" and attribution["step"] == 1 and attribution["secondsToPay"] == 45 * 3600
    assert attribution["secondsFromMessage"] == 21 * 3600


def test_a_webhook_racing_the_reconciliation_of_a_sweep_counts_the_payment_once(aws, wix):
    created = create_request(wix, CREATED, amount="25.00")
    wix.set_status(created["id"], "PAID")
    event = signed_event("paid", opr_entity(created["id"], created["orderId"], status="PAID"))
    barrier = threading.Barrier(3)

    def webhook() -> None:
        barrier.wait()
        post(event)

    def sweep() -> None:
        barrier.wait()
        run_sweep(DAY_1)  # finds PAID at Wix and reconciles

    threads = [threading.Thread(target=webhook), threading.Thread(target=webhook), threading.Thread(target=sweep)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert get_request(created["id"])["status"] == "PAID"
    assert stats()[1]["totals"]["paid"]["count"] == 1


def test_a_void_then_a_late_paid_event_counts_nothing_paid(aws, wix):
    created = create_request(wix, CREATED, amount="25.00")
    from tests.functions.test_sweep_support import create_app

    assert invoke(create_app, api_event("POST", f"/payment-requests/{created['id']}/void"))[0] == 200
    post(signed_event("paid", opr_entity(created["id"], created["orderId"], status="PAID")))

    totals = stats()[1]["totals"]
    assert totals["paid"]["count"] == 0 and totals["recoveryRate"] == 0.0


def test_days_without_activity_are_listed_empty_and_the_range_is_checked(aws, wix):
    create_request(wix, CREATED, amount="10.00")

    status, body = stats("2026-05-03", "2026-05-05")
    assert status == 200 and [d["date"] for d in body["days"]] == ["2026-05-03", "2026-05-04", "2026-05-05"]
    assert [d["requested"]["count"] for d in body["days"]] == [0, 1, 0]
    assert body["totals"]["medianTimeToPaySeconds"] is None

    assert stats("2026-05-05", "2026-05-04")[0] == 422  # reversed
    status, error = stats("2025-01-01", "2026-05-04")  # more than 366 days
    assert status == 422 and error["error"]["details"][0]["days"] == 489
    assert stats("2026-05-01", "not-a-date")[0] == 422
    assert stats("2024-01-01", "2024-12-31")[0] == 200  # a leap year: 366 days is allowed


def test_stats_are_per_site_and_a_query_reads_only_its_days(aws, wix):
    create_request(wix, CREATED, amount="10.00")
    from payment_links.deps import get_dependencies

    store = get_dependencies().store
    calls: list[str] = []
    original = store._client.query

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs["KeyConditionExpression"])
        return original(**kwargs)

    store._client.query = counting  # type: ignore[method-assign]
    try:
        store.daily_counters(datetime(2026, 1, 1).date(), datetime(2026, 12, 31).date())
    finally:
        store._client.query = original  # type: ignore[method-assign]
    assert calls == ["pk = :pk AND sk BETWEEN :first AND :last"]
