"""users and revoked_tokens: accounts, on-call state and token revocation.

Sign-in finds an account by username. FerretDB indexes only `_id` and read the whole
users collection for that (30-80 ms at a clinic's size), so `usernames` keys each
username to its account (`_id` = the username; usernames never change). The key is
written before the account, so an account never lacks one; a key whose account was
never made is ignored. Databases from before the keys get them at start-up
(`key_usernames`). A lookup costs the same two `_id` reads whether or not the username
exists: sign-in must not tell an attacker which usernames are real by its timing.
"""

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
from server.store.upsert import insert_new, upsert_by_id

NOBODY = ObjectId("000000000000000000000000")  # no account has it


class UserStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._users = db["users"]
        self._usernames = db["usernames"]
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
            await self._usernames.insert_one({"_id": username, "user_id": doc["_id"]})
        except DuplicateKeyError:
            taken = await self._usernames.find_one({"_id": username})
            if taken is not None and await self.get(taken["user_id"]) is not None:
                raise Conflict("That username is taken.") from None
            # the key of an account that was never made (a failed create): take it over
            await self._usernames.replace_one({"_id": username}, {"user_id": doc["_id"]})
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError:  # the unique index agrees with the key, but has the last word
            raise Conflict("That username is taken.") from None
        return User.from_doc(doc)

    async def key_usernames(self) -> int:
        """Key every account that has no username key yet (start-up: two reads, and one
        write only when some account lacks its key)."""
        keyed = {doc["_id"] async for doc in self._usernames.find({}, {"_id": 1})}
        missing = [
            {"_id": doc["username"], "user_id": doc["_id"]}
            async for doc in self._users.find({}, {"username": 1})
            if doc["username"] not in keyed
        ]
        return await insert_new(self._usernames, missing)  # another process may key some at the same start-up

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
        key = await self._usernames.find_one({"_id": username})
        user = await self.get(key["user_id"] if key is not None else NOBODY)  # the same reads either way
        return user if user is not None and user.username == username else None

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
        await upsert_by_id(self._revoked, jti, {"$setOnInsert": {"user_id": user_id, "expires_at": expires_at}})

    async def is_revoked(self, jti: str) -> bool:
        return await self._revoked.find_one({"_id": jti}, {"_id": 1}) is not None
