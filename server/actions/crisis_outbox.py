"""Crisis flags the database could not take in time: alerted live, stored when it answers.

A crisis must reach a counselor whether or not the database is up. When a flag cannot
be stored within its budget, the send path gives its document to this outbox: the
on-call counselors get `alert:new` at once from memory, and a background task stores
the document (already marked `alerted`) as soon as the database answers, so the review
queue and escalation pick it up. The patient's retry of the same send finds the pending
document here and does not alert twice.

The outbox is bounded and in process memory: if the process dies first, the author's
retry re-creates the flag, and the counselor already had the alert. Flags dropped past
the bound are logged by id, and so are those a graceful stop could not store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from server.models import Flag
from server.store.failures import StorageError
from server.store.flags import FlagStore

log = logging.getLogger(__name__)

LIMIT = 1000
RETRY_FIRST, RETRY_MAX = 0.5, 10.0


class CrisisOutbox:
    def __init__(self, flags: FlagStore, *, limit: int = LIMIT) -> None:
        self._flags = flags
        self._limit = limit
        self._docs: OrderedDict[str, dict[str, Any]] = OrderedDict()  # by dedupe_key
        self._amends: dict[str, tuple[int, frozenset[str]]] = {}  # by dedupe_key: (version, fields)
        self._then: dict[str, Callable[[Flag], Awaitable[None]]] = {}  # by dedupe_key: once stored
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stored = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._docs)

    def keep(self, doc: dict[str, Any], *, then: Callable[[Flag], Awaitable[None]] | None = None) -> None:
        """Hold a flag document (already alerted) until the database takes it; `then` runs
        once it is stored (e.g. the audit entry of the help request it is)."""
        key = doc["dedupe_key"]
        self._docs[key] = doc
        if then is not None:
            self._then[key] = then
        self._docs.move_to_end(key)
        while len(self._docs) > self._limit:
            _, dropped = self._docs.popitem(last=False)
            self.dropped += 1
            log.error("crisis outbox full: flag %s was alerted but will not be stored", dropped["_id"])
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="crisis-outbox")

    def pending(self, dedupe_key: str) -> dict[str, Any] | None:
        return self._docs.get(dedupe_key)

    def newest(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        """The newest held document that `match`es (a patient's help request held while the
        database is out, so that pressing again updates it instead of alerting anew)."""
        return next((doc for doc in reversed(self._docs.values()) if match(doc)), None)

    def amend(self, dedupe_key: str, **fields: Any) -> None:
        """Change a held document. The fields are also written after its insert: an insert
        already under way (or a slower copy that got in first) carries the older values."""
        self._docs[dedupe_key].update(fields)
        version, names = self._amends.get(dedupe_key, (0, frozenset()))
        self._amends[dedupe_key] = (version + 1, names | fields.keys())

    async def flush(self) -> None:
        """Store everything held now (tests, and shutdown); raises if the database fails."""
        for key, doc in list(self._docs.items()):
            flag = await self._store(doc)
            written = 0
            while (amended := self._amends.get(key, (0, frozenset())))[0] > written:
                written = amended[0]
                await self._flags.mark(flag.id, **{name: doc[name] for name in amended[1]})
            self._amends.pop(key, None)
            self._docs.pop(key, None)
            self.stored += 1
            then = self._then.pop(key, None)
            if then is not None:
                try:
                    await then(flag)
                except StorageError as exc:  # the flag is stored; only what follows it is lost
                    log.warning("crisis outbox: flag %s stored, its follow-up not (%s)", flag.id, type(exc).__name__)

    async def _store(self, doc: dict[str, Any]) -> Flag:
        """Insert; if a slower copy of the same send got in first with `alerted: false`,
        record that the alert went out (else the delivery sweep would repeat it)."""
        flag, created = await self._flags.insert(dict(doc))
        if not created and not flag.alerted and doc.get("alerted"):
            await self._flags.mark(flag.id, alerted=True, break_glass=doc.get("break_glass", False))
        return flag

    async def stop(self, timeout: float) -> None:
        """A graceful stop: one last try, within `timeout` seconds, to store what is held
        (the drain may be waiting out its back-off although the database is back); every
        flag still held after that is named in the log, never dropped without a word."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if not self._docs:
            return
        try:
            async with asyncio.timeout(timeout):
                await self.flush()
        except (TimeoutError, StorageError) as exc:
            for doc in self._docs.values():
                log.error(
                    "crisis outbox: flag %s was alerted but is not stored: the server stopped while the "
                    "database was out (%s)",
                    doc["_id"],
                    type(exc).__name__,
                )

    async def _drain(self) -> None:
        delay = RETRY_FIRST
        while self._docs:
            try:
                await self.flush()
                delay = RETRY_FIRST
            except StorageError as exc:
                log.warning("crisis outbox: %d flag(s) wait for the database (%s)", len(self._docs), type(exc).__name__)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(RETRY_MAX, delay * 2)
