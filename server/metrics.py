"""Prometheus metrics of one server process (`GET /metrics`), through prometheus-client.

The clinic's safety questions, answered live: how many messages and flags (by severity
and source), how fast flags are acknowledged, escalations by level, webhook results,
connections, database and detector latency, and the semantic model's queue. Each app
has its own registry (tests run several servers in one process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

ACK_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 14400)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter("iopchat_messages_stored", "Chat messages stored.", registry=r)
        self.flags = Counter("iopchat_flags", "Flags raised.", ["severity", "source"], registry=r)
        self.ack_seconds = Histogram(
            "iopchat_flag_ack_seconds", "Seconds from a flag to its acknowledgement.", ["severity"],
            buckets=ACK_BUCKETS, registry=r,
        )  # fmt: skip
        self.escalations = Counter("iopchat_escalations", "Flags escalated, by level.", ["level"], registry=r)
        self.webhooks = Counter(
            "iopchat_webhook_attempts", "Alert webhook attempts, by result.", ["status"], registry=r
        )
        self.db_seconds = Histogram(
            "iopchat_db_seconds", "Database command latency.", ["command"], buckets=FAST_BUCKETS, registry=r
        )
        self.detector_seconds = Histogram(
            "iopchat_detector_seconds", "Time to a verdict on a message (lexicon, and the model when it judges).",
            buckets=FAST_BUCKETS, registry=r,
        )  # fmt: skip
        self.checkins = Counter(
            "iopchat_checkins", "Daily check-ins stored (new, or replacing the day's).", ["kind"], registry=r
        )
        self.connections = Gauge("iopchat_connections", "Socket.IO connections on this process.", registry=r)

    def watch_connections(self, count: Callable[[], int]) -> None:
        self.connections.set_function(count)

    def watch(self, collector: Collector) -> None:
        self.registry.register(collector)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class SemanticCollector(Collector):
    """The semantic model's queue and counters, read from the detection service."""

    def __init__(self, detection: Any) -> None:
        self._detection = detection

    def collect(self):  # type: ignore[no-untyped-def]
        d = self._detection
        yield GaugeMetricFamily("iopchat_semantic_queue", "Messages waiting for the semantic model.", d.queue_length)
        yield GaugeMetricFamily(
            "iopchat_semantic_up", "1 when the semantic model is loaded and working.", 1 if d.state == "ready" else 0
        )
        stats = d.stats
        for name, value, text in (
            ("judged", stats.judged, "Messages the semantic model judged."),
            ("deferred", stats.deferred, "Messages sent on the cheap verdict under overload, judged after."),
            ("overflow", stats.overflow, "Deferred messages the cheap layers were unsure of."),
            ("late_flags", stats.late_flags, "Deferred messages the model then flagged (late verdicts)."),
            ("skipped", stats.skipped, "Messages the model never judged (backlog full)."),
            ("failures", stats.failures, "Semantic model failures."),
        ):
            yield CounterMetricFamily(f"iopchat_semantic_{name}", text, value)
