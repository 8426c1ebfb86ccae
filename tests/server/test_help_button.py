"""The help button reaches a person: a patient asks a counselor to reach out, now."""

from __future__ import annotations

from datetime import timedelta

from server.actions import escalation
from server.clock import utcnow
from tests.conftest import Cohort, World


async def test_a_help_request_reaches_the_on_call_counselor_and_the_patient_gets_the_numbers(
    world: World, cohort: Cohort
) -> None:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    patient = await world.connect(cohort.alice, join=cohort.room)
    peer = await world.connect(cohort.bob, join=cohort.room)

    ack = await patient.ok("help:request", {"room_id": str(cohort.room.id), "note": "can someone call me"})

    assert ack["counselor_on_call"] is True and ack["status"] == "open"
    alert = await counselor.next("alert:new")
    assert alert["id"] == ack["flag_id"] and alert["source"] == "help_button" and alert["severity"] == "high"
    assert alert["text"] == "can someone call me" and alert["author"]["id"] == str(cohort.alice.id)
    assert (await patient.next("crisis:resources"))["resources"]
    await peer.nothing("message:new")  # never in the room
    await peer.nothing("alert:new")


async def test_a_repeat_press_updates_the_open_request_instead_of_making_another(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    patient = await world.connect(cohort.alice, join=cohort.room)

    first = await patient.ok("help:request", {"room_id": str(cohort.room.id)})
    second = await patient.ok("help:request", {"room_id": str(cohort.room.id), "note": "please"})

    assert second["flag_id"] == first["flag_id"]
    assert (await counselor.next("alert:new"))["id"] == first["flag_id"]
    updated = await counselor.next("alert:updated")
    assert updated["id"] == first["flag_id"] and updated["help_presses"] == 2 and updated["text"] == "please"
    await counselor.nothing("alert:new")


async def test_the_patient_sees_that_a_counselor_acknowledged_the_request(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    patient = await world.connect(cohort.alice, join=cohort.room)
    ack = await patient.ok("help:request", {})  # from outside a room: the patient's cohort
    await counselor.next("alert:new")

    await counselor.ok("flag:ack", {"flag_id": ack["flag_id"]})

    assert await patient.next("help:updated") == {"flag_id": ack["flag_id"], "status": "acknowledged", "by": "Casey"}


async def test_with_nobody_on_call_the_patient_is_told_and_the_request_escalates(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(escalate_after_seconds=60, semantic_detection=False)
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    off_call = await world.connect(counselor)
    desk = await world.connect(staff)
    patient = await world.connect(alice, join=room)

    ack = await patient.ok("help:request", {"room_id": str(room.id)})

    assert ack["counselor_on_call"] is False
    assert (await desk.next("alert:new"))["id"] == ack["flag_id"]  # staff always hear
    escalated = await escalation.sweep(world.server.ctx, now=utcnow() + timedelta(seconds=61))
    assert [str(f.id) for f in escalated] == [ack["flag_id"]]
    assert (await off_call.next("alert:new"))["escalation_level"] == 1


async def test_only_patients_press_it_and_presses_are_rate_limited(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor)
    refused = await counselor.call("help:request", {})
    assert refused["error"]["code"] == "forbidden"
    patient = await world.connect(cohort.alice)
    replies = [await patient.call("help:request", {}) for _ in range(7)]
    assert [r["ok"] for r in replies][:5] == [True] * 5 and replies[-1]["error"]["code"] == "rate_limited"
    assert len({r["flag_id"] for r in replies if r["ok"]}) == 1


async def test_after_moving_to_another_cohort_a_press_reaches_the_new_cohorts_counselors(
    world: World, cohort: Cohort
) -> None:
    """A request left open in her old cohort is not 'pressed again': the counselors who are
    hers now must hear of her."""
    patient = await world.connect(cohort.alice, join=cohort.room)
    old = await patient.ok("help:request", {"room_id": str(cohort.room.id)})
    new_cohort = await world.cohort("Morning IOP")
    new_room = await world.room(new_cohort)
    new_counselor = await world.user("counselor", "New counselor")
    await world.enrol(new_cohort, new_counselor)
    await world.enrol(new_cohort, cohort.alice)
    await world.stores.cohorts.set_membership(cohort.id, "member_ids", cohort.alice.id, False)
    theirs = await world.connect(new_counselor)
    await theirs.ok("oncall:set", {"on": True})

    moved = await world.connect(cohort.alice, join=new_room)
    again = await moved.ok("help:request", {"room_id": str(new_room.id)})

    assert again["flag_id"] != old["flag_id"]
    alert = await theirs.next("alert:new")
    assert alert["id"] == again["flag_id"] and alert["cohort_id"] == str(new_cohort)
