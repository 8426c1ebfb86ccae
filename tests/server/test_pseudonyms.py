"""Pseudonyms by default: a username (often a real name or an e-mail address) never
reaches another patient; patients choose their own name, unique within their cohort."""

from __future__ import annotations

import json

from bson import ObjectId

from server.models import User
from tests.conftest import Cohort, World


async def staff_creates_patient(world: World, staff: User, username: str) -> User:
    status, body = await world.http("POST", "/api/users", staff, json={"username": username, "role": "patient"})
    assert status == 201, body
    user = await world.stores.users.get(ObjectId(body["id"]))
    assert user is not None
    return user


async def test_a_patient_created_without_a_display_name_gets_a_generated_pseudonym(
    world: World, cohort: Cohort
) -> None:
    user = await staff_creates_patient(world, cohort.staff, "jane.doe@example.org")
    assert user.display_name != user.username and "@" not in user.display_name
    assert len(user.display_name.split()) == 2


async def test_a_counselor_needs_a_display_name(world: World, cohort: Cohort) -> None:
    status, body = await world.http(
        "POST", "/api/users", cohort.staff, json={"username": "c.smith", "role": "counselor"}
    )
    assert status == 400 and "display_name" in body["error"]["message"]


async def test_no_username_ever_reaches_another_patient(world: World, cohort: Cohort) -> None:
    jane = await staff_creates_patient(world, cohort.staff, "jane.doe@example.org")
    mark = await staff_creates_patient(world, cohort.staff, "mark.rivera")
    for person in (jane, mark):
        status, _ = await world.http("POST", f"/api/cohorts/{cohort.id}/members/{person.id}", cohort.staff)
        assert status == 204
    watcher = await world.connect(mark, join=cohort.room)
    author = await world.connect(jane, join=cohort.room)
    await author.ok("typing", {"room_id": str(cohort.room.id), "typing": True})
    sent = (await author.send(cohort.room.id, "hi everyone, first day here"))["message"]
    await watcher.next("message:new")
    await watcher.ok("message:report", {"message_id": sent["id"], "reason": "testing"})
    await watcher.ok("room:join", {"room_id": str(cohort.room.id)})
    _, history = await world.http("GET", f"/api/rooms/{cohort.room.id}/messages", mark)
    _, me = await world.http("GET", "/api/me", mark)
    await author.close()

    seen = json.dumps([watcher.log, history, me])
    assert jane.display_name in seen  # the test sees what it should...
    assert "jane.doe" not in seen and "example.org" not in seen  # ...and never the username


async def test_a_patient_chooses_a_pseudonym_and_peers_see_it(world: World, cohort: Cohort) -> None:
    author = await world.connect(cohort.alice, join=cohort.room)
    peer = await world.connect(cohort.bob, join=cohort.room)

    status, body = await world.http("PATCH", "/api/me", cohort.alice, json={"display_name": "Morning Lark"})

    assert status == 200 and body["user"]["display_name"] == "Morning Lark"
    await author.send(cohort.room.id, "new name, same me")
    assert (await peer.next("message:new"))["author"]["display_name"] == "Morning Lark"
    assert await world.stores.audit.count({"action": "user.rename", "target_id": str(cohort.alice.id)}) == 1


async def test_a_pseudonym_is_unique_within_the_cohort_and_never_the_username(world: World, cohort: Cohort) -> None:
    taken = cohort.bob.display_name.upper()
    status, body = await world.http("PATCH", "/api/me", cohort.alice, json={"display_name": taken})
    assert status == 409 and body["error"]["code"] == "conflict"
    status, _ = await world.http("PATCH", "/api/me", cohort.alice, json={"display_name": cohort.alice.username})
    assert status == 400
    status, _ = await world.http("PATCH", "/api/me", cohort.alice, json={"display_name": "  "})
    assert status == 400
    status, _ = await world.http("PATCH", "/api/me", cohort.alice, json={"username": "sneaky"})
    assert status == 400


async def test_renaming_is_rate_limited(world: World, cohort: Cohort) -> None:
    statuses = [
        (await world.http("PATCH", "/api/me", cohort.alice, json={"display_name": f"Quiet Heron {i}"}))[0]
        for i in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
