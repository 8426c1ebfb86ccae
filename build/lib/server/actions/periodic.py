"""One loop for the background jobs: run, log a failure with its traceback, wait, again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def repeat(what: str, job: Callable[[], Awaitable[object]], interval: Callable[[], float]) -> None:
    """Run `job` every `interval()` seconds until cancelled; a failure is logged and the
    job runs again at the next turn (a sweep that fails once must not stop for good)."""
    while True:
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.0f s", what, interval())
        await asyncio.sleep(interval())
