"""Flags: detector and model flags stored before their message (and alerted from memory
if the database is slow), peer reports, counselors' "concerning" marks, late verdicts under
overload, and acknowledgement and resolution (the help requester hears of it)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bson import ObjectId

from moderation import Detection
from server.actions.assessment import decide
from server.actions.audit import actor_of, record
from server.actions.routing import alert_from_memory, deliver_new_flag, route_new_flag, viewer_rooms
from server.clock import utcnow
from server.context import AppContext
from server.errors import Forbidden, NotFound
from server.models import Flag, Message, Origin, Principal, Room, User
from server.store.failures import StorageError, is_outage
from server.wire import events
from server.wire.schemas import Concern

log = logging.getLogger(__name__)

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


def patient_flag_doc(
    patient: Principal | User,
    room: Room,
    *,
    source: str,
    severity: str,
    text: str | None,
    reason: str,
    dedupe_key: str,
    now: datetime,
    categories: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The flag about a patient without a chat message (the help button, a check-in, the
    silence signal): it never shows in a room, so its `message_id` names no message;
    `resources_sent` because the caller has already shown the patient the crisis
    resources, or did not need to."""
    author = actor_of(patient)
    assert author is not None
    return {
        "dedupe_key": dedupe_key,
        "message_id": ObjectId(),
        "room_id": room.id,
        "cohort_id": room.cohort_id,
        "cohort_name": room.cohort_name,
        "author_id": author.id,
        "author_name": author.name,
        "author_role": author.role,
        "text": text,
        "severity": severity,
        "categories": categories or [],
        "matches": [],
        "source": source,
        "reported_by": None,
        "reason": reason,
        "status": "open",
        "escalation_level": 0,
        "break_glass": False,
        "created_at": now,
        "alerted": False,
        "resources_sent": True,
        **extra,
    }


async def store_flag_promptly(
    ctx: AppContext, doc: dict[str, Any], *, alert_by: float | None = None
) -> tuple[Flag, bool]:
    """Store a detector flag; if the database has not answered within a second (or by
    `alert_by`, a loop time, when the caller already spent part of that second on other
    reads), alert the counselors from memory first and go on waiting (the caller's
    deadline bounds that).

    A send that already left a flag in the crisis outbox (the database was out) reuses it:
    same ids, and it is not alerted twice."""
    held = ctx.crisis_outbox.pending(doc["dedupe_key"])
    if held is not None:
        doc.clear()
        doc.update(held)
    budget = ALERT_WITHIN_SECONDS if alert_by is None else max(0.0, alert_by - asyncio.get_running_loop().time())
    task = asyncio.ensure_future(ctx.stores.flags.insert(dict(doc)))
    try:
        return await asyncio.wait_for(asyncio.shield(task), budget)
    except TimeoutError:
        pass
    if not doc["alerted"]:
        log.warning("flag %s: the database is slow; alerting from memory", doc["_id"])
        await alert_from_memory(ctx, doc)
    flag, fresh = await asyncio.shield(task)
    if fresh:
        await ctx.stores.flags.mark(flag.id, alerted=True, break_glass=doc["break_glass"])
    return dataclasses.replace(flag, alerted=True, break_glass=doc["break_glass"]), fresh


async def raise_crisis_alone(
    ctx: AppContext,
    flag_doc: dict[str, Any],
    deadline: float,
    *,
    alert_by: float | None = None,
    then: Callable[[Flag], Awaitable[None]] | None = None,
) -> Flag | None:
    """A crisis with no message to post (a refused send, the database out, a check-in
    note, the help button) reaches a counselor: stored and alerted if the database answers
    by `deadline` (a loop time), else alerted from memory (by `alert_by` at the latest,
    see store_flag_promptly) and kept in the crisis outbox until it does.
    Returns the stored flag, or None when it waits in the outbox (`then` runs when the
    outbox has stored it). The stored flag is another one when the same `dedupe_key` was
    stored first (by another process)."""
    try:
        async with asyncio.timeout_at(deadline):
            flag, _ = await store_flag_promptly(ctx, flag_doc, alert_by=alert_by)
            if not flag.alerted:
                flag = await route_new_flag(ctx, flag)
            return flag
    except (TimeoutError, StorageError) as exc:
        if isinstance(exc, StorageError) and not is_outage(exc):
            raise
        if not flag_doc["alerted"]:
            await alert_from_memory(ctx, flag_doc)
        ctx.crisis_outbox.keep(flag_doc, then=then)  # stored when the database answers
        return None


