"""rooms and mutes: a cohort's chat rooms and their moderation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from server.clock import utcnow
from server.models import Room
from server.store.upsert import upsert_by_id


class RoomStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._rooms = db["rooms"]
        self._mutes = db["mutes"]

    async def create(self, cohort_id: ObjectId, cohort_name: str, name: str) -> Room:
        doc = {
            "_id": ObjectId(),
            "cohort_id": cohort_id,
            "cohort_name": cohort_name,
            "name": name,
            "locked": False,
            "slow_mode_seconds": 0,
            "pinned_message_id": None,
            "created_at": utcnow(),
            # The ids of the room's newest messages (server/store/recent.py): a join on a
            # process without them in memory reads these by _id instead of scanning.
            "recent_ids": [],
            "recent_from_start": True,
        }
        await self._rooms.insert_one(doc)
        return Room.from_doc(doc)

    async def get(self, room_id: ObjectId) -> Room | None:
        doc = await self._rooms.find_one({"_id": room_id})
        return Room.from_doc(doc) if doc else None

    async def ids_of_cohort(self, cohort_id: ObjectId) -> list[ObjectId]:
        return [doc["_id"] async for doc in self._rooms.find({"cohort_id": cohort_id}, {"_id": 1})]

    async def for_cohorts(self, cohort_ids: frozenset[ObjectId] | None) -> list[Room]:
        """Rooms of these cohorts; None means every room (staff)."""
        query: dict[str, Any] = {} if cohort_ids is None else {"cohort_id": {"$in": list(cohort_ids)}}
        return [Room.from_doc(doc) async for doc in self._rooms.find(query).sort([("cohort_name", 1), ("name", 1)])]

    async def update(self, room_id: ObjectId, changes: dict[str, Any]) -> Room | None:
        doc = await self._rooms.find_one_and_update(
            {"_id": room_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return Room.from_doc(doc) if doc else None

    async def rename_cohort(self, cohort_id: ObjectId, cohort_name: str) -> None:
        await self._rooms.update_many({"cohort_id": cohort_id}, {"$set": {"cohort_name": cohort_name}})

    async def mute(
        self, room_id: ObjectId, user_id: ObjectId, until: datetime, reason: str | None, by: ObjectId
    ) -> None:
        await upsert_by_id(
            self._mutes,
            f"{room_id}:{user_id}",
            {"$set": {"room_id": room_id, "user_id": user_id, "until": until, "reason": reason, "by": by}},
        )

    async def unmute(self, room_id: ObjectId, user_id: ObjectId) -> None:
        await self._mutes.delete_one({"_id": f"{room_id}:{user_id}"})

    async def mutes_of_room(self, room_id: ObjectId) -> dict[ObjectId, datetime]:
        """Active mutes of a room: user id -> until."""
        now = utcnow()
        cursor = self._mutes.find({"room_id": room_id, "until": {"$gt": now}}, {"user_id": 1, "until": 1})
        return {doc["user_id"]: doc["until"] async for doc in cursor}
