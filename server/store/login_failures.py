"""login_failures: failed sign-ins per username and per address, shared by every process.

The login limit (5 failures per username or 50 per address in 5 minutes) must hold for
the whole deployment, not per process: N processes behind a load balancer would
otherwise allow 5N guesses. Entries older than the window are deleted as new ones come.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from server.clock import utcnow


class LoginFailureStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._failures = db["login_failures"]

    async def record(self, keys: list[str]) -> None:
        now = utcnow()
        await self._failures.insert_many([{"_id": ObjectId(), "key": key, "at": now} for key in keys])

    async def retry_after(self, key: str, limit: int, window: timedelta) -> float:
        """Seconds until `key` may try again (0 if it may now)."""
        now = utcnow()
        since = now - window
        await self._failures.delete_many({"at": {"$lt": since}})
        recent: list[datetime] = [
            doc["at"] async for doc in self._failures.find({"key": key, "at": {"$gte": since}}).sort("at", 1)
        ]
        if len(recent) < limit:
            return 0.0
        return max(1.0, (recent[-limit] + window - now).total_seconds())
