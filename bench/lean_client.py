"""A minimal Socket.IO client: one aiohttp websocket, no background machinery.

It speaks just enough Engine.IO v4 / Socket.IO v5 (see ``bench.wire``) for the
benchmark: connect with an auth payload, answer pings, emit events with acks
and hand every incoming event to a plain callback. One reader task per
connection, no per-event tasks, so a thousand of them fit on one core with room
to spare (``python-socketio``'s AsyncClient does not; see bench/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp

from bench import wire

EventHandler = Callable[[str, Any], None]
AckHandler = Callable[[Any], None]


class ConnectRefused(Exception):
    """The server answered CONNECT_ERROR (or closed before accepting)."""


class LeanClient:
    """One simulated user over the websocket transport only.

    :param session: the aiohttp session shared by every client of a process.
    :param base_url: ``http://host:port`` of the server.
    :param on_event: called synchronously as ``on_event(name, data)`` for
                     every server event, on the reader task: keep it cheap.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: str, on_event: EventHandler) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + wire.WS_PATH
        self._on_event = on_event
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._acks: dict[int, AckHandler] = {}
        self._next_ack = 0
        self._connected: asyncio.Future[Any] | None = None
        self._pong_task: asyncio.Future[None] | None = None  # keeps the task referenced
        self.connected = False
        self.closed_reason: str | None = None

    async def connect(self, auth: dict[str, Any] | None, timeout: float = 20.0) -> Any:
        """Open the websocket and the "/" namespace; return the CONNECT data.

        Raises ConnectRefused with the server's error object on refusal.
        """
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        self._ws = await self._session.ws_connect(
            self._url, autoping=True, max_msg_size=0, timeout=aiohttp.ClientWSTimeout(ws_close=5.0)
        )
        opened = await asyncio.wait_for(self._ws.receive(), timeout)
        if opened.type != aiohttp.WSMsgType.TEXT or wire.parse(opened.data).kind != wire.OPEN:
            await self._ws.close()
            raise ConnectRefused(f"no Engine.IO OPEN: {opened.type} {opened.data!r}")
        self._reader = asyncio.create_task(self._read_loop())
        await self._ws.send_str(wire.connect_packet(auth))
        try:
            result = await asyncio.wait_for(self._connected, timeout)
        except BaseException:
            await self.close()
            raise
        self.connected = True
        return result

    async def emit(self, event: str, data: Any, on_ack: AckHandler | None = None) -> None:
        """Send an event; ``on_ack(data)`` runs on the reader when its ack arrives."""
        assert self._ws is not None
        ack_id = None
        if on_ack is not None:
            ack_id = self._next_ack
            self._next_ack += 1
            self._acks[ack_id] = on_ack
        await self._ws.send_str(wire.event_packet(event, data, ack_id))

    async def call(self, event: str, data: Any, timeout: float = 20.0) -> Any:
        """Emit and wait for the ack's data."""
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(result: Any) -> None:
            if not fut.done():
                fut.set_result(result)

        await self.emit(event, data, done)
        return await asyncio.wait_for(fut, timeout)

    @property
    def pending_acks(self) -> int:
        return len(self._acks)

    async def close(self) -> None:
        """Close the websocket and stop the reader."""
        self.connected = False
        if self._ws is not None and not self._ws.closed:
            try:
                await self._ws.send_str("41")
            except (ConnectionError, RuntimeError, aiohttp.ClientError):
                pass
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except (asyncio.CancelledError, Exception):
                pass

    async def _read_loop(self) -> None:
        ws = self._ws
        assert ws is not None
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                self._dispatch(wire.parse(msg.data))
        except (ConnectionError, aiohttp.ClientError) as exc:
            self.closed_reason = repr(exc)
        finally:
            self.connected = False
            if self.closed_reason is None:
                self.closed_reason = "closed"
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectRefused(self.closed_reason))

    async def _pong(self) -> None:
        """Answer an Engine.IO ping; a socket closing meanwhile is not an error."""
        try:
            if self._ws is not None:
                await self._ws.send_str(wire.PONG)
        except (ConnectionError, aiohttp.ClientError):
            pass

    def _dispatch(self, pkt: wire.Packet) -> None:
        kind = pkt.kind
        if kind == wire.EVENT:
            self._on_event(pkt.event or "", pkt.data)
        elif kind == wire.ACK:
            handler = self._acks.pop(pkt.ack_id, None) if pkt.ack_id is not None else None
            if handler is not None:
                handler(pkt.data)
        elif kind == wire.PING_KIND:
            self._pong_task = asyncio.ensure_future(self._pong())
        elif kind == wire.CONNECT:
            if self._connected is not None and not self._connected.done():
                self._connected.set_result(pkt.data)
        elif kind == wire.CONNECT_ERROR:
            if self._connected is not None and not self._connected.done():
                self._connected.set_exception(ConnectRefused(pkt.data))
        elif kind in (wire.DISCONNECT, wire.CLOSE):
            self.closed_reason = f"server {kind}"
            self.connected = False
