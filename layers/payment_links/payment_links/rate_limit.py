"""An in-process token bucket: this process's share of the account's SES and SNS sending rates.

Each reminder worker takes its share (the rate divided by the workers' concurrency, ``send_rate_bucket``)
before every send, so the workers together stay within the account's rate; a throttled send is retried by
the SDK and, if still throttled, handed back as retryable (``notify.sender``). Wix's per-site quota is not
kept here: every process shares that one through DynamoDB (``payment_links.quota``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import lru_cache

MAX_WAIT_SECONDS = 10.0
_EPSILON = 1e-9


class TokenBucket:
    """At most ``per_minute`` acquisitions in any 60-second window.

    The bucket holds up to ``burst`` tokens and refills at ``(per_minute - burst) / 60`` per second, so
    a full burst followed by a minute of steady refill still stays within ``per_minute``.
    """

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = MAX_WAIT_SECONDS,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive (use no limiter to turn limiting off)")
        self.per_minute = per_minute
        self.burst = min(max(burst if burst is not None else per_minute // 10, 1), max(per_minute - 1, 1))
        # Tokens at the start of a window (<= burst) plus a minute of refill stay within per_minute
        # (for per_minute >= 2; a quota of 1 would otherwise never refill).
        self._rate = max(per_minute - self.burst, 1) / 60.0
        self._clock = clock
        self._sleep = sleep
        self._max_wait = max_wait
        self._lock = threading.Lock()
        self._tokens = float(self.burst)
        self._updated = clock()

    def acquire(self) -> bool:
        """Take one token, waiting for it when the bucket is empty. False if ``max_wait`` would run out first."""
        deadline = None if self._max_wait is None else self._clock() + self._max_wait
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                if self._tokens >= 1 - _EPSILON:  # float refill can land a hair below a whole token
                    self._tokens = max(self._tokens - 1, 0.0)
                    return True
                wait = (1 - self._tokens) / self._rate
            if deadline is not None and now + wait > deadline:
                return False
            self._sleep(wait)


@lru_cache(maxsize=8)
def send_rate_bucket(per_second: float, sharers: int) -> TokenBucket:
    """This process's share of an account-wide sending rate (SES, SNS SMS) that ``sharers`` workers split: refilled
    at ``per_second / sharers``, with a burst of a tenth of a second's worth (at least one). SES counts its maximum
    send rate per second and lets short bursts above it through; the sustained rate is what it holds to."""
    share = per_second / max(sharers, 1)
    burst = max(int(share / 10), 1)
    return TokenBucket(max(round(share * 60) + burst, 2), burst=burst, max_wait=None)
