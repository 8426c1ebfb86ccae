"""activity: the days on which each patient was active (sent a message), for the silence
signal (actions/silence.py). One document per (user, UTC day), keyed by _id so that
writes and reads are indexed lookups on FerretDB too; a process writes a user's day once.
"""

from __future__ import annotations

from datetime import date, timedelta

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase


def _key(user_id: ObjectId, day: date) -> str:
    return f"{user_id}:{day.isoformat()}"


class ActivityStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._days = db["activity_days"]
        self._noted: dict[ObjectId, date] = {}

    async def note(self, user_id: ObjectId, day: date) -> None:
        if self._noted.get(user_id) == day:
            return
        await self._days.update_one({"_id": _key(user_id, day)}, {"$set": {"user_id": user_id}}, upsert=True)
        self._noted[user_id] = day

    async def active_days(self, user_id: ObjectId, first: date, last: date) -> set[date]:
        """The days in [first, last] on which the user was active."""
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        found: set[date] = set()
        for day in days:  # point lookups: FerretDB would scan for a range
            if await self._days.find_one({"_id": _key(user_id, day)}, {"_id": 1}) is not None:
                found.add(day)
        return found
