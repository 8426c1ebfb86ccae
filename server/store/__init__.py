"""The storage layer: the only package that imports pymongo collections.

One module per collection group; `Stores` bundles them for the app (server/keys.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from server.store.audit import AuditStore
from server.store.client import ping
from server.store.cohorts import CohortStore
from server.store.flags import FlagStore
from server.store.login_failures import LoginFailureStore
from server.store.messages import MessageStore
from server.store.rooms import RoomStore
from server.store.users import UserStore


@dataclass(frozen=True)
class Stores:
    db: AsyncDatabase
    users: UserStore
    cohorts: CohortStore
    rooms: RoomStore
    messages: MessageStore
    flags: FlagStore
    audit: AuditStore
    login_failures: LoginFailureStore

    async def ping(self) -> bool:
        """Whether the database answers (for /readyz)."""
        return await ping(self.db)

    @classmethod
    def open(cls, db: AsyncDatabase) -> Stores:
        return cls(
            db=db,
            users=UserStore(db),
            cohorts=CohortStore(db),
            rooms=RoomStore(db),
            messages=MessageStore(db),
            flags=FlagStore(db),
            audit=AuditStore(db),
            login_failures=LoginFailureStore(db),
        )
