"""The help button: a patient asks a counselor to reach out, now (issue 13).

"Get help now" used to show phone numbers only: nobody at the clinic learned that the
patient pressed it. A help request is a high-severity flag with `source: "help_button"`,
routed, alerted and escalated exactly like a detector flag; it never shows in any room.
The patient gets the crisis resources at once, is told plainly whether a counselor is on
call, and later hears (`help:updated`, flags.tell_help_requester) when a counselor has
acknowledged the request.
A repeat press while the request is open updates that flag instead of making another,
also when two tabs press at once (one press at a time per patient in a process; across
processes, the new request's `dedupe_key` names the request before it).

Whoever presses it may be in danger, so it depends on the database no more than a
crisis message does (flags.raise_crisis_alone): every read before the alert shares one
second; when the database has not answered by then, the counselor is alerted from
memory, the request waits in the crisis outbox until the database takes it, and the
patient's answer does not wait for the database either. A press while the request is
held there updates the held one. When the database cannot say whether a request is
open, the press makes a new one: a second alert beats a missed one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bson import ObjectId

from server.actions import chat, flags, routing
from server.actions.access import access_room, patient_action
from server.actions.audit import record
from server.clock import utcnow
from server.context import AppContext
from server.errors import Forbidden
from server.models import Flag, Principal, Room
from server.realtime.registry import Connection
from server.store.failures import StorageError, is_outage
from server.wire import events
from server.wire.schemas import HelpRequest

log = logging.getLogger(__name__)

SOURCE = "help_button"
NO_GROUP = "You are not in a program group yet. Please call or text 988, or call 911 if in danger."


async def request_help(ctx: AppContext, conn: Connection, cmd: HelpRequest) -> dict[str, Any]:
    principal = conn.principal
    patient_action(
        principal, ctx.help_limiter, "The help button is for patients; counselors see requests in their alerts."
    )
    alert_by = asyncio.get_running_loop().time() + flags.ALERT_WITHIN_SECONDS
    # The numbers first, from memory: nothing below may delay them.
    await routing.send_crisis_resources(ctx, principal.user_id, ObjectId(), language=principal.language)
    room = await _room_for(ctx, conn, cmd.room_id, alert_by)
    on_call = await routing.anyone_on_call(ctx, room.cohort_id)

    async def audit(flag: Flag) -> None:  # now, or when the crisis outbox stores the request
        await record(ctx, "help.request", principal, ("flag", flag.id), conn.origin, repeat=flag.help_presses > 1)

    async with ctx.help_turns.of(principal.user_id):  # two tabs at once: the second finds the first's
        flag, stored = await _press(ctx, principal, room, cmd.note, utcnow(), alert_by, audit)
    if stored:
        try:
            await audit(flag)
        except StorageError as exc:  # the counselor has the request: never tell the patient it failed
            if not is_outage(exc):
                raise
            log.warning("help request %s: its audit entry is not written (%s)", flag.id, type(exc).__name__)
    else:  # nothing can be written now; the request waits in the crisis outbox
        log.warning("help request %s held in memory: audited when it is stored", flag.id)
    return {"flag_id": str(flag.id), "status": flag.status, "counselor_on_call": on_call}


async def _press(
    ctx: AppContext,
    principal: Principal,
    room: Room,
    note: str | None,
    now: datetime,
    alert_by: float,
    audit: Callable[[Flag], Awaitable[None]],
) -> tuple[Flag, bool]:
    """The patient's open request, pressed again, or a new one: (flag, stored). A new one
    the database cannot take now is audited when the crisis outbox stores it."""
    mine = principal.user_id
    held = ctx.crisis_outbox.newest(
        lambda doc: doc["source"] == SOURCE and doc["author_id"] == mine and doc["cohort_id"] == room.cohort_id
    )
    if held is not None:  # pressed while the database is out: update the request held in memory
        pressed: dict[str, Any] = {"help_presses": held.get("help_presses", 1) + 1, "last_pressed_at": now}
        if note:
            pressed["text"] = note
        ctx.crisis_outbox.amend(held["dedupe_key"], **pressed)
        flag = Flag.from_doc(held)
        await ctx.notifier.alert(events.ALERT_UPDATED, flag, routing.viewer_rooms(flag))
        return flag, False
    try:
        async with asyncio.timeout_at(alert_by):
            open_flag, newest = await ctx.stores.flags.help_requests_of(principal.user_id)
        # Presses that find the same newest request name the same new one, so that two at
        # once on two processes store one request (the unique dedupe_key).
        after = str(newest) if newest else "none"
    except (TimeoutError, StorageError) as exc:
        if isinstance(exc, StorageError) and not is_outage(exc):
            raise
        open_flag, after = None, f"unknown-{ObjectId()}"  # a new request: a duplicate beats a miss
    if open_flag is not None and open_flag.cohort_id == room.cohort_id:
        return await _press_again(ctx, open_flag, note, now), True
    # (An open request of another cohort, one the patient has left, stays with its counselors:
    # this press goes to those of the cohort the patient is in now.)
    doc = _request_doc(principal, room, note, now, after)
    stored = await flags.raise_crisis_alone(ctx, doc, alert_by, alert_by=alert_by, then=audit)
    if stored is None:
        return Flag.from_doc(doc), False
    if stored.id != doc["_id"]:  # another process stored this press's request first
        return await _press_again(ctx, stored, note, now), True
    return stored, True


async def _press_again(ctx: AppContext, flag: Flag, note: str | None, now: datetime) -> Flag:
    """Count one more press on a stored request; alert:updated tells the counselors. If the
    database fails right now, they hear of the press anyway (the request is stored and
    alerted already; only this press goes uncounted)."""
    try:
        flag = await ctx.stores.flags.press_again(flag.id, note, now)
    except StorageError as exc:
        if not is_outage(exc):
            raise
        log.warning("help request %s pressed again; the press is not recorded (%s)", flag.id, type(exc).__name__)
        flag = dataclasses.replace(flag, help_presses=flag.help_presses + 1, text=note or flag.text)
    await ctx.notifier.alert(events.ALERT_UPDATED, flag, routing.viewer_rooms(flag))
    return flag


def _request_doc(principal: Principal, room: Room, note: str | None, now: datetime, after: str) -> dict[str, Any]:
    """A new request, complete with its ids before any write (it may be alerted from
    memory); `after` names the patient's newest request before it."""
    flag_id = ObjectId()
    doc = flags.patient_flag_doc(
        principal,
        room,
        source=SOURCE,
        severity="high",
        text=note,
        reason="help_button",
        dedupe_key=f"help:{principal.user_id}:after:{after}",
        now=now,
        help_presses=1,
        last_pressed_at=now,
    )
    doc["_id"] = flag_id
    return doc


async def _room_for(ctx: AppContext, conn: Connection, room_id: ObjectId | None, alert_by: float) -> Room:
    """The room the patient pressed it from, else the first room of their cohorts (a
    request needs a cohort so that its counselors hear first).

    From the caches, which serve the last known rooms while the database is out; if they
    must ask the database and it does not answer in time, the request names the
    patient's newest cohort alone, and the alert goes out anyway."""
    principal = conn.principal
    try:
        async with asyncio.timeout_at(alert_by):
            if room_id is not None:
                return await access_room(ctx, principal, room_id)
            rooms = await chat.visible_rooms(ctx, principal)
    except (TimeoutError, StorageError) as exc:
        if (isinstance(exc, StorageError) and not is_outage(exc)) or not principal.cohort_ids:
            raise
        return Room(id=ObjectId(), cohort_id=max(principal.cohort_ids), cohort_name="", name="")
    if not rooms:
        raise Forbidden(NO_GROUP)
    return rooms[0]
