"""`make cluster`: two real server processes behind a real HAProxy, sharing Redis.

The module starts `python -m server.cluster` once (it starts Redis, the two servers and
HAProxy itself, on this session's database) and stops it at the end, checking that
nothing it started outlives it. Clients connect to the balancer only; to know which
process holds a client, the test asks each server directly about the client's Engine.IO
session (in a request it refuses either way): the process that did not create it
answers "Invalid session".
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bench.procstats import descendants
from server.config import Config
from server.store import Stores
from server.store.db import open_database
from server.store.devdb import ROOT, free_port
from tests.conftest import TEST_SECRET, Probe, World, make_config, open_probe

pytestmark = pytest.mark.redis
CRISIS = "I want to kill myself tonight"
PROCESSES = ("p1", "p2")  # the server names (and cookie values) in deploy/haproxy.cfg
COOKIE = "IOPCHAT_SERVER"
START_TIMEOUT = 120.0


def installed(program: str) -> bool:
    return bool(shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin"))


@dataclass
class Cluster:
    """What World needs of a server (url, config, stores), pointed at the balancer."""

    url: str
    backends: dict[str, str]  # process name -> its own URL, for asking it directly
    config: Config
    stores: Stores
    launcher: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
async def cluster(mongodb_uri: str) -> AsyncIterator[Cluster]:
    assert installed("haproxy"), "haproxy is not installed: run `make setup` (scripts/system-deps.sh installs it)"
    assert installed("redis-server"), "redis-server is not installed: run `make setup`"
    folder = Path(tempfile.mkdtemp(prefix="iopchat-cluster-"))
    db_name = f"t_cluster_{uuid.uuid4().hex[:8]}"
    port, ports = free_port(), [free_port() for _ in PROCESSES]
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SEED_DEMO", "PORT", "HOST")}
    env.update(
        MONGODB_URI=mongodb_uri,
        MONGODB_DB=db_name,
        JWT_SECRET=TEST_SECRET,
        DATA_DIR=str(folder),
        HOST="127.0.0.1",
        PORT=str(port),
        SEMANTIC_DETECTION="0",
        LOG_LEVEL="WARNING",
    )
    log_path = folder / "cluster.log"
    with log_path.open("wb") as log_file:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "server.cluster", "--backend-ports", ",".join(map(str, ports))],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    config = make_config(mongodb_uri, db_name)
    try:
        await wait_until_ready(url, launcher, log_path)
        async with open_database(config) as opened:
            yield Cluster(
                url=url,
                backends={name: f"http://127.0.0.1:{p}" for name, p in zip(PROCESSES, ports, strict=True)},
                config=config,
                stores=opened.stores,
                launcher=launcher,
            )
            await opened.client.drop_database(db_name)
    finally:
        started = descendants(launcher.pid)
        launcher.send_signal(signal.SIGINT)  # Ctrl-C
        launcher.wait(timeout=60)
        left = [pid for pid in started if pid_alive(pid)]
        shutil.rmtree(folder, ignore_errors=True)
    assert launcher.returncode == 0, f"the launcher exited with {launcher.returncode}"
    assert len(started) >= 4, f"expected Redis, two servers and HAProxy under the launcher, saw {started}"
    assert left == [], f"processes outlived the cluster: {left}"


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def wait_until_ready(url: str, launcher: subprocess.Popen[bytes], log_path: Path) -> None:
    """The balancer answers /readyz only once Redis, both servers and HAProxy are up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            assert launcher.poll() is None, f"the launcher exited:\n{log_path.read_text(errors='replace')[-3000:]}"
            try:
                async with http.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"the cluster was not ready:\n{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture
async def world(cluster: Cluster, password_hash: str) -> AsyncIterator[World]:
    w = World(server=cluster, password_hash=password_hash)  # type: ignore[arg-type]
    yield w
    for probe in w.probes:
        await probe.close()


async def connect(
    world: World,
    user,  # type: ignore[no-untyped-def]
    *,
    process: str | None = None,
    transports: tuple[str, ...] = ("websocket",),
    url: str | None = None,
) -> Probe:
    """Through the balancer; `process` sends the cookie HAProxy would have set."""
    headers = {"Cookie": f"{COOKIE}={process}"} if process else None
    probe = await open_probe(
        url or world.server.url, world.token(user), user=user, headers=headers, transports=transports
    )
    assert probe.client.connected, f"connect refused: {probe.connect_error}"
    world.probes.append(probe)
    await probe.next("session")
    return probe


