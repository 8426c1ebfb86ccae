"""Staff see how fast alerts are acknowledged (issue 13, item 4): GET /api/reports/safety.

Flags come from the product's paths (a crisis message, the help button) or are stored
with explicit times through the store; acknowledgements use the injected clock
(`flags.acknowledge(..., now=...)`), so every second in the report is known exactly.
The first tests are the pure computation (server/actions/safety_report.py), no database.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId

from server.actions import flags as flag_actions
from server.actions.safety_report import (
    checkin_completion,
    nearest_rank,
    period_weeks,
    summarize_flags,
    week_index,
    week_start,
)
from server.auth import authenticate
from server.clock import utcnow
from server.models import CheckinDay, Flag, FlagFacts, Origin, User
from server.models import Cohort as CohortDoc
from tests.conftest import Cohort, World

ORIGIN = Origin(ip="127.0.0.1", user_agent="pytest")
SECRET = "SECRET-TEXT-that-must-never-leave"
CRISIS = "I want to kill myself tonight"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def facts(created: str, ack_after: float | None = None, **fields: Any) -> FlagFacts:
    created_at = at(created)
    return FlagFacts(
        created_at=created_at,
        acknowledged_at=created_at + timedelta(seconds=ack_after) if ack_after is not None else None,
        severity=fields.get("severity", "high"),
        source=fields.get("source", "detector"),
        categories=tuple(fields.get("categories", ("suicide",))),
        status=fields.get("status", "open" if ack_after is None else "acknowledged"),
        escalation_level=fields.get("escalation_level", 0),
    )


# ---- the pure computation ----------------------------------------------------------------


def test_weeks_start_on_monday_at_midnight_utc() -> None:
    assert week_start(at("2026-12-06T23:59:59")) == at("2026-11-30T00:00:00")  # a Sunday
    assert week_start(at("2026-12-07T00:00:00")) == at("2026-12-07T00:00:00")  # the Monday
    assert [d.date().isoformat() for d in period_weeks(at("2026-12-09T12:00:00"), 3)] == [
        "2026-11-23",
        "2026-11-30",
        "2026-12-07",
    ]


def test_a_flag_is_counted_in_the_week_it_was_raised_and_none_before_the_period() -> None:
    starts = period_weeks(at("2026-12-09T12:00:00"), 3)
    assert week_index(at("2026-11-22T23:59:59"), starts) is None
    assert week_index(at("2026-11-23T00:00:00"), starts) == 0
    assert week_index(at("2026-12-06T23:59:59"), starts) == 1
    assert week_index(at("2026-12-20T00:00:00"), starts) == 2  # a clock a little ahead: this week


def test_percentiles_are_nearest_rank_so_p90_is_a_time_that_happened() -> None:
    ten = [float(s) for s in range(1, 11)]
    assert nearest_rank(ten, 50) == 5.0 and nearest_rank(ten, 90) == 9.0
    assert nearest_rank([30.0, 60.0, 90.0, 120.0, 600.0], 90) == 600.0
    assert nearest_rank([42.0], 50) == 42.0 and nearest_rank([42.0], 90) == 42.0
    assert nearest_rank([], 50) is None


def test_an_old_open_flag_counts_as_open_now_but_not_in_the_weeks() -> None:
    starts = period_weeks(at("2026-12-09T12:00:00"), 2)
    summary = summarize_flags(
        [
            facts("2026-10-01T10:00:00", escalation_level=2),  # long before the period, still open
            facts("2026-12-01T10:00:00", ack_after=30, categories=("suicide", "overdose")),
            facts("2026-12-08T10:00:00", ack_after=-2, severity="medium", source="report", categories=()),
            facts("2026-12-08T11:00:00", severity="low", source="help_button", categories=()),
        ],
        starts,
    )
    assert summary["now"] == {
        "open": {"high": 1, "medium": 0, "low": 1},
        "escalated": {"high": 1, "medium": 0, "low": 0},
    }
    assert summary["flags"]["total"] == [1, 2]
    assert summary["flags"]["by_category"]["suicide"] == [1, 0] and summary["flags"]["by_category"]["overdose"] == [
        1,
        0,
    ]
    assert summary["flags"]["by_category"]["none"] == [0, 2]
    assert summary["flags"]["by_source"]["report"] == [0, 1] and summary["flags"]["by_source"]["model"] == [0, 0]
    # another process's clock a little behind: never a negative wait
    assert summary["ack"]["by_week"][1] == {"acknowledged": 1, "waiting": 1, "p50_seconds": 0.0, "p90_seconds": 0.0}
    assert summary["ack"]["by_severity"]["low"] == {
        "acknowledged": 0,
        "waiting": 1,
        "p50_seconds": None,
        "p90_seconds": None,
    }
    assert summary["help_requests"] == {"by_week": [0, 1], "open": 1, "acknowledged": 0}


def test_checkin_completion_counts_member_days_within_the_cohorts_dates() -> None:
    alice, bob, stranger = ObjectId(), ObjectId(), ObjectId()
    evening = CohortDoc(id=ObjectId(), name="Evening", member_ids=(alice, bob))
    late_start = CohortDoc(id=ObjectId(), name="Late start", start_date="2026-12-08", member_ids=(alice,))
    empty = CohortDoc(id=ObjectId(), name="Empty", active=False)
    days = [
        CheckinDay(alice, "2026-12-07"),
        CheckinDay(alice, "2026-12-08"),
        CheckinDay(alice, "2026-12-09"),
        CheckinDay(bob, "2026-12-09"),
        CheckinDay(stranger, "2026-12-09"),  # not a member of any of them
        CheckinDay(bob, "2026-12-10"),  # after the period
    ]
    rows = checkin_completion([empty, late_start, evening], days, date(2026, 12, 7), date(2026, 12, 9))
    by_name = {row["cohort_name"]: row for row in rows}
    assert [row["cohort_name"] for row in rows] == ["Evening", "Late start", "Empty"]  # active first
    assert by_name["Evening"] | {"cohort_id": ""} == {
        "cohort_id": "",
        "cohort_name": "Evening",
        "active": True,
        "patients": 2,
        "patient_days": 6,
        "days_with_checkin": 4,
        "completion": round(4 / 6, 4),
    }
    assert (by_name["Late start"]["patient_days"], by_name["Late start"]["days_with_checkin"]) == (2, 2)
    assert by_name["Late start"]["completion"] == 1.0
    assert by_name["Empty"]["completion"] is None and by_name["Empty"]["patients"] == 0


# ---- the endpoint, on the real server and database ----------------------------------------


async def store_flag(
    world: World,
    cohort: Cohort,
    created_at: datetime,
    *,
    severity: str = "high",
    source: str = "detector",
    categories: tuple[str, ...] = ("suicide",),
    **extra: Any,
) -> Flag:
    """A flag as the product stores it, at an explicit time (text included: it must not leak)."""
    flag, _ = await world.stores.flags.insert(
        {
            "dedupe_key": f"test:{uuid.uuid4().hex}",
            "message_id": ObjectId(),
            "room_id": cohort.room.id,
            "cohort_id": cohort.id,
            "cohort_name": cohort.room.cohort_name,
            "author_id": cohort.alice.id,
            "author_name": cohort.alice.display_name,
            "author_role": "patient",
            "text": SECRET,
            "severity": severity,
            "categories": list(categories),
            "matches": [],
            "source": source,
            "reported_by": None,
            "reason": None,
            "status": "open",
            "escalation_level": 0,
            "created_at": created_at,
            **extra,
        }
    )
    return flag


async def acknowledge_after(world: World, who: User, flag: Flag, seconds: float) -> None:
    principal, _ = await authenticate(world.server.config, world.stores, world.token(who))
    await flag_actions.acknowledge(
        world.server.ctx, principal, flag.id, ORIGIN, now=flag.created_at + timedelta(seconds=seconds)
    )


def week_of(body: dict[str, Any], moment: datetime) -> int:
    """The report's bucket for a moment, found by its Monday (not by position, so a test
    that runs across midnight on a Sunday still finds the right one)."""
    index: int = body["week_starts"].index(week_start(moment).date().isoformat())
    return index


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


async def test_staff_see_ack_times_flag_counts_open_flags_help_requests_and_checkins(
    world: World, cohort: Cohort
) -> None:
    this_week = week_start(utcnow())
    two_weeks_ago = this_week - timedelta(days=14) + timedelta(days=2, hours=10)
    last_week = this_week - timedelta(days=7) + timedelta(days=1, hours=9)
    for i, wait in enumerate([600, 30, 120, 60, 90]):  # high, detector: p50 90 s, p90 600 s
        flag = await store_flag(world, cohort, two_weeks_ago + timedelta(minutes=i))
        await acknowledge_after(world, cohort.counselor, flag, wait)
    report = await store_flag(world, cohort, last_week, severity="medium", source="report", categories=("self_harm",))
    await acknowledge_after(world, cohort.counselor, report, 10)
    concern = await store_flag(world, cohort, last_week, severity="medium", source="counselor", categories=("relapse",))
    await acknowledge_after(world, cohort.staff, concern, 20)
    await store_flag(world, cohort, last_week, severity="low", source="silence", categories=())  # never acknowledged
    old = this_week - timedelta(weeks=20)
    await store_flag(world, cohort, old, escalation_level=2)  # open and escalated, long before the period
    await store_flag(world, cohort, old, status="resolved", acknowledged_at=old + timedelta(seconds=5))
    # this week, through the product: a help request (acknowledged after 45 s) and a crisis message (open)
    patient = await world.connect(cohort.alice, join=cohort.room)
    help_id = ObjectId((await patient.ok("help:request", {"room_id": str(cohort.room.id), "note": SECRET}))["flag_id"])
    help_flag = await world.stores.flags.get(help_id)
    assert help_flag is not None
    await acknowledge_after(world, cohort.counselor, help_flag, 45)
    sent = await patient.send(cohort.room.id, CRISIS)
    (crisis,) = await world.stores.flags.for_message(ObjectId(sent["message"]["id"]))
    assert (crisis.source, crisis.severity) == ("detector", "high")

    status, body = await world.http("GET", "/api/reports/safety?weeks=12", cohort.staff)

    assert status == 200 and body["weeks"] == 12 and len(body["week_starts"]) == 12
    w2, w1, w0 = week_of(body, two_weeks_ago), week_of(body, last_week), week_of(body, help_flag.created_at)
    by_week = body["ack"]["by_week"]
    assert by_week[w2] == {"acknowledged": 5, "waiting": 0, "p50_seconds": 90.0, "p90_seconds": 600.0}
    assert by_week[w1] == {"acknowledged": 2, "waiting": 1, "p50_seconds": 10.0, "p90_seconds": 20.0}
    assert by_week[w0]["acknowledged"] == 1 and by_week[w0]["p50_seconds"] == 45.0
    assert by_week[w0]["waiting"] == 1  # the crisis message's flag
    assert sum(week["acknowledged"] + week["waiting"] for week in by_week) == 10  # the old ones are not in it
    # high: 30 45 60 90 120 600 -> p50 the 3rd (60), p90 the 6th (600)
    assert body["ack"]["by_severity"]["high"] == {
        "acknowledged": 6,
        "waiting": 1,
        "p50_seconds": 60.0,
        "p90_seconds": 600.0,
    }
    assert body["ack"]["by_severity"]["medium"] == {
        "acknowledged": 2,
        "waiting": 0,
        "p50_seconds": 10.0,
        "p90_seconds": 20.0,
    }

    flags = body["flags"]
    assert (flags["total"][w2], flags["total"][w1], flags["total"][w0]) == (5, 3, 2)
    assert flags["by_source"]["detector"][w2] == 5 and flags["by_source"]["detector"][w0] == 1
    assert (flags["by_source"]["report"][w1], flags["by_source"]["counselor"][w1]) == (1, 1)
    assert (flags["by_source"]["silence"][w1], flags["by_source"]["help_button"][w0]) == (1, 1)
    assert set(flags["by_source"]) == {"detector", "model", "report", "counselor", "help_button", "checkin", "silence"}
    assert flags["by_category"]["suicide"][w2] == 5 and flags["by_category"]["self_harm"][w1] == 1
    assert flags["by_category"]["none"][w1] == 1 and flags["by_category"]["none"][w0] == 1  # silence, help

    assert body["now"] == {
        "open": {"high": 2, "medium": 0, "low": 1},  # the crisis message and the old one; the silence flag
        "escalated": {"high": 1, "medium": 0, "low": 0},
    }
    assert body["help_requests"]["by_week"][w0] == 1 and sum(body["help_requests"]["by_week"]) == 1
    assert (body["help_requests"]["open"], body["help_requests"]["acknowledged"]) == (0, 1)

    text = json.dumps(body)
    assert "text" not in keys_in(body) and "note" not in keys_in(body)
    assert SECRET not in text and cohort.alice.display_name not in text and str(cohort.alice.id) not in text
    assert cohort.counselor.display_name not in text and cohort.staff.display_name not in text


async def test_checkin_completion_is_the_share_of_patient_days_with_a_checkin(world: World, cohort: Cohort) -> None:
    today = utcnow().date()
    checkins = world.stores.db["checkins"]

    async def check_in(user: User, day: date, cohort_id: ObjectId = cohort.id) -> None:
        await checkins.insert_one(
            {
                "_id": f"{user.id}:{day.isoformat()}",
                "patient_id": user.id,
                "cohort_id": cohort_id,
                "day": day.isoformat(),
                "mood": 3,
                "craving": 4,
                "note": SECRET,
                "submitted_at": utcnow(),
            }
        )

    for back in (0, 1, 2):
        await check_in(cohort.alice, today - timedelta(days=back))
    await check_in(cohort.bob, today)
    await check_in(cohort.bob, today - timedelta(weeks=30))  # before the period
    outsider = await world.user("patient")
    await check_in(outsider, today)  # not a member of the cohort
    newer = await world.cohort("A new cohort")
    await world.stores.cohorts.update(newer, {"start_date": (today - timedelta(days=1)).isoformat()})
    carol = await world.user("patient")
    await world.enrol(newer, carol)
    await check_in(carol, today, newer)

    status, body = await world.http("GET", "/api/reports/safety?weeks=4", cohort.staff)

    assert status == 200
    section = body["checkins"]
    first, last = date.fromisoformat(section["start_day"]), date.fromisoformat(section["end_day"])
    assert first.isoformat() == body["week_starts"][0] and (last - first).days + 1 <= 28
    rows = {row["cohort_name"]: row for row in section["cohorts"]}
    evening = rows[cohort.room.cohort_name]
    assert evening["patients"] == 2 and evening["patient_days"] == 2 * ((last - first).days + 1)
    assert evening["days_with_checkin"] == 4  # Alice's three and Bob's recent one
    assert evening["completion"] == round(4 / evening["patient_days"], 4)
    new = rows["A new cohort"]
    span = (last - (today - timedelta(days=1))).days + 1  # from its start date (2, unless midnight passed)
    assert (new["patients"], new["patient_days"], new["days_with_checkin"]) == (1, span, 1)
    assert new["completion"] == round(1 / span, 4)
    assert SECRET not in json.dumps(body) and "note" not in keys_in(body)


@pytest.mark.parametrize("role", ["counselor", "patient"])
async def test_counselors_and_patients_are_forbidden_the_report(world: World, cohort: Cohort, role: str) -> None:
    who = cohort.counselor if role == "counselor" else cohort.alice
    status, body = await world.http("GET", "/api/reports/safety?weeks=0", who)  # even a bad query: 403 first
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, _ = await world.http("GET", "/api/reports/safety")
    assert status == 401


@pytest.mark.parametrize("weeks", ["0", "53", "-1", "twelve", "1.5"])
async def test_weeks_outside_1_to_52_is_invalid(world: World, cohort: Cohort, weeks: str) -> None:
    status, body = await world.http("GET", f"/api/reports/safety?weeks={weeks}", cohort.staff)
    assert status == 400 and body["error"]["code"] == "invalid"


async def test_one_and_fifty_two_weeks_and_the_default_of_twelve(world: World, cohort: Cohort) -> None:
    for query, expected in (("?weeks=1", 1), ("?weeks=52", 52), ("", 12)):
        status, body = await world.http("GET", f"/api/reports/safety{query}", cohort.staff)
        assert status == 200 and len(body["week_starts"]) == expected
        assert all(len(series) == expected for series in body["flags"]["by_source"].values())


async def test_reading_the_report_is_on_the_audit_record(world: World, cohort: Cohort) -> None:
    await world.http("GET", "/api/reports/safety?weeks=8", cohort.staff)
    await world.http("GET", "/api/reports/safety?weeks=8", cohort.counselor)  # refused: not a read

    _, audit = await world.http("GET", "/api/audit?action=report.safety", cohort.staff)

    (entry,) = audit["entries"]
    assert entry["actor"]["id"] == str(cohort.staff.id) and entry["details"] == {"weeks": 8}
    assert entry["target"] == {"type": "report", "id": "safety"}
