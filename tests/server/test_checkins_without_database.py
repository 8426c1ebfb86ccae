"""A crisis in a check-in note reaches a person when the database stalls or is down.

The note is read like a chat message, and a crisis in it travels the same path: the
counselor is alerted from memory, the patient gets the numbers and the truth, and the flag
is stored once, marked alerted, when the database is back; resubmitting does not alert
again. Stalls are SIGSTOP (connections stay open and nothing answers: the worst case).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId

from server.actions import escalation
from server.clock import utcnow
from server.store.devdb import LocalDatabase
from tests.conftest import World
from tests.server.test_crisis_without_database import pause, resume

CRISIS = "I want to kill myself tonight"


async def note_flags(world: World, patient_id: ObjectId) -> list[dict[str, Any]]:
    return [doc async for doc in world.stores.db["flags"].find({"author_id": patient_id, "reason": "checkin_note"})]


async def test_a_crisis_note_while_the_database_stalls_alerts_the_counselor_once_and_is_stored_when_it_is_back(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(
        mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False, escalate_after_seconds=60
    )
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    patient = await world.connect(alice)
    checkin = {"mood": 2, "craving": 3, "note": CRISIS}

    pause(own_database)
    try:
        refused = await patient.call("checkin:submit", checkin)
        alert = await on_call.next("alert:new")
        resources = await patient.next("crisis:resources")
    finally:
        resume(own_database)

    assert refused["ok"] is False and refused["error"]["code"] == "unavailable" and refused["error"]["alerted"]
    assert "counselor has been alerted" in refused["error"]["message"]
    assert alert["text"] == CRISIS and alert["reason"] == "checkin_note" and alert["cohort_id"] == str(room.cohort_id)
    assert "988" in " ".join(r["contact"] for r in resources["resources"])
    await world.server.ctx.crisis_outbox.flush()
    [stored] = await note_flags(world, alice.id)
    assert str(stored["_id"]) == alert["id"] and stored["alerted"] is True

    saved = await patient.ok("checkin:submit", checkin)  # the patient tries again: saved, not alerted again
    assert saved["checkin"]["note"] == CRISIS
    await on_call.nothing("alert:new")
    assert len(await note_flags(world, alice.id)) == 1
    [day] = [doc async for doc in world.stores.db["checkins"].find({"patient_id": alice.id})]
    assert day["flag_ids"] == [stored["_id"]]
    escalated = await escalation.sweep(world.server.ctx, now=utcnow() + timedelta(seconds=61))
    assert [str(f.id) for f in escalated] == [alert["id"]]


async def test_with_the_database_down_and_nobody_on_call_the_patient_is_not_told_a_counselor_was_alerted(
    own_database: LocalDatabase,
    world_factory,  # type: ignore[no-untyped-def]
) -> None:
    world: World = await world_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500, semantic_detection=False)
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    await world.connect(counselor)  # connected, not on call
    desk = await world.connect(staff)
    patient = await world.connect(alice)

    own_database.stop()
    refused = await patient.call("checkin:submit", {"mood": 2, "craving": 3, "note": CRISIS})
    staff_alert = await desk.next("alert:new")
    resources = await patient.next("crisis:resources")
    await own_database.start()

    error = refused["error"]
    assert error["code"] == "unavailable" and error["alerted"] is True and error["counselor_on_call"] is False
    assert "counselor has been alerted" not in error["message"]
    assert "no counselor is on call" in error["message"].lower() and "988" in error["message"]
    assert staff_alert["text"] == CRISIS and staff_alert["cohort_id"] == str(room.cohort_id)
    assert resources["resources"]
