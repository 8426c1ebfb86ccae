"""Background jobs of a server process: escalation, redelivery, retention, idle logoff."""

from __future__ import annotations

import asyncio
import logging

from server.actions import escalation, idle_logoff, redelivery, retention, silence
from server.context import AppContext

log = logging.getLogger(__name__)


def start(ctx: AppContext) -> list[asyncio.Task[None]]:
    return [
        asyncio.create_task(escalation.run(ctx), name="escalation"),
        asyncio.create_task(redelivery.run(ctx), name="redelivery"),
        asyncio.create_task(silence.run(ctx), name="silence"),
        asyncio.create_task(retention.run(ctx), name="retention"),
        asyncio.create_task(idle_logoff.run(ctx), name="idle-logoff"),
    ]
