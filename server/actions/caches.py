"""Short-lived caches on the send path, invalidated by control commands.

A chat send must not cost a database read for every rule it checks (room locked? slow
mode? muted?). Room documents and mutes change rarely and only through moderation
actions, which publish an invalidation to every process (server/control.py); the TTL
bounds staleness should an invalidation ever be lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from bson import ObjectId

from server.models import Room
from server.store import Stores
from server.store.failures import StorageError

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
TTL_SECONDS = 10.0


class TTLCache(Generic[K, V]):
    """Per-key values, fresh for `ttl` seconds; then served stale while one background
    reload runs (stale-while-revalidate). So an expired entry never puts a database
    round trip, or a database outage, on the send path: the crisis path keeps working
    with the last known room and mutes. An invalidated entry (a change) is gone and is
    loaded before use."""

    def __init__(self, loader: Callable[[K], Awaitable[V]], ttl: float = TTL_SECONDS) -> None:
        self._loader = loader
        self._ttl = ttl
        self._items: dict[K, tuple[float, V]] = {}
        self._reloading: dict[K, asyncio.Task[None]] = {}

    async def get(self, key: K) -> V:
        hit = self._items.get(key)
        now = time.monotonic()
        if hit is not None:
            if hit[0] <= now and key not in self._reloading:
                self._reloading[key] = asyncio.create_task(self._reload(key))
            return hit[1]
        value = await self._loader(key)
        self._store(key, value, now)
        return value

    async def _reload(self, key: K) -> None:
        try:
            value = await self._loader(key)
        except StorageError as exc:
            log.debug("cache reload failed (%s); serving the last value", type(exc).__name__)
        else:
            if key in self._items:  # not invalidated meanwhile
                self._store(key, value, time.monotonic())
        finally:
            self._reloading.pop(key, None)

    def _store(self, key: K, value: V, now: float) -> None:
        self._items[key] = (now + self._ttl, value)
        if len(self._items) > 50_000:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}

    def invalidate(self, key: K) -> None:
        self._items.pop(key, None)
        task = self._reloading.pop(key, None)
        if task is not None:
            task.cancel()


class SendPathCaches:
    def __init__(self, stores: Stores) -> None:
        self.rooms: TTLCache[ObjectId, Room | None] = TTLCache(stores.rooms.get)
        # A cohort's room ids, for the `session` event of every connect (a storm of
        # reconnects read the rooms collection once per socket without it).
        self.cohort_rooms: TTLCache[ObjectId, list[ObjectId]] = TTLCache(stores.rooms.ids_of_cohort)
        # All mutes of a room in one read: per (room, user) entries cost a read per
        # sender every TTL, which was 6% of the CPU at 1000 senders.
        self.mutes: TTLCache[ObjectId, dict[ObjectId, datetime]] = TTLCache(stores.rooms.mutes_of_room)
        # Last send time per (room, user) seen by this process, for slow mode.
        self.last_sent: dict[tuple[ObjectId, ObjectId], datetime] = {}