async def access_flag(ctx: AppContext, principal: Principal, flag_id: ObjectId, origin: Origin) -> Flag:
    """A flag the principal may act on; a break-glass access is audited as such."""
    if not principal.is_moderator:
        raise Forbidden("Only counselors and staff can see flags.")
    flag = await ctx.stores.flags.get(flag_id)
    if flag is None:
        raise NotFound("That flag does not exist.")
    if principal.can_see_cohort(flag.cohort_id):
        return flag
    if principal.role == "counselor" and flag.break_glass and await _in_glass_audience(ctx, principal, flag):
        await record(ctx, "flag.break_glass", principal, ("flag", flag.id), origin, cohort_id=str(flag.cohort_id))
        return flag
    raise Forbidden("That flag belongs to another cohort.")


async def _in_glass_audience(ctx: AppContext, principal: Principal, flag: Flag) -> bool:
    """An outside counselor opens a broken-glass flag only as one of those it goes to: the
    counselors on call (every counselor once it escalated). Otherwise any counselor could
    read any cohort's crisis text by trying flag ids (ObjectIds are close to sequential)."""
    if flag.escalation_level >= 1:
        return True
    user = await ctx.stores.users.get(principal.user_id)
    return user is not None and user.oncall


async def acknowledge(
    ctx: AppContext, principal: Principal, flag_id: ObjectId, origin: Origin, now: datetime | None = None
) -> Flag:
    """Acknowledge an open flag once; `now` is the injectable clock (tests of ack times)."""
    flag = await access_flag(ctx, principal, flag_id, origin)
    if flag.status != "open":  # acknowledging twice is harmless; the first acknowledgement stands
        return await _unchanged(ctx, principal, flag, origin)
    updated = await ctx.stores.flags.transition(
        flag.id,
        {"status": "open"},
        {
            "status": "acknowledged",
            "acknowledged_by": {"id": principal.user_id, "name": principal.display_name, "role": principal.role},
            "acknowledged_at": now or utcnow(),
        },
    )
    if updated is None:
        return await _unchanged(ctx, principal, await ctx.stores.flags.get(flag.id) or flag, origin)
    await record(ctx, "flag.ack", principal, ("flag", flag.id), origin)
    if updated.acknowledged_at is not None:
        waited = (updated.acknowledged_at - updated.created_at).total_seconds()
        ctx.metrics.ack_seconds.labels(updated.severity).observe(max(0.0, waited))
    await ctx.notifier.alert(events.ALERT_UPDATED, updated, viewer_rooms(updated))
    await tell_help_requester(ctx, updated)
    return updated


async def _unchanged(ctx: AppContext, principal: Principal, flag: Flag, origin: Origin) -> Flag:
    """An acknowledgement or resolution that changed nothing still hands the caller the
    whole flag (the patient's text): a read, on the record like any other."""
    await record(ctx, "flag.read", principal, ("flag", flag.id), origin, via="unchanged")
    return flag


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
    if updated is None:  # resolved already: the first resolution stands
        return await _unchanged(ctx, principal, await ctx.stores.flags.get(flag.id) or flag, origin)
    await record(ctx, "flag.resolve", principal, ("flag", flag.id), origin, outcome=outcome)
    await ctx.notifier.alert(events.ALERT_UPDATED, updated, viewer_rooms(updated))
    if flag.acknowledged_at is None:  # resolved without an acknowledgement first
        await tell_help_requester(ctx, updated)
    return updated


async def report_message(
    ctx: AppContext, principal: Principal, message: Message, room: Room, reason: str | None, origin: Origin
) -> Flag:
    """A peer's report becomes a `source: report` flag (one per reporter and message)."""
    severity = message.severity or "medium"
    return await _flag_by_person(
        ctx, principal, message, room, origin, "report", severity, list(message.categories), reason, "message.report"
    )


async def _flag_by_person(
    ctx: AppContext,
    principal: Principal,
    message: Message,
    room: Room,
    origin: Origin,
    source: str,
    severity: str,
    categories: list[str],
    reason: str | None,
    audit_action: str,
) -> Flag:
    """A flag a person raised on a message (a peer's report, a counselor's mark): one per
    person and message, tagged on the message, audited, and routed like any other."""
    flag, created = await ctx.stores.flags.insert(
        {
            "dedupe_key": f"{source}:{principal.user_id}:{message.id}",
            "message_id": message.id,
            "room_id": room.id,
            "cohort_id": room.cohort_id,
            "cohort_name": room.cohort_name,
            "author_id": message.author_id,
            "author_name": message.author_name,
            "author_role": message.author_role,
            "text": message.text,
            "severity": severity,
            "categories": categories,
            "matches": [],
            "source": source,
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
    await record(ctx, audit_action, principal, ("message", message.id), origin, flag_id=str(flag.id))
    try:
        await route_new_flag(ctx, flag)
    except Exception:
        log.exception("routing %s flag %s failed", source, flag.id)
    return flag


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
    return await _flag_by_person(
        ctx, principal, message, room, origin, "counselor", cmd.severity, [cmd.category], cmd.note, "message.concern"
    )
