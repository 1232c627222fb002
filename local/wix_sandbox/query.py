"""Query Order Payment Requests: WQL filter, sort and cursor paging (wix-api.md §3).

A query is parsed and checked up front (unknown field or operator → 400), then applied to a snapshot of the
payment requests. Cursors are opaque base64 tokens that carry the first request's filter, sort and the offset of
the next page, so follow-up requests send only the cursor, as Wix asks.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import FieldViolation, ValidationFailed
from .formats import parse_decimal, parse_timestamp
from .validation import require_object_body

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
MAX_SORT_FIELDS = 5

STRING, DATE, DECIMAL = "string", "date", "decimal"
_TEXT_OPERATORS = {"$eq", "$ne", "$exists", "$in", "$hasSome", "$startsWith", "$gt", "$lt", "$lte", "$gte"}

# field → (kind, allowed operators, sortable); from the endpoint's field support table.
FIELDS: dict[str, tuple[str, set[str], bool]] = {
    "id": (STRING, _TEXT_OPERATORS, False),
    "orderId": (STRING, _TEXT_OPERATORS, False),
    "source.appId": (STRING, _TEXT_OPERATORS, False),
    "source.externalId": (STRING, _TEXT_OPERATORS, False),
    "paymentGatewayOrderId": (STRING, _TEXT_OPERATORS, False),
    "title": (STRING, _TEXT_OPERATORS, True),
    "description": (STRING, _TEXT_OPERATORS, True),
    "orderNumber": (STRING, _TEXT_OPERATORS, True),
    "status": (STRING, {"$eq", "$ne", "$exists", "$in", "$hasSome"}, True),
    "expirationDate": (DATE, {"$eq", "$ne", "$exists", "$in", "$hasSome", "$lt", "$lte", "$gt", "$gte"}, True),
    "createdDate": (DATE, {"$eq", "$ne", "$exists", "$in", "$hasSome", "$lt", "$lte", "$gt", "$gte"}, True),
    "updatedDate": (DATE, {"$eq", "$ne", "$exists", "$in", "$hasSome", "$lt", "$lte", "$gt", "$gte"}, True),
    "amount.amount": (DECIMAL, {"$eq", "$gt", "$gte", "$lt", "$lte"}, True),
}

Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class QueryPlan:
    raw_filter: dict[str, Any]
    raw_sort: list[dict[str, Any]]
    offset: int
    limit: int


@dataclass
class QueryPage:
    items: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None

    def to_wire(self) -> dict[str, Any]:
        return {
            "orderPaymentRequests": self.items,
            "pagingMetadata": {
                "count": len(self.items),
                "cursors": {"next": self.next_cursor, "prev": self.prev_cursor},
                "hasNext": self.next_cursor is not None,
            },
        }


def _invalid(field: str, description: str, rule: str = "FORMAT") -> ValidationFailed:
    return ValidationFailed([FieldViolation(field, description, rule)])


def parse_query(body: Any) -> QueryPlan:
    """Check the request and work out filter, sort, offset and limit (from the cursor when there is one)."""
    body = require_object_body(body)
    query = body.get("query") or {}
    if not isinstance(query, dict):
        raise _invalid("query", "query must be an object", "TYPE")
    paging = query.get("cursorPaging") or {}
    if not isinstance(paging, dict):
        raise _invalid("query.cursorPaging", "cursorPaging must be an object", "TYPE")
    limit = _parse_limit(paging.get("limit"))
    cursor = paging.get("cursor")
    if cursor is not None:
        if query.get("filter") or query.get("sort"):
            raise _invalid("query.cursorPaging.cursor", "a request with a cursor must not repeat filter or sort; the cursor carries them")
        raw_filter, raw_sort, offset = _decode_cursor(cursor)
    else:
        raw_filter = query.get("filter") or {}
        raw_sort = query.get("sort") or []
        offset = 0
    compile_filter(raw_filter)  # reject a bad filter now, before anything is read
    _check_sort(raw_sort)
    return QueryPlan(raw_filter=raw_filter, raw_sort=raw_sort, offset=offset, limit=limit)


def run_query(plan: QueryPlan, entities: list[dict[str, Any]], positions: dict[str, int]) -> QueryPage:
    """Filter, sort and cut one page out of ``entities`` (a snapshot)."""
    matches = compile_filter(plan.raw_filter)
    selected = [entity for entity in entities if matches(entity)]
    ordered = _sorted(selected, plan.raw_sort, positions)
    page = ordered[plan.offset : plan.offset + plan.limit]
    next_offset = plan.offset + plan.limit
    next_cursor = _encode_cursor(plan, next_offset) if next_offset < len(ordered) else None
    prev_cursor = _encode_cursor(plan, max(plan.offset - plan.limit, 0)) if plan.offset > 0 else None
    return QueryPage(items=page, next_cursor=next_cursor, prev_cursor=prev_cursor)


# -- paging --------------------------------------------------------------------------------------------------


def _parse_limit(limit: Any) -> int:
    if limit is None or limit == 0:  # proto3: 0 is "not set"
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _invalid("query.cursorPaging.limit", "limit must be an integer", "TYPE")
    if limit < 0:
        raise _invalid("query.cursorPaging.limit", "limit must be at least 0", "MIN")
    if limit > MAX_LIMIT:
        raise _invalid("query.cursorPaging.limit", f"limit must be at most {MAX_LIMIT}", "MAX")
    return limit


def _encode_cursor(plan: QueryPlan, offset: int) -> str:
    payload = {"v": 1, "filter": plan.raw_filter, "sort": plan.raw_sort, "offset": offset}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: Any) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    if not isinstance(cursor, str) or not cursor:
        raise _invalid("query.cursorPaging.cursor", "cursor must be a non-empty string", "TYPE")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        raw_filter, raw_sort, offset = payload["filter"], payload["sort"], payload["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise _invalid("query.cursorPaging.cursor", "cursor is not valid") from error
    if not isinstance(offset, int) or offset < 0:
        raise _invalid("query.cursorPaging.cursor", "cursor is not valid")
    return raw_filter, raw_sort, offset


# -- sort ----------------------------------------------------------------------------------------------------


def _check_sort(raw_sort: Any) -> None:
    if not isinstance(raw_sort, list):
        raise _invalid("query.sort", "sort must be an array", "TYPE")
    if len(raw_sort) > MAX_SORT_FIELDS:
        raise _invalid("query.sort", f"sort has more than {MAX_SORT_FIELDS} entries", "MAX_SIZE")
    for index, entry in enumerate(raw_sort):
        path = f"query.sort[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("fieldName"), str):
            raise _invalid(f"{path}.fieldName", "fieldName is required", "REQUIRED_FIELD")
        spec = FIELDS.get(entry["fieldName"])
        if spec is None or not spec[2]:
            raise _invalid(f"{path}.fieldName", f"cannot sort by {entry['fieldName']}")
        if entry.get("order", "ASC") not in ("ASC", "DESC"):
            raise _invalid(f"{path}.order", "order must be ASC or DESC", "INVALID_ENUM_VALUE")


def _sorted(entities: list[dict[str, Any]], raw_sort: list[dict[str, Any]], positions: dict[str, int]):
    sort = raw_sort or [{"fieldName": "createdDate", "order": "DESC"}]
    newest_first = sort[0].get("order", "ASC") == "DESC"
    # Insertion order breaks ties (many requests share a millisecond), in the primary sort's direction.
    ordered = sorted(entities, key=lambda e: positions.get(e["id"], 0), reverse=newest_first)
    # Stable sorts applied from the least to the most significant key give the multi-key order.
    for entry in reversed(sort):
        field = entry["fieldName"]
        kind = FIELDS[field][0]
        ordered.sort(key=lambda e, f=field, k=kind: _sort_key(_field_value(e, f), k), reverse=entry.get("order", "ASC") == "DESC")
    return ordered


def _sort_key(value: Any, kind: str) -> tuple:
    # Missing values sort before present ones in ascending order.
    if value is None:
        return (0,)
    return (1, _coerce_stored(value, kind))


# -- filter --------------------------------------------------------------------------------------------------


def compile_filter(raw_filter: Any, path: str = "query.filter") -> Predicate:
    if not isinstance(raw_filter, dict):
        raise _invalid(path, "filter must be an object", "TYPE")
    predicates: list[Predicate] = []
    for key, condition in raw_filter.items():
        if key in ("$and", "$or"):
            if not isinstance(condition, list):
                raise _invalid(f"{path}.{key}", f"{key} takes an array of filters", "TYPE")
            parts = [compile_filter(part, f"{path}.{key}[{i}]") for i, part in enumerate(condition)]
            combine = all if key == "$and" else any
            predicates.append(lambda e, ps=parts, c=combine: c(p(e) for p in ps))
        elif key == "$not":
            inner = compile_filter(condition, f"{path}.$not")
            predicates.append(lambda e, p=inner: not p(e))
        elif key in FIELDS:
            predicates.append(_compile_field(key, condition, f"{path}.{key}"))
        else:
            raise _invalid(f"{path}.{key}", f"cannot filter by {key}")
    return lambda entity: all(p(entity) for p in predicates)


def _compile_field(field: str, condition: Any, path: str) -> Predicate:
    kind, operators, _ = FIELDS[field]
    is_operator_map = isinstance(condition, dict) and condition and all(k.startswith("$") for k in condition)
    if not is_operator_map or set(condition) == {"$date"}:
        condition = {"$eq": condition}  # {"field": value} is equality
    predicates = []
    for operator, operand in condition.items():
        if operator not in operators:
            raise _invalid(f"{path}.{operator}", f"operator {operator} is not supported for {field}")
        predicates.append(_compile_operator(field, kind, operator, operand, f"{path}.{operator}"))
    return lambda entity: all(p(entity) for p in predicates)


def _compile_operator(field: str, kind: str, operator: str, operand: Any, path: str) -> Predicate:
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise _invalid(path, "$exists takes true or false", "TYPE")
        return lambda e: (_field_value(e, field) is not None) == operand
    if operator in ("$in", "$hasSome"):
        if not isinstance(operand, list):
            raise _invalid(path, f"{operator} takes an array", "TYPE")
        wanted = [_coerce_operand(item, kind, path) for item in operand]
        return lambda e: _present(e, field, kind, lambda v: v in wanted)
    if operator == "$startsWith":
        prefix = _coerce_operand(operand, kind, path)
        return lambda e: _present(e, field, kind, lambda v: v.lower().startswith(prefix.lower()))
    wanted = _coerce_operand(operand, kind, path)
    compare: dict[str, Callable[[Any], bool]] = {
        "$eq": lambda v: v == wanted,
        "$ne": lambda v: v != wanted,
        "$gt": lambda v: v > wanted,
        "$gte": lambda v: v >= wanted,
        "$lt": lambda v: v < wanted,
        "$lte": lambda v: v <= wanted,
    }
    if operator == "$ne":
        # A missing value is "not equal" too.
        return lambda e: not _present(e, field, kind, compare["$eq"])
    return lambda e: _present(e, field, kind, compare[operator])


def _present(entity: dict[str, Any], field: str, kind: str, test: Callable[[Any], bool]) -> bool:
    value = _field_value(entity, field)
    return value is not None and test(_coerce_stored(value, kind))


def _field_value(entity: dict[str, Any], field: str) -> Any:
    value: Any = entity
    for part in field.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _coerce_stored(value: Any, kind: str) -> Any:
    if kind == DATE:
        return parse_timestamp(value)
    if kind == DECIMAL:
        return Decimal(value)
    return value


def _coerce_operand(operand: Any, kind: str, path: str) -> Any:
    if kind == DATE:
        if isinstance(operand, dict) and set(operand) == {"$date"}:
            operand = operand["$date"]
        if not isinstance(operand, str):
            raise _invalid(path, "expected an ISO-8601 date-time string", "TYPE")
        try:
            return parse_timestamp(operand)
        except ValueError as error:
            raise _invalid(path, "expected an ISO-8601 date-time with a time zone") from error
    if kind == DECIMAL:
        if isinstance(operand, bool) or not isinstance(operand, (str, int, float)):
            raise _invalid(path, "expected a decimal number", "TYPE")
        try:
            return parse_decimal(str(operand))
        except ValueError as error:
            raise _invalid(path, "expected a decimal number") from error
    if not isinstance(operand, str):
        raise _invalid(path, "expected a string", "TYPE")
    return operand
