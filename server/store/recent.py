"""The recent history of each room, in memory, kept true across processes.

Joining a room reads its last 50 messages, and a reconnecting client asks for what came
after its last one. On FerretDB (development and tests) any query on a field other than
`_id` scans the whole collection, so a join cost 30 ms at 1k stored messages and 1.4 s at
50k, and a reconnect storm timed out. This cache serves those reads from memory.

Correct with several processes: every change to a room's history (an insert batch, a
moderation update) stamps the room document with a fresh `history_version`, and a read
first fetches the room's version by `_id` (one indexed lookup). A cache whose version is
not the room's is reloaded. A process that made a change itself updates its cache in
place, but only if the version it replaced is the one its cache had (nobody else changed
the room in between); otherwise it drops the cache.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from bson import ObjectId

from server.models import Message

KEEP = 100  # messages per room: two join pages
COLD_LOAD = 51  # read after a restart or another process's change: one join page and "more?"
ROOMS = 1000  # rooms kept (least recently used are dropped)


@dataclass
class RecentHistory:
    version: ObjectId | None
    messages: list[Message] = field(default_factory=list)  # contiguous by seq, oldest first
    complete: bool = False  # holds the room's whole history


class RecentCache:
    def __init__(self, keep: int = KEEP, rooms: int = ROOMS) -> None:
        self._keep = keep
        self._rooms = rooms
        self._by_room: OrderedDict[ObjectId, RecentHistory] = OrderedDict()

    def get(self, room_id: ObjectId, version: ObjectId | None) -> RecentHistory | None:
        cached = self._by_room.get(room_id)
        if cached is None or cached.version != version:
            return None
        self._by_room.move_to_end(room_id)
        return cached

    def peek(self, room_id: ObjectId) -> RecentHistory | None:
        """The room's history whatever its version (a process alone on its database
        makes every change itself, so its copy is current)."""
        cached = self._by_room.get(room_id)
        if cached is not None:
            self._by_room.move_to_end(room_id)
        return cached

    def put(self, room_id: ObjectId, history: RecentHistory) -> None:
        history.messages = history.messages[-self._keep :]
        self._by_room[room_id] = history
        self._by_room.move_to_end(room_id)
        while len(self._by_room) > self._rooms:
            self._by_room.popitem(last=False)

    def append(self, room_id: ObjectId, messages: list[Message]) -> None:
        """Our own new messages, before the room's version is stamped (so a join on this
        process in between already sees them)."""
        cached = self._by_room.get(room_id)
        if cached is None:
            return
        if cached.messages and messages and messages[0].seq != cached.messages[-1].seq + 1:
            self.drop(room_id)  # not contiguous: another process wrote in between
            return
        cached.messages.extend(messages)
        if len(cached.messages) > self._keep:
            cached.messages = cached.messages[-self._keep :]
            cached.complete = False

    def replace(self, room_id: ObjectId, message: Message) -> None:
        cached = self._by_room.get(room_id)
        if cached is None:
            return
        for i, old in enumerate(cached.messages):
            if old.id == message.id:
                cached.messages[i] = message
                return

    def stamped(self, room_id: ObjectId, previous: ObjectId | None, new: ObjectId) -> None:
        """We changed the room and stamped `new` over `previous`: keep the cache only if
        `previous` is the version it was built on."""
        cached = self._by_room.get(room_id)
        if cached is None:
            return
        if cached.version == previous:
            cached.version = new
        else:
            self.drop(room_id)

    def drop(self, room_id: ObjectId) -> None:
        self._by_room.pop(room_id, None)

    def clear(self) -> None:
        self._by_room.clear()


def visible_to(messages: list[Message], viewer: ObjectId | None) -> list[Message]:
    """A patient never receives someone else's held message; moderators (None) see all."""
    if viewer is None:
        return messages
    return [m for m in messages if m.status != "held" or m.author_id == viewer]
