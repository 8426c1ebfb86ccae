"""The help button reaches a person when the database stalls, is down, or a server stops.

"Ask a counselor to reach out to me now" is pressed by someone who may be in danger. It
must not depend on the database any more than a crisis message does: the counselor is
alerted from memory, the patient gets the numbers and a plain answer while the database
still does not answer, and the request is stored (once, marked alerted, escalated if
nobody acknowledges it) when the database is back. Stalls are SIGSTOP (connections stay
open and nothing answers: the worst case); `db_timeout_ms` is long, so an answer that
waited for the database would never reach the patient within the probe's wait.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from server.actions import escalation
from server.clock import utcnow
from server.store.devdb import LocalDatabase
from tests.conftest import Probe, World
from tests.server.test_crisis_without_database import pause, resume

LONG_DB_TIMEOUT_MS = 30_000


async def help_flags(world: World, patient_id: ObjectId) -> list[dict[str, Any]]:
    return [doc async for doc in world.stores.db["flags"].find({"author_id": patient_id, "source": "help_button"})]


async def press(patient: Probe, room_id: ObjectId | None = None, note: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    if room_id is not None:
        payload["room_id"] = str(room_id)
    if note is not None:
        payload["note"] = note
    return await patient.call("help:request", payload)


async def patient_and_counselor_on_call(world: World) -> tuple[Any, Any, Probe, Probe]:
    """(room, alice, her cohort's counselor on call, alice in the room)."""
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    return room, alice, on_call, await world.connect(alice, join=room)


async def test_a_help_request_while_the_database_stalls_reaches_the_counselor_and_the_patient_hears_so(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(
        mongodb_uri=own_database.uri, db_timeout_ms=LONG_DB_TIMEOUT_MS, semantic_detection=False
    )
    room, alice, on_call, patient = await patient_and_counselor_on_call(world)

    pause(own_database)
    try:
        ack = await press(patient, room.id, "please call me")
        alert = await on_call.next("alert:new")
        resources = await patient.next("crisis:resources")
    finally:
        resume(own_database)

    assert ack["ok"] is True and ack["counselor_on_call"] is True and ack["status"] == "open"
    assert alert["id"] == ack["flag_id"] and alert["source"] == "help_button" and alert["severity"] == "high"
    assert alert["text"] == "please call me" and alert["author"]["id"] == str(alice.id)
    assert "988" in " ".join(r["contact"] for r in resources["resources"])

    await world.server.ctx.crisis_outbox.flush()  # the database is back: the request is stored
    [stored] = await help_flags(world, alice.id)
    assert str(stored["_id"]) == ack["flag_id"] and stored["alerted"] is True and stored["help_presses"] == 1
    # ...and on the audit record, like a request stored at once
    assert await world.stores.audit.count({"action": "help.request", "target_id": ack["flag_id"]}) == 1

    again = await press(patient, room.id)  # a press after the database is back updates it
    assert again["ok"] is True and again["flag_id"] == ack["flag_id"]
    assert (await on_call.next("alert:updated"))["help_presses"] == 2
    await on_call.nothing("alert:new")
    assert len(await help_flags(world, alice.id)) == 1


async def test_a_second_press_while_the_database_is_out_updates_the_request_held_in_memory(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(
        mongodb_uri=own_database.uri, db_timeout_ms=LONG_DB_TIMEOUT_MS, semantic_detection=False
    )
    room, alice, on_call, patient = await patient_and_counselor_on_call(world)

    pause(own_database)
    try:
        first = await press(patient, room.id)
        second = await press(patient, room.id, "still here, please")
        alert = await on_call.next("alert:new")
        updated = await on_call.next("alert:updated")
    finally:
        resume(own_database)

    assert first["ok"] is True and second["ok"] is True and second["flag_id"] == first["flag_id"] == alert["id"]
    assert updated["id"] == alert["id"] and updated["help_presses"] == 2 and updated["text"] == "still here, please"
    await on_call.nothing("alert:new")
    await world.server.ctx.crisis_outbox.flush()
    [stored] = await help_flags(world, alice.id)
    assert str(stored["_id"]) == first["flag_id"] and stored["help_presses"] == 2 and stored["alerted"] is True


async def test_with_the_database_down_and_nobody_on_call_the_patient_is_told_and_the_request_escalates_later(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(
        mongodb_uri=own_database.uri,
        db_timeout_ms=LONG_DB_TIMEOUT_MS,
        semantic_detection=False,
        escalate_after_seconds=60,
    )
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    off_call = await world.connect(counselor)
    desk = await world.connect(staff)
    patient = await world.connect(alice)  # from the crisis panel, outside any room

    own_database.stop()
    ack = await press(patient)
    staff_alert = await desk.next("alert:new")
    resources = await patient.next("crisis:resources")
    await own_database.start()

    assert ack["ok"] is True and ack["counselor_on_call"] is False  # the patient is told plainly
    assert staff_alert["id"] == ack["flag_id"] and staff_alert["cohort_id"] == str(room.cohort_id)
    assert resources["resources"]
    await world.server.ctx.crisis_outbox.flush()
    [stored] = await help_flags(world, alice.id)
    assert stored["alerted"] is True and stored["status"] == "open"
    escalated = await escalation.sweep(world.server.ctx, now=utcnow() + timedelta(seconds=61))
    assert [str(f.id) for f in escalated] == [ack["flag_id"]]
    assert (await off_call.next("alert:new"))["escalation_level"] == 1


async def test_two_presses_at_once_from_two_tabs_make_one_request(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    tab_one = await world.connect(alice, join=room)
    tab_two = await world.connect(alice, join=room)

    one, two = await asyncio.gather(press(tab_one, room.id), press(tab_two, room.id))

    assert one["ok"] is True and two["ok"] is True and one["flag_id"] == two["flag_id"]
    assert (await on_call.next("alert:new"))["id"] == one["flag_id"]
    assert (await on_call.next("alert:updated"))["help_presses"] == 2
    await on_call.nothing("alert:new")
    assert len(await help_flags(world, alice.id)) == 1


async def test_presses_from_two_tabs_at_once_share_one_rate_limit_and_one_request(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    tabs = [await world.connect(alice, join=room), await world.connect(alice, join=room)]

    replies = await asyncio.gather(*(press(tabs[i % 2], room.id) for i in range(8)))

    accepted = [r for r in replies if r["ok"]]
    assert len(accepted) == 5  # the burst, whichever tab pressed
    assert all(r["error"]["code"] == "rate_limited" for r in replies if not r["ok"])
    assert len({r["flag_id"] for r in accepted}) == 1
    assert (await on_call.next("alert:new"))["id"] == accepted[0]["flag_id"]
    await on_call.nothing("alert:new")
    assert len(await help_flags(world, alice.id)) == 1


async def test_two_presses_at_once_on_two_server_processes_store_one_request(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
) -> None:
    one = World(server=await server_factory(semantic_detection=False), password_hash=password_hash)
    two = World(server=await server_factory(semantic_detection=False), password_hash=password_hash)
    room, (alice,) = await one.scene("patient")
    phone, laptop = await one.connect(alice), await two.connect(alice)

    for _ in range(3):  # a new request each round: the one before is resolved in between
        first, second = await asyncio.gather(press(phone), press(laptop))

        assert first["ok"] is True and second["ok"] is True and first["flag_id"] == second["flag_id"]
        await one.stores.flags.transition(ObjectId(first["flag_id"]), {}, {"status": "resolved"})
    # (not `help_presses`: FerretDB's updates of one document from two connections are
    # not atomic, so the second press's $inc can lose to the first's `alerted` mark)
    assert len(await help_flags(one, alice.id)) == 3
    del room


async def test_a_server_stopping_while_the_database_is_out_names_each_request_it_could_not_store(
    own_database: LocalDatabase,
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await server_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False)
    world = World(server=server, password_hash=password_hash)
    room, alice, on_call, patient = await patient_and_counselor_on_call(world)
    own_database.stop()
    ack = await press(patient, room.id)
    assert (await on_call.next("alert:new"))["id"] == ack["flag_id"]

    with caplog.at_level(logging.ERROR):
        await server.stop()

    lost = [r for r in caplog.records if r.levelno >= logging.ERROR and ack["flag_id"] in r.getMessage()]
    assert lost, "a help request the counselor was alerted to vanished without a word in the log"


async def test_a_server_stopping_after_the_database_is_back_stores_the_held_request_first(
    own_database: LocalDatabase,
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
) -> None:
    server = await server_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False)
    world = World(server=server, password_hash=password_hash)
    room, alice, on_call, patient = await patient_and_counselor_on_call(world)
    own_database.stop()
    ack = await press(patient, room.id)
    await on_call.next("alert:new")
    for probe in world.probes:
        await probe.close()
    await own_database.start()

    await server.stop()  # the outbox may still be waiting out its back-off

    restarted = World(server=await server_factory(mongodb_uri=own_database.uri), password_hash=password_hash)
    [stored] = await help_flags(restarted, alice.id)
    assert str(stored["_id"]) == ack["flag_id"] and stored["alerted"] is True
