"""Escalation of unacknowledged high-severity flags (PROTOCOL.md "Alert routing").

An `open` high flag older than ESCALATE_AFTER_SECONDS goes to level 1: every connected
counselor and staff member gets it. After twice that, level 2 also POSTs a minimal
notice (flag id, severity, categories, cohort id, a console link; never the text) to
ALERT_WEBHOOK_URL (a pager or SMS gateway). The page is stored as due and retried with
back-off by this sweep, so a restart resumes it; its outcome is recorded on the flag.
State lives in the database and each level is claimed by one conditional
update, so escalation survives restarts and happens once across several processes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from bson import ObjectId

from server.actions import routing
from server.actions.periodic import repeat
from server.clock import iso, utcnow
from server.context import AppContext
from server.models import Flag, Origin
from server.wire import events
from server.wire.payloads import flag_payload

log = logging.getLogger(__name__)
WEBHOOK_ATTEMPTS = 4
WEBHOOK_TIMEOUT_SECONDS = 10
WEBHOOK_BACKOFF_SECONDS = 2.0  # then 4, 8: attempts are stored, so a restart resumes them
SYSTEM_ORIGIN = Origin(ip=None, user_agent="iopchat-escalator")


def sweep_interval(ctx: AppContext) -> float:
    return min(5.0, max(0.1, ctx.config.escalate_after_seconds / 10))


async def run(ctx: AppContext) -> None:
    await repeat("escalation sweep", lambda: sweep(ctx), lambda: sweep_interval(ctx))


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
            ctx.metrics.escalations.labels(str(level)).inc()
            log.warning("flag %s escalated to level %d", flag.id, level)
            await ctx.stores.audit.append(
                "flag.escalate",
                actor=None,
                target_type="flag",
                target_id=flag.id,
                origin=SYSTEM_ORIGIN,
                details={"level": level},
            )
            if candidate.alerted:
                await notify_escalation(ctx, flag, routed_outside_cohort=candidate.break_glass)
            else:  # nobody has heard of it yet (stored late, or a crash): news to everyone
                await ctx.notifier.alert(events.ALERT_NEW, flag, [events.COUNSELORS, events.STAFF])
                await ctx.stores.flags.mark(flag.id, alerted=True)
            if level == 2:
                await queue_webhook(ctx, flag, now)
    await send_due_webhooks(ctx, now)
    return escalated


async def notify_escalation(ctx: AppContext, flag: Flag, *, routed_outside_cohort: bool) -> None:
    """Who already had the flag gets alert:updated; every other counselor gets alert:new.

    Before level 1 the flag went to staff and to the cohort's on-call counselors, or,
    when none was on call, to every on-call counselor (break glass). From level 1 on,
    every connected counselor has it. Which counselor "had it" is known only by the
    process holding their socket, so each process sorts out its own (control command
    `escalated`); a skip list built here would miss the other processes' sockets.
    """
    await ctx.notifier.alert(events.ALERT_UPDATED, flag, [events.STAFF])
    await ctx.control.publish("escalated", flag_id=str(flag.id), outside=routed_outside_cohort)


async def tell_local_counselors(ctx: AppContext, flag_id: ObjectId, *, outside: bool) -> None:
    """Control command, on every process: escalation news for this process's counselors."""
    flag = await ctx.stores.flags.get(flag_id)
    if flag is None:
        return
    payload = flag_payload(flag)
    for conn in ctx.registry.all():
        if conn.principal.role != "counselor":
            continue
        had_it = flag.escalation_level >= 2 or (
            conn.oncall and (outside or flag.cohort_id in conn.principal.cohort_ids)
        )
        await ctx.notifier.to_sid(conn.sid, events.ALERT_UPDATED if had_it else events.ALERT_NEW, payload)


async def queue_webhook(ctx: AppContext, flag: Flag, now: datetime) -> None:
    """Level 2: page the clinic. The page is stored as due, so a restart does not lose it;
    the escalator's sweep makes the attempts."""
    if not ctx.config.alert_webhook_url:
        return
    await ctx.stores.flags.set_webhook_result(flag.id, {"status": "pending", "attempts": 0}, now)


async def send_due_webhooks(ctx: AppContext, now: datetime) -> None:
    for flag in await ctx.stores.flags.webhooks_due(now):
        state = dict(flag.webhook or {"status": "pending", "attempts": 0})
        attempt = int(state.get("attempts", 0)) + 1
        if not await ctx.stores.flags.claim_webhook_attempt(flag.id, attempt, now):
            continue  # another process makes this attempt
        result = await post_webhook(ctx, flag)
        ctx.metrics.webhooks.labels(result["status"]).inc()
        state.update(result, attempts=attempt, at=iso(utcnow()))
        due: datetime | None = None
        if result["status"] != "delivered":
            if attempt < WEBHOOK_ATTEMPTS:
                state["status"] = "pending"
                due = now + timedelta(seconds=WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))
            else:
                state["status"] = "failed"
                log.error("alert webhook for flag %s failed after %d attempts", flag.id, attempt)
        await ctx.stores.flags.set_webhook_result(flag.id, state, due)
        updated = await ctx.stores.flags.get(flag.id)
        if updated is not None:
            await ctx.notifier.alert(events.ALERT_UPDATED, updated, routing.viewer_rooms(updated))


def webhook_body(ctx: AppContext, flag: Flag) -> dict[str, Any]:
    """The minimum necessary: what happened and where to look. Never the text, the
    author or the cohort's name: they stay in the building (42 CFR Part 2)."""
    base = ctx.config.public_url
    return {
        "event": "flag.escalated",
        "escalation_level": flag.escalation_level,
        "flag": {
            "id": str(flag.id),
            "severity": flag.severity,
            "categories": list(flag.categories),
            "cohort_id": str(flag.cohort_id),
            "created_at": iso(flag.created_at),
        },
        "url": f"{base}/#review/{flag.id}" if base else None,
    }


async def post_webhook(ctx: AppContext, flag: Flag) -> dict[str, Any]:
    """One attempt: {"status": "delivered" | "failed", "http_status", "error"?}."""
    url = ctx.config.alert_webhook_url
    assert url is not None
    result: dict[str, Any] = {"status": "failed", "http_status": None}
    timeout = aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT_SECONDS)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, json=webhook_body(ctx, flag)) as response:
                result["http_status"] = response.status
                if 200 <= response.status < 300:
                    result["status"] = "delivered"
    except (aiohttp.ClientError, TimeoutError) as exc:
        result["error"] = type(exc).__name__
    return result
