"""users and revoked_tokens: accounts, on-call state and token revocation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from server.clock import utcnow
from server.errors import Conflict
from server.models import User


class UserStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._users = db["users"]
        self._revoked = db["revoked_tokens"]

    async def create(
        self,
        *,
        username: str,
        display_name: str,
        role: str,
        password_hash: str | None,
        language: str = "en",
    ) -> User:
        doc: dict[str, Any] = {
            "_id": ObjectId(),
            "username": username,
            "display_name": display_name,
            "role": role,
            "active": True,
            "language": language,
            "password_hash": password_hash,
            "oncall": False,
            "created_at": utcnow(),
        }
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError:
            raise Conflict("That username is taken.") from None
        return User.from_doc(doc)

    async def remember_address(self, user: User, address: str, keep: int = 10) -> None:
        if address in user.known_addresses:
            return
        known = [*user.known_addresses, address][-keep:]
        await self._users.update_one({"_id": user.id}, {"$set": {"known_addresses": known}})

    async def display_names(self, user_ids: list[ObjectId]) -> list[str]:
        cursor = self._users.find({"_id": {"$in": user_ids}}, {"display_name": 1})
        return [doc.get("display_name", "") async for doc in cursor]

    async def get(self, user_id: ObjectId) -> User | None:
        doc = await self._users.find_one({"_id": user_id})
        return User.from_doc(doc) if doc else None

    async def by_username(self, username: str) -> User | None:
        doc = await self._users.find_one({"username": username})
        return User.from_doc(doc) if doc else None

    async def list(self, limit: int = 1000) -> list[User]:
        return [User.from_doc(doc) async for doc in self._users.find({}).sort("username", 1).limit(limit)]

    async def any_staff(self) -> bool:
        return await self._users.find_one({"role": "staff"}, {"_id": 1}) is not None

    async def update(self, user_id: ObjectId, changes: dict[str, Any]) -> User | None:
        doc = await self._users.find_one_and_update(
            {"_id": user_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return User.from_doc(doc) if doc else None

    async def deactivate(self, user_id: ObjectId) -> User | None:
        """Deactivation revokes every token the user holds, for good (tokens_valid_after)."""
        return await self.update(user_id, {"active": False, "oncall": False, "tokens_valid_after": utcnow()})

    async def set_oncall(self, user_id: ObjectId, on: bool) -> None:
        await self._users.update_one({"_id": user_id}, {"$set": {"oncall": on}})

    async def revoke_token(self, jti: str, user_id: ObjectId, expires_at: datetime) -> None:
        await self._revoked.update_one(
            {"_id": jti}, {"$setOnInsert": {"user_id": user_id, "expires_at": expires_at}}, upsert=True
        )

    async def is_revoked(self, jti: str) -> bool:
        return await self._revoked.find_one({"_id": jti}, {"_id": 1}) is not None
