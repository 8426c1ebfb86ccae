"""Shared fixtures: a real local MongoDB-protocol server, a running app per test, real
Socket.IO clients, and factories that build a cohort world in a few lines.

Nothing is mocked: the database is FerretDB (or mongod, or MONGODB_URI), the server is
the real aiohttp app on a loopback port, and clients speak Socket.IO over a WebSocket.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web
from bson import ObjectId
from pymongo import AsyncMongoClient

from server.actions import pseudonyms
from server.app import create_app, runner_options
from server.auth import issue_token
from server.config import Config
from server.context import AppContext
from server.keys import CONTEXT
from server.models import Room, User
from server.passwords import hash_password
from server.store import Stores
from server.store.devdb import LocalDatabase, free_port

TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct-horse-battery"
# How long a probe waits for an ack or an event before the test fails: a guard against a
# hang, not a measure of speed. Longer than the server's own worst case (a model wait of
# up to 2 s, then DB_TIMEOUT_MS of 3 s here) with room for a loaded CI machine, where 64
# sends at once once took over 5 s.
EVENT_TIMEOUT = 15.0


# ---- the database ----------------------------------------------------------------------


@pytest.fixture(scope="session")
async def mongodb_uri() -> AsyncIterator[str]:
    """MONGODB_URI when given, else a local FerretDB/mongod in a fresh temp dir for the session."""
    if os.environ.get("MONGODB_URI"):
        yield os.environ["MONGODB_URI"]
        return
    folder = Path(tempfile.mkdtemp(prefix="iopchat-testdb-"))
    local = LocalDatabase(folder)
    await local.start()
    try:
        yield local.uri
    finally:
        local.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
async def password_hash() -> str:
    return await hash_password(PASSWORD)


def make_config(mongodb_uri: str, db_name: str, **overrides: Any) -> Config:
    base = Config(
        app_env="development",
        host="127.0.0.1",
        port=0,
        mongodb_uri=mongodb_uri,
        mongodb_db=db_name,
        jwt_secret=TEST_SECRET,
        db_timeout_ms=3000,
    )
    return Config(**{**base.__dict__, **overrides})


# ---- a running server ------------------------------------------------------------------


@dataclass
class RunningServer:
    url: str
    app: web.Application
    runner: web.AppRunner
    config: Config

    @property
    def ctx(self) -> AppContext:
        return self.app[CONTEXT]

    @property
    def stores(self) -> Stores:
        return self.ctx.stores

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_server(config: Config) -> RunningServer:
    port = free_port()
    config = Config(**{**config.__dict__, "port": port})
    app = create_app(config)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=5, **runner_options(config))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    return RunningServer(url=f"http://127.0.0.1:{port}", app=app, runner=runner, config=config)


@pytest.fixture
def db_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def server_factory(mongodb_uri: str, db_name: str) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start servers on this test's database (call again after stop() to 'restart')."""
    started: list[RunningServer] = []

    async def factory(**overrides: Any) -> RunningServer:
        server = await start_server(make_config(overrides.pop("mongodb_uri", mongodb_uri), db_name, **overrides))
        started.append(server)
        return server

    yield factory
    for server in started:
        await server.stop()
    client: AsyncMongoClient = AsyncMongoClient(mongodb_uri, serverSelectionTimeoutMS=3000)
    try:
        await client.drop_database(db_name)
    except Exception:  # noqa: BLE001 - a test may have stopped its own database
        pass
    await client.close()


@pytest.fixture
async def server(server_factory: Callable[..., Awaitable[RunningServer]]) -> RunningServer:
    return await server_factory()


# ---- clients ---------------------------------------------------------------------------


@dataclass
class Probe:
    """A real Socket.IO client that records every server event for assertions."""

    client: socketio.AsyncClient
    user: User | None = None
    events: dict[str, asyncio.Queue[Any]] = field(default_factory=lambda: defaultdict(asyncio.Queue))
    # Every event ever received, in order, consumed or not (for receive-rule checks).
    log: list[tuple[str, Any]] = field(default_factory=list)
    connect_error: Any = None
    disconnected: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        result = await self.client.call(event, data, timeout=EVENT_TIMEOUT)
        assert isinstance(result, dict), f"ack of {event} is not an object: {result!r}"
        return result

    async def ok(self, event: str, data: Any = None) -> dict[str, Any]:
        ack = await self.call(event, data)
        assert ack.get("ok") is True, f"{event} failed: {ack}"
        return ack

    async def next(self, event: str, timeout: float = EVENT_TIMEOUT) -> Any:
        return await asyncio.wait_for(self.events[event].get(), timeout)

    async def nothing(self, event: str, within: float = 0.5) -> None:
        """Assert non-delivery: waiting for the event must time out."""
        try:
            got = await asyncio.wait_for(self.events[event].get(), within)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected {event}: {got!r}")

    @property
    def refusal(self) -> dict[str, Any]:
        """connect_error's data object ({"code", "message"}), as a JS client sees err.data."""
        assert isinstance(self.connect_error, dict), f"no connect_error: {self.connect_error!r}"
        return self.connect_error["data"]

    def drain(self, event: str) -> list[Any]:
        queue, items = self.events[event], []
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    async def send(self, room_id: Any, text: str, client_id: str | None = None) -> dict[str, Any]:
        return await self.call(
            "message:send", {"room_id": str(room_id), "text": text, "client_id": client_id or new_client_id()}
        )

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


