"""Wix's per-site quota shared through DynamoDB (payment_links.quota): every process together stays within it,
reminders leave the storefront its reserve, and a storefront call that finds no slot answers 503 with Retry-After."""

from __future__ import annotations

import os
import threading

import boto3
import pytest
from payment_links.quota import BACKGROUND, INTERACTIVE, SLOT_SECONDS, WINDOW_SLOTS, QuotaExhausted, SharedQuota, quota_scope

from tests.functions.test_create_api import body_for, create
from tests.support.aws_env import reset_process_state
from tests.unit.test_reminders_rate_limit import FakeClock, busiest_minute


def quota(clock: FakeClock, per_minute: int = 200, reserve: int = 25) -> SharedQuota:
    """One process's handle (its own DynamoDB client and cache of the past slots), all on the same table."""
    client = boto3.client("dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"])
    return SharedQuota(client, os.environ["TABLE_NAME"], per_minute, reserve, clock=clock, sleep=clock.sleep)


SITE_A, SITE_B = quota_scope("site-a"), quota_scope("site-b")


def test_concurrent_callers_of_several_processes_get_exactly_the_quota(aws):
    clock = FakeClock()
    processes = [quota(clock) for _ in range(4)]
    granted = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def caller(n: int) -> None:
        barrier.wait()
        for _ in range(60):
            try:
                processes[n % 4].acquire(SITE_A, INTERACTIVE, max_wait=0)
            except QuotaExhausted:
                continue
            with lock:
                granted.append(n)

    threads = [threading.Thread(target=caller, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 200  # 480 tries at one instant: the conditional counter lets exactly the quota through


def test_no_sixty_seconds_hold_more_than_the_quota_however_the_processes_take_turns(aws):
    clock = FakeClock()
    processes = [quota(clock), quota(clock)]
    taken = []
    for n in range(1000):
        processes[n % 2].acquire(SITE_A, INTERACTIVE, max_wait=120)
        taken.append(clock())

    assert busiest_minute(taken) <= 200
    # ... and the quota is used, not wasted: 1,000 calls in about five windows of 65 s.
    assert clock() - taken[0] <= 1000 / 200 * WINDOW_SLOTS * SLOT_SECONDS + WINDOW_SLOTS * SLOT_SECONDS


def test_reminders_leave_the_storefront_its_reserve(aws):
    clock = FakeClock()
    worker, storefront = quota(clock), quota(clock)

    reminders = 0
    while True:
        try:
            worker.acquire(SITE_A, BACKGROUND, max_wait=0)
        except QuotaExhausted as exhausted:
            assert exhausted.retry_after > 0
            break
        reminders += 1
    calls = 0
    while True:
        try:
            storefront.acquire(SITE_A, INTERACTIVE, max_wait=0)
        except QuotaExhausted:
            break
        calls += 1

    assert (reminders, calls) == (150, 50)


def test_a_full_window_says_when_its_oldest_slot_frees_and_a_patient_caller_gets_in_then(aws):
    clock = FakeClock()
    process = quota(clock, per_minute=10)
    for _ in range(10):
        process.acquire(SITE_A, INTERACTIVE)

    with pytest.raises(QuotaExhausted) as exhausted:
        process.acquire(SITE_A, INTERACTIVE, max_wait=0)
    slot_start = int(clock() // SLOT_SECONDS) * SLOT_SECONDS
    assert exhausted.value.retry_after == pytest.approx(slot_start + WINDOW_SLOTS * SLOT_SECONDS - clock())

    process.acquire(SITE_A, INTERACTIVE, max_wait=exhausted.value.retry_after + 1)
    assert clock() >= slot_start + WINDOW_SLOTS * SLOT_SECONDS


def test_one_sites_used_up_quota_leaves_another_site_untouched(aws):
    clock = FakeClock()
    process = quota(clock, per_minute=5)
    for _ in range(5):
        process.acquire(SITE_A)
    with pytest.raises(QuotaExhausted):
        process.acquire(SITE_A, max_wait=0)

    for _ in range(5):
        process.acquire(SITE_B, max_wait=0)


def test_a_storefront_call_without_a_slot_answers_503_with_retry_after_and_stores_nothing(aws, wix, monkeypatch):
    monkeypatch.setenv("WIX_REQUESTS_PER_MINUTE", "1")  # the create's first Wix call takes the one slot
    monkeypatch.setenv("WIX_QUOTA_WAIT_SECONDS", "0")
    reset_process_state(keep_in_process_clients=True)
    order_id = wix.add_order(balance="40.00")

    status, body, headers = create(body_for(order_id, amount="25.00"))

    assert status == 503 and body["error"]["code"] == "WIX_UNAVAILABLE"
    assert 1 <= int(headers["retry-after"]) <= WINDOW_SLOTS * SLOT_SECONDS
    assert wix.count("create") == 0 and aws.state_items() == [] and aws.sent_emails() == []
