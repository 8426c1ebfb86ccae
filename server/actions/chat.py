"""Chat use cases: join, leave, history, typing, and the path of one message.

The path of a message, top to bottom in `send_message`:
validate (schemas.py) -> authorize -> scan -> store -> broadcast -> alert -> ack.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from moderation import Decision, Detection
from server.actions import assessment, flags, routing
from server.actions.access import access_room
from server.actions.audit import record
from server.actions.local_days import activity_day
from server.clock import utcnow
from server.context import AppContext
from server.errors import (
    ChatError,
    CrisisUnavailable,
    Forbidden,
    Muted,
    NotFound,
    RateLimited,
    RoomLocked,
    SlowMode,
    Unavailable,
)
from server.models import Flag, Message, Origin, Principal, Room
from server.realtime.registry import Connection
from server.store.failures import StorageError, is_outage
from server.wire import events
from server.wire.payloads import message_payload, room_payload, user_public
from server.wire.schemas import History, SendMessage

log = logging.getLogger(__name__)
JOIN_PAGE = 50


def _viewer(principal: Principal) -> ObjectId | None:
    """Moderators see every message; a patient sees peers' non-held ones and their own."""
    return None if principal.is_moderator else principal.user_id


async def visible_rooms(ctx: AppContext, principal: Principal) -> list[Room]:
    """The rooms of the principal's cohorts (every room for staff), by cohort and name.
    From the caches for patients and counselors: every connect asks, and a reconnect storm
    must not read the rooms collection once per socket."""
    if principal.is_staff:
        return await ctx.stores.rooms.for_cohorts(None)
    rooms = [room for cohort_id in principal.cohort_ids for room in await rooms_of_cohort(ctx, cohort_id)]
    return sorted(rooms, key=lambda r: (r.cohort_name, r.name))


async def rooms_of_cohort(ctx: AppContext, cohort_id: ObjectId) -> list[Room]:
    """A cohort's rooms by name, from the caches (served stale while the database is out)."""
    rooms = []
    for room_id in await ctx.caches.cohort_rooms.get(cohort_id):
        room = await ctx.caches.rooms.get(room_id)
        if room is not None and room.cohort_id == cohort_id:
            rooms.append(room)
    return sorted(rooms, key=lambda r: r.name)


async def room_view(ctx: AppContext, room: Room, principal: Principal) -> dict[str, Any]:
    pinned = await ctx.stores.messages.get(room.pinned_message_id) if room.pinned_message_id else None
    return room_payload(room, pinned, moderator=principal.is_moderator)


async def join_room(ctx: AppContext, conn: Connection, room_id: ObjectId) -> dict[str, Any]:
    """A reconnect storm waits in line here (ADMISSION_CONCURRENCY joins at once), not in
    the database driver's pool where each wait counts against DB_TIMEOUT_MS."""
    async with ctx.admission:
        return await _join(ctx, conn, room_id)


async def _join(ctx: AppContext, conn: Connection, room_id: ObjectId) -> dict[str, Any]:
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
    await audit_staff_read(ctx, principal, room, messages, conn.origin)
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


async def audit_staff_read(
    ctx: AppContext, principal: Principal, room: Room, messages: list[Message], origin: Origin
) -> None:
    """Staff belong to no cohort: their reading of a room's history is on the record."""
    if principal.is_staff and messages:
        await record(ctx, "room.history_read", principal, ("room", room.id), origin, count=len(messages))


