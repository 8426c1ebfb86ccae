"""Unacknowledged high flags escalate once per level, across restarts and processes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from bson import ObjectId

from server.actions import escalation
from server.clock import utcnow
from server.store.devdb import free_port
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
    server = await server_factory(
        escalate_after_seconds=60, alert_webhook_url=webhook.url, public_url="https://chat.clinic.example"
    )
    world = World(server=server, password_hash=password_hash)
    room, alice, counselor, cohort_id = await crisis_world(world)
    elsewhere = await world.cohort("Elsewhere")
    other_counselor = await world.user("counselor", "Other")
    await world.enrol(elsewhere, other_counselor)
    staff = await world.connect(await world.user("staff"))
    ours = await world.connect(counselor)  # connected, not on call
    theirs = await world.connect(other_counselor)
    patient = await world.connect(alice, join=room)

    await patient.send(room.id, CRISIS)
    first = await staff.next("alert:new")
    assert first["escalation_level"] == 0
    raised = utcnow()

    assert [str(f.id) for f in await escalation.sweep(server.ctx, now=raised + timedelta(seconds=61))] == [first["id"]]
    level1 = await theirs.next("alert:new")  # widened to every connected counselor
    assert level1["id"] == first["id"] and level1["escalation_level"] == 1
    assert (await ours.next("alert:new"))["escalation_level"] == 1
    assert (await staff.next("alert:updated"))["escalation_level"] == 1

    await escalation.sweep(server.ctx, now=raised + timedelta(seconds=121))
    call = webhook.calls.get_nowait()  # the page went out within the sweep
    assert call == {
        "event": "flag.escalated",
        "escalation_level": 2,
        "flag": {
            "id": first["id"],
            "severity": "high",
            "categories": first["categories"],
            "cohort_id": str(cohort_id),
            "created_at": first["created_at"],
        },
        "url": f"https://chat.clinic.example/#review/{first['id']}",
    }  # the minimum necessary: no text, no name, no cohort name
    assert (await staff.next("alert:updated"))["escalation_level"] == 2
    flag = await server.stores.flags.get(ObjectId(first["id"]))
    assert flag is not None and flag.webhook is not None and flag.webhook["status"] == "delivered"
    assert await escalation.sweep(server.ctx, now=raised + timedelta(seconds=600)) == []  # nothing left
    assert webhook.calls.empty()
    audit = await server.stores.audit.count({"action": "flag.escalate", "target_id": first["id"]})
    assert audit == 2
    for probe in world.probes:
        await probe.close()


async def test_an_acknowledged_flag_does_not_escalate(server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(escalate_after_seconds=60)
    world = World(server=server, password_hash=password_hash)
    room, alice, counselor, _ = await crisis_world(world)
    ours = await world.connect(counselor)
    await ours.ok("oncall:set", {"on": True})
    patient = await world.connect(alice, join=room)
    await patient.send(room.id, CRISIS)
    alert = await ours.next("alert:new")
    await ours.ok("flag:ack", {"flag_id": alert["id"]})

    assert await escalation.sweep(server.ctx, now=utcnow() + timedelta(seconds=600)) == []
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
    race to escalate it: each level is claimed once and the webhook called exactly once."""
    first = await server_factory(escalate_after_seconds=60)
    world = World(server=first, password_hash=password_hash)
    room, alice, _, _ = await crisis_world(world)
    patient = await world.connect(alice, join=room)
    sent = (await patient.send(room.id, CRISIS))["message"]
    await patient.close()
    await first.stop()

    survivors = [
        await server_factory(escalate_after_seconds=60, alert_webhook_url=webhook.url),
        await server_factory(escalate_after_seconds=60, alert_webhook_url=webhook.url),
    ]
    later = utcnow() + timedelta(seconds=121)
    for _ in range(2):  # each sweep takes what is due; two rounds reach level 2 wherever level 1 went
        await asyncio.gather(*(escalation.sweep(s.ctx, now=later) for s in survivors))
    await asyncio.gather(*(escalation.sweep(s.ctx, now=later + timedelta(seconds=60)) for s in survivors))

    assert webhook.calls.qsize() == 1
    doc = await survivors[0].stores.db["flags"].find_one({"message_id": ObjectId(sent["id"])})
    assert doc is not None and doc["escalation_level"] == 2 and doc["webhook"]["status"] == "delivered"
    assert await survivors[0].stores.audit.count({"action": "flag.escalate"}) == 2


async def test_a_failed_page_is_retried_by_the_escalator_even_after_a_restart(
    server_factory,
    password_hash,
    webhook: WebhookReceiver,  # type: ignore[no-untyped-def]
) -> None:
    webhook.fail_first = 1
    server = await server_factory(escalate_after_seconds=60, alert_webhook_url=webhook.url)
    world = World(server=server, password_hash=password_hash)
    room, alice, _, _ = await crisis_world(world)
    patient = await world.connect(alice, join=room)
    sent = (await patient.send(room.id, CRISIS))["message"]
    await patient.close()
    later = utcnow() + timedelta(seconds=121)
    await escalation.sweep(server.ctx, now=later)
    await escalation.sweep(server.ctx, now=later)
    doc = await server.stores.db["flags"].find_one({"message_id": ObjectId(sent["id"])})
    assert doc["webhook"]["status"] == "pending" and doc["webhook"]["attempts"] == 1
    assert webhook.calls.empty()
    await server.stop()  # the page is stored, not in this process's memory

    restarted = await server_factory(escalate_after_seconds=60, alert_webhook_url=webhook.url)
    await escalation.sweep(restarted.ctx, now=later + timedelta(seconds=30))

    call = webhook.calls.get_nowait()
    assert call["flag"]["id"] == str(doc["_id"])
    doc = await restarted.stores.db["flags"].find_one({"_id": doc["_id"]})
    assert doc["webhook"]["status"] == "delivered" and doc["webhook"]["attempts"] == 2
