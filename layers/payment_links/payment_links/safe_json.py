"""JSON from strangers: a depth the parser refuses past, before the parser recurses into it.

Python's ``json`` recurses once per nesting level; a 2 KB body of ``[[[[…`` ends in ``RecursionError`` (a 500,
and a trace in the logs) instead of a 400. Every JSON text that arrives from outside (storefront bodies, the JOSE
header of a webhook token) is read through ``loads``, which counts the nesting first, without recursion, and
answers anything it cannot read as ``json.JSONDecodeError``: the one error a caller of ``json.loads`` expects.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Our bodies nest four levels at most ({"customer": {...}}, {"reminders": {"schedule": [...]}}); Wix's token
# headers one. Thirty-two leaves room for what a caller's JSON library adds and none for an attack.
MAX_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class TooDeep(json.JSONDecodeError):
    """Nested deeper than the limit (a JSONDecodeError, so it is refused as unreadable JSON)."""


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (strings' contents do not count). Not a validator: an
    unbalanced text gets a depth too, and the parser refuses it afterwards."""
    if text.count("[") + text.count("{") == 0:
        return 0
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted text: JSONDecodeError for anything unreadable, too deep or too big a number."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("not UTF-8", "", 0) from exc
    # Counting costs a pass over the text; only texts that could be too deep (enough brackets) pay it.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise TooDeep(f"nested deeper than {max_depth} levels", text[:0], 0)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as exc:
        # ValueError: an integer of more than 4,300 digits (Python's own limit on int parsing).
        raise json.JSONDecodeError(f"unreadable JSON ({type(exc).__name__})", text[:0], 0) from exc
