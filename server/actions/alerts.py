"""Flags and alerts: from a detector match or a peer report to the right counselors.

Routing (PROTOCOL.md "Alert routing"): a new flag goes at once to every connected
on-call counselor assigned to the flag's cohort; if none is connected and on call, to
every connected on-call counselor (break glass); and always to connected staff.
Flags are stored before any alert leaves, so an alert that finds nobody is not lost:
open flags are delivered again when a counselor connects or goes on call, and the
escalator (server/escalation.py) widens the audience of unacknowledged high flags.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from bson import ObjectId

from moderation import Decision, Detection, crisis_resources, decide_policy, fail_safe
from server.actions.audit import record
from server.actions.detection import Verdict
from server.clock import utcnow
from server.context import AppContext
from server.errors import Forbidden, NotFound
from server.models import Flag, Message, Origin, Principal, Room
from server.realtime.registry import Connection
from server.store.failures import StorageError
from server.wire import events
from server.wire.payloads import flag_payload
from server.wire.schemas import Concern

log = logging.getLogger(__name__)


async def assess(
    ctx: AppContext, text: str, room: Room, context: tuple[str, ...] = ()
) -> tuple[Detection | None, Decision, Verdict | None]:
    """Scan a message and decide its fate: (detection, decision, the detector's verdict).

    `verdict.deferred` says the model judges the message after it goes out.

    A detector failure holds the message and raises a flag (fail toward a human)."""
    try:
        verdict = await ctx.detection.assess(text, context)
    except Exception:
        log.exception("detector failed on a message in room %s; holding it for a counselor", room.id)
        return None, fail_safe(), None
    return verdict.detection, decide(ctx, verdict.detection, room), verdict


def decide(ctx: AppContext, detection: Detection, room: Room) -> Decision:
    hold_policy = room.crisis_hold or ctx.config.crisis_hold
    return decide_policy(
        detection.severity, hold_policy=hold_policy, resources_for_medium=ctx.config.crisis_resources_for_medium
    )


ALERT_WITHIN_SECONDS = 1.0  # a crisis alert never waits longer than this for the database


async def store_detector_flag(
    ctx: AppContext, message_doc: dict[str, Any], room: Room, detection: Detection | None
) -> tuple[Flag, bool]:
    """Store the flag of a message about to be stored; (flag, False) if this send was
    flagged before (a retry), in which case the flag names the message id to reuse."""
    return await ctx.stores.flags.insert(detector_flag_doc(message_doc, room, detection))


def detector_flag_doc(message_doc: dict[str, Any], room: Room, detection: Detection | None) -> dict[str, Any]:
    """The flag document of a detector (or model) verdict, complete before any write, so
    that it can be alerted from memory when the database is slow."""
    return {
        "_id": ObjectId(),
        "dedupe_key": f"detector:{message_doc['author_id']}:{message_doc['client_id']}",
        "message_id": message_doc["_id"],
        "room_id": room.id,
        "cohort_id": room.cohort_id,
        "cohort_name": room.cohort_name,
        "author_id": message_doc["author_id"],
        "author_name": message_doc["author_name"],
        "author_role": message_doc["author_role"],
        "client_id": message_doc["client_id"],
        "text": message_doc["text"],
        "severity": detection.severity if detection and detection.severity else "high",
        "categories": list(detection.categories) if detection else [],
        "matches": [{"term": m.term, "category": m.category, "start": m.start, "end": m.end} for m in detection.matches]
        if detection
        else [],
        "source": "model" if detection and detection.source == "model" else "detector",
        "score": detection.score if detection else None,
        "model_version": detection.model_version if detection else None,
        "reported_by": None,
        "reason": None if detection else "detector_error",
        "status": "open",
        "escalation_level": 0,
        "break_glass": False,
        "created_at": message_doc["created_at"],
        "lexicon_version": detection.lexicon_version if detection else None,
        "alerted": False,
        "resources_sent": False,
    }


async def store_flag_promptly(ctx: AppContext, doc: dict[str, Any]) -> tuple[Flag, bool]:
    """Store a detector flag; if the database has not answered within a second, alert the
    counselors from memory first and go on waiting (the caller's deadline bounds that).

    A send that already left a flag in the crisis outbox (the database was out) reuses it:
    same ids, and it is not alerted twice."""
    held = ctx.crisis_outbox.pending(doc["dedupe_key"])
    if held is not None:
        doc.clear()
        doc.update(held)
    task = asyncio.ensure_future(ctx.stores.flags.insert(dict(doc)))
    try:
        return await asyncio.wait_for(asyncio.shield(task), ALERT_WITHIN_SECONDS)
    except TimeoutError:
        pass
    if not doc["alerted"]:
        log.warning("flag %s: the database is slow; alerting from memory", doc["_id"])
        await alert_from_memory(ctx, doc)
    flag, fresh = await asyncio.shield(task)
    if fresh:
        await ctx.stores.flags.mark(flag.id, alerted=True, break_glass=doc["break_glass"])
    return dataclasses.replace(flag, alerted=True, break_glass=doc["break_glass"]), fresh


async def alert_from_memory(ctx: AppContext, doc: dict[str, Any]) -> None:
    """alert:new for a flag the database has not (yet) taken; marks the document alerted."""
    flag = await route_new_flag(ctx, Flag.from_doc({**doc, "alerted": False}), persist=False)
    doc["alerted"], doc["break_glass"] = True, flag.break_glass


def keep_for_later(ctx: AppContext, doc: dict[str, Any]) -> None:
    """The database did not take an alerted flag in time: the outbox stores it when it can."""
    ctx.crisis_outbox.keep(doc)


async def deliver_new_flag(ctx: AppContext, flag: Flag, *, send_resources: bool, message: Message) -> None:
    """Show the author crisis resources and alert counselors, as far as not done yet
    (`resources_sent`, `alerted`). Never raises: the flag is stored, and the delivery
    sweep, delivery at connect/on call and the escalator are the safety net."""
    try:
        if send_resources and not flag.resources_sent and message.author_role == "patient":
            await send_crisis_resources(ctx, message.author_id, message.id)
            await ctx.stores.flags.mark(flag.id, resources_sent=True)
        if not flag.alerted:
            await route_new_flag(ctx, flag)
    except Exception:
        log.exception("delivering flag %s failed; it stays open for delivery and escalation", flag.id)


async def send_crisis_resources(
    ctx: AppContext, author_id: ObjectId, message_id: ObjectId, language: str | None = None
) -> None:
    """crisis:resources to the author's sockets. With `language` (the send path knows it)
    this touches no database: the numbers reach the author even when it is down."""
    if language is None:
        for conn in ctx.registry.of_user(author_id):
            language = conn.principal.language
            break
        else:
            author = await ctx.stores.users.get(author_id)
            language = author.language if author else "en"
    text, resources = crisis_resources(language, ctx.config.clinic_oncall_phone)
    await ctx.notifier.to_user(
        author_id, events.CRISIS_RESOURCES, {"message_id": str(message_id), "text": text, "resources": resources}
    )


async def route_new_flag(ctx: AppContext, flag: Flag, *, persist: bool = True) -> Flag:
    """alert:new to whoever should hear first; then record that it went out.

    The alert is sent before anything is written, so a slow database never delays it.
    Routed outside the cohort (nobody of it on call): break glass, audited."""
    if await ctx.presence.anyone_oncall(flag.cohort_id):
        rooms = [events.oncall_room(flag.cohort_id), events.STAFF]
    else:
        rooms = [events.ONCALL, events.STAFF]
        if await ctx.presence.anyone_oncall(None):
            flag = dataclasses.replace(flag, break_glass=True)
    await ctx.notifier.alert(events.ALERT_NEW, flag, rooms)
    flag = dataclasses.replace(flag, alerted=True)
    if persist:
        try:
            await ctx.stores.flags.mark(flag.id, alerted=True, break_glass=flag.break_glass)
        except StorageError as exc:  # the sweep may alert it again; a duplicate beats a miss
            log.warning("flag %s alerted but not recorded as alerted (%s)", flag.id, type(exc).__name__)
    if flag.break_glass:
        await _audit_break_glass(ctx, flag)
    return flag


async def _audit_break_glass(ctx: AppContext, flag: Flag) -> None:
    """Counselors outside the flag's cohort received its text: who could, on the record."""
    try:
        await ctx.stores.audit.append(
            "flag.break_glass_delivery",
            actor=None,
            target_type="flag",
            target_id=flag.id,
            origin=Origin(ip=None, user_agent="iopchat-alerts"),
            details={"cohort_id": str(flag.cohort_id), "to": "oncall_counselors"},
        )
    except StorageError as exc:
        log.warning("break-glass delivery of flag %s not audited yet (%s)", flag.id, type(exc).__name__)


def viewer_rooms(flag: Flag) -> list[str]:
    """Everyone connected who may see this flag (for alert:updated)."""
    rooms = [events.cohort_counselors(flag.cohort_id), events.STAFF]
    if flag.break_glass:
        rooms.append(events.COUNSELORS)
    return rooms


async def access_flag(ctx: AppContext, principal: Principal, flag_id: ObjectId, origin: Origin) -> Flag:
    """A flag the principal may act on; a break-glass access is audited as such."""
    if not principal.is_moderator:
        raise Forbidden("Only counselors and staff can see flags.")
    flag = await ctx.stores.flags.get(flag_id)
    if flag is None:
        raise NotFound("That flag does not exist.")
    if principal.can_see_cohort(flag.cohort_id):
        return flag
    if principal.role == "counselor" and flag.break_glass:
        await record(ctx, "flag.break_glass", principal, ("flag", flag.id), origin, cohort_id=str(flag.cohort_id))
        return flag
    raise Forbidden("That flag belongs to another cohort.")


async def acknowledge(ctx: AppContext, principal: Principal, flag_id: ObjectId, origin: Origin) -> Flag:
    flag = await access_flag(ctx, principal, flag_id, origin)
    if flag.status != "open":
        return flag  # acknowledging twice is harmless; the first acknowledgement stands
    updated = await ctx.stores.flags.transition(
        flag.id,
        {"status": "open"},
        {
            "status": "acknowledged",
            "acknowledged_by": {"id": principal.user_id, "name": principal.display_name, "role": principal.role},
            "acknowledged_at": utcnow(),
        },
    )
    if updated is None:
        return await ctx.stores.flags.get(flag.id) or flag
    await record(ctx, "flag.ack", principal, ("flag", flag.id), origin)
    await ctx.notifier.alert(events.ALERT_UPDATED, updated, viewer_rooms(updated))
    await tell_help_requester(ctx, updated)
    return updated


async def tell_help_requester(ctx: AppContext, flag: Flag) -> None:
    """A patient who pressed the help button hears that a person has their request."""
    if flag.source != "help_button":
        return
    by = flag.acknowledged_by or flag.resolved_by
    await ctx.notifier.to_user(
        flag.author_id,
        events.HELP_UPDATED,
        {"flag_id": str(flag.id), "status": flag.status, "by": by[1] if by else None},
    )


async def resolve(
    ctx: AppContext, principal: Principal, flag_id: ObjectId, outcome: str, note: str | None, origin: Origin
) -> Flag:
    flag = await access_flag(ctx, principal, flag_id, origin)
    now = utcnow()
    changes: dict[str, Any] = {
        "status": "resolved",
        "resolved_by": {"id": principal.user_id, "name": principal.display_name, "role": principal.role},
        "resolved_at": now,
        "resolution": {"outcome": outcome, "note": note},
    }
    if flag.acknowledged_at is None:
        changes["acknowledged_by"] = changes["resolved_by"]
        changes["acknowledged_at"] = now
    updated = await ctx.stores.flags.transition(flag.id, {"status": {"$ne": "resolved"}}, changes)
    if updated is None:
        return await ctx.stores.flags.get(flag.id) or flag
    await record(ctx, "flag.resolve", principal, ("flag", flag.id), origin, outcome=outcome)
    await ctx.notifier.alert(events.ALERT_UPDATED, updated, viewer_rooms(updated))
    if flag.acknowledged_at is None:  # resolved without an acknowledgement first
        await tell_help_requester(ctx, updated)
    return updated


async def report_message(
    ctx: AppContext, principal: Principal, message: Message, room: Room, reason: str | None, origin: Origin
) -> Flag:
    """A peer's report becomes a `source: report` flag (one per reporter and message)."""
    flag, created = await ctx.stores.flags.insert(
        {
            "dedupe_key": f"report:{principal.user_id}:{message.id}",
            "message_id": message.id,
            "room_id": room.id,
            "cohort_id": room.cohort_id,
            "cohort_name": room.cohort_name,
            "author_id": message.author_id,
            "author_name": message.author_name,
            "author_role": message.author_role,
            "text": message.text,
            "severity": message.severity or "medium",
            "categories": list(message.categories),
            "matches": [],
            "source": "report",
            "reported_by": {"id": principal.user_id, "name": principal.display_name, "role": principal.role},
            "reason": reason,
            "status": "open",
            "escalation_level": 0,
            "break_glass": False,
            "created_at": utcnow(),
        }
    )
    if not created:
        return flag
    await ctx.stores.messages.add_flag(message.id, flag.id, flag.severity)
    await record(ctx, "message.report", principal, ("message", message.id), origin, flag_id=str(flag.id))
    try:
        await route_new_flag(ctx, flag)
    except Exception:
        log.exception("routing reported flag %s failed", flag.id)
    return flag


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


async def deliver_open_flags(ctx: AppContext, conn: Connection) -> None:
    """Open flags raised while nobody was there arrive when a counselor is on call (or staff connects).

    Everyone else gets nothing: this runs at every connect, and a patient must never
    receive a flag (it carries another patient's held crisis text)."""
    principal = conn.principal
    if not (principal.is_staff or (principal.role == "counselor" and conn.oncall)):
        return
    cohorts = None if principal.is_staff else principal.cohort_ids
    for flag in reversed(await ctx.stores.flags.open_for_cohorts(cohorts)):
        await ctx.notifier.to_sid(conn.sid, events.ALERT_NEW, flag_payload(flag))


async def late_verdict(ctx: AppContext, message_id: object, detection: Detection) -> None:
    """The model flagged a message that went out on the cheap verdict under overload.

    It is treated as if the flag had come in time: the flag is stored, a high message is
    withdrawn from peers (they get the same update as when a counselor hides it), the
    author is shown resources, and the alert goes out as alert:new."""
    assert isinstance(message_id, ObjectId)
    message = await ctx.stores.messages.get(message_id)
    if message is None or message.flag_ids or message.status != "visible":
        return  # already flagged, reported or moderated: a human has it
    room = await ctx.caches.rooms.get(message.room_id)
    if room is None:
        return
    decision = decide(ctx, detection, room)
    doc = {
        "_id": message.id,
        "author_id": message.author_id,
        "author_name": message.author_name,
        "author_role": message.author_role,
        "client_id": message.client_id,
        "text": message.text,
        "created_at": utcnow(),
    }
    flag, _ = await store_detector_flag(ctx, doc, room, detection)
    changes: dict[str, Any] = {"flag_ids": [flag.id], "severity": flag.severity, "categories": list(flag.categories)}
    if decision.status == "held":
        changes["status"] = "held"
    updated = await ctx.stores.messages.update(message.id, {"status": "visible"}, changes)
    if updated is None:
        return
    log.warning("late verdict flagged message %s (%s)", message.id, flag.severity)
    if updated.status == "held":
        await ctx.notifier.message_withdrawn(updated)
    await deliver_new_flag(ctx, flag, send_resources=decision.send_resources, message=updated)


async def mark_concerning(
    ctx: AppContext, principal: Principal, message: Message, room: Room, cmd: Concern, origin: Origin
) -> Flag:
    """A counselor's "concerning, not flagged": a `source: counselor` flag, routed like any
    other, and a labelled positive for the next training round (export-feedback)."""
    flag, created = await ctx.stores.flags.insert(
        {
            "dedupe_key": f"counselor:{principal.user_id}:{message.id}",
            "message_id": message.id,
            "room_id": room.id,
            "cohort_id": room.cohort_id,
            "cohort_name": room.cohort_name,
            "author_id": message.author_id,
            "author_name": message.author_name,
            "author_role": message.author_role,
            "text": message.text,
            "severity": cmd.severity,
            "categories": [cmd.category],
            "matches": [],
            "source": "counselor",
            "reported_by": {"id": principal.user_id, "name": principal.display_name, "role": principal.role},
            "reason": cmd.note,
            "status": "open",
            "escalation_level": 0,
            "break_glass": False,
            "created_at": utcnow(),
        }
    )
    if not created:
        return flag
    await ctx.stores.messages.add_flag(message.id, flag.id, flag.severity)
    await record(ctx, "message.concern", principal, ("message", message.id), origin, flag_id=str(flag.id))
    try:
        await route_new_flag(ctx, flag)
    except Exception:
        log.exception("routing counselor flag %s failed", flag.id)
    return flag
