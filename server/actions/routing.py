"""Getting a flag to people: alert:new to whoever should hear first (the cohort's on-call
counselors, else any on-call counselor: break glass, audited; always staff), crisis
resources to the author, and, when the database is slow or out, alerts from memory and
the crisis outbox. The alert is sent before anything is written."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from bson import ObjectId

from moderation import crisis_resources
from server.context import AppContext
from server.models import Flag, Message, Origin
from server.store.failures import StorageError
from server.wire import events

log = logging.getLogger(__name__)


async def alert_from_memory(ctx: AppContext, doc: dict[str, Any]) -> None:
    """alert:new for a flag the database has not (yet) taken; marks the document alerted."""
    flag = await route_new_flag(ctx, Flag.from_doc({**doc, "alerted": False}), persist=False)
    doc["alerted"], doc["break_glass"] = True, flag.break_glass


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


async def anyone_on_call(ctx: AppContext, cohort_id: ObjectId) -> bool:
    """Is a counselor on call who gets a new crisis flag of this cohort at once (its own
    on call, else any on call: the glass breaks)? What a patient is told."""
    return await ctx.presence.anyone_oncall(cohort_id) or await ctx.presence.anyone_oncall(None)


def viewer_rooms(flag: Flag) -> list[str]:
    """Who hears news of this flag (alert:updated): staff, the cohort's counselors, and
    those outside the cohort it was sent to: the on-call counselors once it broke the
    glass (the audience of its alert:new), every counselor once it escalated.

    Not every counselor for a broken glass: news of it (the patient's text) once reached
    counselors off call, of any cohort, who had never been sent the flag."""
    rooms = [events.cohort_counselors(flag.cohort_id), events.STAFF]
    if flag.escalation_level >= 1:
        rooms.append(events.COUNSELORS)
    elif flag.break_glass:
        rooms.append(events.ONCALL)
    return rooms
