"""moto's DynamoDB made serialisable, as DynamoDB is, for anything that calls it from several threads.

DynamoDB applies a conditional write atomically, and its transactions are isolated: a GetItem or Query never
sees a TransactWriteItems half-done. moto does neither on its own. Its request threads (server mode) check a
condition and write in plain Python, so two writers can both pass one check; and its TransactWriteItems
applies each item in turn and, when one item's condition fails, puts back a copy of the whole table taken
before, so a reader in between sees items that were never committed. A record version read that way is
later reused by a real write, and an optimistic-concurrency check that DynamoDB would refuse passes
(the request written last wins: a PAID request written back as UNPAID).

``serialise_dynamodb`` runs every item read and write of moto's DynamoDB backend under one lock, so a
lost update or a dirty read seen by the local stack or a test is the product's, never moto's.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

# The batch operations and TransactGetItems live in moto's responses layer, which calls get_item and
# put_item per item (a batch is not atomic in DynamoDB either).
ITEM_OPERATIONS = ("get_item", "query", "scan", "put_item", "update_item", "delete_item", "transact_write_items")
_install_lock = threading.Lock()


def serialise_dynamodb() -> None:
    """Run moto's DynamoDB item operations one at a time, for the life of the process (idempotent)."""
    with _install_lock:
        if getattr(DynamoDBBackend, "serialised_by_local_stack", False):
            return
        lock = threading.RLock()  # re-entrant: moto's transact_write_items calls its own get_item and put_item
        for name in ITEM_OPERATIONS:
            setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name), lock))
        DynamoDBBackend.serialised_by_local_stack = True  # type: ignore[attr-defined]


def _serialised(operation: Callable[..., Any], lock: threading.RLock) -> Callable[..., Any]:
    @functools.wraps(operation)
    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return operation(self, *args, **kwargs)

    return serialised
