"""audit: the append-only trail of who saw and did what (HIPAA 164.312(b)).

This class has no update or delete method on purpose: nothing in the application can
change an entry. In production, give the application's database user insert+find only
on this collection (README, Deployment). Entries hold ids and action names, never
message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from server.clock import utcnow
from server.models import AuditEntry, Origin


@dataclass(frozen=True)
class Actor:
    id: ObjectId
    name: str
    role: str


class AuditStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._audit = db["audit"]

    async def append(
        self,
        action: str,
        *,
        actor: Actor | None,
        target_type: str,
        target_id: ObjectId | str | None,
        origin: Origin,
        details: dict[str, Any] | None = None,
    ) -> ObjectId:
        entry_id = ObjectId()
        await self._audit.insert_one(
            {
                "_id": entry_id,
                "at": utcnow(),
                "actor_id": actor.id if actor else None,
                "actor_name": actor.name if actor else None,
                "actor_role": actor.role if actor else None,
                "action": action,
                "target_type": target_type,
                "target_id": str(target_id) if target_id is not None else None,
                "origin": {"ip": origin.ip, "user_agent": origin.user_agent},
                "details": details or {},
            }
        )
        return entry_id

    async def page(
        self,
        *,
        actor_id: ObjectId | None,
        action: str | None,
        since: datetime | None,
        until: datetime | None,
        before_id: ObjectId | None,
        limit: int,
    ) -> tuple[list[AuditEntry], bool]:
        """Newest first; `before_id` is the cursor (ObjectIds grow with insertion time)."""
        query: dict[str, Any] = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        if action is not None:
            query["action"] = action
        if since is not None or until is not None:
            query["at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
        if before_id is not None:
            query["_id"] = {"$lt": before_id}
        docs = [doc async for doc in self._audit.find(query).sort("_id", -1).limit(limit + 1)]
        return [AuditEntry.from_doc(d) for d in docs[:limit]], len(docs) > limit

    async def count(self, query: dict[str, Any]) -> int:
        return await self._audit.count_documents(query)
