"""cohorts: programs' groups, their members (patients) and assigned counselors.

Who belongs where is read on every connect (authentication) and changes rarely (staff
screens). So each process keeps a snapshot of every active cohort's members and
counselors, checked on each read against a version document (one lookup by `_id`) that
every membership change replaces after writing. A reconnect storm of 1,000 sockets
then costs 1,000 indexed lookups and one load, not 1,000 reads of the whole collection
(FerretDB indexes only `_id`), and a change is seen by the next connect on any process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from server.models import Cohort
from server.store.upsert import replace_by_id

VERSION_ID = "cohort_membership"


@dataclass
class _Membership:
    version: Any
    members: dict[ObjectId, set[ObjectId]] = field(default_factory=dict)  # patient -> cohorts
    counselors: dict[ObjectId, set[ObjectId]] = field(default_factory=dict)  # counselor -> cohorts
    timezones: dict[ObjectId, str] = field(default_factory=dict)  # cohort -> its own IANA zone, if set


class CohortStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._cohorts = db["cohorts"]
        self._versions = db["versions"]
        self._membership: _Membership | None = None
        self._loading: dict[Any, asyncio.Future[_Membership]] = {}

    async def create(self, fields: dict[str, Any]) -> Cohort:
        doc = {"_id": ObjectId(), "active": True, "member_ids": [], "counselor_ids": [], **fields}
        await self._cohorts.insert_one(doc)
        await self._changed()
        return Cohort.from_doc(doc)

    async def get(self, cohort_id: ObjectId) -> Cohort | None:
        doc = await self._cohorts.find_one({"_id": cohort_id})
        return Cohort.from_doc(doc) if doc else None

    async def list(self) -> list[Cohort]:
        return [Cohort.from_doc(doc) async for doc in self._cohorts.find({}).sort("name", 1)]

    async def update(self, cohort_id: ObjectId, changes: dict[str, Any]) -> Cohort | None:
        doc = await self._cohorts.find_one_and_update(
            {"_id": cohort_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        if doc is not None and ("active" in changes or "timezone" in changes):
            await self._changed()
        return Cohort.from_doc(doc) if doc else None

    async def set_membership(self, cohort_id: ObjectId, field: str, user_id: ObjectId, present: bool) -> bool:
        """Add or remove a user id in member_ids / counselor_ids; False if no such cohort."""
        op = "$addToSet" if present else "$pull"
        result = await self._cohorts.update_one({"_id": cohort_id}, {op: {field: user_id}})
        if result.matched_count != 1:
            return False
        await self._changed()
        return True

    async def ids_for(self, user_id: ObjectId, role: str) -> frozenset[ObjectId]:
        """Cohorts a patient belongs to, or a counselor is assigned to (active cohorts only)."""
        membership = await self._current()
        table = membership.counselors if role == "counselor" else membership.members
        return frozenset(table.get(user_id, ()))

    def known_timezone(self, cohort_id: ObjectId) -> str | None:
        """The cohort's own time zone as of the last snapshot, without a read (every
        connect refreshes the snapshot): for the send path, where a read would cost."""
        return self._membership.timezones.get(cohort_id) if self._membership is not None else None

    async def _changed(self) -> None:
        """After a membership change: every process's next read reloads (written after
        the change, so a reader never keeps the old data under the new version)."""
        await replace_by_id(self._versions, VERSION_ID, {"v": ObjectId()})

    async def _current(self) -> _Membership:
        doc = await self._versions.find_one({"_id": VERSION_ID})
        version = doc["v"] if doc else None
        if self._membership is not None and self._membership.version == version:
            return self._membership
        loading = self._loading.get(version)
        if loading is None:  # concurrent connects share one load
            loading = self._loading[version] = asyncio.ensure_future(self._load(version))
            loading.add_done_callback(lambda _: self._loading.pop(version, None))
        return await asyncio.shield(loading)

    async def _load(self, version: Any) -> _Membership:
        membership = _Membership(version)
        query = {"active": {"$ne": False}}
        async for doc in self._cohorts.find(query, {"member_ids": 1, "counselor_ids": 1, "timezone": 1}):
            if doc.get("timezone"):
                membership.timezones[doc["_id"]] = doc["timezone"]
            for user_id in doc.get("member_ids", ()):
                membership.members.setdefault(user_id, set()).add(doc["_id"])
            for user_id in doc.get("counselor_ids", ()):
                membership.counselors.setdefault(user_id, set()).add(doc["_id"])
        self._membership = membership
        return membership
