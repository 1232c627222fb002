"""What each message earned: the daily counters of a site, and what changes them.

The counters change only with the record they describe: ``counter_deltas`` compares a record as it was read with
the record about to be written, and the store writes both in one transaction (``store.PaymentRequestStore``), so a
transition that happens exactly once (created, a message sent, a click, PAID, an opt-out, a bounce) is counted
exactly once, whatever redelivers or races: a write that loses its version check writes no counter either.

Counters are per site and UTC day, one item each (``STATS#DAYS`` / ``DAY#2026-05-04``), so a range of days is one Query:
a stats query costs O(days), never O(requests). Amounts are kept in minor units per currency (integers: ADD is
exact). Time to pay is a histogram of power-of-two minute buckets, from which the median is estimated.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from payment_links.domain.money import exponent
from payment_links.domain.payment_request import (
    KIND_INITIAL,
    KIND_REMINDER,
    KIND_RESEND,
    ORIGIN_API,
    PAID,
    SEND_SENT,
    PaymentRequest,
)

MAX_DAYS = 366
HISTOGRAM_BUCKETS = 20  # bucket b holds times to pay under 2**b minutes (the last: everything above ~1.8 years)


@dataclass(frozen=True)
class Baseline:
    """What of a record was counted already: taken by the store when it reads the record."""

    origin: str
    status: str
    notifications: int
    clicks: int
    opted_out: frozenset[str]
    undeliverable: frozenset[str]

    @classmethod
    def of(cls, record: PaymentRequest) -> Baseline:
        return cls(
            record.origin,
            record.status,
            len(record.notifications),
            len(record.clicks),
            frozenset(record.opted_out_channels),
            frozenset(record.undeliverable_channels),
        )


@dataclass(frozen=True)
class Delta:
    day: date
    counters: Mapping[str, int]


def step_key(kind: str | None, step: int | None) -> str:
    """``initial``, ``resend``, ``reminder-1``, ``reminder-2``...: a message's place in the escalation."""
    if kind == KIND_REMINDER:
        return f"reminder-{step or 1}"
    if kind == KIND_RESEND:
        return "resend"
    return "initial" if kind in (KIND_INITIAL, None) else kind.lower()


def minor_units(amount: Decimal, currency: str) -> int:
    return int((amount * (10 ** exponent(currency))).to_integral_value())


def histogram_bucket(seconds: int) -> int:
    minutes = max(seconds / 60, 1)
    return min(math.ceil(math.log2(minutes)), HISTOGRAM_BUCKETS - 1)


def counter_deltas(before: Baseline | None, after: PaymentRequest) -> list[Delta]:
    """The counters ``after`` adds to what ``before`` (None: a new record) already counted."""
    days: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    currency = after.currency

    created_now = after.origin == ORIGIN_API and (before is None or before.origin != ORIGIN_API)
    if created_now:
        counters = days[after.created_at.date()]
        counters["created.count"] += 1
        counters[f"created.amount.{currency}"] += minor_units(after.amount, currency)

    known = before.notifications if before is not None else 0
    for notification in after.notifications[known:]:
        if notification.status == SEND_SENT:
            days[notification.at.date()][f"sent.{notification.channel}.{step_key(notification.kind, notification.step)}"] += 1

    known_clicks = before.clicks if before is not None else 0
    for click in after.clicks[known_clicks:]:
        days[click.at.date()][f"clicked.{click.channel}.{step_key(click.kind, click.step)}"] += 1

    if after.status == PAID and (before is None or before.status != PAID) and after.paid_at is not None:
        counters = days[after.paid_at.date()]
        amount = minor_units(after.amount, currency)
        counters["paid.count"] += 1
        counters[f"paid.amount.{currency}"] += amount
        credit = after.attribution
        channel = (credit.channel if credit else None) or "NONE"
        step = step_key(credit.kind, credit.step) if credit and credit.kind else "none"
        counters[f"paidBy.{channel}.{step}.count"] += 1
        counters[f"paidBy.{channel}.{step}.amount.{currency}"] += amount
        if credit is not None:
            counters[f"ttp.{histogram_bucket(credit.seconds_to_pay)}"] += 1

    when = after.updated_at.date()
    for channel in set(after.opted_out_channels) - (before.opted_out if before else frozenset()):
        days[when][f"optOut.{channel}"] += 1
    for channel in set(after.undeliverable_channels) - (before.undeliverable if before else frozenset()):
        days[when][f"bounce.{channel}"] += 1

    return [Delta(day, dict(counters)) for day, counters in sorted(days.items()) if counters]


# ---- reading them back ---------------------------------------------------------------------------------------


def _amounts(counters: Mapping[str, int], prefix: str) -> dict[str, str]:
    """``{prefix}.USD: 4000`` → ``{"USD": "40.00"}``."""
    found: dict[str, str] = {}
    for name, value in sorted(counters.items()):
        if name.startswith(prefix + "."):
            currency = name[len(prefix) + 1 :]
            found[currency] = str(Decimal(value).scaleb(-exponent(currency)))
    return found


