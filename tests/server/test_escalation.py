"""Unacknowledged high flags escalate once per level, across restarts and processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from bson import ObjectId

from server import escalation
from server.devdb import free_port
from tests.conftest import World

CRISIS = "I want to kill myself tonight"


@dataclass
class WebhookReceiver:
    """A local HTTP endpoint standing in for the pager/SMS gateway."""

    url: str
    calls: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    fail_first: int = 0


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookReceiver]:
    port = free_port()
    receiver = WebhookReceiver(url=f"http://127.0.0.1:{port}/page")

    async def page(request: web.Request) -> web.Response:
        if receiver.fail_first > 0:
            receiver.fail_first -= 1
            return web.Response(status=503)
        await receiver.calls.put(json.loads(await request.read()))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/page", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield receiver
    await runner.cleanup()


async def crisis_world(world: World) -> tuple[Any, Any, Any, ObjectId]:
    cohort_id = await world.cohort()
    room = await world.room(cohort_id)
    alice = await world.user("patient", "Alice")
    counselor = await world.user("counselor", "Casey")
    for person in (alice, counselor):
        await world.enrol(cohort_id, person)
    return room, alice, counselor, cohort_id


async def test_escalation_reaches_every_counselor_then_the_webhook_once_each(
    server_factory,
    password_hash,
    webhook: WebhookReceiver,  # type: ignore[no-untyped-def]
) -> None:
    server = await server_factory(escalate_after_seconds=0.5, alert_webhook_url=webhook.url)
    world = World(server=server, password_hash=password_hash)
    room, alice, counselor, _ = await crisis_world(world)
    elsewhere = await world.cohort("Elsewhere")
    other_counselor = await world.user("counselor", "Other")
    await world.enrol(elsewhere, other_counselor)
    staff = await world.connect(await world.user("staff"))
    ours = await world.connect(counselor)  # connected, not on call
    theirs = await world.connect(other_counselor)
    patient = await world.connect(alice, join=room)

    sent = (await patient.send(room.id, CRISIS))["message"]
    first = await staff.next("alert:new")
    assert first["escalation_level"] == 0

    level1 = await theirs.next("alert:new")  # widened to every connected counselor
    assert level1["id"] == first["id"] and level1["escalation_level"] == 1
    assert (await ours.next("alert:new"))["escalation_level"] == 1
    assert (await staff.next("alert:updated"))["escalation_level"] == 1

    call = await asyncio.wait_for(webhook.calls.get(), 10)
    assert call["flag"]["id"] == first["id"] and call["escalation_level"] == 2
    assert call["flag"]["message_id"] == sent["id"]
    assert (await staff.next("alert:updated"))["escalation_level"] == 2
    await asyncio.sleep(0)  # let the webhook task record its result
    for _ in range(100):
        flag = await server.stores.flags.get(ObjectId(first["id"]))
        if flag is not None and flag.webhook:
            break
        await asyncio.sleep(0.05)
    assert flag is not None and flag.webhook["status"] == "delivered"
    assert await escalation.sweep(server.ctx) == []  # nothing left to escalate
    assert webhook.calls.empty()
    audit = await server.stores.audit.count({"action": "flag.escalate", "target_id": first["id"]})
    assert audit == 2
    for probe in world.probes:
        await probe.close()


async def test_an_acknowledged_flag_does_not_escalate(server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(escalate_after_seconds=0.3)
    world = World(server=server, password_hash=password_hash)
    room, alice, counselor, _ = await crisis_world(world)
    ours = await world.connect(counselor)
    await ours.ok("oncall:set", {"on": True})
    patient = await world.connect(alice, join=room)
    await patient.send(room.id, CRISIS)
    alert = await ours.next("alert:new")
    await ours.ok("flag:ack", {"flag_id": alert["id"]})
    ours.drain("alert:updated")
    await ours.nothing("alert:new", within=1.0)
    flag = await server.stores.flags.get(ObjectId(alert["id"]))
    assert flag is not None and flag.escalation_level == 0
    for probe in world.probes:
        await probe.close()


async def test_escalation_survives_a_restart_and_two_processes_escalate_once(
    server_factory,
    password_hash,
    webhook: WebhookReceiver,  # type: ignore[no-untyped-def]
) -> None:
    """The flag is raised on one server; it stops; two servers on the same database then
    race to escalate it: the webhook is called exactly once."""
    first = await server_factory(escalate_after_seconds=60)
    world = World(server=first, password_hash=password_hash)
    room, alice, _, _ = await crisis_world(world)
    patient = await world.connect(alice, join=room)
    sent = (await patient.send(room.id, CRISIS))["message"]
    await patient.close()
    await first.stop()

    # Later: the flag is now old enough for both levels on the restarted servers.
    flags = first.ctx.stores.db["flags"]
    survivors = [
        await server_factory(escalate_after_seconds=0.2, alert_webhook_url=webhook.url),
        await server_factory(escalate_after_seconds=0.2, alert_webhook_url=webhook.url),
    ]
    call = await asyncio.wait_for(webhook.calls.get(), 10)
    assert call["flag"]["message_id"] == sent["id"]
    results = await asyncio.gather(*(escalation.sweep(s.ctx) for s in survivors))
    assert results == [[], []]
    await asyncio.sleep(0.5)  # a duplicate call would have arrived by now
    assert webhook.calls.empty()
    doc = await survivors[0].stores.db["flags"].find_one({"message_id": ObjectId(sent["id"])})
    assert doc is not None and doc["escalation_level"] == 2
    assert await survivors[0].stores.audit.count({"action": "flag.escalate"}) == 2
    del flags


async def test_the_webhook_is_retried_when_the_gateway_fails(
    server_factory,
    password_hash,
    webhook: WebhookReceiver,  # type: ignore[no-untyped-def]
) -> None:
    webhook.fail_first = 1
    server = await server_factory(escalate_after_seconds=0.2, alert_webhook_url=webhook.url)
    world = World(server=server, password_hash=password_hash)
    room, alice, _, _ = await crisis_world(world)
    patient = await world.connect(alice, join=room)
    sent = (await patient.send(room.id, CRISIS))["message"]
    call = await asyncio.wait_for(webhook.calls.get(), 15)
    assert call["flag"]["message_id"] == sent["id"]
    for _ in range(100):
        doc = await server.stores.db["flags"].find_one({"message_id": ObjectId(sent["id"])})
        if doc and doc.get("webhook"):
            break
        await asyncio.sleep(0.05)
    assert doc["webhook"]["status"] == "delivered" and doc["webhook"]["attempts"] == 2
    for probe in world.probes:
        await probe.close()
