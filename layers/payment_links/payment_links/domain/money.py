"""Money as Decimal from the wire to the wire; amounts formatted to the currency's minor units."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO-4217 currencies without minor units (the common ones Wix sites sell in).
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF", "PYG"})


def minor_unit(currency: str) -> Decimal:
    return Decimal("1") if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal("0.01")


def quantize(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    return str(quantize(amount, currency))


def has_more_precision_than(amount: Decimal, currency: str) -> bool:
    return quantize(amount, currency) != amount
