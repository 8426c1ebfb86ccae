"""The silence signal: a previously active patient who goes quiet is flagged for the
cohort's counselors, once, without an alert; driven by an injected clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from server.actions import silence
from server.clock import local_day
from tests.conftest import Cohort, World

NOW = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)


async def active_on(world: World, user_id, *days_ago: int) -> None:  # type: ignore[no-untyped-def]
    for n in days_ago:
        world.stores.activity.note(user_id, (NOW - timedelta(days=n)).date())
        await world.stores.activity.flush()


async def test_a_previously_active_patient_who_goes_quiet_is_flagged_once(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    await active_on(world, cohort.alice.id, 4, 5, 7, 9, 12)  # 5 active days, then silent for 3

    raised = await silence.sweep(world.server.ctx, now=NOW)

    assert [f.author_id for f in raised] == [cohort.alice.id]
    flag = raised[0]
    assert flag.severity == "low" and flag.source == "silence" and flag.cohort_id == cohort.id
    _, queue = await world.http("GET", "/api/flags", cohort.counselor)
    assert [f["id"] for f in queue["flags"]] == [str(flag.id)]
    await counselor.nothing("alert:new")  # queue only: no alert, no sound
    assert await silence.sweep(world.server.ctx, now=NOW + timedelta(days=1)) == []  # one flag per spell


async def test_silence_leaves_alone_the_recently_active_and_the_never_active(world: World, cohort: Cohort) -> None:
    await active_on(world, cohort.alice.id, 1, 4, 5, 7, 9)  # spoke yesterday
    await active_on(world, cohort.bob.id, 6)  # one day in two weeks: rarely active
    assert await silence.sweep(world.server.ctx, now=NOW) == []


async def test_a_message_counts_as_activity(world: World, cohort: Cohort) -> None:
    author = await world.connect(cohort.alice, join=cohort.room)
    await author.send(cohort.room.id, "checking in")
    await world.stores.activity.flush()
    today = datetime.now(UTC).date()
    assert await world.stores.activity.active_days(cohort.alice.id, today, today) == {today}


async def test_silence_days_zero_turns_the_signal_off(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(silence_days=0, semantic_detection=False)
    room, (alice,) = await world.scene("patient")
    await active_on(world, alice.id, 4, 5, 7, 9, 12)
    assert await silence.sweep(world.server.ctx, now=NOW) == []
    del room


async def test_silence_counts_the_days_of_the_cohorts_time_zone(world: World, cohort: Cohort) -> None:
    """At NOW it is already the 21st on Kiritimati (UTC+14): a patient last active there on
    the 18th has been silent for three local days (19th, 20th, 21st), though in UTC
    days she would have been active 'two days ago'."""
    await world.stores.cohorts.update(cohort.id, {"timezone": "Pacific/Kiritimati"})
    for day in (18, 17, 15, 13, 11):
        world.stores.activity.note(cohort.alice.id, date(2026, 12, day))
    await world.stores.activity.flush()

    raised = await silence.sweep(world.server.ctx, now=NOW)

    assert [f.author_id for f in raised] == [cohort.alice.id]
    assert raised[0].reason == "silent since 2026-12-18 after 5 active days"


async def test_a_message_counts_on_the_day_of_the_cohorts_time_zone(world: World, cohort: Cohort) -> None:
    # A zone whose date differs from UTC's right now: 14 hours ahead, or 11 behind.
    zone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"
    status, _ = await world.http("PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"timezone": zone})
    assert status == 200
    author = await world.connect(cohort.alice, join=cohort.room)  # the connect reads the new snapshot

    await author.send(cohort.room.id, "evening check")
    await world.stores.activity.flush()

    local_today = local_day(datetime.now(UTC), zone)
    assert local_today != datetime.now(UTC).date()
    assert await world.stores.activity.active_days(cohort.alice.id, local_today, local_today) == {local_today}


async def test_a_counselor_going_on_call_is_not_alerted_to_silence_only_to_real_alerts(
    world: World, cohort: Cohort
) -> None:
    """Open flags arrive as alert:new when a counselor goes on call; a silence flag is for
    the review queue only (no alert, no sound), so it is not among them."""
    await active_on(world, cohort.alice.id, 4, 5, 7, 9, 12)
    [quiet] = await silence.sweep(world.server.ctx, now=NOW)
    bob = await world.connect(cohort.bob, join=cohort.room)
    crisis = await bob.send(cohort.room.id, "I want to kill myself tonight")

    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})

    assert (await counselor.next("alert:new"))["message_id"] == crisis["message"]["id"]
    await counselor.nothing("alert:new")
    _, queue = await world.http("GET", "/api/flags", cohort.counselor)
    assert str(quiet.id) in [f["id"] for f in queue["flags"]]  # still in the queue
