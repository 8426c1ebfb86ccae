"""The help button: a patient asks a counselor to reach out, now (issue 13).

"Get help now" used to show phone numbers only: nobody at the clinic learned that the
patient pressed it. A help request is a high-severity flag with `source: "help_button"`,
routed, alerted and escalated exactly like a detector flag; it never shows in any room.
The patient gets the crisis resources at once, is told plainly whether a counselor is on
call, and later hears (`help:updated`, flags.tell_help_requester) when a counselor has
acknowledged the request.
A repeat press while the request is open updates that flag instead of making another.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.actions import chat, flags, routing
from server.actions.access import access_room, patient_action
from server.actions.audit import record
from server.clock import utcnow
from server.context import AppContext
from server.errors import Forbidden
from server.models import Flag, Room
from server.realtime.registry import Connection
from server.wire import events
from server.wire.schemas import HelpRequest

SOURCE = "help_button"


async def request_help(ctx: AppContext, conn: Connection, cmd: HelpRequest) -> dict[str, Any]:
    principal = conn.principal
    patient_action(
        principal, ctx.help_limiter, "The help button is for patients; counselors see requests in their alerts."
    )
    room = await _room_for(ctx, conn, cmd.room_id)
    # The numbers first, from memory: nothing below may delay them.
    await routing.send_crisis_resources(ctx, principal.user_id, ObjectId(), language=principal.language)
    on_call = await ctx.presence.anyone_oncall(room.cohort_id) or await ctx.presence.anyone_oncall(None)
    flag = await ctx.stores.flags.open_help_request(principal.user_id)
    if flag is not None:
        flag = await ctx.stores.flags.press_again(flag.id, cmd.note, utcnow())
        await ctx.notifier.alert(events.ALERT_UPDATED, flag, routing.viewer_rooms(flag))
    else:
        flag = await _new_request(ctx, conn, room, cmd.note)
    await record(ctx, "help.request", principal, ("flag", flag.id), conn.origin, repeat=flag.help_presses > 1)
    return {"flag_id": str(flag.id), "status": flag.status, "counselor_on_call": on_call}


async def _new_request(ctx: AppContext, conn: Connection, room: Room, note: str | None) -> Flag:
    principal = conn.principal
    now = utcnow()
    flag, _ = await ctx.stores.flags.insert(
        flags.patient_flag_doc(
            principal,
            room,
            source=SOURCE,
            severity="high",
            text=note,
            reason="help_button",
            dedupe_key=f"help:{principal.user_id}:{ObjectId()}",
            now=now,
            help_presses=1,
            last_pressed_at=now,
        )
    )
    return await routing.route_new_flag(ctx, flag)


async def _room_for(ctx: AppContext, conn: Connection, room_id: ObjectId | None) -> Room:
    """The room the patient pressed it from, else the first room of their cohorts (a
    request needs a cohort so that its counselors hear first)."""
    if room_id is not None:
        return await access_room(ctx, conn.principal, room_id)
    rooms = await chat.visible_rooms(ctx, conn.principal)
    if not rooms:
        raise Forbidden("You are not in a program group yet. Please call or text 988, or call 911 if in danger.")
    return rooms[0]
