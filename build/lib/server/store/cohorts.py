"""cohorts: programs' groups, their members (patients) and assigned counselors."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from server.models import Cohort


class CohortStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._cohorts = db["cohorts"]

    async def create(self, fields: dict[str, Any]) -> Cohort:
        doc = {"_id": ObjectId(), "active": True, "member_ids": [], "counselor_ids": [], **fields}
        await self._cohorts.insert_one(doc)
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
        return Cohort.from_doc(doc) if doc else None

    async def set_membership(self, cohort_id: ObjectId, field: str, user_id: ObjectId, present: bool) -> bool:
        """Add or remove a user id in member_ids / counselor_ids; False if no such cohort."""
        op = "$addToSet" if present else "$pull"
        result = await self._cohorts.update_one({"_id": cohort_id}, {op: {field: user_id}})
        return result.matched_count == 1

    async def ids_for(self, user_id: ObjectId, role: str) -> frozenset[ObjectId]:
        """Cohorts a patient belongs to, or a counselor is assigned to (active cohorts only)."""
        field = "counselor_ids" if role == "counselor" else "member_ids"
        cursor = self._cohorts.find({field: user_id, "active": {"$ne": False}}, {"_id": 1})
        return frozenset([doc["_id"] async for doc in cursor])
