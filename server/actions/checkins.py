"""Daily check-ins (issue 13): mood, craving and an optional note, once a day.

Why it works the way it does:
- **The day is the patient's day.** A check-in belongs to the local day of the patient's
  cohort (its `timezone`, else `CLINIC_TZ`): someone in Chicago checking in at 9 pm must
  not land on tomorrow's UTC day. One document per patient and day; submitting again the
  same day replaces it (people correct a slider).
- **The note is read like a chat message and shown in no room.** It goes through the
  same detector and policy as a message. A flagged note gives its author the crisis
  resources at once (from the verdict, before any write) and the on-call counselors
  `alert:new`, through the same path as a message that cannot be posted: stored within a
  second or alerted from memory, kept in the crisis outbox while the database is out
  (`flags.raise_crisis_alone`). The flag says `reason: "checkin_note"`.
- **A low mood or a strong craving reaches the cohort's counselors.** Mood at most
  `CHECKIN_FLAG_MOOD_AT_MOST` or craving at least `CHECKIN_FLAG_CRAVING_AT_LEAST` raises a
  medium `source: "checkin"` flag, at most one per patient and check-in day (its
  `dedupe_key` names the day), however often the patient resubmits.
- **A check-in is activity** for the silence signal (actions/silence.py), like a message.
- **Reading a cohort's series is audited**, for counselors and staff alike: it is health
  information.

Known limit: under overload the semantic model may defer its verdict on a chat message;
a note is then judged by the cheap layers (lexicon and n-gram triage) alone, not later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bson import ObjectId

from moderation import Detection
from server.actions import assessment, chat, flags, routing
from server.actions.access import patient_action
from server.actions.audit import record
from server.actions.local_days import timezone_of
from server.clock import local_day, utcnow
from server.config import Config
from server.context import AppContext
from server.errors import CrisisUnavailable, Forbidden, NotFound, Unavailable
from server.models import Checkin, Flag, Origin, Principal, Room
from server.realtime.registry import Connection
from server.store.failures import StorageError, is_outage
from server.wire.payloads import checkin_payload, user_public
from server.wire.schemas import CheckinSubmit

log = logging.getLogger(__name__)

SOURCE = "checkin"
NOTE_REASON = "checkin_note"
MAX_DAYS = 90


async def submit(ctx: AppContext, conn: Connection, cmd: CheckinSubmit, *, now: datetime | None = None) -> Checkin:
    """Store today's check-in (replacing today's earlier one), raising the flags it calls for.

    `now` is for tests (an injected clock); the server uses the current time."""
    principal = conn.principal
    patient_action(
        principal, ctx.checkin_limiter, "Check-ins are for patients; counselors read them in the cohort's check-ins."
    )
    if not principal.cohort_ids:
        raise Forbidden("You are not in a program group yet. If you are in danger, call or text 988, or call 911.")
    now = now or utcnow()
    deadline = asyncio.get_running_loop().time() + ctx.config.db_timeout_ms / 1000
    crisis = await _assess_note(ctx, principal, cmd.note)
    alert_by = asyncio.get_running_loop().time() + flags.ALERT_WITHIN_SECONDS  # one second for every read
    room, timezone, known = await _place(ctx, principal, alert_by if crisis is not None else None)
    day = local_day(now, timezone).isoformat()
    flag_ids: list[ObjectId] = []
    on_call: bool | None = None  # asked only for a crisis note: what the patient is told
    if crisis is not None:
        on_call = await routing.anyone_on_call(ctx, room.cohort_id)
        note_flag = await flags.raise_crisis_alone(
            ctx, _note_flag_doc(principal, room, cmd, day, now, crisis), deadline, alert_by=alert_by
        )
        if note_flag is None or not known:  # the database is out: the counselor has it, the check-in waits
            raise _unsaved(on_call)
        flag_ids.append(note_flag.id)
    try:
        checkin, replaced = await _store(ctx, principal, room, cmd, day, now, flag_ids)
    except StorageError as exc:
        if not is_outage(exc):
            raise
        raise _unsaved(on_call) from None
    ctx.metrics.checkins.labels("replaced" if replaced else "new").inc()
    ctx.stores.activity.note(principal.user_id, date.fromisoformat(day))  # for the silence signal: the local day
    return checkin


def _unsaved(on_call: bool | None) -> Unavailable:
    """The check-in could not be saved. With a crisis note (`on_call` known) it was raised
    all the same (`alerted`), and the patient is told the truth about who has it: "a
    counselor has been alerted" only when one is on call."""
    if on_call is None:
        return Unavailable("Your check-in could not be saved right now; please try again in a moment.")
    told = CrisisUnavailable.told(on_call)
    return Unavailable(f"Your check-in could not be saved right now. {told}", alerted=True, counselor_on_call=on_call)


