"""checkins: patients' daily check-ins, one document per patient and local day.

The `_id` is "<patient_id>:<YYYY-MM-DD>", so a same-day submit is a replace of that one
document and every read is a primary-key lookup: FerretDB (development and tests) uses
an index only for `_id` equality, and scans for anything else, ranges and `$in`
included. A series of N days is therefore N point lookups, run together.

The shape is shared with the staff safety report (server/store/reports.py reads this
collection directly): `{_id, patient_id, cohort_id, day, mood, craving, note,
submitted_at, flag_ids}`; see `Checkin.to_doc`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from server.models import Checkin
from server.store.upsert import replace_by_id

LOOKUPS_AT_ONCE = 16


class CheckinStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._checkins = db["checkins"]

    async def get(self, patient_id: ObjectId, day: date) -> Checkin | None:
        doc = await self._checkins.find_one({"_id": Checkin.key(patient_id, day.isoformat())})
        return Checkin.from_doc(doc) if doc else None

    async def put(self, checkin: Checkin) -> None:
        """Store the day's check-in, replacing an earlier one of the same day."""
        doc = checkin.to_doc()
        await replace_by_id(self._checkins, doc["_id"], doc)

    async def series(self, patient_id: ObjectId, days: Iterable[date]) -> list[Checkin]:
        """The patient's check-ins on these days, oldest first (days without one are absent).
        Lookups run LOOKUPS_AT_ONCE at a time: a cohort's 90-day view must not take the
        whole connection pool (and its waits count against DB_TIMEOUT_MS)."""
        keys = [Checkin.key(patient_id, day.isoformat()) for day in sorted(days)]
        found: list[Checkin] = []
        for start in range(0, len(keys), LOOKUPS_AT_ONCE):
            chunk = keys[start : start + LOOKUPS_AT_ONCE]
            docs = await asyncio.gather(*(self._checkins.find_one({"_id": key}) for key in chunk))
            found.extend(Checkin.from_doc(doc) for doc in docs if doc is not None)
        return found

    async def purge_notes_before(self, cutoff: datetime) -> int:
        """Retention: a note is health information; it goes, the mood and craving stay.
        A daily job, so the scan FerretDB makes for this filter does not matter."""
        result = await self._checkins.update_many(
            {"submitted_at": {"$lt": cutoff}, "note": {"$ne": None}}, {"$set": {"note": None}}
        )
        return result.modified_count
