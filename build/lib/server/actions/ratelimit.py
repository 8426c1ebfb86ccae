"""In-process token buckets for sends, typing and reports.

Per process on purpose: they protect this process's event loop and the database from
one noisy client (a client stays on one process for the life of its socket). The
login limit, which guards against password guessing, is shared by every process through
the database instead (server/store/login_failures.py).
"""

from __future__ import annotations

import time
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
