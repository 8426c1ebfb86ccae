"""The crisis path does not depend on the database, and delivery completes exactly once.

The database is paused (SIGSTOP: a stall, the worst case: connections stay open and
nothing answers) during a crisis send. The counselor is alerted from memory, the author
gets the numbers and the truth, and the flag is stored once the database is back. A
message stored but never broadcast (a timeout or a crash in between) is completed by
the author's retry or by the delivery sweep.
"""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from typing import Any

from bson import ObjectId

from server.actions import escalation, redelivery
from server.clock import utcnow
from server.store.devdb import LocalDatabase
from tests.conftest import World, new_client_id

CRISIS = "I want to kill myself tonight"


def pause(db: LocalDatabase) -> None:
    assert db.pid() is not None
    os.kill(db.pid(), signal.SIGSTOP)


def resume(db: LocalDatabase) -> None:
    assert db.pid() is not None
    os.kill(db.pid(), signal.SIGCONT)


async def scene(world: World) -> tuple[Any, Any, Any, Any]:
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)
    return room, on_call, author, peer


async def test_a_crisis_send_while_the_database_stalls_alerts_the_counselor_and_tells_the_author_the_truth(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False)
    room, on_call, author, peer = await scene(world)
    client_id = new_client_id()

    pause(own_database)
    try:
        reply = await author.send(room.id, CRISIS, client_id)
        alert = await on_call.next("alert:new")
        resources = await author.next("crisis:resources")
    finally:
        resume(own_database)

    assert reply["ok"] is False and reply["error"]["code"] == "unavailable" and reply["error"]["alerted"] is True
    assert "counselor has been alerted" in reply["error"]["message"] and reply["error"]["counselor_on_call"] is True
    assert (
        alert["text"] == CRISIS and alert["severity"] == "high" and alert["message_id"] == reply["error"]["message_id"]
    )
    assert resources["message_id"] == alert["message_id"] and resources["resources"]
    await peer.nothing("message:new")

    await world.server.ctx.crisis_outbox.flush()  # the database is back: the held flag is stored
    stored = await world.stores.flags.get(ObjectId(alert["id"]))
    assert stored is not None and stored.alerted and stored.text == CRISIS

    retried = await author.send(room.id, CRISIS, client_id)  # the client's retry completes the send
    assert retried["ok"] is True and retried["message"]["id"] == alert["message_id"]
    assert retried["message"]["status"] == "held"
    await on_call.nothing("alert:new")  # the counselor already has it: not alerted twice
    await peer.nothing("message:new")  # held from peers, as always


