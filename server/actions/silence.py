"""The silence signal: a patient who was active and has gone quiet (issue 13).

A patient active on at least ACTIVE_DAYS of the LOOKBACK_DAYS before the silent spell,
and silent for SILENCE_DAYS since, gets a low-severity flag (`source: "silence"`) in
their cohort's review queue: no alert, no sound, never shown to peers. One flag per
silent spell (the spell is named by the last active day), so several processes and
daily runs raise it once. Off when SILENCE_DAYS=0. Tests pass `now`.

Days are the cohort's local days (local_days.py), as messages and check-ins note them:
an evening in Chicago is not tomorrow. (Activity noted before 2026-12-06 is in UTC days.)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bson import ObjectId

from server.actions import flags
from server.actions.local_days import timezone_of
from server.actions.periodic import repeat
from server.clock import local_day, utcnow
from server.context import AppContext
from server.models import Flag, Room

ACTIVE_DAYS = 4
LOOKBACK_DAYS = 14
SWEEP_EVERY_SECONDS = 3600.0


async def run(ctx: AppContext) -> None:
    if not ctx.config.silence_days:
        return
    await repeat("silence sweep", lambda: sweep(ctx), lambda: SWEEP_EVERY_SECONDS)


async def sweep(ctx: AppContext, now: datetime | None = None) -> list[Flag]:
    """Flags raised by this pass."""
    silent_for = ctx.config.silence_days
    if not silent_for:
        return []
    moment = now or utcnow()
    raised = []
    for cohort in await ctx.stores.cohorts.list():
        if cohort.active is False:
            continue
        rooms = await ctx.stores.rooms.for_cohorts(frozenset([cohort.id]))
        if not rooms:
            continue
        today = local_day(moment, timezone_of(ctx.config, cohort))  # activity is noted in these days too
        quiet_since = today - timedelta(days=silent_for - 1)  # silent on these days, today included
        for patient_id in cohort.member_ids:
            flag = await _check(ctx, patient_id, rooms[0], quiet_since, today, moment)
            if flag is not None:
                raised.append(flag)
    return raised


async def _check(
    ctx: AppContext, patient_id: ObjectId, room: Room, quiet_since: date, today: date, now: datetime
) -> Flag | None:
    activity = ctx.stores.activity
    if await activity.active_days(patient_id, quiet_since, today):
        return None  # not silent
    before = await activity.active_days(patient_id, quiet_since - timedelta(days=LOOKBACK_DAYS), quiet_since)
    if len(before) < ACTIVE_DAYS:
        return None  # never (or rarely) active: silence says nothing
    patient = await ctx.stores.users.get(patient_id)
    if patient is None or not patient.active:
        return None
    last_active = max(before)
    flag, created = await ctx.stores.flags.insert(
        flags.patient_flag_doc(
            patient,
            room,
            source="silence",
            severity="low",
            text=None,
            reason=f"silent since {last_active.isoformat()} after {len(before)} active days",
            dedupe_key=f"silence:{patient_id}:{last_active.isoformat()}",
            now=now,
            alerted=True,  # queue only: no alert, no sound
        )
    )
    return flag if created else None
