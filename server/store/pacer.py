"""pacer: the pause of a background writer that gathers work (stamps, keys, delivery
records, activity days) before writing it in one batch.

A flush (shutdown, tests) must not cancel such a writer: a command cancelled while in
flight may still run on the server, after or alongside the flush's own. FerretDB 1.24
updates a document by reading it and writing it back, so two updates of one room at once
lose one of them (a join that ended 80 messages early, CI 2026-12-06). A flush hurries
the writers instead (their pauses end at once) and waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Pacer:
    def __init__(self) -> None:
        self._hurry = asyncio.Event()

    @property
    def hurried(self) -> bool:
        """A flush is under way: a writer whose write failed leaves the retry to it."""
        return self._hurry.is_set()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less once a flush hurries."""
        if seconds and not self._hurry.is_set():
            try:
                await asyncio.wait_for(self._hurry.wait(), seconds)
            except TimeoutError:
                pass

    @asynccontextmanager
    async def hurrying(self, *writers: asyncio.Task[None] | None) -> AsyncIterator[None]:
        """End the writers' pauses, wait for them to finish what they hold, then run the
        flush's own writes (the body)."""
        self._hurry.set()
        try:
            running = [w for w in writers if w is not None and not w.done()]
            if running:
                await asyncio.wait(running)
            yield
        finally:
            self._hurry.clear()
