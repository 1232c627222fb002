"""The in-process token bucket (each worker's share of the SES and SNS sending rates), on a simulated clock."""

from __future__ import annotations

import threading
from bisect import bisect_left

import pytest
from payment_links.rate_limit import TokenBucket, send_rate_bucket


class FakeClock:
    """Monotonic time that only moves when someone sleeps (shared by every thread)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def busiest_minute(times: list[float]) -> int:
    times = sorted(times)
    return max(bisect_left(times, start + 60.0) - index for index, start in enumerate(times))


def test_no_sixty_second_window_holds_more_than_the_quota():
    clock = FakeClock()
    bucket = TokenBucket(200, clock=clock, sleep=clock.sleep, max_wait=None)
    taken = []
    for _ in range(2000):
        assert bucket.acquire()
        taken.append(clock())

    assert busiest_minute(taken) <= 200
    assert clock() - taken[0] < 11 * 60  # and it does not crawl: 2,000 requests take about ten minutes


def test_a_short_burst_goes_at_once_then_requests_are_spaced_evenly():
    clock = FakeClock()
    bucket = TokenBucket(200, clock=clock, sleep=clock.sleep)
    start = clock()
    for _ in range(bucket.burst):
        bucket.acquire()
    assert clock() == start and bucket.burst == 20

    bucket.acquire()
    assert clock() - start == pytest.approx(60 / 180)


def test_a_caller_that_cannot_get_a_slot_in_time_gives_up_without_waiting_it_out():
    clock = FakeClock()
    bucket = TokenBucket(60, burst=1, clock=clock, sleep=clock.sleep, max_wait=0.1)
    assert bucket.acquire()

    assert bucket.acquire() is False
    assert clock() == 1000.0


def test_threads_sharing_the_bucket_stay_within_the_quota_together():
    clock = FakeClock()
    bucket = TokenBucket(120, clock=clock, sleep=clock.sleep, max_wait=None)
    taken: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            bucket.acquire()
            with lock:
                taken.append(clock())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(taken) == 400
    assert busiest_minute(taken) <= 120


def test_a_workers_send_bucket_is_its_share_of_the_account_rate():
    send_rate_bucket.cache_clear()
    bucket = send_rate_bucket(100.0, 4)  # SES at 100/s, four workers
    assert bucket is send_rate_bucket(100.0, 4)  # one per process, shared by its threads
    assert bucket.burst == 2
    assert bucket.per_minute == 25 * 60 + 2  # refilled at 25/s, after a burst of two


def test_the_workers_together_hold_the_account_rate_with_no_more_than_a_short_burst():
    clock = FakeClock()
    share = send_rate_bucket.__wrapped__(14.0, 2)  # SES's default 14/s split over two workers
    buckets = [TokenBucket(share.per_minute, burst=share.burst, clock=clock, sleep=clock.sleep, max_wait=None) for _ in range(2)]
    taken: list[float] = []
    for _ in range(700):
        for bucket in buckets:
            bucket.acquire()
            taken.append(clock())
    taken.sort()

    def busiest(window: float) -> int:
        return max(bisect_left(taken, start + window) - index for index, start in enumerate(taken))

    assert busiest(1.0) <= 14 + 2 * share.burst  # a second: the rate, and each worker's burst of one
    assert busiest(10.0) <= 10 * 14 + 2 * share.burst  # sustained: the rate itself
    assert (len(taken) - 2 * share.burst) / (taken[-1] - taken[0]) == pytest.approx(14, rel=0.02)  # and all of it