async def test_a_flag_stored_but_never_alerted_is_announced_as_new_by_the_sweep(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, on_call, author, _ = await scene(world)
    ctx = world.server.ctx
    doc = {"_id": ObjectId(), "author_id": author.user.id, "author_name": "Alice", "author_role": "patient"}
    doc.update(client_id=new_client_id(), text=CRISIS, created_at=utcnow() - timedelta(minutes=1))
    from moderation import scan
    from server.actions.flags import store_detector_flag

    flag, _ = await store_detector_flag(ctx, doc, room, scan(CRISIS))  # the process died right after this
    assert not flag.alerted

    messages, flags = await redelivery.sweep(ctx)

    assert (messages, flags) == (0, 1)
    alert = await on_call.next("alert:new")
    assert alert["id"] == str(flag.id)
    assert await redelivery.sweep(ctx) == (0, 0)  # once


async def test_an_unalerted_flag_that_escalates_arrives_as_new_for_everyone(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False, escalate_after_seconds=60)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    off_call = await world.connect(counselor)  # connected but not on call: not routed, only escalated to
    ctx = world.server.ctx
    doc = {"_id": ObjectId(), "author_id": alice.id, "author_name": "Alice", "author_role": "patient"}
    doc.update(client_id=new_client_id(), text=CRISIS, created_at=utcnow())
    from moderation import scan
    from server.actions.flags import store_detector_flag

    flag, _ = await store_detector_flag(ctx, doc, room, scan(CRISIS))

    escalated = await escalation.sweep(ctx, now=utcnow() + timedelta(seconds=61))

    assert [f.id for f in escalated] == [flag.id]
    alert = await off_call.next("alert:new")
    assert alert["id"] == str(flag.id) and alert["escalation_level"] == 1
    await off_call.nothing("alert:updated")


async def stored_but_undelivered(world: World, room: Any, author_id: ObjectId, text: str, client_id: str) -> Any:
    """What the database holds when a process died between the insert and the broadcast."""
    message, created = await world.stores.messages.insert(
        {
            "room_id": room.id,
            "cohort_id": room.cohort_id,
            "author_id": author_id,
            "author_name": "Alice",
            "author_role": "patient",
            "text": text,
            "client_id": client_id,
            "created_at": utcnow() - timedelta(minutes=1),
            "status": "visible",
            "_id": ObjectId(),
        },
        track_delivery=True,
    )
    assert created and await world.stores.messages.is_undelivered(message.id)
    return message


async def test_a_retry_that_finds_its_message_undelivered_completes_the_broadcast(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, _, author, peer = await scene(world)
    client_id = new_client_id()
    message = await stored_but_undelivered(world, room, author.user.id, "see you thursday", client_id)

    retried = await author.send(room.id, "see you thursday", client_id)

    assert retried["ok"] is True and retried["message"]["id"] == str(message.id)
    assert (await peer.next("message:new"))["id"] == str(message.id)
    await world.stores.messages.flush_delivered()
    assert not await world.stores.messages.is_undelivered(message.id)
    again = await author.send(room.id, "see you thursday", client_id)
    assert again["message"]["id"] == str(message.id)
    await peer.nothing("message:new")  # exactly once


async def test_the_sweep_delivers_a_message_a_crash_left_undelivered(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, _, author, peer = await scene(world)
    message = await stored_but_undelivered(world, room, author.user.id, "anyone around tonight?", new_client_id())

    assert await redelivery.sweep(world.server.ctx) == (1, 0)

    assert (await peer.next("message:new"))["id"] == str(message.id)
    await world.stores.messages.flush_delivered()
    assert await redelivery.sweep(world.server.ctx) == (0, 0)


async def test_a_plain_send_while_the_database_stalls_is_unavailable_and_never_half_done(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False)
    room, on_call, author, peer = await scene(world)
    client_id = new_client_id()

    pause(own_database)
    try:
        reply = await author.send(room.id, "running late, save me a seat", client_id)
    finally:
        resume(own_database)

    assert reply["ok"] is False and reply["error"]["code"] == "unavailable" and "alerted" not in reply["error"]
    retried = await author.send(room.id, "running late, save me a seat", client_id)
    assert retried["ok"] is True
    assert (await peer.next("message:new"))["id"] == retried["message"]["id"]
    await peer.nothing("message:new")
    await on_call.nothing("alert:new")


async def test_a_muted_patients_crisis_is_not_posted_but_reaches_the_counselor(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    moderator = await world.connect(counselor, join=room)
    await moderator.ok("oncall:set", {"on": True})
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)
    await moderator.ok("mod:mute", {"room_id": str(room.id), "user_id": str(alice.id), "minutes": 5})

    reply = await author.send(room.id, CRISIS)

    assert reply["ok"] is False and reply["error"]["code"] == "muted" and reply["error"]["alerted"] is True
    alert = await moderator.next("alert:new")
    assert alert["text"] == CRISIS and alert["message_id"] == reply["error"]["message_id"]
    assert (await author.next("crisis:resources"))["message_id"] == alert["message_id"]
    await peer.nothing("message:new")
    ordinary = await author.send(room.id, "fine, whatever")
    assert ordinary["error"]["code"] == "muted" and "alerted" not in ordinary["error"]


async def test_a_refused_crisis_with_nobody_on_call_is_told_so_not_that_a_counselor_has_it(world_factory) -> None:  # type: ignore[no-untyped-def]
    """Muted, and no counselor on call: the flag is raised all the same (the review queue,
    escalation), but "a counselor has been alerted" would be false. The patient reads that
    nobody is on call right now, and the numbers."""
    world: World = await world_factory(semantic_detection=False)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    moderator = await world.connect(counselor, join=room)
    await moderator.ok("mod:mute", {"room_id": str(room.id), "user_id": str(alice.id), "minutes": 5})
    author = await world.connect(alice, join=room)  # the counselor is connected, but not on call

    reply = await author.send(room.id, CRISIS)

    error = reply["error"]
    assert error["code"] == "muted" and error["alerted"] is True and error["counselor_on_call"] is False
    assert "No counselor is on call right now" in error["message"] and "has been alerted" not in error["message"]
    assert "988" in error["message"]
    assert (await author.next("crisis:resources"))["message_id"] == error["message_id"]
    _, queue = await world.http("GET", "/api/flags", counselor)
    assert [f["message_id"] for f in queue["flags"]] == [error["message_id"]]
