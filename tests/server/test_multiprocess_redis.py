"""Several server processes share rooms, alerts and session ends through Redis.

Two app instances (each with its own Socket.IO manager, registry and control bus, as
two processes would have) run against one database and one real redis-server.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
import redis.exceptions
from bson import ObjectId

from server.store.devdb import free_port
from tests.conftest import PASSWORD, World, open_probe

pytestmark = pytest.mark.redis
CRISIS = "I want to kill myself tonight"


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: run `make setup` (it installs Debian's redis-server)"
    port = free_port()
    folder = tempfile.mkdtemp(prefix="iopchat-redis-")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = aioredis.from_url(url)
    try:
        for _ in range(100):
            try:
                await client.ping()
                break
            except (OSError, redis.exceptions.ConnectionError):
                await asyncio.sleep(0.05)
        yield url
    finally:
        await client.aclose()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


async def test_two_processes_share_rooms_alerts_and_logouts(server_factory, password_hash, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    one = await server_factory(redis_url=redis_url)
    two = await server_factory(redis_url=redis_url)
    world_one = World(server=one, password_hash=password_hash)
    world_two = World(server=two, password_hash=password_hash)
    cohort_id = await world_one.cohort()
    room = await world_one.room(cohort_id)
    alice, bob = await world_one.user("patient", "Alice"), await world_one.user("patient", "Bob")
    counselor = await world_one.user("counselor", "Casey")
    for person in (alice, bob, counselor):
        await world_one.enrol(cohort_id, person)

    alice_on_one = await world_one.connect(alice, join=room)
    bob_on_two = await world_two.connect(bob, join=room)
    counselor_on_two = await world_two.connect(counselor)
    await counselor_on_two.ok("oncall:set", {"on": True})

    sent = await alice_on_one.send(room.id, "hello from process one")
    assert (await bob_on_two.next("message:new"))["id"] == sent["message"]["id"]

    crisis = await alice_on_one.send(room.id, CRISIS)
    alert = await counselor_on_two.next("alert:new")
    assert alert["message_id"] == crisis["message"]["id"]
    await counselor_on_two.nothing("alert:new")  # sent once, not once per process
    # Process one knew the cohort's counselor was on call on process two: no break glass.
    flag = await one.stores.flags.get(ObjectId(alert["id"]))
    assert flag is not None and flag.break_glass is False

    # Who is online spans processes.
    carol = await world_one.user("patient", "Carol")
    await world_one.enrol(cohort_id, carol)
    carol_on_two = await world_two.connect(carol)
    joined = await carol_on_two.ok("room:join", {"room_id": str(room.id)})
    assert {u["display_name"] for u in joined["online"]} >= {"Alice", "Bob", "Carol"}

    # Logging out through process one ends the socket held by process two.
    _, login = await world_one.http("POST", "/api/auth/login", json={"username": bob.username, "password": PASSWORD})
    bob_token_on_two = await open_probe(two.url, login["token"])
    world_two.probes.append(bob_token_on_two)
    await bob_token_on_two.next("session")
    status, _ = await world_one.http("POST", "/api/auth/logout", headers={"Authorization": f"Bearer {login['token']}"})
    assert status == 204
    assert (await bob_token_on_two.next("session:ended"))["reason"] == "logout"

    # Removing a patient through process one takes them out of the room on process two.
    await world_one.http("DELETE", f"/api/cohorts/{cohort_id}/members/{bob.id}", await world_one.user("staff"))
    assert (await bob_on_two.next("room:removed"))["room_id"] == str(room.id)
    for probe in world_one.probes + world_two.probes:
        await probe.close()


async def test_escalation_across_processes_tells_each_counselor_once_and_the_right_way(
    server_factory,
    password_hash,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    """The on-call counselor (process one) had the flag: alert:updated only. An off-call
    counselor (process two) hears of it first at level 1: alert:new only."""
    from datetime import timedelta

    from server.actions import escalation
    from server.clock import utcnow

    one = await server_factory(redis_url=redis_url, escalate_after_seconds=60, semantic_detection=False)
    two = await server_factory(redis_url=redis_url, escalate_after_seconds=60, semantic_detection=False)
    world_one = World(server=one, password_hash=password_hash)
    world_two = World(server=two, password_hash=password_hash)
    room, (alice, on_call, off_call) = await world_one.scene("patient", "counselor", "counselor")
    had_it = await world_one.connect(on_call)
    await had_it.ok("oncall:set", {"on": True})
    newcomer = await world_two.connect(off_call)
    author = await world_two.connect(alice, join=room)

    await author.send(room.id, CRISIS)
    first = await had_it.next("alert:new")
    await escalation.sweep(one.ctx, now=utcnow() + timedelta(seconds=61))

    assert (await newcomer.next("alert:new"))["escalation_level"] == 1
    assert (await had_it.next("alert:updated"))["escalation_level"] == 1
    await had_it.nothing("alert:new")
    await newcomer.nothing("alert:updated")
    assert first["escalation_level"] == 0


async def test_going_on_call_through_redis_delivers_the_backlog(server_factory, password_hash, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    one = await server_factory(redis_url=redis_url, semantic_detection=False)
    world = World(server=one, password_hash=password_hash)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    author = await world.connect(alice, join=room)
    held = (await author.send(room.id, CRISIS))["message"]  # nobody on call yet
    moderator = await world.connect(counselor)

    await moderator.ok("oncall:set", {"on": True})

    assert (await moderator.next("alert:new"))["message_id"] == held["id"]


async def test_a_stopped_process_stops_listening_to_redis(redis_url: str, server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    """Its listener used to retry a vanished Redis forever, logging errors into whatever
    ran next in the process."""
    server = await server_factory(redis_url=redis_url)
    world = World(server=server, password_hash=password_hash)
    room, (alice,) = await world.scene("patient")
    await world.connect(alice, join=room)  # the manager starts listening at the first connect
    listener = server.ctx.sio.manager.thread
    assert not listener.done()

    await server.stop()

    done, _ = await asyncio.wait([listener], timeout=5)  # returns as soon as it ends
    assert listener in done