async def _assess_note(ctx: AppContext, principal: Principal, note: str | None) -> _Crisis | None:
    """The note's verdict, and the crisis resources at once when it calls for them."""
    if not note:
        return None
    detection, decision, _ = await assessment.assess(ctx, note, None)
    if not decision.flag:
        return None
    crisis = _Crisis(note_id=ObjectId(), detection=detection)
    if decision.send_resources:
        await routing.send_crisis_resources(ctx, principal.user_id, crisis.note_id, language=principal.language)
    return crisis


@dataclass(frozen=True)
class _Crisis:
    """A note the detector flagged (detection None: the detector failed, which flags too),
    and the id its flag and crisis resources carry in place of a message's."""

    note_id: ObjectId
    detection: Detection | None


async def _place(ctx: AppContext, principal: Principal, alert_by: float | None) -> tuple[Room, str, bool]:
    """The check-in's cohort (the patient's newest, if several), that cohort's first room
    (a flag needs one: the counselor's way back to the patient) and its time zone;
    and whether the database said so.

    With a crisis note (`alert_by`, a loop time) the lookup shares the alert's second with
    the flag's insert: if the database cannot answer by then, the flag names the cohort
    alone and the alert goes out anyway. (It had a second of its own, and the insert
    another: a stalled database made the alert wait two.)"""
    cohort_id = max(principal.cohort_ids)
    try:
        async with asyncio.timeout_at(alert_by):
            cohort = await ctx.stores.cohorts.get(cohort_id)
            rooms = await chat.rooms_of_cohort(ctx, cohort_id)
    except (TimeoutError, StorageError) as exc:
        if alert_by is None or (isinstance(exc, StorageError) and not is_outage(exc)):
            raise
        return Room(id=ObjectId(), cohort_id=cohort_id, cohort_name="", name=""), ctx.config.clinic_tz, False
    if cohort is None:
        raise Forbidden("You are not in a program group yet.")
    room = rooms[0] if rooms else Room(id=ObjectId(), cohort_id=cohort.id, cohort_name=cohort.name, name="")
    return room, timezone_of(ctx.config, cohort), True


def _note_flag_doc(
    principal: Principal, room: Room, cmd: CheckinSubmit, day: str, now: datetime, crisis: _Crisis
) -> dict[str, Any]:
    """The flag of a crisis note, as the detector's flag of a message would be; one per
    patient, day and note text (resubmitting the same note does not alert again)."""
    assert cmd.note is not None
    digest = hashlib.sha256(cmd.note.encode()).hexdigest()[:16]
    note_doc = {
        "_id": crisis.note_id,  # no message: the flag's message_id names nothing in a room
        "author_id": principal.user_id,
        "author_name": principal.display_name,
        "author_role": principal.role,
        "client_id": f"checkin-{day}-{digest}",
        "text": cmd.note,
        "created_at": now,
    }
    doc = flags.detector_flag_doc(note_doc, room, crisis.detection)
    doc["reason"] = doc["reason"] or NOTE_REASON
    doc["resources_sent"] = True  # sent from the verdict, or not wanted
    return doc


async def _store(
    ctx: AppContext,
    principal: Principal,
    room: Room,
    cmd: CheckinSubmit,
    day: str,
    now: datetime,
    flag_ids: list[ObjectId],
) -> tuple[Checkin, bool]:
    """The rule's flag first (so the check-in names it), then the check-in: (check-in, replaced)."""
    previous = await ctx.stores.checkins.get(principal.user_id, date.fromisoformat(day))
    reasons = rule_reasons(ctx.config, cmd.mood, cmd.craving)
    if reasons:
        flag = await _raise_rule_flag(ctx, principal, room, cmd, day, now, reasons)
        flag_ids.append(flag.id)
    earlier = list(previous.flag_ids) if previous else []
    checkin = Checkin(
        patient_id=principal.user_id,
        cohort_id=room.cohort_id,
        day=day,
        mood=cmd.mood,
        craving=cmd.craving,
        note=cmd.note,
        submitted_at=now,
        flag_ids=tuple(dict.fromkeys([*earlier, *flag_ids])),
    )
    await ctx.stores.checkins.put(checkin)
    return checkin, previous is not None


