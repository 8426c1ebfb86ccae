"""The storage layer: the only package that imports pymongo collections.

One module per collection group; `Stores` bundles them for the app (server/keys.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from server.store.activity import ActivityStore
from server.store.audit import AuditStore
from server.store.checkins import CheckinStore
from server.store.client import ping
from server.store.cohorts import CohortStore
from server.store.flags import FlagStore
from server.store.login_failures import LoginFailureStore
from server.store.messages import MessageStore
from server.store.reports import ReportStore
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
    activity: ActivityStore
    reports: ReportStore
    checkins: CheckinStore

    async def ping(self, within: float = 1.0) -> bool:
        """Whether the database answers within `within` seconds (for /readyz, which a
        load balancer polls: it must not hang for DB_TIMEOUT_MS when the database is gone)."""
        try:
            return await asyncio.wait_for(ping(self.db), within)
        except TimeoutError:
            return False

    @classmethod
    def open(cls, db: AsyncDatabase, *, shared: bool = True) -> Stores:
        return cls(
            db=db,
            users=UserStore(db),
            cohorts=CohortStore(db),
            rooms=RoomStore(db),
            messages=MessageStore(db, shared=shared),
            flags=FlagStore(db),
            audit=AuditStore(db),
            login_failures=LoginFailureStore(db),
            activity=ActivityStore(db),
            reports=ReportStore(db),
            checkins=CheckinStore(db),
        )
