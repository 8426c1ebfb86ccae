"""The LeanClient interface over python-socketio's AsyncClient.

Kept so the cost of the stock client can be measured against the lean one
(``python -m bench --client-impl socketio``): the benchmark's default is the
lean client because the stock one saturates the load generator's core first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import socketio

from bench.lean_client import AckHandler, ConnectRefused, EventHandler


class SioClient:
    """One simulated user on ``socketio.AsyncClient`` (websocket transport only)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, on_event: EventHandler) -> None:
        self._url = base_url
        self._on_event = on_event
        self._pending = 0
        self._sio = socketio.AsyncClient(reconnection=False, http_session=session, handle_sigint=False)
        self._sio.on("*", self._catch_all)
        self.closed_reason: str | None = None

    async def _catch_all(self, event: str, data: Any = None) -> None:
        self._on_event(event, data)

    @property
    def connected(self) -> bool:
        return self._sio.connected

    @property
    def pending_acks(self) -> int:
        return self._pending

    async def connect(self, auth: dict[str, Any] | None, timeout: float = 20.0) -> Any:
        try:
            await self._sio.connect(self._url, auth=auth, transports=["websocket"], wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            raise ConnectRefused(str(exc)) from exc
        return {"sid": self._sio.get_sid()}

    async def emit(self, event: str, data: Any, on_ack: AckHandler | None = None) -> None:
        if on_ack is None:
            await self._sio.emit(event, data)
            return
        self._pending += 1

        def done(result: Any = None) -> None:
            self._pending -= 1
            on_ack(result)

        await self._sio.emit(event, data, callback=done)

    async def call(self, event: str, data: Any, timeout: float = 20.0) -> Any:
        return await self._sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self._sio.disconnect(), 5)
        except (TimeoutError, Exception):
            pass
