"""The delivery sweep: what a timeout or a crash left half done is finished, as alert:new.

- A stored message whose broadcast never went out (still noted in
  `undelivered_messages`: the process died between the insert and the broadcast, or the
  insert committed after the sender's deadline) is broadcast and its flag alerted. Clients keep one copy per id,
  so a repeat after a crash costs nothing; a loss would.
- An open flag whose alert never went out (`alerted: false`) is announced as alert:new,
  never as a silent update.

Grace periods leave the live path time to finish first. Tests pass `now`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from server.actions import chat, routing
from server.actions.periodic import repeat
from server.clock import utcnow
from server.context import AppContext
from server.models import Flag

log = logging.getLogger(__name__)

FLAG_GRACE = timedelta(seconds=10)
MESSAGE_GRACE = timedelta(seconds=30)
INTERVAL_SECONDS = 5.0


async def run(ctx: AppContext) -> None:
    await repeat("delivery sweep", lambda: sweep(ctx), lambda: INTERVAL_SECONDS)


async def sweep(ctx: AppContext, now: datetime | None = None) -> tuple[int, int]:
    """(messages, flags) delivered by this pass."""
    now = now or utcnow()
    flags = 0
    for unalerted in await ctx.stores.flags.unalerted(now - FLAG_GRACE):
        log.warning("flag %s was never alerted; alerting now", unalerted.id)
        await routing.route_new_flag(ctx, unalerted)
        flags += 1
    messages = 0
    for message in await ctx.stores.messages.undelivered(now - MESSAGE_GRACE):
        log.warning("message %s was stored but never delivered; delivering now", message.id)
        flag: Flag | None = await ctx.stores.flags.get(message.flag_ids[0]) if message.flag_ids else None
        await chat.deliver(ctx, message, flag, send_resources=False)
        messages += 1
    return messages, flags
