"""Chat use cases: join, leave, history, typing, and the path of one message.

The path of a message, top to bottom in `send_message`:
validate (schemas.py) -> authorize -> scan -> store -> broadcast -> alert -> ack.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from server import alerts, events
from server.access import access_room
from server.clock import utcnow
from server.context import AppContext
from server.errors import Forbidden, Muted, NotFound, RateLimited, RoomLocked, SlowMode
from server.models import Message, Principal, Room
from server.payloads import message_payload, room_payload, user_public
from server.registry import Connection
from server.schemas import History, SendMessage

log = logging.getLogger(__name__)
JOIN_PAGE = 50


def _viewer(principal: Principal) -> ObjectId | None:
    """Moderators see every message; a patient sees peers' non-held ones and their own."""
    return None if principal.is_moderator else principal.user_id


async def room_view(ctx: AppContext, room: Room, principal: Principal) -> dict[str, Any]:
    pinned = await ctx.stores.messages.get(room.pinned_message_id) if room.pinned_message_id else None
    if pinned is not None and pinned.status == "held" and not principal.is_moderator:
        pinned = None
    return room_payload(room, pinned, moderator=principal.is_moderator)


async def join_room(ctx: AppContext, conn: Connection, room_id: ObjectId) -> dict[str, Any]:
    principal = conn.principal
    room = await access_room(ctx, principal, room_id)
    already_online = ctx.registry.user_in_room(principal.user_id, room.id)
    # Enter the Socket.IO rooms before reading the backlog, so that nothing sent in
    # between is missed (a duplicate is possible and the client dedupes by id).
    audience = events.room_mods(room.id) if principal.is_moderator else events.room_patients(room.id)
    await ctx.sio.enter_room(conn.sid, audience)
    await ctx.sio.enter_room(conn.sid, events.room_user(room.id, principal.user_id))
    ctx.registry.join(conn, room.id)
    await ctx.presence.refresh(conn)
    messages, has_more = await ctx.stores.messages.latest(room.id, JOIN_PAGE, _viewer(principal))
    if not already_online:
        await ctx.notifier.presence(room.id, principal, online=True)
    return {
        "room": await room_view(ctx, room, principal),
        "messages": [message_payload(m, moderator=principal.is_moderator) for m in messages],
        "has_more": has_more,
        "online": [user_public(*person) for person in await ctx.presence.online_in_room(room.id)],
    }


async def leave_room(ctx: AppContext, conn: Connection, room_id: ObjectId, *, announce: bool = True) -> None:
    if room_id not in conn.rooms:
        return
    principal = conn.principal
    ctx.registry.leave(conn, room_id)
    await ctx.presence.left_room(conn, room_id)
    for name in (
        events.room_mods(room_id),
        events.room_patients(room_id),
        events.room_user(room_id, principal.user_id),
    ):
        await ctx.sio.leave_room(conn.sid, name)
    if announce and not ctx.registry.user_in_room(principal.user_id, room_id):
        await ctx.notifier.presence(room_id, principal, online=False)


async def history(ctx: AppContext, principal: Principal, cmd: History) -> dict[str, Any]:
    room = await access_room(ctx, principal, cmd.room_id)
    store = ctx.stores.messages
    viewer = _viewer(principal)
    anchor_id = cmd.before or cmd.after
    if anchor_id is None:
        messages, has_more = await store.latest(room.id, cmd.limit, viewer)
    else:
        anchor = await store.get(anchor_id)
        if anchor is None or anchor.room_id != room.id:
            raise NotFound("That message is not in this room.")
        if cmd.before is not None:
            messages, has_more = await store.before(room.id, anchor.seq, cmd.limit, viewer)
        else:
            messages, has_more = await store.after(room.id, anchor.seq, cmd.limit, viewer)
    return {"messages": [message_payload(m, moderator=principal.is_moderator) for m in messages], "has_more": has_more}


