"""The client-side limiter for Wix's requests-per-minute quota, on a simulated clock."""

from __future__ import annotations

import threading
from bisect import bisect_left

import httpx
import pytest
from payment_links.rate_limit import RateLimitTimeout, TokenBucket, limit_requests, limiter_for


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


def test_zero_turns_the_limiter_off():
    assert limiter_for(0) is None


def test_every_request_of_a_limited_client_takes_a_token():
    clock = FakeClock()
    bucket = TokenBucket(200, clock=clock, sleep=clock.sleep)
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    limit_requests(client, bucket)
    limit_requests(client, bucket)  # attaching twice must not charge twice

    for _ in range(bucket.burst + 1):
        client.get("https://wix.test/x")

    assert clock() > 1000.0  # the request after the burst had to wait for a token


def test_a_request_with_no_token_in_time_fails_as_a_retryable_timeout():
    clock = FakeClock()
    bucket = TokenBucket(60, burst=1, clock=clock, sleep=clock.sleep, max_wait=0.1)
    client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    limit_requests(client, bucket)
    client.get("https://wix.test/x")

    # A timeout is what the Wix client retries and then reports as Wix being unavailable.
    with pytest.raises(httpx.TimeoutException) as raised:
        client.get("https://wix.test/x")
    assert isinstance(raised.value, RateLimitTimeout)
