"""Slow clients (slowloris) cannot hold connections open: a request head must arrive within
HTTP_IDLE_SECONDS of connecting, a body within HTTP_BODY_SECONDS; everyone else is served
meanwhile. The tests shorten both bounds to one second and wait for the server to close."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp

from server.config import Config
from tests.conftest import RunningServer

CLOSED_WITHIN = 20.0  # generous: the bound under test is 1 s


async def _connect(server: RunningServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = urlsplit(server.url)
    return await asyncio.open_connection(address.hostname, address.port)


async def _trickle(writer: asyncio.StreamWriter) -> None:
    """A header line every 200 ms, forever: each byte arrives well within any per-read
    timeout, so only a bound on the whole head can end it."""
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: chat\r\n")
    for n in range(10_000):
        await asyncio.sleep(0.2)  # the attacker's pace, not a wait for the server
        writer.write(b"X-Padding-%d: x\r\n" % n)
        await writer.drain()


def test_the_bounds_default_to_fifteen_seconds() -> None:
    config = Config.from_env({})
    assert config.http_idle_seconds == 15.0 and config.http_body_seconds == 15.0


async def test_connections_that_trickle_their_headers_are_closed_and_others_are_served(
    server_factory: Callable[..., Awaitable[RunningServer]],
) -> None:
    server = await server_factory(http_idle_seconds=1.0)
    attackers = [await _connect(server) for _ in range(30)]
    tricklers = [asyncio.create_task(_trickle(writer)) for _, writer in attackers]
    try:
        async with aiohttp.ClientSession() as session, session.get(server.url + "/healthz") as response:
            assert response.status == 200
        for reader, _ in attackers:
            # read() returns at EOF: the server hung up without answering the partial request.
            assert await asyncio.wait_for(reader.read(), CLOSED_WITHIN) == b""
    finally:
        for task in tricklers:
            task.cancel()
        for _, writer in attackers:
            writer.close()


async def test_a_body_that_trickles_gets_408_and_the_connection_is_closed(
    server_factory: Callable[..., Awaitable[RunningServer]],
) -> None:
    server = await server_factory(http_body_seconds=1.0)
    reader, writer = await _connect(server)
    try:
        writer.write(
            b"POST /api/auth/login HTTP/1.1\r\nHost: chat\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"username": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN)  # everything, up to EOF
        assert answer.startswith(b"HTTP/1.1 408")
        assert b'"code": "invalid"' in answer and b"too slowly" in answer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
