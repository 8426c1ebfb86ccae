"""Who is online where, across every server process.

Two questions need an answer that spans processes: who is online in a chat room (the
`online` list of `room:join`), and whether any counselor of a cohort is connected and on
call (alert routing: if one is, the alert stays inside the cohort; only if none is does
it go to every on-call counselor, which opens the flag to them). With one process the
registry answers both. With REDIS_URL, each process also keeps its entries in Redis
sorted sets scored by an expiry time and refreshes them on a heartbeat, so the entries of
a process that died vanish on their own within PRESENCE_TTL_SECONDS.

Nothing in Redis is the only copy of anything, so a Redis that is gone (or stalls past
REDIS_TIMEOUT_SECONDS) costs only the other processes' part: each call falls back to what
this process knows (its own registry), and the writes are made again by the heartbeat
once Redis is back. Raising (or waiting without limit) instead turned a help request or
a crisis check-in note into an error with nobody alerted, when the counselors and staff
connected here could have been.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bson import ObjectId
from redis.exceptions import RedisError

from server.realtime.fanout import REDIS_TIMEOUT_SECONDS, Pause
from server.realtime.registry import Connection, Registry

log = logging.getLogger(__name__)
PRESENCE_TTL_SECONDS = 60
HEARTBEAT_SECONDS = 20
PREFIX = "iopchat:presence"
REDIS_GONE = (RedisError, OSError, TimeoutError)  # refused, reset, stalled past REDIS_TIMEOUT_SECONDS
T = TypeVar("T")


def _room_key(room_id: ObjectId) -> str:
    return f"{PREFIX}:room:{room_id}"


def _oncall_key(cohort_id: ObjectId | None) -> str:
    """On-call counselors of a cohort; None: of any cohort."""
    return f"{PREFIX}:oncall:{cohort_id or 'any'}"


def _member(conn: Connection) -> str:
    p = conn.principal
    return json.dumps([conn.sid, str(p.user_id), p.display_name, p.role])


class Presence:
    def __init__(self, registry: Registry, redis_url: str | None) -> None:
        self._registry = registry
        self._redis_url = redis_url
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._pause = Pause()  # after Redis failed to answer, this process answers alone for a while

    async def start(self) -> None:
        if not self._redis_url:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self._redis_url)
        self._task = asyncio.create_task(self._heartbeat(), name="presence-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._redis is not None:
            for conn in self._registry.all():
                await self.forget(conn)
            await self._redis.aclose()

    def _keys(self, conn: Connection) -> list[str]:
        keys = [_room_key(room_id) for room_id in conn.rooms]
        if conn.oncall and conn.principal.role == "counselor":
            keys += [_oncall_key(cohort_id) for cohort_id in conn.principal.cohort_ids]
            keys.append(_oncall_key(None))
        return keys

    async def _redis_call(self, what: str, call: Callable[[Any], Awaitable[T]], fallback: T) -> T:
        """`call(redis)`, or `fallback` (what this process knows) when there is no Redis,
        it does not answer within REDIS_TIMEOUT_SECONDS, or it failed to just before."""
        if self._redis is None or self._pause.active:
            return fallback
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                return await call(self._redis)
        except REDIS_GONE as exc:
            self._pause.start()
            log.warning("presence: Redis did not answer (%s, %s); this process answers alone", what, type(exc).__name__)
            return fallback

    async def refresh(self, conn: Connection) -> None:
        """Record (again) where this connection is; call after any change to it."""
        expiry = time.time() + PRESENCE_TTL_SECONDS
        member = _member(conn)

        async def write(redis: Any) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                for key in self._keys(conn):
                    pipe.zadd(key, {member: expiry})
                    pipe.expire(key, PRESENCE_TTL_SECONDS * 2)
                await pipe.execute()

        await self._redis_call("refresh", write, None)

    async def left_room(self, conn: Connection, room_id: ObjectId) -> None:
        # Not removed while Redis is gone: the entry lapses after PRESENCE_TTL_SECONDS.
        await self._redis_call("leave a room", lambda redis: redis.zrem(_room_key(room_id), _member(conn)), None)

    async def left_oncall(self, conn: Connection, cohort_ids: frozenset[ObjectId], *, entirely: bool) -> None:
        keys = [_oncall_key(c) for c in cohort_ids] + ([_oncall_key(None)] if entirely else [])
        member = _member(conn)

        async def remove(redis: Any) -> None:
            for key in keys:
                await redis.zrem(key, member)

        await self._redis_call("go off call", remove, None)

    async def forget(self, conn: Connection) -> None:
        """The connection is gone: remove every entry it may have."""
        member = _member(conn)
        keys = [_room_key(r) for r in conn.rooms] + [_oncall_key(c) for c in conn.principal.cohort_ids]
        keys.append(_oncall_key(None))

        async def remove(redis: Any) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, member)
                await pipe.execute()

        await self._redis_call("forget a connection", remove, None)

    async def online_in_room(self, room_id: ObjectId) -> list[tuple[ObjectId, str, str]]:
        """(user_id, display_name, role) of every user online in the room, once each."""
        people = {p.user_id: (p.user_id, p.display_name, p.role) for p in self._registry.online_in_room(room_id)}
        members: list[Any] = await self._redis_call(
            "who is online", lambda redis: redis.zrangebyscore(_room_key(room_id), time.time(), "+inf"), []
        )
        for member in members:
            _, user_id, name, role = json.loads(member)
            people.setdefault(ObjectId(user_id), (ObjectId(user_id), name, role))
        return list(people.values())

    async def anyone_oncall(self, cohort_id: ObjectId | None) -> bool:
        """Is a counselor of this cohort (None: of any cohort) connected and on call?

        Without Redis nobody else can be reached either: the answer is this process's, so
        alerts go to whom it has (the wider audience) and a patient hears nobody is on call."""
        local = self._registry.oncall_any() if cohort_id is None else self._registry.oncall_for_cohort(cohort_id)
        if local:
            return True
        count = await self._redis_call(
            "who is on call", lambda redis: redis.zcount(_oncall_key(cohort_id), time.time(), "+inf"), 0
        )
        return bool(count)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                for conn in self._registry.all():
                    await self.refresh(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence heartbeat failed; retrying")
