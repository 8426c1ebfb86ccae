"""login_failures: sign-in attempts per key, shared by every process.

An attempt is recorded before its password is checked (so 40 parallel guesses all count)
and forgotten if it succeeds; what remains are failures. Keys: (username, address) pairs,
usernames, and addresses (see http/auth_routes.py for the limits). The limit holds for
the whole deployment, not per process. Entries older than the window are deleted as new
ones come.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from server.clock import utcnow


class LoginFailureStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._failures = db["login_failures"]

    async def record(self, keys: list[str]) -> list[ObjectId]:
        """Record an attempt under each key, before its password is checked, so that
        parallel guesses all count; a successful sign-in then `forget`s its entries."""
        now = utcnow()
        ids = [ObjectId() for _ in keys]
        await self._failures.insert_many([{"_id": i, "key": key, "at": now} for i, key in zip(ids, keys, strict=True)])
        return ids

    async def forget(self, ids: list[ObjectId]) -> None:
        for entry_id in ids:  # by _id: indexed lookups on FerretDB too
            await self._failures.delete_one({"_id": entry_id})

    async def retry_after(self, key: str, limit: int, window: timedelta) -> float:
        """Seconds until `key` may try again (0 if it may now)."""
        now = utcnow()
        since = now - window
        await self._failures.delete_many({"at": {"$lt": since}})
        recent: list[datetime] = [
            doc["at"] async for doc in self._failures.find({"key": key, "at": {"$gte": since}}).sort("at", 1)
        ]
        if len(recent) <= limit:  # counts this attempt, recorded before the check
            return 0.0
        return max(1.0, (recent[-limit] + window - now).total_seconds())
