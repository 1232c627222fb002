"""Which message a payment is credited to, and the time-to-pay histogram the median comes from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from payment_links.domain.payment_request import Click, Notification, PaymentRequest, apply_status
from payment_links.stats import counter_deltas, histogram_bucket, median_seconds, report

T0 = datetime(2026, 5, 4, 12, tzinfo=UTC)


def request(*notifications: Notification, clicks: tuple[Click, ...] = ()) -> PaymentRequest:
    return PaymentRequest(
        id="r",
        order_id="o",
        amount=Decimal("40.00"),
        currency="EUR",
        title="t",
        created_at=T0,
        updated_at=T0,
        notifications=list(notifications),
        clicks=list(clicks),
    )


def sent(channel: str, kind: str, step: int | None, hours: float, status: str = "SENT") -> Notification:
    return Notification(channel=channel, kind=kind, step=step, status=status, at=T0 + timedelta(hours=hours))


def test_the_payment_goes_to_the_last_message_sent_before_it_never_one_after_or_one_that_failed():
    record = request(
        sent("EMAIL", "INITIAL", None, 0),
        sent("SMS", "REMINDER", 1, 24),
        sent("EMAIL", "REMINDER", 2, 48, status="FAILED"),
        sent("EMAIL", "REMINDER", 3, 96),
    )
    apply_status(record, "PAID", T0 + timedelta(hours=50), "webhook")

    credit = record.attribution
    assert credit is not None and (credit.channel, credit.kind, credit.step) == ("SMS", "REMINDER", 1)
    assert credit.seconds_to_pay == 50 * 3600 and credit.seconds_from_message == 26 * 3600


def test_a_click_after_the_last_message_takes_the_credit_and_an_earlier_one_does_not():
    clicked_first_email = (Click(channel="EMAIL", kind="INITIAL", at=T0 + timedelta(hours=30)),)
    record = request(sent("EMAIL", "INITIAL", None, 0), sent("SMS", "REMINDER", 1, 24), clicks=clicked_first_email)
    apply_status(record, "PAID", T0 + timedelta(hours=31), "webhook")
    assert (record.attribution.channel, record.attribution.kind) == ("EMAIL", "INITIAL")  # type: ignore[union-attr]
    assert record.attribution.seconds_from_message == 31 * 3600  # type: ignore[union-attr]

    early_click = (Click(channel="EMAIL", kind="INITIAL", at=T0 + timedelta(hours=1)),)
    record = request(sent("EMAIL", "INITIAL", None, 0), sent("SMS", "REMINDER", 1, 24), clicks=early_click)
    apply_status(record, "PAID", T0 + timedelta(hours=31), "webhook")
    assert (record.attribution.channel, record.attribution.step) == ("SMS", 1)  # type: ignore[union-attr]


def test_a_payment_before_any_message_is_credited_to_none_and_counted_once():
    record = request()
    apply_status(record, "PAID", T0 + timedelta(minutes=5), "webhook")
    deltas = counter_deltas(None, record)
    counters = deltas[0].counters
    assert counters["paid.count"] == 1 and counters["paidBy.NONE.none.count"] == 1 and counters["paid.amount.EUR"] == 4000


def test_the_median_comes_from_the_histogram_within_its_bucket():
    assert histogram_bucket(30) == 0 and histogram_bucket(60 * 60) == 6 and histogram_bucket(10**9) == 19
    # Three payments in the 32-64 minute bucket, one in 1-2 days: the median is in the first.
    counters = {"ttp.6": 3, "ttp.12": 1}
    assert 32 * 60 <= median_seconds(counters) <= 64 * 60  # type: ignore[operator]
    assert median_seconds({}) is None


def test_the_report_sums_days_per_currency_and_the_recovery_rate():
    days = {
        T0.date(): {"created.count": 2, "created.amount.EUR": 8000, "paid.count": 1, "paid.amount.EUR": 4000},
        (T0 + timedelta(days=1)).date(): {"created.count": 1, "created.amount.EUR": 2000},
    }
    shown = report(T0.date(), (T0 + timedelta(days=2)).date(), days)
    assert shown["totals"]["requested"] == {"count": 3, "amount": {"EUR": "100.00"}}
    assert shown["totals"]["recoveryRate"] == 0.4 and len(shown["days"]) == 3 and shown["days"][2]["requested"]["count"] == 0
