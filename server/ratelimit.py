"""In-process rate limiters: a token bucket (sends) and a sliding window (logins).

Per process on purpose: they protect this process's event loop and the database from
one noisy client. With several processes the effective limit is per process; the
login limiter is the one that matters for guessing, and it counts per username and per
address within each process (documented in the README).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucket:
    """`rate` tokens per second, up to `burst`; take() returns 0 or seconds to wait."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[object, _Bucket] = {}

    def take(self, key: object) -> float:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        if len(self._buckets) > 100_000:
            self._forget_full(now)
        return (1 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        full = [k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


class SlidingWindow:
    """At most `limit` events per `window` seconds per key; retry_after() says how long to wait."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def _trim(self, key: str) -> deque[float]:
        events = self._events.setdefault(key, deque())
        cutoff = self._clock() - self.window
        while events and events[0] <= cutoff:
            events.popleft()
        return events

    def retry_after(self, key: str) -> float:
        events = self._trim(key)
        if len(events) < self.limit:
            return 0.0
        return events[0] + self.window - self._clock()

    def hit(self, key: str) -> None:
        self._trim(key).append(self._clock())
        if len(self._events) > 100_000:
            for stale in [k for k, v in self._events.items() if not v]:
                del self._events[stale]
