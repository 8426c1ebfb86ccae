"""Applying account and membership changes to live sockets, in every process.

Use cases publish a control command (server/control.py); each process runs the handler
below against its own connections. This is how logout, deactivation, removal from a
cohort and kicks take effect at once, not at the next reconnect.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from typing import Any

from bson import ObjectId

from server.actions import chat, escalation, oncall
from server.context import AppContext
from server.realtime.registry import Connection
from server.wire import events

log = logging.getLogger(__name__)
DISCONNECT_TIMEOUT_SECONDS = 5


async def end_sessions(ctx: AppContext, command: dict[str, Any]) -> None:
    """Command: end the sockets of a user (deactivation) or of one token (logout)."""
    if command.get("jti"):
        targets = ctx.registry.of_token(command["jti"])
    else:
        targets = ctx.registry.of_user(ObjectId(command["user_id"]))
    for conn in targets:
        await disconnect(ctx, conn.sid, command["reason"])


async def disconnect(ctx: AppContext, sid: str, reason: str) -> None:
    """Tell the client why, then close its socket.

    Bounded: engine.io's close waits for the socket's send queue to drain, which never
    happens if the client vanished at the same moment, and a logout must not hang on it.
    """
    await ctx.notifier.to_sid(sid, events.SESSION_ENDED, {"reason": reason})
    try:
        await asyncio.wait_for(ctx.sio.disconnect(sid), DISCONNECT_TIMEOUT_SECONDS)
    except TimeoutError:
        log.warning("socket %s did not close within %ss", sid, DISCONNECT_TIMEOUT_SECONDS)


async def membership_changed(ctx: AppContext, command: dict[str, Any]) -> None:
    """Command: a user joined or left a cohort (as member or assigned counselor), or the
    cohort was reopened or closed (`reason: "cohort_closed"`)."""
    user_id, cohort_id = ObjectId(command["user_id"]), ObjectId(command["cohort_id"])
    for conn in ctx.registry.of_user(user_id):
        principal = conn.principal
        cohorts = set(principal.cohort_ids)
        if command["present"]:
            cohorts.add(cohort_id)
        else:
            cohorts.discard(cohort_id)
        conn.principal = type(principal)(**{**principal.__dict__, "cohort_ids": frozenset(cohorts)})
        if not command["present"]:
            await _remove_from_cohort_rooms(ctx, conn, cohort_id, command.get("reason") or "removed_from_cohort")
        await oncall.join_alert_rooms(ctx, conn, oncall=conn.oncall)
        if not command["present"] and principal.role == "counselor":
            for name in (events.cohort_counselors(cohort_id), events.oncall_room(cohort_id)):
                await ctx.sio.leave_room(conn.sid, name)
            await ctx.presence.left_oncall(conn, frozenset([cohort_id]), entirely=False)


async def _remove_from_cohort_rooms(ctx: AppContext, conn: Connection, cohort_id: ObjectId, reason: str) -> None:
    for room_id in list(conn.rooms):
        room = await ctx.caches.rooms.get(room_id)
        if room is not None and room.cohort_id == cohort_id:
            await chat.leave_room(ctx, conn, room_id)
            await ctx.notifier.to_sid(conn.sid, events.ROOM_REMOVED, {"room_id": str(room_id), "reason": reason})


async def kick(ctx: AppContext, command: dict[str, Any]) -> None:
    """Command: take a user's sockets out of one room (they may rejoin)."""
    user_id, room_id = ObjectId(command["user_id"]), ObjectId(command["room_id"])
    for conn in ctx.registry.of_user(user_id):
        if room_id in conn.rooms:
            await chat.leave_room(ctx, conn, room_id)
        await ctx.notifier.to_sid(conn.sid, events.ROOM_REMOVED, {"room_id": str(room_id), "reason": command["reason"]})


async def room_changed(ctx: AppContext, command: dict[str, Any]) -> None:
    ctx.caches.rooms.invalidate(ObjectId(command["room_id"]))
    if command.get("cohort_id"):  # a new room: the cohort's list changed
        ctx.caches.cohort_rooms.invalidate(ObjectId(command["cohort_id"]))


async def mute_changed(ctx: AppContext, command: dict[str, Any]) -> None:
    ctx.caches.mutes.invalidate(ObjectId(command["room_id"]))


async def oncall_changed(ctx: AppContext, command: dict[str, Any]) -> None:
    await oncall.apply_oncall(ctx, ObjectId(command["user_id"]), command["on"])


def register(ctx: AppContext) -> None:
    handlers = {
        "end_sessions": end_sessions,
        "membership": membership_changed,
        "kick": kick,
        "room_changed": room_changed,
        "mute_changed": mute_changed,
        "oncall": oncall_changed,
        "renamed": renamed,
        "escalated": escalated,
    }
    for kind, fn in handlers.items():
        ctx.control.on(kind, functools.partial(fn, ctx))


async def renamed(ctx: AppContext, command: dict[str, Any]) -> None:
    """Command: a user chose a new display name; their live sockets post under it."""
    for conn in ctx.registry.of_user(ObjectId(command["user_id"])):
        conn.principal = dataclasses.replace(conn.principal, display_name=command["display_name"])


async def escalated(ctx: AppContext, command: dict[str, Any]) -> None:
    await escalation.tell_local_counselors(ctx, ObjectId(command["flag_id"]), outside=command["outside"])