async def receives(probe: Probe, message_id: str) -> None:
    """Wait for message:new of this id (authors get their own messages too)."""
    while (await probe.next("message:new"))["id"] != message_id:
        pass


async def holder(cluster: Cluster, probe: Probe) -> str:
    """The process holding this client's Engine.IO session, asked of each directly."""
    sid = probe.client.eio.sid
    holders = []
    async with aiohttp.ClientSession() as http:
        for name, backend in cluster.backends.items():
            # A websocket GET without an Upgrade header: refused either way, without
            # touching the session ("Invalid transport" or "Unexpected HTTP request"
            # from its holder).
            async with http.get(f"{backend}/socket.io/?EIO=4&transport=websocket&sid={sid}") as response:
                if "Invalid session" not in await response.text():
                    holders.append(name)
    assert len(holders) == 1, f"session {sid} is known to {holders}"
    return holders[0]


async def test_clients_through_the_balancer_land_on_both_processes(cluster: Cluster, world: World) -> None:
    room, patients = await world.scene("patient", "patient", "patient", "patient")

    probes = [await connect(world, patient) for patient in patients]

    assert {await holder(cluster, probe) for probe in probes} == set(PROCESSES)


async def test_the_balancer_keeps_a_client_on_the_process_its_cookie_names(cluster: Cluster, world: World) -> None:
    _, (alice, bob) = await world.scene("patient", "patient")

    on_two = await connect(world, alice, process="p2")
    on_one = await connect(world, bob, process="p1")

    assert await holder(cluster, on_two) == "p2"
    assert await holder(cluster, on_one) == "p1"


async def test_patients_on_two_processes_chat_in_one_room(cluster: Cluster, world: World) -> None:
    room, (alice, bob) = await world.scene("patient", "patient")
    alice_on_one = await connect(world, alice, process="p1")
    bob_on_two = await connect(world, bob, process="p2")
    assert (await holder(cluster, alice_on_one), await holder(cluster, bob_on_two)) == ("p1", "p2")
    await alice_on_one.ok("room:join", {"room_id": str(room.id)})
    await bob_on_two.ok("room:join", {"room_id": str(room.id)})

    from_alice = await alice_on_one.send(room.id, "hello from the first process")
    from_bob = await bob_on_two.send(room.id, "and hello back from the second")

    await receives(bob_on_two, from_alice["message"]["id"])
    await receives(alice_on_one, from_bob["message"]["id"])


async def test_a_crisis_on_one_process_alerts_the_on_call_counselor_on_the_other(
    cluster: Cluster, world: World
) -> None:
    room, (alice, counselor) = await world.scene("patient", "counselor")
    counselor_on_two = await connect(world, counselor, process="p2")
    await counselor_on_two.ok("oncall:set", {"on": True})
    alice_on_one = await connect(world, alice, process="p1")
    assert await holder(cluster, alice_on_one) == "p1"
    await alice_on_one.ok("room:join", {"room_id": str(room.id)})

    crisis = await alice_on_one.send(room.id, CRISIS)

    alert = await counselor_on_two.next("alert:new")
    assert alert["message_id"] == crisis["message"]["id"]
    await counselor_on_two.nothing("alert:new")  # once, not once per process


async def test_long_polling_through_the_balancer_sticks_to_one_process(cluster: Cluster, world: World) -> None:
    room, (alice, bob) = await world.scene("patient", "patient")
    # `localhost`, not 127.0.0.1: aiohttp's cookie jar (the client's) ignores cookies set
    # by a bare IP address, where a browser keeps them. Without the cookie, every other
    # request of this session would reach the process that does not know it.
    port = cluster.url.rsplit(":", 1)[1]
    polling = await connect(world, alice, transports=("polling",), url=f"http://localhost:{port}")
    cookies = {c.key: c.value for c in polling.client.eio.http.cookie_jar}
    assert cookies.get(COOKIE) in PROCESSES, f"HAProxy set no {COOKIE} cookie: {cookies}"
    assert await holder(cluster, polling) == cookies[COOKIE]
    other = next(p for p in PROCESSES if p != cookies[COOKIE])
    peer = await connect(world, bob, process=other)
    await polling.ok("room:join", {"room_id": str(room.id)})
    await peer.ok("room:join", {"room_id": str(room.id)})

    # Many requests, each routed on its own: without stickiness one of them would land
    # on the other process and end the session.
    for n in range(5):
        sent = await polling.send(room.id, f"polling message {n}")
        assert sent["ok"] is True
        await receives(peer, sent["message"]["id"])
        reply = await peer.send(room.id, f"reply {n}")
        await receives(polling, reply["message"]["id"])
    assert polling.client.connected
