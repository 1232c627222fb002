"""Wire formats shared by the sandbox: ids, timestamps, money and request ids.

Wix sends timestamps as ISO-8601 UTC with milliseconds and a trailing ``Z`` and money as decimal strings;
everything here keeps times timezone-aware and money as ``Decimal`` until the moment it is written out.
"""

from __future__ import annotations

import secrets
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")

# Currency symbols the formatted amounts use; anything else is written as "12.00 XYZ".
CURRENCY_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "ILS": "₪",
    "JPY": "¥",
    "CAD": "CA$",
    "AUD": "A$",
    "BRL": "R$",
    "INR": "₹",
}


def new_id() -> str:
    """A Wix-style entity GUID."""
    return str(uuid.uuid4())


def new_request_id() -> str:
    """A value for ``x-wix-request-id`` shaped like Wix's (epoch seconds, dot, random digits)."""
    return f"{int(time.time())}.{secrets.randbelow(10**17):017d}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and ``Z``, as Wix writes dates."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 date-time that carries a zone (``Z`` or an offset); raise ValueError otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("date-time must carry a time zone")
    return moment.astimezone(UTC)


def parse_decimal(text: str) -> Decimal:
    """A finite decimal from its string form; raise ValueError for anything else."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as error:
        raise ValueError(f"not a decimal: {text!r}") from error
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {text!r}")
    return value


def decimals(currency: str) -> int:
    """The currency's ISO 4217 minor units (0 for JPY, 2 for USD and TWD, 3 for KWD), 2 when ISO does not list it."""
    import iso4217

    try:
        exponent = iso4217.Currency(currency.upper()).exponent
    except ValueError:
        return 2
    return 2 if exponent is None else int(exponent)


def money_text(value: Decimal, currency: str = "USD") -> str:
    """Money as a string with the currency's decimals, e.g. ``"25.00"``, ``"4000"`` (JPY), ``"12.345"`` (KWD)."""
    return str(value.quantize(Decimal(1).scaleb(-decimals(currency))))


def formatted_money(value: Decimal, currency: str) -> str:
    """Money as a person reads it, e.g. ``"$1,250.00"``."""
    places = decimals(currency)
    number = f"{abs(value.quantize(Decimal(1).scaleb(-places))):,.{places}f}"
    sign = "-" if value < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"


def price(value: Decimal, currency: str) -> dict[str, str]:
    """Wix's ``Price`` object."""
    return {"amount": money_text(value, currency), "formattedAmount": formatted_money(value, currency)}
