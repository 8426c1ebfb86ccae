"""reports: the reads behind the staff safety report (`GET /api/reports/safety`).

Each read is one pass over its collection with a projection, and everything else
(week buckets, percentiles, per-cohort shares) is computed in Python by
`server/actions/safety_report.py`. That shape is deliberate: FerretDB, which development
and tests run on, scans the whole collection for any filter not on `_id`, so one scan that
returns a few small fields beats an aggregation pipeline or a query per week, severity or
cohort; on MongoDB the filters below are served by indexes (`flags.by_time`, `flags.queue`).
Only ids, times and labels are projected: no text, no names.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from server.models import CheckinDay, FlagFacts

FLAG_FIELDS = {
    "_id": 0,
    "created_at": 1,
    "acknowledged_at": 1,
    "severity": 1,
    "source": 1,
    "categories": 1,
    "status": 1,
    "escalation_level": 1,
}


class ReportStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._flags = db["flags"]
        # Written by the check-in feature: {_id: "<patient_id>:<day>", patient_id,
        # cohort_id, day: "YYYY-MM-DD", mood, craving, note, submitted_at}.
        self._checkins = db["checkins"]

    async def flags_since(self, since: datetime) -> list[FlagFacts]:
        """Flags created at or after `since`, plus every flag not resolved yet, whatever
        its age (an old open flag still counts among the open ones now); one pass."""
        query = {"$or": [{"created_at": {"$gte": since}}, {"status": {"$in": ["open", "acknowledged"]}}]}
        return [FlagFacts.from_doc(doc) async for doc in self._flags.find(query, FLAG_FIELDS)]

    async def checkin_days(self, first_day: str, last_day: str) -> list[CheckinDay]:
        """Patient-days with a check-in between the two days (inclusive, YYYY-MM-DD)."""
        query = {"day": {"$gte": first_day, "$lte": last_day}}
        cursor = self._checkins.find(query, {"_id": 0, "patient_id": 1, "day": 1})
        return [CheckinDay(doc["patient_id"], doc["day"]) async for doc in cursor]