async def history(ctx: AppContext, principal: Principal, cmd: History, origin: Origin) -> dict[str, Any]:
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
    await audit_staff_read(ctx, principal, room, messages, origin)
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

    The ack (the return value) comes only after the message is stored, within
    DB_TIMEOUT_MS of receipt, else `unavailable`. A retry with the same client_id returns
    the stored message, completing its delivery if a timeout or crash cut it short.

    The crisis path depends neither on the database nor on the message being postable:
    the author's resources come from the verdict before any write; the counselors are
    alerted from memory if the flag is not stored within a second; a flag the database
    cannot take waits in the crisis outbox; and a muted author, a locked room or a
    database outage still gets the crisis to a counselor. The author is told the truth
    (`alerted: true` on the refusal).
    """
    deadline = asyncio.get_running_loop().time() + ctx.config.db_timeout_ms / 1000
    principal = conn.principal
    room = await access_room(ctx, principal, cmd.room_id)
    if room.id not in conn.rooms:
        raise Forbidden("Join the room first.")
    now = utcnow()
    wait = ctx.send_limiter.take(principal.user_id)
    refusal = RateLimited(retry_after=wait) if wait > 0 else await _refusal(ctx, principal, room, now)
    if refusal is not None:
        stored = await _stored_send(ctx, principal.user_id, cmd.client_id)
        if stored is not None:  # a retry of a send that was stored: idempotent, not refused
            return await _finish_retry(ctx, stored)
        if isinstance(refusal, RateLimited):
            raise refusal  # a flood is not scanned: that is what the limit protects
        detection, decision, _ = await assessment.assess(ctx, cmd.text, room)
        if decision.flag:
            unposted = _message_doc(principal, room, cmd, now, decision.status)
            await flags.raise_crisis_alone(
                ctx, await _crisis_first(ctx, principal, room, unposted, detection, decision), deadline
            )
            on_call = await routing.anyone_on_call(ctx, room.cohort_id)
            if isinstance(refusal, Unavailable):
                raise CrisisUnavailable(str(unposted["_id"]), on_call=on_call)
            refusal.extra.update(alerted=True, message_id=str(unposted["_id"]), counselor_on_call=on_call)
            refusal.message = f"{refusal.message} {CrisisUnavailable.told(on_call)}"
        raise refusal

    context = ctx.detection.context_for(room.id, principal.user_id)
    detection, decision, verdict = await assessment.assess(ctx, cmd.text, room, context)
    doc = _message_doc(principal, room, cmd, now, decision.status)
    flag_doc = await _crisis_first(ctx, principal, room, doc, detection, decision) if decision.flag else None
    try:
        async with asyncio.timeout_at(deadline):
            message, flag, created = await _store(ctx, doc, flag_doc)
    except (TimeoutError, StorageError) as exc:
        if isinstance(exc, StorageError) and not is_outage(exc):
            raise
        if flag_doc is None:
            raise Unavailable() from None
        await flags.raise_crisis_alone(ctx, flag_doc, deadline)
        raise CrisisUnavailable(str(doc["_id"]), on_call=await routing.anyone_on_call(ctx, room.cohort_id)) from None
    if not created:
        return await _finish_retry(ctx, message, flag)
    ctx.caches.last_sent[(room.id, principal.user_id)] = now
    ctx.detection.remember(room.id, principal.user_id, cmd.text, flagged=flag is not None)
    if verdict is not None and verdict.deferred:
        ctx.detection.judge_later(message.id, cmd.text, context, first=verdict.urgent)
    await deliver(ctx, message, flag, send_resources=decision.send_resources)
    if principal.role == "patient":
        ctx.stores.activity.note(principal.user_id, activity_day(ctx, room.cohort_id, now))  # for the silence signal
    return message


def _message_doc(principal: Principal, room: Room, cmd: SendMessage, now: datetime, status: str) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "room_id": room.id,
        "cohort_id": room.cohort_id,
        "author_id": principal.user_id,
        "author_name": principal.display_name,
        "author_role": principal.role,
        "text": cmd.text,
        "client_id": cmd.client_id,
        "created_at": now,
        "status": status,
    }


async def _crisis_first(
    ctx: AppContext,
    principal: Principal,
    room: Room,
    doc: dict[str, Any],
    detection: Detection | None,
    decision: Decision,
) -> dict[str, Any]:
    """The flag document of a flagged message, and the author's crisis resources at once:
    from the verdict, before any write, so a slow or absent database never delays them."""
    flag_doc = flags.detector_flag_doc(doc, room, detection)
    doc.update(flag_ids=[flag_doc["_id"]], severity=flag_doc["severity"], categories=flag_doc["categories"])
    if decision.send_resources and principal.role == "patient":
        await routing.send_crisis_resources(ctx, principal.user_id, doc["_id"], language=principal.language)
    flag_doc["resources_sent"] = True  # sent now, or not wanted for this message
    return flag_doc


async def _stored_send(ctx: AppContext, author_id: ObjectId, client_id: str) -> Message | None:
    """The stored message of an earlier attempt of this send, if the database can say."""
    try:
        return await ctx.stores.messages.by_client_id(author_id, client_id)
    except StorageError as exc:
        if not is_outage(exc):
            raise
        return None


async def _store(
    ctx: AppContext, doc: dict[str, Any], flag_doc: dict[str, Any] | None
) -> tuple[Message, Flag | None, bool]:
    """The flag first, then the message: if the message then fails to store, the crisis
    words still reach a human through the open flag. (message, flag, created)."""
    flag = None
    if flag_doc is not None:
        flag, fresh = await flags.store_flag_promptly(ctx, flag_doc)
        if not fresh:  # this send was flagged before: a retry
            stored = await ctx.stores.messages.by_client_id(doc["author_id"], doc["client_id"])
            if stored is not None:
                return stored, flag, False
        doc.update(_id=flag.message_id, flag_ids=[flag.id], severity=flag.severity, categories=list(flag.categories))
    message, created = await ctx.stores.messages.insert(doc, track_delivery=True)
    return message, flag, created


async def _finish_retry(ctx: AppContext, message: Message, flag: Flag | None = None) -> Message:
    """A retry found its message stored. If a timeout or crash cut its delivery short,
    complete it now (broadcast, alert), exactly as the first attempt would have."""
    if await ctx.stores.messages.is_undelivered(message.id):
        if flag is None and message.flag_ids:
            flag = await ctx.stores.flags.get(message.flag_ids[0])
        await deliver(ctx, message, flag, send_resources=False)
    return message


async def deliver(ctx: AppContext, message: Message, flag: Flag | None, *, send_resources: bool) -> None:
    """Broadcast, then alert (as far as not done), then record the delivery.

    Recording happens after the fact, batched off the ack's path: a crash in between
    means the delivery sweep sends it again (clients keep one copy per id), never that
    it is lost."""
    try:
        await ctx.notifier.message_new(message)
    finally:  # a failed broadcast (the message is stored; a retry returns it) must not cost the alert
        if flag is not None:
            await routing.deliver_new_flag(ctx, flag, send_resources=send_resources, message=message)
    ctx.stores.messages.note_delivered(message.id)


async def _refusal(ctx: AppContext, principal: Principal, room: Room, now: datetime) -> ChatError | None:
    """Why this author may not post in this room now, if so (locked, muted, slow mode),
    or `unavailable` when the database cannot say."""
    if principal.is_moderator:
        return None  # counselors and staff may post in locked or slow rooms, and are never muted
    if room.locked:
        return RoomLocked()
    try:
        muted_until = (await ctx.caches.mutes.get(room.id)).get(principal.user_id)
        if muted_until is not None and muted_until > now:
            return Muted(retry_after=(muted_until - now).total_seconds())
        if room.slow_mode_seconds > 0:
            key = (room.id, principal.user_id)
            last = ctx.caches.last_sent.get(key)
            if last is None:
                previous = await ctx.stores.messages.last_by_author(room.id, principal.user_id)
                last = previous.created_at if previous else None
            if last is not None:
                ready_at = last + timedelta(seconds=room.slow_mode_seconds)
                if ready_at > now:
                    return SlowMode(retry_after=(ready_at - now).total_seconds())
    except StorageError as exc:
        if not is_outage(exc):
            raise
        return Unavailable()
    return None