async def typing(ctx: AppContext, conn: Connection, room_id: ObjectId, is_typing: bool) -> None:
    if room_id not in conn.rooms:
        raise Forbidden("Join the room first.")
    wait = ctx.typing_limiter.take(conn.principal.user_id)
    if wait > 0:
        raise RateLimited(retry_after=wait)
    await ctx.notifier.typing(room_id, conn.principal, is_typing, conn.sid)


async def send_message(ctx: AppContext, conn: Connection, cmd: SendMessage) -> Message:
    """Store, broadcast and (if the detector matched) flag and alert one chat message.

    The ack (the return value) comes only after the message is stored. A retry with the
    same client_id returns the stored message and broadcasts nothing.
    """
    principal = conn.principal
    room = await access_room(ctx, principal, cmd.room_id)
    if room.id not in conn.rooms:
        raise Forbidden("Join the room first.")
    now = utcnow()
    try:
        await _check_may_post(ctx, principal, room, now)
    except (RateLimited, Muted, SlowMode, RoomLocked):
        stored = await ctx.stores.messages.by_client_id(principal.user_id, cmd.client_id)
        if stored is not None:  # a retry of a send that was stored: idempotent, not refused
            return stored
        raise

    context = ctx.detection.context_for(room.id, principal.user_id)
    detection, decision, verdict = await alerts.assess(ctx, cmd.text, room, context)
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "room_id": room.id,
        "cohort_id": room.cohort_id,
        "author_id": principal.user_id,
        "author_name": principal.display_name,
        "author_role": principal.role,
        "text": cmd.text,
        "client_id": cmd.client_id,
        "created_at": now,
        "status": decision.status,
    }
    flag = None
    if decision.flag:
        # The flag is written before the message: if the message then fails to store,
        # the crisis words still reach a human through the open flag.
        flag, fresh = await alerts.store_detector_flag(ctx, doc, room, detection)
        if not fresh:  # this send was flagged before: a retry
            stored = await ctx.stores.messages.by_client_id(principal.user_id, cmd.client_id)
            if stored is not None:
                return stored
        doc.update(_id=flag.message_id, flag_ids=[flag.id], severity=flag.severity, categories=list(flag.categories))

    message, created = await ctx.stores.messages.insert(doc)
    if not created:
        return message
    ctx.caches.last_sent[(room.id, principal.user_id)] = now
    ctx.detection.remember(room.id, principal.user_id, cmd.text, flagged=flag is not None)
    if verdict is not None and verdict.deferred:
        ctx.detection.judge_later(message.id, cmd.text, context, first=verdict.urgent)
    try:
        await ctx.notifier.message_new(message)
    finally:  # a failed broadcast (the message is stored; a retry returns it) must not cost the alert
        if flag is not None:
            await alerts.deliver_new_flag(ctx, flag, send_resources=decision.send_resources, message=message)
    return message


async def _check_may_post(ctx: AppContext, principal: Principal, room: Room, now: datetime) -> None:
    wait = ctx.send_limiter.take(principal.user_id)
    if wait > 0:
        raise RateLimited(retry_after=wait)
    if principal.is_moderator:
        return  # counselors and staff may post in locked or slow rooms, and are never muted
    if room.locked:
        raise RoomLocked()
    muted_until = (await ctx.caches.mutes.get(room.id)).get(principal.user_id)
    if muted_until is not None and muted_until > now:
        raise Muted(retry_after=(muted_until - now).total_seconds())
    if room.slow_mode_seconds > 0:
        key = (room.id, principal.user_id)
        last = ctx.caches.last_sent.get(key)
        if last is None:
            previous = await ctx.stores.messages.last_by_author(room.id, principal.user_id)
            last = previous.created_at if previous else None
        if last is not None:
            ready_at = last + timedelta(seconds=room.slow_mode_seconds)
            if ready_at > now:
                raise SlowMode(retry_after=(ready_at - now).total_seconds())
