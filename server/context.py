"""AppContext: the long-lived collaborators of one server process, built in app.py.

Use cases receive it instead of reaching for globals, so tests can build one with a
real database and call them without a socket.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import socketio

from moderation import Detector
from server.actions.caches import SendPathCaches
from server.actions.crisis_outbox import CrisisOutbox
from server.actions.detection import DetectionService
from server.actions.ratelimit import TokenBucket
from server.actions.turns import Turns
from server.config import Config
from server.metrics import Metrics, SemanticCollector
from server.realtime.control import ControlBus
from server.realtime.notify import Notifier
from server.realtime.presence import Presence
from server.realtime.registry import Registry
from server.store import Stores
from server.store.devdb import LocalDatabase

SEND_RATE_PER_SECOND = 5
SEND_BURST = 10
# Sign-in throttling (OWASP: throttle, don't lock out), per 5 minutes: 5 failures for one
# username from one address; 50 for a username from anywhere (not applied to an address
# the user signed in from before); 50 from one address (the real client, TRUSTED_PROXIES).
LOGIN_FAILURES_PER_PAIR = 5
LOGIN_FAILURES_PER_USERNAME = 50
LOGIN_FAILURES_PER_ADDRESS = 50
LOGIN_WINDOW_SECONDS = 300
# Typing indicators and peer reports fan out to a room or to counselors; a client that
# floods them is slowed like a flooding sender (SECURITY.md B15: 50 reports a minute).
TYPING_PER_SECOND, TYPING_BURST = 5, 10
REPORTS_PER_MINUTE, REPORTS_BURST = 10, 5
HELP_PER_MINUTE, HELP_BURST = 6, 5  # a repeat press updates the open request; this stops floods
RENAMES_PER_HOUR, RENAMES_BURST = 3, 3
# choosing a pseudonym, not cycling through names
CHECKINS_PER_MINUTE, CHECKINS_BURST = 6, 5  # one a day is the point; a few replacements are fine


@dataclass
class AppContext:
    config: Config
    stores: Stores
    sio: socketio.AsyncServer
    control: ControlBus
    detector: Detector
    registry: Registry = field(default_factory=Registry)
    send_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(SEND_RATE_PER_SECOND, SEND_BURST))
    typing_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(TYPING_PER_SECOND, TYPING_BURST))
    report_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(REPORTS_PER_MINUTE / 60, REPORTS_BURST))
    help_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(HELP_PER_MINUTE / 60, HELP_BURST))
    rename_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(RENAMES_PER_HOUR / 3600, RENAMES_BURST))
    checkin_limiter: TokenBucket = field(default_factory=lambda: TokenBucket(CHECKINS_PER_MINUTE / 60, CHECKINS_BURST))
    # A patient's help presses, one after the other: two tabs pressing at once made two requests.
    help_turns: Turns = field(default_factory=Turns)

    metrics: Metrics = field(default_factory=Metrics)

    def __post_init__(self) -> None:
        self.notifier = Notifier(self.sio, self.registry)
        self.detection = DetectionService(
            self.detector,
            enabled=self.config.semantic_detection,
            model_dir=self.config.model_dir,
            queue_limit=self.config.semantic_queue_limit,
        )
        self.caches = SendPathCaches(self.stores)
        self.crisis_outbox = CrisisOutbox(self.stores.flags)
        self.metrics.watch_connections(lambda: len(self.registry))
        self.metrics.watch(SemanticCollector(self.detection))
        self.stores.flags.on_insert = lambda flag: self.metrics.flags.labels(flag.severity, flag.source).inc()
        self.stores.messages.on_insert = self.metrics.messages.inc
        # Socket.IO connects per client address: a reconnect storm from a clinic's wifi
        # passes (the client backs off with jitter); a flood from one address does not.
        rate = self.config.handshakes_per_second
        self.handshake_limiter = TokenBucket(rate, max(1, int(rate * 10)))
        self.admission = asyncio.Semaphore(self.config.admission_concurrency)
        self.local_database: LocalDatabase | None = None  # development only: the supervised local DB
        self.presence = Presence(self.registry, self.config.redis_url)
