"""Money as Decimal from the wire to the wire, to the minor units ISO 4217 gives each currency.

Minor units come from ISO 4217's own table (the ``iso4217`` package: 0 for JPY, 2 for USD and TWD, 3 for KWD and
BHD), never from a hand-kept list. A default amount is what is open rounded *down* to a minor unit, so a customer
is never asked for more than they owe; an amount a caller sends must already be exact to the currency's units.
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from functools import cache

# Wix bounds amounts to 0 <= x <= 1e15 (wix-api.md §1): fifteen integer digits at most.
MAX_INTEGER_DIGITS = 15
# What the API accepts as an amount: ASCII digits, an optional point and at most four decimals (ISO 4217 has
# none with more). No sign, exponent, underscore, space or another script's digits (``"1_0"``, ``"1e3"``, Arabic-Indic).
AMOUNT_TEXT = re.compile(rf"(?:0|[1-9][0-9]{{0,{MAX_INTEGER_DIGITS - 1}}})(?:\.[0-9]{{1,4}})?", re.ASCII)
# A currency ISO 4217 does not list (Wix sites use ISO codes; this is the safe assumption for anything else).
FALLBACK_EXPONENT = 2


@cache
def exponent(currency: str) -> int:
    """The currency's number of decimals (ISO 4217's minor unit exponent)."""
    import iso4217  # imported on first use: building its table costs a cold start ~30 ms the webhook never needs

    try:
        found = iso4217.Currency(currency.upper()).exponent
    except ValueError:
        return FALLBACK_EXPONENT
    return FALLBACK_EXPONENT if found is None else int(found)


def is_known_currency(currency: str) -> bool:
    import iso4217

    try:
        iso4217.Currency(currency.upper())
    except ValueError:
        return False
    return True


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_down(amount: Decimal, currency: str) -> Decimal:
    """``amount`` cut to whole minor units, never up: 100.509 TWD is 100.50 TWD, 0.4 JPY is 0 JPY."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_DOWN)


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount with exactly the currency's decimals (amounts we store are already exact to them)."""
    return str(round_down(amount, currency))


def has_more_precision_than(amount: Decimal, currency: str) -> bool:
    return round_down(amount, currency) != amount


def parse_amount_text(text: str) -> Decimal:
    """An amount as the API takes it, or ValueError saying what is wrong (currency checks come later)."""
    if not AMOUNT_TEXT.fullmatch(text):
        raise ValueError('an amount is a decimal string of ASCII digits with an optional point, such as "25.00"')
    try:
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError("not a decimal amount") from exc
