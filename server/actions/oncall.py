"""Going on and off call: the alert rooms a counselor's sockets are in, and the backlog of
open flags delivered when one goes on call (or staff connects), never to a patient."""

from __future__ import annotations

import logging

from bson import ObjectId

from server.actions.audit import record
from server.context import AppContext
from server.errors import Forbidden
from server.realtime.registry import Connection
from server.wire import events
from server.wire.payloads import flag_payload

log = logging.getLogger(__name__)


async def set_oncall(ctx: AppContext, conn: Connection, on: bool) -> bool:
    principal = conn.principal
    if principal.role != "counselor":
        raise Forbidden("Only counselors go on call.")
    await ctx.stores.users.set_oncall(principal.user_id, on)
    await record(ctx, "oncall.on" if on else "oncall.off", principal, ("user", principal.user_id), conn.origin)
    await ctx.control.publish("oncall", user_id=str(principal.user_id), on=on)
    if on:
        # Join the on-call rooms here, not only when the control message comes back
        # (through Redis that is later), so the backlog below is not skipped.
        await join_alert_rooms(ctx, conn, oncall=True)
        await deliver_open_flags(ctx, conn)
    return on


async def apply_oncall(ctx: AppContext, user_id: ObjectId, on: bool) -> None:
    """Control command: put every local socket of the user on or off call."""
    for conn in ctx.registry.of_user(user_id):
        await join_alert_rooms(ctx, conn, oncall=on)


async def join_alert_rooms(ctx: AppContext, conn: Connection, *, oncall: bool) -> None:
    principal = conn.principal
    was_oncall = conn.oncall
    conn.oncall = oncall and principal.role == "counselor"
    if conn.oncall:
        await ctx.presence.refresh(conn)
    elif was_oncall:
        await ctx.presence.left_oncall(conn, principal.cohort_ids, entirely=True)
    if principal.role == "staff":
        await ctx.sio.enter_room(conn.sid, events.STAFF)
        return
    if principal.role != "counselor":
        return
    await ctx.sio.enter_room(conn.sid, events.COUNSELORS)
    for cohort_id in principal.cohort_ids:
        await ctx.sio.enter_room(conn.sid, events.cohort_counselors(cohort_id))
    oncall_rooms = [events.ONCALL, *(events.oncall_room(c) for c in principal.cohort_ids)]
    for name in oncall_rooms:
        if conn.oncall:
            await ctx.sio.enter_room(conn.sid, name)
        else:
            await ctx.sio.leave_room(conn.sid, name)


# Flags that go to the review queue only, never as an alert (no panel entry, no sound):
# the silence signal is a prompt to reach out, not an emergency (issue 13).
QUEUE_ONLY: frozenset[str] = frozenset({"silence"})


async def deliver_open_flags(ctx: AppContext, conn: Connection) -> None:
    """Open flags raised while nobody was there arrive when a counselor is on call (or staff connects).

    Everyone else gets nothing: this runs at every connect, and a patient must never
    receive a flag (it carries another patient's held crisis text)."""
    principal = conn.principal
    if not (principal.is_staff or (principal.role == "counselor" and conn.oncall)):
        return
    cohorts = None if principal.is_staff else principal.cohort_ids
    for flag in reversed(await ctx.stores.flags.open_for_cohorts(cohorts)):
        if flag.source in QUEUE_ONLY:
            continue
        await ctx.notifier.to_sid(conn.sid, events.ALERT_NEW, flag_payload(flag))
