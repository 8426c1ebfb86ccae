"""activity: the days on which each patient was active (sent a message), for the silence
signal (actions/silence.py). One document per (user, day: the cohort's local day, see
actions/local_days.py), keyed by _id so that
writes and reads are indexed lookups on FerretDB too; a process writes a user's day once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from server.store.pacer import Pacer
from server.store.upsert import insert_new

log = logging.getLogger(__name__)
WRITE_EVERY = 1.0  # seconds


def _key(user_id: ObjectId, day: date) -> str:
    return f"{user_id}:{day.isoformat()}"


class ActivityStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._days = db["activity_days"]
        self._noted: dict[ObjectId, date] = {}
        self._pending: set[str] = set()
        self._writer: asyncio.Task[None] | None = None
        self._pacer = Pacer()

    def note(self, user_id: ObjectId, day: date) -> None:
        """Record that the user was active on `day`: off the send path, in batches (the
        first message of 1000 users in a morning must not cost 1000 round trips there)."""
        if self._noted.get(user_id) == day:
            return
        self._noted[user_id] = day
        self._pending.add(_key(user_id, day))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="activity-writer")

    async def flush(self) -> None:
        """Write what is pending now (tests, shutdown): the writer is hurried, not
        cancelled (pacer.py)."""
        async with self._pacer.hurrying(self._writer):
            await self._write(wait=False)

    async def _write(self, wait: bool = True) -> None:
        if wait:
            await self._pacer.pause(WRITE_EVERY)
        while self._pending:
            keys, self._pending = sorted(self._pending), set()
            try:  # days already recorded (another process, a restart) are left as they are
                await insert_new(self._days, [{"_id": k} for k in keys])
            except PyMongoError as exc:  # a weak signal: a missed day only delays a silence flag
                log.warning("activity days not recorded (%s)", type(exc).__name__)

    async def active_days(self, user_id: ObjectId, first: date, last: date) -> set[date]:
        """The days in [first, last] on which the user was active."""
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        found: set[date] = set()
        for day in days:  # point lookups: FerretDB would scan for a range
            if await self._days.find_one({"_id": _key(user_id, day)}, {"_id": 1}) is not None:
                found.add(day)
        return found
