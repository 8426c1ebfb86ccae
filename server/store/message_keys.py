"""message_keys: the messages' secondary keys as documents keyed by `_id`, for FerretDB.

FerretDB 1.24 on SQLite answers only an exact `{_id: value}` filter from an index; any
other filter reads the whole collection. So on FerretDB the two lookups that are not by
the message's own id get a keyed document each:

- `"s:<room_id>:<seq>"` -> the message id: scroll-back, gap fill and the review context
  become point lookups (about 1 ms each, flat in the number of stored messages, where the
  `{room_id, seq}` query took 0.9 s at 10k messages and 7 s at 100k);
- `"c:<author_id>:<client_id>"` -> the message id: is this send a retry? A refused flood
  asks this and must not scan. A message stored in the last moments may not have its key
  yet (written with the batch's seq keys); a retry of it then meets the unique index,
  and the query settles it.

On MongoDB the compound indexes on `messages` serve both and this collection is not
used. Keys are written after their message: a crash in between, or a database from
before this module, leaves a gap that readers detect and fill with one slow query.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bson import ObjectId
from pymongo.asynchronous.database import AsyncDatabase

from server.store.upsert import insert_new, replace_by_id


def seq_key(room_id: ObjectId, seq: int) -> str:
    return f"s:{room_id}:{seq}"


def client_key(author_id: ObjectId, client_id: str) -> str:
    return f"c:{author_id}:{client_id}"


class MessageKeys:
    def __init__(self, db: AsyncDatabase) -> None:
        self._keys = db["message_keys"]

    async def add(self, keys: Iterable[tuple[str, ObjectId]]) -> None:
        """Insert keys; ones already there (a retry, a self-heal) are left as they were."""
        await insert_new(self._keys, [{"_id": key, "m": message_id} for key, message_id in keys])

    async def point(self, key: str, message_id: ObjectId) -> None:
        """Repoint a key (an earlier attempt's id whose insert failed)."""
        await replace_by_id(self._keys, key, {"m": message_id})

    async def message_id(self, key: str) -> ObjectId | None:
        doc = await self._keys.find_one({"_id": key})
        return doc["m"] if doc else None

    async def by_seq(self, room_id: ObjectId, seqs: list[int]) -> dict[int, ObjectId]:
        """The ids of these seqs that have keys (one indexed lookup each, concurrently)."""
        found = await asyncio.gather(*(self.message_id(seq_key(room_id, s)) for s in seqs))
        return {seq: message_id for seq, message_id in zip(seqs, found, strict=True) if message_id is not None}
