"""Escalation of unacknowledged high-severity flags (PROTOCOL.md "Alert routing").

An `open` high flag older than ESCALATE_AFTER_SECONDS goes to level 1: every connected
counselor and staff member gets it. After twice that, level 2 also POSTs the flag to
ALERT_WEBHOOK_URL (a pager or SMS gateway), retried with back-off, the outcome recorded
on the flag. State lives in the database and each level is claimed by one conditional
update, so escalation survives restarts and happens once across several processes.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from server import alerts, events
from server.clock import iso, utcnow
from server.context import AppContext
from server.models import Flag
from server.payloads import flag_payload
from server.store.audit import Origin

log = logging.getLogger(__name__)
WEBHOOK_ATTEMPTS = 4
WEBHOOK_TIMEOUT_SECONDS = 10
SYSTEM_ORIGIN = Origin(ip=None, user_agent="iopchat-escalator")
_webhook_tasks: set[asyncio.Task[dict[str, Any]]] = set()


def sweep_interval(ctx: AppContext) -> float:
    return min(5.0, max(0.1, ctx.config.escalate_after_seconds / 10))


async def run(ctx: AppContext) -> None:
    while True:
        try:
            await sweep(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("escalation sweep failed; retrying")
        await asyncio.sleep(sweep_interval(ctx))


async def sweep(ctx: AppContext, now: datetime | None = None) -> list[Flag]:
    """Escalate what is due at `now` (tests pass a later time instead of sleeping);
    returns the flags this process escalated."""
    now = now or utcnow()
    after = timedelta(seconds=ctx.config.escalate_after_seconds)
    escalated: list[Flag] = []
    for level, age in ((1, after), (2, after * 2)):
        for candidate in await ctx.stores.flags.due_for_escalation(now - age, level):
            flag = await ctx.stores.flags.claim_escalation(candidate.id, level, now)
            if flag is None:
                continue  # another process (or an acknowledgement) got there first
            escalated.append(flag)
            log.warning("flag %s escalated to level %d", flag.id, level)
            await ctx.stores.audit.append(
                "flag.escalate",
                actor=None,
                target_type="flag",
                target_id=flag.id,
                origin=SYSTEM_ORIGIN,
                details={"level": level},
            )
            await notify_escalation(ctx, flag, routed_outside_cohort=candidate.break_glass)
            if level == 2:
                start_webhook(ctx, flag)
    return escalated


async def notify_escalation(ctx: AppContext, flag: Flag, *, routed_outside_cohort: bool) -> None:
    """Who already had the flag gets alert:updated; every other counselor gets alert:new.

    Before level 1 the flag went to staff and to the cohort's on-call counselors, or,
    when none was on call, to every on-call counselor (break glass). From level 1 on,
    every connected counselor has it.
    """
    if flag.escalation_level >= 2:
        await ctx.notifier.alert(events.ALERT_UPDATED, flag, [events.COUNSELORS, events.STAFF])
        return
    had_it = events.ONCALL if routed_outside_cohort else events.oncall_room(flag.cohort_id)
    await ctx.notifier.alert(events.ALERT_UPDATED, flag, [had_it, events.STAFF])
    skip = [sid for sid, _ in ctx.sio.manager.get_participants("/", had_it)]
    await ctx.notifier.alert(events.ALERT_NEW, flag, [events.COUNSELORS], skip_sid=skip or None)


def start_webhook(ctx: AppContext, flag: Flag) -> None:
    if not ctx.config.alert_webhook_url:
        return
    task = asyncio.create_task(deliver_webhook(ctx, flag))
    _webhook_tasks.add(task)
    task.add_done_callback(_webhook_tasks.discard)


async def deliver_webhook(ctx: AppContext, flag: Flag) -> dict[str, Any]:
    url = ctx.config.alert_webhook_url
    assert url is not None
    body = {"event": "flag.escalated", "escalation_level": flag.escalation_level, "flag": flag_payload(flag)}
    result: dict[str, Any] = {"status": "failed", "attempts": 0, "http_status": None}
    timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for attempt in range(1, WEBHOOK_ATTEMPTS + 1):
            result["attempts"] = attempt
            try:
                async with session.post(url, json=body) as response:
                    result["http_status"] = response.status
                    if 200 <= response.status < 300:
                        result["status"] = "delivered"
                        break
            except (aiohttp.ClientError, TimeoutError) as exc:
                result["error"] = type(exc).__name__
            if attempt < WEBHOOK_ATTEMPTS:
                await asyncio.sleep(2 ** (attempt - 1))
    result["at"] = iso(utcnow())
    await ctx.stores.flags.set_webhook_result(flag.id, result)
    if result["status"] != "delivered":
        log.error("alert webhook for flag %s failed after %d attempts", flag.id, result["attempts"])
    updated = await ctx.stores.flags.get(flag.id)
    if updated is not None:
        await ctx.notifier.alert(events.ALERT_UPDATED, updated, alerts.viewer_rooms(updated))
    return result
