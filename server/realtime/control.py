"""Control commands that must reach every server process: end a user's sessions,
apply a membership change to live sockets, drop a cached room.

Socket.IO's Redis manager fans out *emits* to clients; these are instructions to the
servers themselves (disconnect this user's sockets wherever they are), so they travel
on their own Redis channel. Without REDIS_URL there is one process and commands are
dispatched in-process. Either way, a command is handled by exactly one code path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from server.realtime.fanout import REDIS_TIMEOUT_SECONDS, Pause

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
CHANNEL = "iopchat:control"


class ControlBus:
    def __init__(self, redis_url: str | None) -> None:
        self._redis_url = redis_url
        self._handlers: dict[str, Handler] = {}
        self._redis: Any = None
        self._task: asyncio.Task[None] | None = None
        self._pause = Pause()  # after Redis failed to take a command, commands are handled here for a while

    def on(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    async def start(self) -> None:
        if not self._redis_url:
            return
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self._redis_url)
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        self._task = asyncio.create_task(self._listen(pubsub), name="control-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._redis is not None:
            await self._redis.aclose()

    async def publish(self, kind: str, **payload: Any) -> None:
        """Every process handles the command (this one too, through Redis). When Redis is
        gone, this process handles it alone rather than not at all: the escalator used to
        raise here after claiming a level, and that level's counselors (and, at level 2,
        the pager) never heard of the flag. A Redis that stalls counts as gone."""
        command = {"kind": kind, **payload}
        if self._redis is None:
            await self._dispatch(command)
            return
        if self._pause.active:
            await self._dispatch(command)
            return
        try:
            async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                await self._redis.publish(CHANNEL, json.dumps(command))
        except (RedisError, OSError, TimeoutError) as exc:
            self._pause.start()
            log.warning("control command %s: Redis did not take it (%s); handled here alone", kind, type(exc).__name__)
            await self._dispatch(command)

    async def _listen(self, pubsub: Any) -> None:
        while True:
            try:
                async for item in pubsub.listen():
                    if item.get("type") == "message":
                        await self._dispatch(json.loads(item["data"]))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("control bus listener failed; resubscribing")
                await asyncio.sleep(1)
                await pubsub.subscribe(CHANNEL)

    async def _dispatch(self, command: dict[str, Any]) -> None:
        handler = self._handlers.get(command.get("kind", ""))
        if handler is None:
            log.warning("control command of unknown kind %s", command.get("kind"))
            return
        try:
            await handler(command)
        except Exception:
            log.exception("control command %s failed", command.get("kind"))
