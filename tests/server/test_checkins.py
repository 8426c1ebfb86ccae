"""Daily check-ins: a patient records mood, craving and a note once a day; a crisis in the
note reaches the on-call counselor like a message would, a low mood or strong craving
reaches the cohort's counselors, and counselors read each patient's trend (audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from server.actions import checkins, retention
from server.models import Checkin
from server.wire.schemas import CheckinSubmit
from tests.conftest import Cohort, Probe, World

CRISIS = "I want to kill myself tonight"


async def check_in(probe: Probe, mood: int, craving: int, note: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"mood": mood, "craving": craving}
    if note is not None:
        payload["note"] = note
    return (await probe.ok("checkin:submit", payload))["checkin"]


async def on_call(world: World, cohort: Cohort) -> Probe:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    return counselor


async def stored(world: World, patient_id: ObjectId) -> list[dict[str, Any]]:
    return [doc async for doc in world.stores.db["checkins"].find({"patient_id": patient_id})]


async def checkin_flags(world: World, patient_id: ObjectId) -> list[dict[str, Any]]:
    return [doc async for doc in world.stores.db["flags"].find({"author_id": patient_id, "source": "checkin"})]


# ---- the crisis path ---------------------------------------------------------------------


async def test_a_crisis_note_alerts_the_on_call_counselor_and_shows_the_patient_the_numbers(
    world: World, cohort: Cohort
) -> None:
    counselor = await on_call(world, cohort)
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)

    saved = await check_in(alice, 3, 2, CRISIS)

    alert = await counselor.next("alert:new")
    assert alert["severity"] == "high" and "suicide" in alert["categories"]
    assert alert["text"] == CRISIS and alert["reason"] == "checkin_note" and alert["source"] in ("detector", "model")
    assert alert["author"]["id"] == str(cohort.alice.id) and alert["cohort_id"] == str(cohort.id)
    resources = await alice.next("crisis:resources")
    assert "988" in " ".join(r["contact"] for r in resources["resources"])
    assert saved["note"] == CRISIS and "flag_ids" not in saved  # a patient never sees detector output
    [doc] = await stored(world, cohort.alice.id)
    assert doc["flag_ids"] == [ObjectId(alert["id"])]
    # the note is never shown in any room
    await bob.nothing("message:new")
    await alice.nothing("message:new")
    assert (await bob.ok("message:history", {"room_id": str(cohort.room.id)}))["messages"] == []
    await bob.nothing("crisis:resources")
    await bob.nothing("alert:new")


async def test_resubmitting_the_same_crisis_note_does_not_alert_twice(world: World, cohort: Cohort) -> None:
    counselor = await on_call(world, cohort)
    alice = await world.connect(cohort.alice)

    await check_in(alice, 3, 2, CRISIS)
    await check_in(alice, 2, 2, CRISIS)  # only the mood changed

    first = await counselor.next("alert:new")
    await counselor.nothing("alert:new")
    [doc] = await stored(world, cohort.alice.id)
    assert doc["flag_ids"] == [ObjectId(first["id"])] and doc["mood"] == 2


# ---- the mood and craving rule -------------------------------------------------------------


@pytest.mark.parametrize(
    "mood, craving, categories",
    [(1, 2, []), (3, 8, ["relapse"]), (1, 10, ["relapse"])],
    ids=["mood-1", "craving-8", "both"],
)
async def test_a_low_mood_or_a_strong_craving_raises_a_medium_checkin_flag(
    world: World, cohort: Cohort, mood: int, craving: int, categories: list[str]
) -> None:
    counselor = await on_call(world, cohort)
    alice = await world.connect(cohort.alice)

    await check_in(alice, mood, craving, "long day")

    alert = await counselor.next("alert:new")
    assert alert["source"] == "checkin" and alert["severity"] == "medium" and alert["categories"] == categories
    assert alert["author"]["id"] == str(cohort.alice.id) and alert["cohort_id"] == str(cohort.id)
    assert alert["text"] == "long day"
    assert (f"mood {mood} of 5" in alert["reason"]) == (mood <= 1)
    assert (f"craving {craving} of 10" in alert["reason"]) == (craving >= 8)
    await alice.nothing("crisis:resources")  # a medium flag: the counselor reaches out
    [doc] = await stored(world, cohort.alice.id)
    assert doc["flag_ids"] == [ObjectId(alert["id"])]


async def test_an_ordinary_checkin_raises_no_flag(world: World, cohort: Cohort) -> None:
    counselor = await on_call(world, cohort)
    alice = await world.connect(cohort.alice)

    saved = await check_in(alice, 3, 2, "went to a meeting")

    assert (saved["mood"], saved["craving"], saved["note"]) == (3, 2, "went to a meeting")
    await counselor.nothing("alert:new")
    assert await checkin_flags(world, cohort.alice.id) == []
    [doc] = await stored(world, cohort.alice.id)
    assert doc["flag_ids"] == []


async def test_the_thresholds_come_from_configuration(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(
        checkin_flag_mood_at_most=2, checkin_flag_craving_at_least=11, semantic_detection=False
    )
    room, (alice,) = await world.scene("patient")
    patient = await world.connect(alice)

    await check_in(patient, 5, 10)  # craving flags are off (11 is out of range)
    assert await checkin_flags(world, alice.id) == []
    await check_in(patient, 2, 0)
    assert len(await checkin_flags(world, alice.id)) == 1
    del room


# ---- one a day -------------------------------------------------------------------------------


async def test_a_second_checkin_the_same_day_replaces_the_first_and_flags_once(world: World, cohort: Cohort) -> None:
    counselor = await on_call(world, cohort)
    alice = await world.connect(cohort.alice)

    await check_in(alice, 1, 9, "rough morning")
    second = await check_in(alice, 2, 9, "a bit better after lunch")

    [doc] = await stored(world, cohort.alice.id)
    assert (doc["mood"], doc["craving"], doc["note"]) == (2, 9, "a bit better after lunch")
    assert doc["_id"] == f"{cohort.alice.id}:{second['day']}" and doc["day"] == second["day"]
    assert doc["cohort_id"] == cohort.id and doc["patient_id"] == cohort.alice.id
    [flag] = await checkin_flags(world, cohort.alice.id)
    assert doc["flag_ids"] == [flag["_id"]]
    assert (await counselor.next("alert:new"))["id"] == str(flag["_id"])
    await counselor.nothing("alert:new")


# ---- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"mood": 0, "craving": 3},
        {"mood": 6, "craving": 3},
        {"mood": 3, "craving": 11},
        {"mood": 3, "craving": -1},
        {"mood": "3", "craving": 3},
        {"mood": 3, "craving": "high"},
        {"mood": True, "craving": 3},
        {"mood": 2.5, "craving": 3},
        {"craving": 3},
        {"mood": 3, "craving": 3, "note": "x" * 501},
        {"mood": 3, "craving": 3, "note": ["not", "a", "string"]},
        "mood 3",
        None,
    ],
    ids=[
        "mood-0",
        "mood-6",
        "craving-11",
        "craving-negative",
        "mood-string",
        "craving-string",
        "mood-bool",
        "mood-fraction",
        "mood-missing",
        "note-501",
        "note-list",
        "not-an-object",
        "nothing",
    ],
)
async def test_invalid_checkins_are_refused_and_nothing_is_stored(world: World, cohort: Cohort, payload: Any) -> None:
    alice = await world.connect(cohort.alice)

    refused = await alice.call("checkin:submit", payload)

    assert refused["ok"] is False and refused["error"]["code"] == "invalid"
    assert await stored(world, cohort.alice.id) == []


async def test_a_note_of_500_characters_is_accepted(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    assert len((await check_in(alice, 4, 1, "y" * 500))["note"]) == 500


@pytest.mark.parametrize("role", ["counselor", "staff"])
async def test_counselors_and_staff_cannot_submit_a_checkin(world: World, cohort: Cohort, role: str) -> None:
    person = await world.connect(cohort.counselor if role == "counselor" else cohort.staff)

    refused = await person.call("checkin:submit", {"mood": 3, "craving": 3})

    assert refused["error"]["code"] == "forbidden"
    assert [d async for d in world.stores.db["checkins"].find({})] == []


async def test_a_patient_in_no_cohort_is_told_so(world: World) -> None:
    loner = await world.connect(await world.user("patient"))
    refused = await loner.call("checkin:submit", {"mood": 3, "craving": 3})
    assert refused["error"]["code"] == "forbidden" and "988" in refused["error"]["message"]


async def test_checkins_are_rate_limited(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    replies = [await alice.call("checkin:submit", {"mood": 4, "craving": 1}) for _ in range(6)]
    assert [r["ok"] for r in replies] == [True] * 5 + [False]
    assert replies[-1]["error"]["code"] == "rate_limited" and replies[-1]["error"]["retry_after"] >= 1


# ---- the local day ------------------------------------------------------------------------------


async def test_the_local_day_follows_the_cohorts_time_zone(world: World, cohort: Cohort) -> None:
    status, body = await world.http(
        "PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"timezone": "America/Los_Angeles"}
    )
    assert status == 200 and body["timezone"] == "America/Los_Angeles"
    await world.connect(cohort.alice)
    [conn] = world.server.ctx.registry.of_user(cohort.alice.id)
    late_evening = datetime(2026, 12, 20, 7, 30, tzinfo=UTC)  # 23:30 on the 19th in Los Angeles
    after_midnight = late_evening + timedelta(hours=1)  # 00:30 on the 20th there, same UTC day

    first = await checkins.submit(world.server.ctx, conn, CheckinSubmit(2, 3, None), now=late_evening)
    second = await checkins.submit(world.server.ctx, conn, CheckinSubmit(4, 1, None), now=after_midnight)

    assert (first.day, second.day) == ("2026-12-19", "2026-12-20")
    assert sorted(d["_id"] for d in await stored(world, cohort.alice.id)) == [
        f"{cohort.alice.id}:2026-12-19",
        f"{cohort.alice.id}:2026-12-20",
    ]


async def test_a_cohort_without_a_time_zone_uses_the_clinics(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(clinic_tz="Pacific/Auckland", semantic_detection=False)
    room, (alice,) = await world.scene("patient")
    await world.connect(alice)
    [conn] = world.server.ctx.registry.of_user(alice.id)
    noon_utc = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)  # 01:00 on the 21st in Auckland

    saved = await checkins.submit(world.server.ctx, conn, CheckinSubmit(3, 3, None), now=noon_utc)

    assert saved.day == "2026-12-21"
    del room


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "../../etc/passwd", "America", 5, ""])
async def test_a_cohort_time_zone_must_be_an_iana_name(world: World, cohort: Cohort, timezone: Any) -> None:
    status, body = await world.http("PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"timezone": timezone})
    assert status == 400 and body["error"]["code"] == "invalid"
    status, reset = await world.http("PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"timezone": None})
    assert status == 200 and reset["timezone"] is None


# ---- reading the series -----------------------------------------------------------------------


async def test_a_patient_reads_her_own_series(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    await check_in(alice, 4, 2, "good group today")
    bob = await world.connect(cohort.bob)
    await check_in(bob, 2, 6)

    status, body = await world.http("GET", "/api/me/checkins?days=30", cohort.alice)

    assert status == 200 and body["days"] == 30 and body["timezone"] == "UTC"
    [mine] = body["checkins"]
    assert (mine["day"], mine["mood"], mine["craving"], mine["note"]) == (body["today"], 4, 2, "good group today")
    assert "flag_ids" not in mine


@pytest.mark.parametrize("days", ["0", "91", "week", "-3"])
async def test_a_bad_number_of_days_is_invalid(world: World, cohort: Cohort, days: str) -> None:
    asks = [
        (f"/api/me/checkins?days={days}", cohort.alice),
        (f"/api/cohorts/{cohort.id}/checkins?days={days}", cohort.counselor),
    ]
    for path, user in asks:
        status, body = await world.http("GET", path, user)
        assert status == 400 and body["error"]["code"] == "invalid", path


async def test_the_cohorts_counselor_and_staff_read_every_patients_series_and_each_read_is_audited(
    world: World, cohort: Cohort
) -> None:
    alice = await world.connect(cohort.alice)
    await check_in(alice, 1, 9, "hard night")

    status, body = await world.http("GET", f"/api/cohorts/{cohort.id}/checkins?days=14", cohort.counselor)
    assert status == 200
    assert body["cohort"] == {"id": str(cohort.id), "name": "Evening IOP", "timezone": "UTC"} and body["days"] == 14
    rows = {row["patient"]["display_name"]: row for row in body["patients"]}
    assert set(rows) == {"Alice", "Bob"}  # patients only, never the counselor
    assert rows["Alice"]["checked_in_today"] is True and rows["Bob"]["checked_in_today"] is False
    [day] = rows["Alice"]["checkins"]
    assert (day["mood"], day["craving"], day["note"]) == (1, 9, "hard night") and len(day["flag_ids"]) == 1
    assert rows["Bob"]["checkins"] == []
    status, _ = await world.http("GET", f"/api/cohorts/{cohort.id}/checkins", cohort.staff)
    assert status == 200

    _, audit = await world.http("GET", "/api/audit?action=checkin.read", cohort.staff)
    readers = [e["actor"]["id"] for e in audit["entries"]]
    assert sorted(readers) == sorted([str(cohort.counselor.id), str(cohort.staff.id)])
    assert all(e["target"] == {"type": "cohort", "id": str(cohort.id)} for e in audit["entries"])


async def test_a_counselor_of_another_cohort_is_forbidden_and_a_patient_too(world: World, cohort: Cohort) -> None:
    other_cohort = await world.cohort("Morning IOP")
    stranger = await world.user("counselor")
    await world.enrol(other_cohort, stranger)

    for who in (stranger, cohort.alice):
        status, body = await world.http("GET", f"/api/cohorts/{cohort.id}/checkins", who)
        assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await world.http("GET", f"/api/cohorts/{ObjectId()}/checkins", cohort.staff)
    assert status == 404
    status, body = await world.http("GET", "/api/me/checkins", cohort.counselor)
    assert status == 403 and body["error"]["code"] == "forbidden"
    _, audit = await world.http("GET", "/api/audit?action=checkin.read", cohort.staff)
    assert audit["entries"] == []  # a refused read reads nothing


# ---- around it: activity, retention, metrics --------------------------------------------------


async def test_a_checkin_counts_as_activity_for_the_silence_signal(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    await check_in(alice, 4, 0)
    await world.stores.activity.flush()
    today = datetime.now(UTC).date()
    assert await world.stores.activity.active_days(cohort.alice.id, today, today) == {today}


async def test_retention_purges_old_notes_and_keeps_the_numbers(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(retention_days=30, semantic_detection=False)
    room, (alice,) = await world.scene("patient")
    now = datetime.now(UTC)
    for age, note in ((40, "an old note"), (2, "a recent note")):
        day = (now - timedelta(days=age)).date().isoformat()
        await world.stores.checkins.put(Checkin(alice.id, room.cohort_id, day, 3, 4, note, now - timedelta(days=age)))

    await retention.purge_once(world.server.ctx)

    docs = sorted(await stored(world, alice.id), key=lambda d: d["day"])
    assert [(d["note"], d["mood"], d["craving"]) for d in docs] == [(None, 3, 4), ("a recent note", 3, 4)]


async def test_checkins_are_counted_in_the_metrics(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    await check_in(alice, 4, 0)
    await check_in(alice, 5, 0)
    _, text = await world.http("GET", "/metrics")
    assert 'iopchat_checkins_total{kind="new"} 1.0' in text
    assert 'iopchat_checkins_total{kind="replaced"} 1.0' in text


async def test_a_checkin_counts_in_the_staff_safety_reports_completion(world: World, cohort: Cohort) -> None:
    """The safety report reads `checkins` directly: the shape written here is the one it reads."""
    alice = await world.connect(cohort.alice)
    await check_in(alice, 4, 1, "steady")

    status, report = await world.http("GET", "/api/reports/safety?weeks=1", cohort.staff)

    assert status == 200
    [row] = [c for c in report["checkins"]["cohorts"] if c["cohort_id"] == str(cohort.id)]
    assert row["patients"] == 2 and row["days_with_checkin"] == 1


async def _checkins_of(world: World, username: str) -> list[dict[str, Any]]:
    user = await world.stores.users.by_username(username)
    assert user is not None
    return sorted(await stored(world, user.id), key=lambda doc: doc["day"])


async def test_the_demo_shows_a_steady_patient_one_sliding_and_one_not_checked_in(world: World) -> None:
    """`make run` seeds two weeks of check-ins ending yesterday in the clinic's time zone,
    so the counselor's screen has a story to show; seeding again changes nothing, and a
    patient's own check-in is never overwritten."""
    from server.seed import DEMO_COHORT, seed_demo

    late_evening = datetime(2026, 12, 7, 4, 30, tzinfo=UTC)  # still Dec 6 in Chicago
    await seed_demo(world.stores, timezone="America/Chicago", now=late_evening)
    river = await world.stores.users.by_username("river")
    assert river is not None
    own = Checkin(river.id, ObjectId(), "2026-12-05", 1, 9, "my own", late_evening)
    await world.stores.db["checkins"].delete_one({"_id": Checkin.key(river.id, "2026-12-05")})
    await world.stores.checkins.put(own)
    await seed_demo(world.stores, timezone="America/Chicago", now=late_evening)

    [cohort] = [c for c in await world.stores.cohorts.list() if c.name == DEMO_COHORT]
    days = {name: await _checkins_of(world, name) for name in ("river", "sky", "sol")}
    assert [len(days[n]) for n in ("river", "sky", "sol")] == [11, 11, 0]
    assert days["river"][-1]["day"] == days["sky"][-1]["day"] == "2026-12-05"  # yesterday in Chicago
    assert days["river"][0]["day"] == "2026-11-23" and all(d["cohort_id"] == cohort.id for d in days["sky"])
    assert days["river"][-1]["note"] == "my own"  # not overwritten by the second seeding
    sky_moods = [d["mood"] for d in days["sky"]]
    assert sum(sky_moods[-3:]) / 3 <= sum(sky_moods[-10:-3]) / 7 - 1  # trends down (trend.js TREND_RULE)
