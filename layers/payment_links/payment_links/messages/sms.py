"""How many SMS segments a text costs (3GPP TS 23.038): GSM-7 when every character is in the GSM 03.38 default
alphabet (its extension table's characters count twice), else UCS-2 (UTF-16 code units). A non-Latin message
costs more than twice as many segments as a Latin one of the same length."""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7 = "GSM-7"
UCS2 = "UCS-2"


@dataclass(frozen=True)
class Segments:
    encoding: str
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def segments(text: str) -> Segments:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, GSM7
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, UCS2
    count = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, count)