def _sum(days: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    for counters in days:
        for name, value in counters.items():
            total[name] += int(value)
    return dict(total)


def median_seconds(counters: Mapping[str, int]) -> int | None:
    """The median time to pay, from the histogram: the geometric middle of the bucket the median falls in."""
    buckets = sorted((int(name.split(".")[1]), value) for name, value in counters.items() if name.startswith("ttp."))
    total = sum(value for _, value in buckets)
    if not total:
        return None
    seen = 0
    for bucket, value in buckets:
        seen += value
        if seen * 2 >= total:
            low, high = (2 ** (bucket - 1) if bucket else 0.5), 2**bucket
            return int(math.sqrt(low * high) * 60)
    return None


def _recovery_rate(requested: Mapping[str, str], paid: Mapping[str, str]) -> float | None:
    """Paid amount / requested amount, over the currencies requested (a site mostly has one)."""
    wanted = sum(Decimal(v) for v in requested.values())
    if not wanted:
        return None
    return float(round(sum(Decimal(paid.get(c, "0")) for c in requested) / wanted, 4))


def _breakdown(counters: Mapping[str, int], by: int) -> dict[str, dict[str, Any]]:
    """Sent, clicked, paid (count, amount) grouped by channel (``by`` 0) or step (``by`` 1)."""
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"sent": 0, "clicked": 0, "paid": 0, "paidAmount": {}})
    for name, value in counters.items():
        parts = name.split(".")
        if parts[0] in ("sent", "clicked") and len(parts) == 3:
            groups[parts[1 + by]][parts[0]] += int(value)
        elif parts[0] == "paidBy" and len(parts) >= 4:
            group = groups[parts[1 + by]]
            if parts[3] == "count":
                group["paid"] += int(value)
            elif parts[3] == "amount" and len(parts) == 5:
                currency = parts[4]
                current = Decimal(group["paidAmount"].get(currency, "0"))
                group["paidAmount"][currency] = str(current + Decimal(int(value)).scaleb(-exponent(currency)))
    return dict(sorted(groups.items()))


def report(first: date, last: date, stored: Mapping[date, Mapping[str, int]]) -> dict[str, Any]:
    """The ``GET /stats`` answer for ``first``..``last`` from the days' counters (missing days are empty)."""
    total = _sum(stored.values())
    requested, paid = _amounts(total, "created.amount"), _amounts(total, "paid.amount")
    days = []
    current = first
    while current <= last:
        counters = stored.get(current, {})
        days.append(
            {
                "date": current.isoformat(),
                "requested": {"count": int(counters.get("created.count", 0)), "amount": _amounts(counters, "created.amount")},
                "paid": {"count": int(counters.get("paid.count", 0)), "amount": _amounts(counters, "paid.amount")},
                "sent": sum(int(v) for k, v in counters.items() if k.startswith("sent.")),
                "clicked": sum(int(v) for k, v in counters.items() if k.startswith("clicked.")),
            }
        )
        current = date.fromordinal(current.toordinal() + 1)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "totals": {
            "requested": {"count": int(total.get("created.count", 0)), "amount": requested},
            "paid": {"count": int(total.get("paid.count", 0)), "amount": paid},
            "recoveryRate": _recovery_rate(requested, paid),
            "medianTimeToPaySeconds": median_seconds(total),
            "optOuts": {k.split(".")[1]: int(v) for k, v in sorted(total.items()) if k.startswith("optOut.")},
            "bounces": {k.split(".")[1]: int(v) for k, v in sorted(total.items()) if k.startswith("bounce.")},
        },
        "byChannel": _breakdown(total, 0),
        "byStep": _breakdown(total, 1),
        "days": days,
    }


# ---- the same transitions as metrics ---------------------------------------------------------------------------

FUNNEL_METRICS = {"sent": "MessagesSent", "clicked": "LinkClicks", "paidBy": "PaymentsAttributed"}


def publish_metrics(deltas: Iterable[Delta]) -> None:
    """EMF metrics of what a write counted, with ``Channel`` and ``Step`` dimensions (the dashboard's funnel):
    messages sent, tracked-link clicks, payments by the message they are credited to. Emitted after the write
    took, so exactly once like the counters (POWERTOOLS_METRICS_DISABLED turns them off where nothing reads them)."""
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    for delta in deltas:
        for name, value in delta.counters.items():
            parts = name.split(".")
            metric = FUNNEL_METRICS.get(parts[0])
            if metric is None or len(parts) < 3 or (parts[0] == "paidBy" and parts[3:] != ["count"]):
                continue
            with single_metric(name=metric, unit=MetricUnit.Count, value=value) as emitted:
                emitted.add_dimension(name="Channel", value=parts[1])
                emitted.add_dimension(name="Step", value=parts[2])