def rule_reasons(config: Config, mood: int, craving: int) -> list[str]:
    """Why a check-in calls for a counselor (empty: it does not)."""
    reasons = []
    if mood <= config.checkin_flag_mood_at_most:
        reasons.append(f"mood {mood} of 5 (flagged at {config.checkin_flag_mood_at_most} or lower)")
    if craving >= config.checkin_flag_craving_at_least:
        reasons.append(f"craving {craving} of 10 (flagged at {config.checkin_flag_craving_at_least} or higher)")
    return reasons


async def _raise_rule_flag(
    ctx: AppContext,
    principal: Principal,
    room: Room,
    cmd: CheckinSubmit,
    day: str,
    now: datetime,
    reasons: list[str],
) -> Flag:
    """The day's medium `checkin` flag, routed like any other; the one already raised that
    day if there is one (a replacement check-in does not raise a second)."""
    flag, created = await ctx.stores.flags.insert(
        flags.patient_flag_doc(
            principal,
            room,
            source=SOURCE,
            severity="medium",
            text=cmd.note,
            reason=f"Check-in {day}: " + "; ".join(reasons),
            dedupe_key=f"{SOURCE}:{principal.user_id}:{day}",
            now=now,
            categories=["relapse"] if cmd.craving >= ctx.config.checkin_flag_craving_at_least else [],
        )
    )
    if created:
        try:
            flag = await routing.route_new_flag(ctx, flag)
        except Exception:  # stored and open: the delivery sweep and on-call delivery still have it
            log.exception("routing check-in flag %s failed", flag.id)
    return flag


# ---- reading the series ----------------------------------------------------------------


def window(today: date, days: int) -> list[date]:
    """The `days` local days ending with today, oldest first."""
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


async def my_series(ctx: AppContext, principal: Principal, days: int) -> dict[str, Any]:
    """The patient's own check-ins of the last `days` local days."""
    if principal.role != "patient":
        raise Forbidden("Only patients have check-ins of their own.")
    timezone = ctx.config.clinic_tz
    if principal.cohort_ids:
        cohort = await ctx.stores.cohorts.get(max(principal.cohort_ids))
        timezone = timezone_of(ctx.config, cohort) if cohort else timezone
    today = local_day(utcnow(), timezone)
    series = await ctx.stores.checkins.series(principal.user_id, window(today, days))
    return {
        "checkins": [checkin_payload(c, moderator=False) for c in series],
        "days": days,
        "today": today.isoformat(),
        "timezone": timezone,
    }


async def cohort_series(
    ctx: AppContext, principal: Principal, cohort_id: ObjectId, days: int, origin: Origin
) -> dict[str, Any]:
    """Each active patient's check-ins of the last `days` local days, for the cohort's
    counselors and staff; the read is on the audit record."""
    if not principal.is_moderator:
        raise Forbidden("Only counselors and staff can read a cohort's check-ins.")
    cohort = await ctx.stores.cohorts.get(cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    if not principal.can_see_cohort(cohort.id):
        raise Forbidden("That cohort is not yours.")
    timezone = timezone_of(ctx.config, cohort)
    today = local_day(utcnow(), timezone)
    days_wanted = window(today, days)
    people = [await ctx.stores.users.get(member_id) for member_id in cohort.member_ids]
    patients = sorted(
        (p for p in people if p is not None and p.active and p.role == "patient"), key=lambda p: p.display_name.lower()
    )
    rows = []
    for patient in patients:
        series = await ctx.stores.checkins.series(patient.id, days_wanted)
        rows.append(
            {
                "patient": user_public(patient.id, patient.display_name, patient.role),
                "checked_in_today": bool(series) and series[-1].day == today.isoformat(),
                "checkins": [checkin_payload(c, moderator=True) for c in series],
            }
        )
    await record(ctx, "checkin.read", principal, ("cohort", cohort.id), origin, days=days, patients=len(rows))
    return {
        "cohort": {"id": str(cohort.id), "name": cohort.name, "timezone": timezone},
        "today": today.isoformat(),
        "days": days,
        "patients": rows,
    }
