"""Socket.IO's fan-out between processes (REDIS_URL), bounded in time.

python-socketio's Redis manager delivers an emit to this process's sockets, then
publishes it for the other processes and waits for Redis without limit. A Redis that
stalls (a paused process, a network that drops packets instead of refusing them) then
held every emit after its local delivery: a patient who pressed the help button got
the numbers and nothing more, and no counselor heard of it. Each publish now gets
REDIS_TIMEOUT_SECONDS; past it the other processes miss that emit, as they would while
Redis is down, and the caller goes on. After a publish that timed out, publishing pauses
for RETRY_AFTER_SECONDS (a `Pause`): otherwise every emit of a crisis alert's path waits
out the timeout again, and together they overran the alert's budget. Presence and the
control channel use the same bound and pause (presence.py, control.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import socketio

log = logging.getLogger(__name__)

# A healthy Redis answers in well under a millisecond; the crisis alert's budget is a second.
REDIS_TIMEOUT_SECONDS = 0.5
RETRY_AFTER_SECONDS = 5.0


class Pause:
    """Skip Redis for a while after it failed to answer (one per client: a test runs
    several servers in one interpreter, so this is never module state)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    @property
    def active(self) -> bool:
        return self._clock() < self._until

    def start(self) -> None:
        self._until = self._clock() + RETRY_AFTER_SECONDS


class BoundedRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pause = Pause()

    async def _publish(self, data: Any) -> Any:
        if self._pause.active:
            return None
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                return await super()._publish(data)
        except TimeoutError:
            self._pause.start()
            log.warning(
                "Redis did not take an emit within %.1f s: other processes miss emits for %.0f s",
                REDIS_TIMEOUT_SECONDS,
                RETRY_AFTER_SECONDS,
            )
            return None
