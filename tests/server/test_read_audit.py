"""Every read of flag text, and staff reading a room's history, is on the audit record."""

from __future__ import annotations

from tests.conftest import Cohort, World
from tests.server.test_review_api import CRISIS, flagged


async def test_listing_flags_writes_one_audit_entry_per_page_naming_the_flags(world: World, cohort: Cohort) -> None:
    ids = await flagged(world, cohort, [CRISIS, CRISIS.replace("tonight", "today")])

    status, body = await world.http("GET", "/api/flags?limit=1", cohort.staff)
    assert status == 200
    await world.http("GET", f"/api/flags?limit=1&cursor={body['next_cursor']}", cohort.staff)

    _, audit = await world.http("GET", "/api/audit?action=flag.list", cohort.staff)
    entries = audit["entries"]
    assert len(entries) == 2 and all(e["actor"]["id"] == str(cohort.staff.id) for e in entries)
    assert sorted(i for e in entries for i in e["details"]["flag_ids"]) == sorted(ids)


async def test_staff_reading_a_rooms_history_is_audited_and_a_counselor_reading_their_own_is_not(
    world: World, cohort: Cohort
) -> None:
    author = await world.connect(cohort.alice, join=cohort.room)
    await author.send(cohort.room.id, "morning all")

    status, _ = await world.http("GET", f"/api/rooms/{cohort.room.id}/messages", cohort.staff)
    assert status == 200
    staff = await world.connect(cohort.staff, join=cohort.room)  # joining returns the backlog too
    await world.http("GET", f"/api/rooms/{cohort.room.id}/messages", cohort.counselor)

    _, audit = await world.http("GET", "/api/audit?action=room.history_read", cohort.staff)
    entries = audit["entries"]
    assert len(entries) == 2 and {e["actor"]["id"] for e in entries} == {str(cohort.staff.id)}
    assert all(e["target"]["id"] == str(cohort.room.id) for e in entries)
    del staff
