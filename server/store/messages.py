"""messages: the chat history, ordered per room by a gap-free sequence number.

Ordering. Each message gets `seq` = the room's previous seq + 1, guarded by the unique
index (room_id, seq). A process remembers the last seq it saw per room and inserts
optimistically; if another process got there first, the unique index refuses the insert
and we reload the room's maximum and try again. Because a process only ever builds on a
seq it has seen committed, seq N+1 can only exist once seq N does, so a reader asking for
"everything after N" (catch-up after a reconnect) never misses a message that commits
later with a smaller number.

Group commit. One writer task per process inserts whatever sends are waiting, in arrival
order, with one ordered `insert_many`. At low load a batch is one message (no added
delay); under load, round trips and database transactions are shared (FerretDB: ~450
single inserts/s but ~7,000 messages/s in batches of 20, measured by bench/README.md).
An ordered insert stops at the first refused document; the ones before it are stored,
the refused one is resolved (a retry of a stored message) or re-numbered, and the rest
go round again.

Idempotency. The unique index (author_id, client_id) makes a retried send a no-op that
returns the stored message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from server.models import Message

MAX_SEQ_RETRIES = 20
MAX_BATCH = 256
DUPLICATE_KEY = 11000


@dataclass
class _Pending:
    doc: dict[str, Any]
    future: asyncio.Future[tuple[Message, bool]]


class MessageStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._messages = db["messages"]
        self._last_seq: dict[ObjectId, int] = {}
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None

    async def by_client_id(self, author_id: ObjectId, client_id: str) -> Message | None:
        doc = await self._messages.find_one({"author_id": author_id, "client_id": client_id})
        return Message.from_doc(doc) if doc else None

    async def insert(self, doc: dict[str, Any]) -> tuple[Message, bool]:
        """Store a new message; returns (message, created). created=False for a retry.

        `doc` has every field but `seq` (and optionally `_id`), assigned here. Raises the
        driver's error if the database fails; the message may then or may not be stored,
        and a retry with the same client_id settles it.
        """
        pending = _Pending(doc, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="message-writer")
        return await pending.future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            try:
                await self._write(batch)
            except Exception as exc:  # delivered to every waiting sender, never swallowed
                for room_id in {p.doc["room_id"] for p in batch}:
                    self._last_seq.pop(room_id, None)
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)

    async def _write(self, batch: list[_Pending]) -> None:
        todo = batch
        for _ in range(MAX_SEQ_RETRIES):
            if not todo:
                return
            for room_id in {p.doc["room_id"] for p in todo} - self._last_seq.keys():
                self._last_seq[room_id] = await self._max_seq(room_id)
            next_seq = dict(self._last_seq)
            candidates = []
            for pending in todo:
                room_id = pending.doc["room_id"]
                next_seq[room_id] += 1
                candidates.append({"_id": ObjectId(), **pending.doc, "seq": next_seq[room_id]})
            try:
                await self._messages.insert_many(candidates, ordered=True)
                stored, refused = len(candidates), None
            except BulkWriteError as exc:
                error = exc.details["writeErrors"][0]
                if error.get("code") != DUPLICATE_KEY:
                    raise
                stored, refused = error["index"], todo[error["index"]]
            for pending, doc in zip(todo[:stored], candidates[:stored], strict=True):
                self._last_seq[doc["room_id"]] = doc["seq"]
                if not pending.future.done():
                    pending.future.set_result((Message.from_doc(doc), True))
            if refused is None:
                return
            existing = await self.by_client_id(refused.doc["author_id"], refused.doc["client_id"])
            if existing is not None:  # a retry of a stored message
                if not refused.future.done():
                    refused.future.set_result((existing, False))
                todo = todo[stored + 1 :]
            else:  # another process took that seq: reload the room and go round again
                self._last_seq.pop(refused.doc["room_id"], None)
                todo = todo[stored:]
        raise RuntimeError("could not allocate message sequence numbers")

    async def _max_seq(self, room_id: ObjectId) -> int:
        doc = await self._messages.find_one({"room_id": room_id}, {"seq": 1}, sort=[("seq", -1)])
        return int(doc["seq"]) if doc else 0

    async def get(self, message_id: ObjectId) -> Message | None:
        doc = await self._messages.find_one({"_id": message_id})
        return Message.from_doc(doc) if doc else None

    async def latest(self, room_id: ObjectId, limit: int, viewer: ObjectId | None) -> tuple[list[Message], bool]:
        return await self._page(room_id, {}, limit, newest_first=True, viewer=viewer)

    async def before(
        self, room_id: ObjectId, seq: int, limit: int, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        return await self._page(room_id, {"$lt": seq}, limit, newest_first=True, viewer=viewer)

    async def after(
        self, room_id: ObjectId, seq: int, limit: int, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        return await self._page(room_id, {"$gt": seq}, limit, newest_first=False, viewer=viewer)

    async def _page(
        self, room_id: ObjectId, seq_range: dict[str, int], limit: int, *, newest_first: bool, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        """One page, always returned oldest first, plus whether more lie beyond it."""
        query: dict[str, Any] = {"room_id": room_id}
        if seq_range:
            query["seq"] = seq_range
        if viewer is not None:
            # A patient never receives someone else's held message; hidden and deleted
            # ones come back as tombstones (payloads.py). Moderators (viewer None) see all.
            query["$or"] = [{"status": {"$ne": "held"}}, {"author_id": viewer}]
        cursor = self._messages.find(query).sort("seq", -1 if newest_first else 1).limit(limit + 1)
        docs = [doc async for doc in cursor]
        has_more = len(docs) > limit
        docs = docs[:limit]
        if newest_first:
            docs.reverse()
        return [Message.from_doc(doc) for doc in docs], has_more

    async def context(self, room_id: ObjectId, seq: int, count: int) -> tuple[list[Message], list[Message]]:
        before, _ = await self._page(room_id, {"$lt": seq}, count, newest_first=True, viewer=None)
        after, _ = await self._page(room_id, {"$gt": seq}, count, newest_first=False, viewer=None)
        return before, after

    async def last_by_author(self, room_id: ObjectId, author_id: ObjectId) -> Message | None:
        doc = await self._messages.find_one({"room_id": room_id, "author_id": author_id}, sort=[("seq", -1)])
        return Message.from_doc(doc) if doc else None

    async def update(self, message_id: ObjectId, expect: dict[str, Any], changes: dict[str, Any]) -> Message | None:
        """Conditional update (e.g. only a held message can be released); None if nothing matched."""
        doc = await self._messages.find_one_and_update(
            {"_id": message_id, **expect}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return Message.from_doc(doc) if doc else None

    async def add_flag(self, message_id: ObjectId, flag_id: ObjectId, severity_if_none: str) -> None:
        """Tag a message with a new flag (a peer report); an existing severity is kept."""
        await self._messages.update_one({"_id": message_id}, {"$addToSet": {"flag_ids": flag_id}})
        await self._messages.update_one({"_id": message_id, "severity": None}, {"$set": {"severity": severity_if_none}})

    async def purge_text_before(self, cutoff: Any) -> int:
        result = await self._messages.update_many(
            {"created_at": {"$lt": cutoff}, "text": {"$ne": None}}, {"$set": {"text": None, "purged": True}}
        )
        return result.modified_count
