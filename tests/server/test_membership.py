"""Who belongs to which cohort is read on every connect from a per-process snapshot; a
change made through one process is what the next connect on any other process sees."""

from __future__ import annotations

from tests.conftest import World


async def test_a_patient_removed_on_one_process_cannot_join_through_another(server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    one = await server_factory(semantic_detection=False, shared_database=True)
    two = await server_factory(semantic_detection=False, shared_database=True)
    world_one = World(server=one, password_hash=password_hash)
    world_two = World(server=two, password_hash=password_hash)
    room, (alice, staff) = await world_one.scene("patient", "staff")
    before = await world_two.connect(alice)  # process two's snapshot now has alice in the cohort
    await before.ok("room:join", {"room_id": str(room.id)})

    status, _ = await world_one.http("DELETE", f"/api/cohorts/{room.cohort_id}/members/{alice.id}", staff)
    assert status == 204

    after = await world_two.connect(alice)
    refused = await after.call("room:join", {"room_id": str(room.id)})
    assert refused["ok"] is False and refused["error"]["code"] in ("forbidden", "not_found")


async def test_a_patient_added_on_one_process_can_join_through_another_at_once(server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    one = await server_factory(semantic_detection=False, shared_database=True)
    two = await server_factory(semantic_detection=False, shared_database=True)
    world_one = World(server=one, password_hash=password_hash)
    world_two = World(server=two, password_hash=password_hash)
    room, (bob, staff) = await world_one.scene("patient", "staff")
    carol = await world_one.user("patient")
    early = await world_two.connect(carol)  # loads process two's snapshot without carol
    assert (await early.call("room:join", {"room_id": str(room.id)}))["ok"] is False

    status, _ = await world_one.http("POST", f"/api/cohorts/{room.cohort_id}/members/{carol.id}", staff)
    assert status == 204

    late = await world_two.connect(carol)
    await late.ok("room:join", {"room_id": str(room.id)})


async def test_sixteen_cohorts_created_at_once_all_succeed(world_factory) -> None:  # type: ignore[no-untyped-def]
    """Each creation replaces the membership version document; the first ones race to
    create it (E11000 for the loser of an upsert), which answered 500 to staff."""
    import asyncio

    world: World = await world_factory(semantic_detection=False)
    staff = await world.user("staff")
    answers = await asyncio.gather(
        *(world.http("POST", "/api/cohorts", staff, json={"name": f"Group {n}"}) for n in range(16))
    )
    assert [status for status, _ in answers] == [201] * 16
