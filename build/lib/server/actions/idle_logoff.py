"""Automatic logoff (HIPAA 164.312(a)(2)(iii)): end sockets with no user action for
IDLE_TIMEOUT_SECONDS.

Engine.IO's ping/pong keeps a socket open forever, so idleness is measured from the
user's last event (sending, joining, reading history, typing), never from pings.
Off unless configured: a patient reading the room is idle by this measure, so clinics
choose the timeout (it suits staff workstations more than patients' phones).
"""

from __future__ import annotations

import asyncio
import logging
import time

from server.context import AppContext
from server.realtime import sessions

log = logging.getLogger(__name__)


def check_interval(timeout: int) -> float:
    return min(30.0, max(0.2, timeout / 5))


async def end_idle(ctx: AppContext, now: float | None = None) -> int:
    """End this process's idle connections; returns how many."""
    timeout = ctx.config.idle_timeout_seconds
    if timeout is None:
        return 0
    now = time.monotonic() if now is None else now
    idle = [conn for conn in ctx.registry.all() if now - conn.last_active >= timeout]
    for conn in idle:
        log.info("ending idle session on sid %s", conn.sid)
        await sessions.disconnect(ctx, conn.sid, "idle")
    return len(idle)


async def run(ctx: AppContext) -> None:
    timeout = ctx.config.idle_timeout_seconds
    if timeout is None:
        return
    while True:
        await asyncio.sleep(check_interval(timeout))
        try:
            await end_idle(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("idle logoff sweep failed; retrying")
