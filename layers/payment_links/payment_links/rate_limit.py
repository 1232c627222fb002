"""Client-side limiter for Wix's quota of requests per minute per app instance (site).

A token bucket shared by every thread of this process, hooked into the Wix HTTP client so that each
request actually sent (retries included) takes a token. Its burst and refill are chosen so that no
sliding 60-second window holds more than the configured number of requests; ``0`` turns it off.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from functools import lru_cache

import httpx

# A caller that cannot get a token within this long gives up with a (retryable) timeout rather than
# holding a sweep thread past the Lambda's remaining time.
MAX_WAIT_SECONDS = 10.0
_EPSILON = 1e-9


class RateLimitTimeout(httpx.PoolTimeout):
    """No token within the wait limit. A ``httpx.TimeoutException``, so the Wix client treats it as
    Wix being unavailable: retried with backoff, then left for the next run."""


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


@lru_cache(maxsize=4)
def limiter_for(per_minute: int) -> TokenBucket | None:
    """The process-wide bucket for this quota (None when limiting is off)."""
    return TokenBucket(per_minute) if per_minute > 0 else None


_limited_clients: weakref.WeakKeyDictionary[httpx.Client, TokenBucket] = weakref.WeakKeyDictionary()
_attach_lock = threading.Lock()


def limit_requests(client: httpx.Client, limiter: TokenBucket | None) -> None:
    """Make every request of ``client`` take a token from ``limiter`` first (once per client)."""
    if limiter is None:
        return
    with _attach_lock:
        if client in _limited_clients:
            return
        _limited_clients[client] = limiter

        def take_token(request: httpx.Request) -> None:
            if not limiter.acquire():
                raise RateLimitTimeout("client-side Wix rate limit: no request slot free", request=request)

        client.event_hooks["request"].append(take_token)


def reset_limiters() -> None:
    limiter_for.cache_clear()
