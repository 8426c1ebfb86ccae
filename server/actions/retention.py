"""Retention: message text older than RETENTION_DAYS is purged (a tombstone keeps the
ordering), and so is the copy of it in flags that are no longer open, and the notes of
check-ins (health information; the mood and craving numbers stay for the trend); flags
and audit entries themselves are kept. Each purge is itself audited."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from server.actions.periodic import repeat
from server.clock import utcnow
from server.context import AppContext
from server.models import Origin

log = logging.getLogger(__name__)
DAY_SECONDS = 86400


async def purge_once(ctx: AppContext, now: datetime | None = None) -> int:
    days = ctx.config.retention_days
    if days is None:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    count = await ctx.stores.messages.purge_text_before(cutoff)
    flags = await ctx.stores.flags.purge_text_before(cutoff)
    notes = await ctx.stores.checkins.purge_notes_before(cutoff)
    await ctx.stores.audit.append(
        "retention.purge",
        actor=None,
        target_type="messages",
        target_id=None,
        origin=Origin(ip=None, user_agent="iopchat-retention"),
        details={"count": count, "flags": flags, "checkin_notes": notes, "older_than_days": days},
    )
    log.info("retention purged the text of %d messages, %d flags and %d check-in notes", count, flags, notes)
    return count


async def run(ctx: AppContext) -> None:
    if ctx.config.retention_days is None:
        return
    await repeat("retention purge", lambda: purge_once(ctx), lambda: DAY_SECONDS)
