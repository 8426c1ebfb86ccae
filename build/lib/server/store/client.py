"""The MongoDB client: the one place that decides timeouts and write concern.

Why these settings: a chat send must fail fast with `unavailable` when the database is
gone (SECURITY.md R6), so server selection and every operation are bounded by
`DB_TIMEOUT_MS` (client-side operation timeout) instead of PyMongo's 30 s default.
Writes use w="majority" so that on a replica set an acknowledged message survives a
failover (R1/R10); a single-node development server treats it as w=1.
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError


class _CommandTimer(monitoring.CommandListener):
    def __init__(self, observe: Callable[[str, float], None]) -> None:
        self._observe = observe

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event.command_name, event.duration_micros / 1e6)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event.command_name, event.duration_micros / 1e6)


def make_client(uri: str, timeout_ms: int, on_command: Callable[[str, float], None] | None = None) -> AsyncMongoClient:
    """`on_command(name, seconds)` hears every command's latency (the metrics)."""
    return AsyncMongoClient(
        uri,
        event_listeners=[_CommandTimer(on_command)] if on_command else [],
        tz_aware=True,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=min(timeout_ms, 3000),
        w="majority",
        appname="iopchat",
    )


async def ping(db: AsyncDatabase) -> bool:
    try:
        await db.command("ping")
    except PyMongoError:
        return False
    return True
