"""This process's live connections: who is behind each socket and what it joined.

Socket.IO rooms carry the fan-out (and cross processes through Redis); this registry
answers the questions rooms cannot: who is online in a chat room, which sockets belong
to a user or a token, whether anyone on call is connected for a cohort. Lookups by user
and by room are indexed: they run on every join and presence change, and a scan of a
thousand connections each time showed up in the load profile.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

from bson import ObjectId

from server.models import Origin, Principal


@dataclass
class Connection:
    sid: str
    principal: Principal
    origin: Origin
    oncall: bool = False
    rooms: set[ObjectId] = field(default_factory=set)  # change through Registry.join/leave
    # Monotonic time of the user's last event (pings do not count): automatic logoff.
    last_active: float = field(default_factory=time.monotonic)
    expiry: asyncio.TimerHandle | None = None  # ends the socket when its token expires
    connected_at: float = field(default_factory=time.monotonic)


class Registry:
    def __init__(self) -> None:
        self._by_sid: dict[str, Connection] = {}
        self._by_user: defaultdict[ObjectId, dict[str, Connection]] = defaultdict(dict)
        self._by_room: defaultdict[ObjectId, dict[str, Connection]] = defaultdict(dict)

    def add(self, connection: Connection) -> None:
        self._by_sid[connection.sid] = connection
        self._by_user[connection.principal.user_id][connection.sid] = connection

    def remove(self, sid: str) -> Connection | None:
        connection = self._by_sid.pop(sid, None)
        if connection is not None:
            self._discard(self._by_user, connection.principal.user_id, sid)
            for room_id in connection.rooms:
                self._discard(self._by_room, room_id, sid)
        return connection

    def join(self, connection: Connection, room_id: ObjectId) -> None:
        connection.rooms.add(room_id)
        self._by_room[room_id][connection.sid] = connection

    def leave(self, connection: Connection, room_id: ObjectId) -> None:
        connection.rooms.discard(room_id)
        self._discard(self._by_room, room_id, connection.sid)

    @staticmethod
    def _discard(index: defaultdict[ObjectId, dict[str, Connection]], key: ObjectId, sid: str) -> None:
        bucket = index.get(key)
        if bucket is not None:
            bucket.pop(sid, None)
            if not bucket:
                del index[key]

    def get(self, sid: str) -> Connection | None:
        return self._by_sid.get(sid)

    def __len__(self) -> int:
        return len(self._by_sid)

    def all(self) -> list[Connection]:
        return list(self._by_sid.values())

    def from_address(self, address: str | None) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.origin.ip == address]

    def of_user(self, user_id: ObjectId) -> list[Connection]:
        return list(self._by_user.get(user_id, {}).values())

    def of_token(self, jti: str) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.principal.jti == jti]

    def in_room(self, room_id: ObjectId) -> list[Connection]:
        return list(self._by_room.get(room_id, {}).values())

    def online_in_room(self, room_id: ObjectId) -> list[Principal]:
        """One entry per user (a user may have several tabs open)."""
        seen: dict[ObjectId, Principal] = {}
        for connection in self.in_room(room_id):
            seen.setdefault(connection.principal.user_id, connection.principal)
        return list(seen.values())

    def user_in_room(self, user_id: ObjectId, room_id: ObjectId) -> bool:
        return any(room_id in c.rooms for c in self.of_user(user_id))

    def oncall_for_cohort(self, cohort_id: ObjectId) -> list[Connection]:
        return [
            c
            for c in self._by_sid.values()
            if c.oncall and c.principal.role == "counselor" and cohort_id in c.principal.cohort_ids
        ]

    def oncall_any(self) -> list[Connection]:
        return [c for c in self._by_sid.values() if c.oncall and c.principal.role == "counselor"]
