"""How the sweep cuts a site's due requests into queue messages (flows.sweep.even_batches)."""

from __future__ import annotations

import pytest
from payment_links.flows.sweep import MIN_SPLIT, even_batches


@pytest.mark.parametrize("count", [0, 1, 5, 19, 79, 80, 99, 100, 101, 250, 399, 1000, 1001, 10_000])
@pytest.mark.parametrize("workers", [1, 2, 4, 7])
def test_every_id_once_in_order_no_batch_over_100_and_sizes_even(count: int, workers: int) -> None:
    ids = [f"id-{n}" for n in range(count)]

    batches = even_batches(ids, 100, workers)

    assert [i for batch in batches for i in batch] == ids
    assert all(0 < len(batch) <= 100 for batch in batches)
    if batches:
        assert max(map(len, batches)) - min(map(len, batches)) <= 1
        # Never more Wix Queries than one per MIN_SPLIT reminders, beyond the one per 100 a batch needs anyway.
        assert len(batches) <= max(-(-count // 100), count // MIN_SPLIT)


def test_a_backlog_is_spread_so_every_worker_has_the_same_share() -> None:
    batches = even_batches([str(n) for n in range(1000)], 100, 4)
    assert len(batches) == 12 and {len(b) for b in batches} == {83, 84}


def test_a_few_due_reminders_stay_in_one_batch_one_wix_query() -> None:
    assert [len(b) for b in even_batches([str(n) for n in range(30)], 100, 4)] == [30]
