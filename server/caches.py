"""Short-lived caches on the send path, invalidated by control commands.

A chat send must not cost a database read for every rule it checks (room locked? slow
mode? muted?). Room documents and mutes change rarely and only through moderation
actions, which publish an invalidation to every process (server/control.py); the TTL
bounds staleness should an invalidation ever be lost.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Generic, TypeVar

from bson import ObjectId

from server.models import Room
from server.store import Stores

K = TypeVar("K")
V = TypeVar("V")
TTL_SECONDS = 10.0


class TTLCache(Generic[K, V]):
    def __init__(self, loader: Callable[[K], Awaitable[V]], ttl: float = TTL_SECONDS) -> None:
        self._loader = loader
        self._ttl = ttl
        self._items: dict[K, tuple[float, V]] = {}

    async def get(self, key: K) -> V:
        hit = self._items.get(key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await self._loader(key)
        self._items[key] = (now + self._ttl, value)
        if len(self._items) > 50_000:
            self._items = {k: v for k, v in self._items.items() if v[0] > now}
        return value

    def invalidate(self, key: K) -> None:
        self._items.pop(key, None)


class SendPathCaches:
    def __init__(self, stores: Stores) -> None:
        self.rooms: TTLCache[ObjectId, Room | None] = TTLCache(stores.rooms.get)
        # All mutes of a room in one read: per (room, user) entries cost a read per
        # sender every TTL, which was 6% of the CPU at 1000 senders.
        self.mutes: TTLCache[ObjectId, dict[ObjectId, datetime]] = TTLCache(stores.rooms.mutes_of_room)
        # Last send time per (room, user) seen by this process, for slow mode.
        self.last_sent: dict[tuple[ObjectId, ObjectId], datetime] = {}
