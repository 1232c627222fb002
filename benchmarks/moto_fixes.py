"""Two changes to moto for the benchmarks, so its costs grow with the work, as DynamoDB's do, not with the table.

1. A transaction keeps a copy of the items it touches, not of the tables. moto deep-copies every table a
   TransactWriteItems names, so it can roll back on failure: 70 ms per transaction with 100 stored requests,
   half a second with 1,000. Both the create (record + externalId claim) and the webhook (record + event id)
   write in a transaction. Rollback stays exact: the touched items are restored.
2. A query on a global secondary index reads the items under the queried partition key, not the whole table.
   moto walks (and sorts) every item of the table for each index query: about 3 s per query with 100,000
   items, which would make the sweep's scaling figure a measure of moto. The index is kept up to date by every
   write path moto has for items (put, delete, update, transactions and batches go through these).
"""

from __future__ import annotations

import contextlib
import copy
import threading
import types
from typing import Any

_applied = False
_scope = threading.local()  # the items a query on this thread may look at, while moto's own query runs


def apply() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    # The module's own ``copy`` (used for the table backup only in transact_write_items, and for single items
    # elsewhere): tables pass through uncopied; everything else is copied as before.
    shim = types.SimpleNamespace(
        deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo),
        copy=copy.copy,
    )
    backend = models.DynamoDBBackend
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        touched = []
        for entry in transact_items:
            operation, spec = next(iter(entry.items()))
            table = self.tables.get(spec.get("TableName"))
            if table is None:
                continue
            source = spec["Item"] if operation == "Put" else spec.get("Key", {})
            hash_key = source.get(table.hash_key_attr)
            range_key = source.get(table.range_key_attr) if table.range_key_attr else None
            if hash_key is None:
                continue
            key = {table.hash_key_attr: hash_key, **({table.range_key_attr: range_key} if range_key else {})}
            touched.append((table, key, copy.deepcopy(self.get_item(table.name, key))))
        try:
            original(self, transact_items)
        except Exception:
            for table, key, item in reversed(touched):
                _restore(table, key, item)
            raise

    models.copy = shim  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _index_queries(Table, backend)
    _applied = True


def _index_queries(table_class: Any, backend: Any) -> None:
    all_items, query, put_item, delete_item, update_item = (
        table_class.all_items,
        table_class.query,
        table_class.put_item,
        table_class.delete_item,
        backend.update_item,
    )

    def scoped_all_items(self: Any) -> Any:
        scope = getattr(_scope, "items", None)
        return scope[1] if scope is not None and scope[0] is self else all_items(self)

    def indexed_query(self: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[7] if len(args) > 7 else kwargs.get("index_name")  # moto's backend passes it 8th
        candidates = _candidates(self, index_name, kwargs.get("hash_key_conditions"), kwargs.get("range_key_conditions"), all_items)
        if candidates is None:
            return query(self, *args, **kwargs)
        _scope.items = (self, candidates)
        try:
            return query(self, *args, **kwargs)
        finally:
            _scope.items = None

    def indexed_put(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        _reindex(self, item)
        return item

    def indexed_delete(self: Any, hash_key: Any, range_key: Any = None) -> Any:
        item = delete_item(self, hash_key, range_key)
        _unindex(self, (hash_key, range_key))
        return item

    def indexed_update(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = update_item(self, table_name, key, *args, **kwargs)
        _reindex(self.get_table(table_name), item)
        return item

    table_class.all_items = scoped_all_items
    table_class.query = indexed_query
    table_class.put_item = indexed_put
    table_class.delete_item = indexed_delete
    backend.update_item = indexed_update


def _hash_attribute(table: Any, index_name: str) -> str | None:
    index = next((index for index in table.all_indexes() if index.name == index_name), None)
    hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"] if index else []
    return hashes[0] if len(hashes) == 1 else None


def _index(table: Any, all_items: Any) -> dict[str, Any]:
    """Per index: partition value → {item key: item}; built on first use, then kept by the write hooks."""
    state = getattr(table, "_bench_index", None)
    if state is None:
        state = {"by_index": {}, "by_key": {}}
        table._bench_index = state
        for item in all_items(table):
            _reindex(table, item)
    return state


def _candidates(table: Any, index_name: str | None, conditions: Any, ranges: Any, all_items: Any) -> list[Any] | None:
    """The items a DynamoDB query would read: under the partition key, within the sort-key condition."""
    if not index_name or not conditions or len(conditions) != 1:
        return None
    attribute = _hash_attribute(table, index_name)
    if attribute is None or conditions[0][0] != attribute:
        return None
    items = list(_index(table, all_items)["by_index"].get(index_name, {}).get(conditions[0][1], {}).values())
    if ranges and len(ranges) == 1:
        name, comparison, values = ranges[0]
        items = [item for item in items if name in item.attrs and item.attrs[name].compare(comparison, values)]
    return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)


def _reindex(table: Any, item: Any) -> None:
    state = getattr(table, "_bench_index", None)
    if state is None or item is None:
        return
    key = (item.hash_key, item.range_key)
    _unindex(table, key)
    placed = {}
    for index in table.all_indexes():
        attribute = _hash_attribute(table, index.name)
        value = item.attrs.get(attribute) if attribute else None
        if value is not None:
            state["by_index"].setdefault(index.name, {}).setdefault(value, {})[key] = item
            placed[index.name] = value
    state["by_key"][key] = placed


def _unindex(table: Any, key: tuple[Any, Any]) -> None:
    state = getattr(table, "_bench_index", None)
    if state is None:
        return
    for index_name, value in state["by_key"].pop(key, {}).items():
        state["by_index"].get(index_name, {}).get(value, {}).pop(key, None)


def _restore(table: Any, key: dict[str, Any], item: Any) -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    if item is None:
        with contextlib.suppress(KeyError):
            table.delete_item(hash_value, range_value)
    elif range_value is not None:
        table.items[hash_value][range_value] = item
        _reindex(table, item)
    else:
        table.items[hash_value] = item
        _reindex(table, item)
