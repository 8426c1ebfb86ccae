"""Live moderation: what counselors (of the room's cohort) and staff can do to messages,
members and rooms. Every action is authorized first, stored, audited, then broadcast
shaped per role (payloads.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bson import ObjectId

from server.actions.access import access_message_to_moderate, access_room_to_moderate
from server.actions.audit import record
from server.actions.chat import room_view
from server.clock import iso, utcnow
from server.context import AppContext
from server.errors import Invalid, NotFound
from server.models import Message, Principal, Room, User
from server.realtime.registry import Connection
from server.wire import events
from server.wire.payloads import message_payload
from server.wire.schemas import MemberAction, MessageAction, Mute, Pin, SlowMode

# (allowed from, new status) for each message action
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "hide": (("visible", "held"), "hidden"),
    "delete": (("visible", "held", "hidden"), "deleted"),
    "release": (("held",), "visible"),
}


def _moderation(principal: Principal, reason: str | None) -> dict[str, Any]:
    return {
        "by_id": principal.user_id,
        "by_name": principal.display_name,
        "by_role": principal.role,
        "at": utcnow(),
        "reason": reason,
    }


async def change_message(ctx: AppContext, conn: Connection, action: str, cmd: MessageAction) -> Message:
    """hide, unhide, delete or release one message."""
    principal = conn.principal
    message, _ = await access_message_to_moderate(ctx, principal, cmd.message_id)
    if action == "unhide":
        if message.status != "hidden":
            raise Invalid("Only a hidden message can be unhidden.")
        restore = message.status_before_hide or "visible"
        updated = await ctx.stores.messages.update(
            message.id, {"status": "hidden"}, {"status": restore, "moderation": _moderation(principal, cmd.reason)}
        )
    else:
        allowed, new_status = TRANSITIONS[action]
        if message.status not in allowed:
            raise Invalid(
                f"A {message.status} message cannot be {'released' if action == 'release' else action + 'd'}."
            )
        changes: dict[str, Any] = {"status": new_status, "moderation": _moderation(principal, cmd.reason)}
        if action == "hide":
            changes["status_before_hide"] = message.status
        updated = await ctx.stores.messages.update(message.id, {"status": message.status}, changes)
    if updated is None:
        raise Invalid("The message changed meanwhile; please try again.")
    await record(ctx, f"mod.{action}", principal, ("message", message.id), conn.origin, room_id=str(message.room_id))
    # Peers never had a held message: hiding or deleting it is not announced to them.
    peers_had_it = message.status != "held" and message.status_before_hide != "held"
    await ctx.notifier.message_updated(updated, released=action == "release", peers_see=peers_had_it)
    return updated


async def _member_of_room(ctx: AppContext, room: Room, user_id: ObjectId) -> User:
    """The patient of the room's cohort that a mute or kick names.

    Anyone else gets one answer, whoever they are: this used to say whether any id was an
    account and whether it was a patient, for every cohort (an oracle over the clinic's
    accounts). Only the room's own counselors, whom the room shows anyway, are named."""
    cohort = await ctx.stores.cohorts.get(room.cohort_id)
    if cohort is not None and user_id in cohort.counselor_ids:
        raise Invalid("Only patients can be muted or removed from a room.")
    user = await ctx.stores.users.get(user_id) if cohort is not None and user_id in cohort.member_ids else None
    if user is None or user.role != "patient":
        raise NotFound("That patient is not in this room's cohort.")
    return user


async def mute(ctx: AppContext, conn: Connection, cmd: Mute) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, cmd.room_id)
    user = await _member_of_room(ctx, room, cmd.user_id)
    until = utcnow() + timedelta(minutes=cmd.minutes)
    await ctx.stores.rooms.mute(room.id, user.id, until, cmd.reason, conn.principal.user_id)
    await ctx.control.publish("mute_changed", room_id=str(room.id), user_id=str(user.id))
    await record(
        ctx, "mod.mute", conn.principal, ("user", user.id), conn.origin, room_id=str(room.id), minutes=cmd.minutes
    )
    await ctx.notifier.to_user(
        user.id, events.MOD_MUTED, {"room_id": str(room.id), "until": iso(until), "reason": cmd.reason}
    )
    return {"until": iso(until)}


async def unmute(ctx: AppContext, conn: Connection, cmd: MemberAction) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, cmd.room_id)
    user = await _member_of_room(ctx, room, cmd.user_id)
    await ctx.stores.rooms.unmute(room.id, user.id)
    await ctx.control.publish("mute_changed", room_id=str(room.id), user_id=str(user.id))
    await record(ctx, "mod.unmute", conn.principal, ("user", user.id), conn.origin, room_id=str(room.id))
    return {}


async def kick(ctx: AppContext, conn: Connection, cmd: MemberAction) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, cmd.room_id)
    user = await _member_of_room(ctx, room, cmd.user_id)
    await record(ctx, "mod.kick", conn.principal, ("user", user.id), conn.origin, room_id=str(room.id))
    await ctx.control.publish(
        "kick", user_id=str(user.id), room_id=str(room.id), reason=cmd.reason or "removed_by_counselor"
    )
    return {}


async def _update_room(
    ctx: AppContext, conn: Connection, room: Room, action: str, changes: dict[str, Any]
) -> dict[str, Any]:
    updated = await ctx.stores.rooms.update(room.id, changes)
    if updated is None:
        raise NotFound("That room does not exist.")
    ctx.caches.rooms.invalidate(room.id)
    await ctx.control.publish("room_changed", room_id=str(room.id))
    await record(
        ctx,
        f"mod.{action}",
        conn.principal,
        ("room", room.id),
        conn.origin,
        **{k: (str(v) if isinstance(v, ObjectId) else v) for k, v in changes.items()},
    )
    pinned = await ctx.stores.messages.get(updated.pinned_message_id) if updated.pinned_message_id else None
    await ctx.notifier.room_updated(updated, pinned)
    return {"room": await room_view(ctx, updated, conn.principal)}


async def lock(ctx: AppContext, conn: Connection, room_id: ObjectId, locked: bool) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, room_id)
    return await _update_room(ctx, conn, room, "lock" if locked else "unlock", {"locked": locked})


async def slow_mode(ctx: AppContext, conn: Connection, cmd: SlowMode) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, cmd.room_id)
    return await _update_room(ctx, conn, room, "slow_mode", {"slow_mode_seconds": cmd.seconds})


async def pin(ctx: AppContext, conn: Connection, cmd: Pin) -> dict[str, Any]:
    room = await access_room_to_moderate(ctx, conn.principal, cmd.room_id)
    if cmd.message_id is not None:
        message = await ctx.stores.messages.get(cmd.message_id)
        if message is None or message.room_id != room.id:
            raise NotFound("That message is not in this room.")
        if message.status != "visible":
            raise Invalid("Only a visible message can be pinned.")
    return await _update_room(ctx, conn, room, "pin", {"pinned_message_id": cmd.message_id})


def message_ack(message: Message) -> dict[str, Any]:
    return {"message": message_payload(message, moderator=True)}