def new_client_id() -> str:
    return uuid.uuid4().hex


async def open_probe(
    url: str,
    token: str | None,
    *,
    user: User | None = None,
    headers: dict[str, str] | None = None,
    transports: tuple[str, ...] = ("websocket",),
) -> Probe:
    client = socketio.AsyncClient(reconnection=False)
    probe = Probe(client=client, user=user)

    @client.on("*")
    async def any_event(event: str, *args: Any) -> None:
        payload = args[0] if len(args) == 1 else list(args)
        probe.log.append((event, payload))
        await probe.events[event].put(payload)

    @client.on("connect_error")
    async def on_connect_error(data: Any) -> None:
        probe.connect_error = data

    @client.on("disconnect")
    async def on_disconnect(*_: Any) -> None:
        probe.disconnected.set()

    auth = {"token": token} if token is not None else None
    try:
        await client.connect(
            url, auth=auth, transports=list(transports), wait_timeout=EVENT_TIMEOUT, headers=headers or {}
        )
    except socketio.exceptions.ConnectionError:
        pass
    return probe


@dataclass
class World:
    """A cohort with rooms, people and helpers, built through the real stores."""

    server: RunningServer
    password_hash: str
    probes: list[Probe] = field(default_factory=list)

    @property
    def stores(self) -> Stores:
        return self.server.stores

    async def user(self, role: str = "patient", name: str | None = None, language: str = "en") -> User:
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        return await self.stores.users.create(
            username=username,
            display_name=name or (pseudonyms.generate() if role == "patient" else f"{role.title()} {username[-4:]}"),
            role=role,
            password_hash=self.password_hash,
            language=language,
        )

    async def cohort(self, name: str = "Evening IOP") -> ObjectId:
        return (await self.stores.cohorts.create({"name": name})).id

    async def room(self, cohort_id: ObjectId, name: str = "Group chat") -> Room:
        cohort = await self.stores.cohorts.get(cohort_id)
        assert cohort is not None
        return await self.stores.rooms.create(cohort_id, cohort.name, name)

    async def enrol(self, cohort_id: ObjectId, user: User) -> None:
        field_name = "counselor_ids" if user.role == "counselor" else "member_ids"
        await self.stores.cohorts.set_membership(cohort_id, field_name, user.id, True)

    async def scene(self, *roles: str) -> tuple[Room, list[User]]:
        """One cohort with one room, and a user of each role given, enrolled in it."""
        cohort_id = await self.cohort()
        room = await self.room(cohort_id)
        people = [await self.user(role) for role in roles]
        for person in people:
            if person.role != "staff":
                await self.enrol(cohort_id, person)
        return room, people

    def token(self, user: User) -> str:
        return issue_token(self.server.config, user)[0]

    async def connect(self, user: User, *, join: Room | None = None) -> Probe:
        probe = await open_probe(self.server.url, self.token(user), user=user)
        assert probe.client.connected, f"connect refused: {probe.connect_error}"
        self.probes.append(probe)
        await probe.next("session")
        if join is not None:
            await probe.ok("room:join", {"room_id": str(join.id)})
        return probe

    async def http(self, method: str, path: str, user: User | None = None, **kwargs: Any) -> tuple[int, Any]:
        headers = kwargs.pop("headers", {})
        if user is not None:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        async with aiohttp.ClientSession() as session:
            async with session.request(method, self.server.url + path, headers=headers, **kwargs) as response:
                body = await response.json() if response.content_type == "application/json" else await response.text()
                return response.status, body


@pytest.fixture
async def world(server: RunningServer, password_hash: str) -> AsyncIterator[World]:
    w = World(server=server, password_hash=password_hash)
    yield w
    for probe in w.probes:
        await probe.close()


@pytest.fixture
async def world_factory(
    server_factory: Callable[..., Awaitable[RunningServer]], password_hash: str
) -> AsyncIterator[Callable[..., Awaitable[World]]]:
    """A World on a server started with configuration overrides (e.g. crisis_hold="show")."""
    worlds: list[World] = []

    async def factory(**overrides: Any) -> World:
        worlds.append(World(server=await server_factory(**overrides), password_hash=password_hash))
        return worlds[-1]

    yield factory
    for w in worlds:
        for probe in w.probes:
            await probe.close()


@dataclass
class Cohort:
    """The usual scene: one cohort, one room, two patients and a counselor, plus staff."""

    id: ObjectId
    room: Room
    alice: User
    bob: User
    counselor: User
    staff: User


@pytest.fixture
async def cohort(world: World) -> Cohort:
    cohort_id = await world.cohort()
    room = await world.room(cohort_id)
    alice, bob = await world.user("patient", "Alice"), await world.user("patient", "Bob")
    counselor, staff = await world.user("counselor", "Casey"), await world.user("staff", "Sam")
    for person in (alice, bob, counselor):
        await world.enrol(cohort_id, person)
    return Cohort(cohort_id, room, alice, bob, counselor, staff)


@pytest.fixture
async def own_database() -> AsyncIterator[LocalDatabase]:
    """A database of the test's own, which it may stop, restart or pause (SIGSTOP)."""
    folder = Path(tempfile.mkdtemp(prefix="iopchat-own-db-"))
    local = LocalDatabase(folder)
    await local.start()
    yield local
    pid = local.pid()
    if pid:
        os.kill(pid, signal.SIGCONT)  # a test that paused it may have failed before resuming
    local.stop()
    shutil.rmtree(folder, ignore_errors=True)
