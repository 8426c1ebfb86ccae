"""Percentiles and the small accumulators the load generator fills in."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summarize_ms(latencies_ns: list[int]) -> dict[str, Any]:
    """count, p50/p95/p99/max and mean in milliseconds."""
    values = sorted(v / 1e6 for v in latencies_ns)
    out: dict[str, Any] = {"count": len(values)}
    for name, q in (("p50", 50), ("p95", 95), ("p99", 99)):
        out[name] = _round(percentile(values, q))
    out["max"] = _round(values[-1] if values else None)
    out["mean"] = _round(sum(values) / len(values) if values else None)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class Tally:
    """Counters for one load-generator run, filled in by event callbacks."""

    sent: int = 0  # message:send in the measured window
    sent_normal: int = 0  # of which ordinary (non-crisis) messages
    acked_ok: int = 0  # of those, acked ok
    errors: Counter[str] = field(default_factory=Counter)  # by error code
    expected_receptions: int = 0  # sent_normal x (room size - 1)
    receptions_all: int = 0  # message:new of measured messages, senders included
    receptions_peers: int = 0  # message:new at members other than the sender
    e2e_ns: list[int] = field(default_factory=list)
    ack_ns: list[int] = field(default_factory=list)
    sched_lag_ns: list[int] = field(default_factory=list)
    crisis_ack_ns: list[int] = field(default_factory=list)
    crisis_sent: int = 0
