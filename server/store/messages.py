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

FerretDB. Its SQLite backend serves only `{_id: value}` from an index, so there the
lookups by (room, seq) and (author, client_id) go through keyed documents
(message_keys.py); MongoDB uses its compound indexes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, PyMongoError

from server.models import Message
from server.store.message_keys import MessageKeys, client_key, seq_key
from server.store.pacer import Pacer
from server.store.recent import COLD_LOAD, RecentCache, RecentHistory, visible_to
from server.store.recent import KEEP as RECENT_KEEP
from server.store.upsert import DUPLICATE_KEY, insert_new

log = logging.getLogger(__name__)
MAX_SEQ_RETRIES = 20
KEY_WRITE_EVERY = 0.25  # seconds: a process alone on FerretDB writes message keys in batches
PROBES_BEFORE_QUERY = 3  # FerretDB: seq conflicts in a room settled by key probes before the scanning query
KEYED_ROUNDS = 4  # pages of seq keys read before a page mostly hidden from this viewer falls back to a query
MAX_BATCH = 256
MARK_DELIVERED_EVERY = 0.5  # seconds
STAMP_EVERY = 2.0  # seconds, alone on the database: stamps only serve cold loads after a restart


@dataclass
class _Pending:
    doc: dict[str, Any]
    future: asyncio.Future[tuple[Message, bool]]
    track: bool = False  # note it as undelivered until note_delivered()


class MessageStore:
    def __init__(self, db: AsyncDatabase, *, shared: bool = True) -> None:
        self._messages = db["messages"]
        self._rooms = db["rooms"]  # for the rooms' history_version (see recent.py)
        self._recent = RecentCache()
        self._ferretdb: bool | None = None
        self._keys = MessageKeys(db)
        # Keys waiting to be written (alone on the database: gathered off the ack's path).
        self._pending_keys: dict[str, ObjectId] = {}
        self._key_writer: asyncio.Task[None] | None = None
        self.on_insert: Callable[[int], None] | None = None  # metrics: messages stored
        self._unstamped: dict[ObjectId, list[ObjectId]] = {}
        # Alone on the database, stamps are gathered for a quarter second (FerretDB: a
        # stamp per batch cost most of its CPU at 200 msgs/s); shared, they go at once, so
        # that another process's join never misses a message already broadcast.
        self._shared = shared
        self._stamp_every = 0.0 if shared else STAMP_EVERY
        self._stamper: asyncio.Task[None] | None = None
        # One stamp of this process in flight at a time: FerretDB 1.24 updates a document
        # by reading it and writing it back, so two concurrent stamps of a room (the
        # stamper's and a moderator's, or a flush's) lose one list of new ids.
        self._stamping = asyncio.Lock()
        self._pacer = Pacer()  # the background writers' pauses, which flush() cuts short
        self._loading: dict[tuple[ObjectId, ObjectId | None], asyncio.Future[RecentHistory]] = {}
        # Messages stored but not yet broadcast: a small collection of ids, written with
        # the insert's batch and emptied as broadcasts go out, so that finding what a
        # crash left half done never scans the message history.
        self._undelivered = db["undelivered_messages"]
        self._last_seq: dict[ObjectId, int] = {}
        self._queue: list[_Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._delivered: list[ObjectId] = []
        self._marker: asyncio.Task[None] | None = None

    async def by_client_id(self, author_id: ObjectId, client_id: str, *, thorough: bool = False) -> Message | None:
        """The stored message of this send, if any. On FerretDB through its key, written
        with the message's batch (or about to be: then from memory). `thorough` also
        queries: after the unique index said the send exists but no key named it (a crash
        between message and key, a message from before the keys)."""
        if await self.is_ferretdb():
            key = client_key(author_id, client_id)
            message_id = self._pending_keys.get(key) or await self._keys.message_id(key)
            message = await self.get(message_id) if message_id is not None else None
            if message is not None or not thorough:
                return message
        doc = await self._messages.find_one({"author_id": author_id, "client_id": client_id})
        if doc is not None and self._ferretdb:  # the key named an attempt that never got stored
            await self._keys.point(client_key(author_id, client_id), doc["_id"])
        return Message.from_doc(doc) if doc else None

    async def is_ferretdb(self) -> bool:
        if self._ferretdb is None:
            info = await self._messages.database.command("buildInfo")
            self._ferretdb = "ferretdbVersion" in info or "ferretdb" in str(info.get("version", "")).lower()
        return self._ferretdb

    async def insert(self, doc: dict[str, Any], *, track_delivery: bool = False) -> tuple[Message, bool]:
        """Store a new message; returns (message, created). created=False for a retry.

        `doc` has every field but `seq` (and optionally `_id`), assigned here. Raises the
        driver's error if the database fails; the message may then or may not be stored,
        and a retry with the same client_id settles it. With `track_delivery` (needs
        `_id`), the message counts as undelivered until `note_delivered`.
        """
        assert not track_delivery or "_id" in doc
        pending = _Pending(doc, asyncio.get_running_loop().create_future(), track_delivery)
        self._queue.append(pending)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="message-writer")
        try:
            return await asyncio.shield(pending.future)
        except asyncio.CancelledError:
            # The sender gave up (its deadline passed). Not yet handed to the database: it
            # is never stored, so "nothing was sent" is true. Already in flight: it may be
            # stored; it is noted undelivered, so a retry or the sweep finishes it.
            if pending in self._queue:
                self._queue.remove(pending)
            raise

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
        for pending in batch:  # one id per message, whatever seq it ends up with
            pending.doc.setdefault("_id", ObjectId())
        markers = [
            {"_id": p.doc["_id"], "room_id": p.doc["room_id"], "created_at": p.doc["created_at"]}
            for p in batch
            if p.track
        ]
        # Before the messages: a crash in between leaves a marker, never a lost broadcast.
        await self._mark_undelivered(markers)
        todo = batch
        conflicts: dict[ObjectId, int] = {}
        for _ in range(MAX_SEQ_RETRIES):
            if not todo:
                return
            for room_id in {p.doc["room_id"] for p in todo} - self._last_seq.keys():
                self._last_seq[room_id] = await self._max_seq(room_id, thorough=room_id in conflicts)
            next_seq = dict(self._last_seq)
            candidates = []
            for pending in todo:
                room_id = pending.doc["room_id"]
                next_seq[room_id] += 1
                candidates.append({**pending.doc, "seq": next_seq[room_id]})
            try:
                await self._messages.insert_many(candidates, ordered=True)
                stored, refused = len(candidates), None
            except BulkWriteError as exc:
                error = exc.details["writeErrors"][0]
                if error.get("code") != DUPLICATE_KEY:
                    raise
                stored, refused = error["index"], todo[error["index"]]
            if stored and await self.is_ferretdb():
                await self._add_keys(candidates[:stored])
            added: dict[ObjectId, list[Message]] = {}
            for pending, doc in zip(todo[:stored], candidates[:stored], strict=True):
                self._last_seq[doc["room_id"]] = doc["seq"]
                message = Message.from_doc(doc)
                added.setdefault(message.room_id, []).append(message)
                if not pending.future.done():
                    pending.future.set_result((message, True))
            for room_id, messages in added.items():
                self._recent.append(room_id, messages)
                if self.on_insert is not None:
                    self.on_insert(len(messages))
            for room_id, messages in added.items():
                self._stamp_soon(room_id, [m.id for m in messages])
            if refused is None:
                return
            room_id = refused.doc["room_id"]
            probing = await self.is_ferretdb() and conflicts.get(room_id, 0) < PROBES_BEFORE_QUERY
            existing = await self.by_client_id(refused.doc["author_id"], refused.doc["client_id"], thorough=not probing)
            if existing is not None:  # a retry of a stored message
                if not refused.future.done():
                    refused.future.set_result((existing, False))
                todo = todo[stored + 1 :]
            else:  # another process took that seq: find the room's last and go round again
                conflicts[room_id] = conflicts.get(room_id, 0) + 1
                if probing:  # seq keys trail their messages by milliseconds: a short guess just comes round again
                    self._last_seq[room_id] = await self._probe_last_seq(room_id, candidates[stored]["seq"])
                else:
                    self._last_seq.pop(room_id, None)
                todo = todo[stored:]
        raise RuntimeError("could not allocate message sequence numbers")

    async def _probe_last_seq(self, room_id: ObjectId, known: int) -> int:
        """FerretDB: the highest seq with a key, from one that exists (`known`), in about
        2 log2(distance) keyed lookups (doubling, then halving). Keys are written in
        order, so they are contiguous but for the last few milliseconds' worth."""
        low, step = known, 1
        while await self._keys.message_id(seq_key(room_id, low + step)) is not None:
            low, step = low + step, step * 2
        high = low + step  # no key there
        while high - low > 1:
            middle = (low + high) // 2
            if await self._keys.message_id(seq_key(room_id, middle)) is not None:
                low = middle
            else:
                high = middle
        return low

    async def _mark_undelivered(self, markers: list[dict[str, Any]]) -> None:
        await insert_new(self._undelivered, markers)  # a retried send: its marker is there already

    async def _add_keys(self, docs: list[dict[str, Any]]) -> None:
        """The seq and client keys of stored messages (FerretDB). Shared by several
        processes: written before the acks, because the others find a room's last seq by
        probing them after a collision. Alone: gathered and written every KEY_WRITE_EVERY
        seconds off the ack's path (FerretDB takes ~450 single writes a second: a third
        write per batch on the ack path doubled delivery latency at 200 msgs/s)."""
        pairs = [(seq_key(d["room_id"], d["seq"]), d["_id"]) for d in docs]
        pairs += [(client_key(d["author_id"], d["client_id"]), d["_id"]) for d in docs if d.get("client_id")]
        if self._shared:
            try:
                await self._keys.add(pairs)
            except PyMongoError as exc:
                log.warning("keys of %d messages not written (%s)", len(docs), type(exc).__name__)
        else:
            self._add_keys_soon(pairs)

    def _add_keys_soon(self, pairs: list[tuple[str, ObjectId]]) -> None:
        for key, message_id in pairs:
            self._pending_keys.setdefault(key, message_id)
        if self._key_writer is None or self._key_writer.done():
            self._key_writer = asyncio.create_task(self._write_keys(KEY_WRITE_EVERY), name="message-keys")

    async def _write_keys(self, delay: float, *, once: bool = False) -> None:
        while self._pending_keys:
            await self._pacer.pause(delay)
            pending, self._pending_keys = self._pending_keys, {}
            try:
                await self._keys.add(pending.items())
            except asyncio.CancelledError:  # the loop is closing: kept for a last flush()
                self._pending_keys = {**pending, **self._pending_keys}
                raise
            except PyMongoError as exc:  # readers fall back to a query and heal meanwhile
                log.warning("keys of %d messages not written yet (%s)", len(pending), type(exc).__name__)
                self._pending_keys = {**pending, **self._pending_keys}
                if self._pacer.hurried:  # flush() makes the one last attempt
                    return
                delay = max(delay, 1.0)
            if once:
                return

    async def _max_seq(self, room_id: ObjectId, *, thorough: bool = False) -> int:
        """The room's last seq. On FerretDB, where the query below reads every message,
        first a guess from the room's newest listed message; a guess that is too low
        only costs a refused insert, after which the query settles it."""
        if not thorough and await self.is_ferretdb():
            room = await self._rooms.find_one({"_id": room_id}, {"recent_ids": 1})
            listed = (room or {}).get("recent_ids")
            ids = None if listed is None else [*listed, *self._unstamped.get(room_id, [])]
            if ids == []:
                return 0
            newest = await self.get(ids[-1]) if ids else None
            if newest is not None:  # stamps trail inserts: look past it
                return await self._probe_last_seq(room_id, newest.seq)
        doc = await self._messages.find_one({"room_id": room_id}, {"seq": 1}, sort=[("seq", -1)])
        return int(doc["seq"]) if doc else 0

    def note_delivered(self, message_id: ObjectId) -> None:
        """Record, soon and in batches, that a message's broadcast went out."""
        self._delivered.append(message_id)
        if self._marker is None or self._marker.done():
            self._marker = asyncio.create_task(self._mark_delivered(), name="delivered-marker")

    async def flush(self) -> None:
        """On shutdown (and in tests): record pending deliveries, stamp pending rooms and
        write pending seq keys now. The background writers are hurried, not cancelled:
        cancelling one mid-command would leave that command running on the server
        alongside the flush's own (a lost stamp on FerretDB)."""
        async with self._pacer.hurrying(self._stamper, self._key_writer):
            while self._unstamped:  # what a failed round put back
                room_id, ids = self._unstamped.popitem()
                await self._stamp(room_id, ids)
        await self.flush_delivered()
        await self._write_keys(0.0, once=True)

    async def flush_delivered(self) -> None:
        """Record every noted delivery now (tests, shutdown)."""
        async with self._pacer.hurrying(self._marker):
            while self._delivered:
                ids, self._delivered = self._delivered[:MAX_BATCH], self._delivered[MAX_BATCH:]
                await self._undelivered.delete_many({"_id": {"$in": ids}})

    async def _mark_delivered(self) -> None:
        # Gather a little first: one delete per half second under load, not one per message.
        # (Until it runs, a crash only means the sweep repeats a broadcast.)
        await self._pacer.pause(MARK_DELIVERED_EVERY)
        while self._delivered:
            ids, self._delivered = self._delivered[:MAX_BATCH], self._delivered[MAX_BATCH:]
            try:
                await self._undelivered.delete_many({"_id": {"$in": ids}})
            except PyMongoError as exc:  # the sweep may broadcast these again: a repeat, not a loss
                log.warning("%d deliveries not recorded (%s)", len(ids), type(exc).__name__)

    async def is_undelivered(self, message_id: ObjectId) -> bool:
        if message_id in self._delivered:  # delivered here; its marker goes in the next batch
            return False
        return await self._undelivered.find_one({"_id": message_id}, {"_id": 1}) is not None

    async def undelivered(self, noted_before: Any, limit: int = 100) -> list[Message]:
        """Messages stored but never broadcast (a timeout or a crash in between), oldest
        first. A marker whose message never got stored is dropped."""
        markers = [m async for m in self._undelivered.find({"created_at": {"$lte": noted_before}}).limit(limit)]
        if not markers:
            return []
        ids = [m["_id"] for m in markers]
        found = {d["_id"]: Message.from_doc(d) async for d in self._messages.find({"_id": {"$in": ids}})}
        orphans = [i for i in ids if i not in found]
        if orphans:
            await self._undelivered.delete_many({"_id": {"$in": orphans}})
        return sorted(found.values(), key=lambda m: m.id)

    async def get(self, message_id: ObjectId) -> Message | None:
        doc = await self._messages.find_one({"_id": message_id})
        return Message.from_doc(doc) if doc else None

    async def latest(self, room_id: ObjectId, limit: int, viewer: ObjectId | None) -> tuple[list[Message], bool]:
        recent = await self._recent_history(room_id)
        if recent is not None:
            seen = visible_to(recent.messages, viewer)
            if len(seen) > limit:
                return seen[-limit:], True
            if recent.complete:
                return seen, False
            if recent.messages and await self.is_ferretdb():  # older than the cold load reaches
                end = recent.messages[-1].seq + 1
                return await self._keyed_page(room_id, end, limit, newest_first=True, viewer=viewer, last=end - 1)
        return await self._page(room_id, {}, limit, newest_first=True, viewer=viewer)

    async def before(
        self, room_id: ObjectId, seq: int, limit: int, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        if await self.is_ferretdb():
            return await self._keyed_page(room_id, seq, limit, newest_first=True, viewer=viewer, last=seq - 1)
        return await self._page(room_id, {"$lt": seq}, limit, newest_first=True, viewer=viewer)

    async def after(
        self, room_id: ObjectId, seq: int, limit: int, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        recent = await self._recent_history(room_id)
        if recent is not None and (recent.complete or (recent.messages and recent.messages[0].seq <= seq + 1)):
            seen = [m for m in visible_to(recent.messages, viewer) if m.seq > seq]
            return seen[:limit], len(seen) > limit
        if recent is not None and recent.messages and await self.is_ferretdb():
            last = recent.messages[-1].seq  # the room's newest: the cache was just checked
            return await self._keyed_page(room_id, seq, limit, newest_first=False, viewer=viewer, last=last)
        return await self._page(room_id, {"$gt": seq}, limit, newest_first=False, viewer=viewer)

    async def _recent_history(self, room_id: ObjectId) -> RecentHistory | None:
        """The room's recent messages from memory, checked against the room's version (one
        lookup by _id); reloaded when another process changed it. Concurrent joins of a
        room wait for one reload (a reconnect storm is one load per room, not per client).
        Alone on its database, a process changes every history itself: no lookup."""
        if not self._shared and (mine := self._recent.peek(room_id)) is not None:
            return mine
        room = await self._rooms.find_one({"_id": room_id}, {"history_version": 1})
        if room is None:
            return None
        version = room.get("history_version")
        cached = self._recent.get(room_id, version)
        if cached is not None:
            return cached
        key = (room_id, version)
        loading = self._loading.get(key)
        if loading is None:
            loading = self._loading[key] = asyncio.ensure_future(self._load_recent(room_id))
            loading.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(loading)

    async def _load_recent(self, room_id: ObjectId) -> RecentHistory:
        fields = {"history_version": 1, "recent_ids": 1, "recent_from_start": 1}
        room = await self._rooms.find_one({"_id": room_id}, fields) or {}
        version, ids = room.get("history_version"), room.get("recent_ids")
        if ids is not None:  # plus what this process stored and has not stamped yet
            ids = [*ids, *self._unstamped.get(room_id, [])]
        messages: list[Message] | None = None
        if ids is not None:
            wanted = ids[-COLD_LOAD:]
            messages = sorted(await self._by_ids(wanted), key=lambda m: m.seq)
            contiguous = all(b.seq == a.seq + 1 for a, b in zip(messages, messages[1:], strict=False))
            known_last = self._last_seq.get(room_id, 0)  # what this process knows was stored
            behind = bool(messages) and messages[-1].seq < known_last or (not messages and known_last > 0)
            if len(messages) != len(wanted) or not contiguous or behind:
                messages = None  # a lost, late or concurrent update of the list: read the slow way
            complete = bool(room.get("recent_from_start")) and len(ids) <= COLD_LOAD
        listed_last = messages[-1].seq if messages else 0
        if messages is not None and await self._stored_after(room_id, listed_last):
            # The list ends early: another process's stamp still on its way, or one lost
            # to a concurrent update (FerretDB 1.24 is not atomic). Read up to the real end.
            messages, more = await self._newest_by_keys(room_id, listed_last)
            complete = not more
        if messages is None:
            messages, more = await self._page(room_id, {}, RECENT_KEEP, newest_first=True, viewer=None)
            complete = not more
        history = RecentHistory(version, messages, complete=complete)
        self._recent.put(room_id, history)
        return history

    async def _stored_after(self, room_id: ObjectId, seq: int) -> bool:
        """Is there a message numbered seq + 1? One indexed lookup (a key on FerretDB)."""
        if await self.is_ferretdb():
            key = seq_key(room_id, seq + 1)
            return key in self._pending_keys or await self._keys.message_id(key) is not None
        return await self._messages.find_one({"room_id": room_id, "seq": seq + 1}, {"_id": 1}) is not None

    async def _newest_by_keys(self, room_id: ObjectId, seq: int) -> tuple[list[Message], bool]:
        """The room's newest COLD_LOAD messages, knowing seq + 1 exists: on FerretDB the
        last seq by key probes and the page by keys; on MongoDB the indexed query."""
        if not await self.is_ferretdb():
            return await self._page(room_id, {}, COLD_LOAD, newest_first=True, viewer=None)
        last = await self._probe_last_seq(room_id, seq + 1)
        return await self._keyed_page(room_id, last + 1, COLD_LOAD, newest_first=True, viewer=None, last=last)

    async def _by_ids(self, ids: list[ObjectId]) -> list[Message]:
        """Messages by _id: one `$in` query on MongoDB; on FerretDB, which pushes down only
        an exact `_id` match and would scan for `$in`, one indexed lookup each."""
        if await self.is_ferretdb():
            found = await asyncio.gather(*(self.get(i) for i in ids))
            return [m for m in found if m is not None]
        return [Message.from_doc(d) async for d in self._messages.find({"_id": {"$in": ids}})]

    def _stamp_soon(self, room_id: ObjectId, new_ids: list[ObjectId]) -> None:
        """Stamp the room off the writer's path, one stamp per room for all the batches
        that came in meanwhile (a stamp per batch cost FerretDB most of its CPU at 200
        msgs/s). This process's cache already has the messages; other processes see the
        new version a few milliseconds later, as if they had read just before the insert."""
        self._unstamped.setdefault(room_id, []).extend(new_ids)
        if self._stamper is None or self._stamper.done():
            self._stamper = asyncio.create_task(self._stamp_pending(), name="history-stamper")

    async def _stamp_pending(self) -> None:
        delay = self._stamp_every
        while self._unstamped:
            await self._pacer.pause(delay)
            room_id, ids = self._unstamped.popitem()
            try:
                await self._stamp(room_id, ids)
            except asyncio.CancelledError:  # the loop is closing: kept for a last flush()
                self._unstamped[room_id] = [*ids, *self._unstamped.get(room_id, [])]
                raise
            except PyMongoError as exc:  # keep them for the next round; meanwhile trust no cache
                self._unstamped[room_id] = [*ids, *self._unstamped.get(room_id, [])]
                self._recent.drop(room_id)
                log.warning("history of room %s not stamped yet (%s)", room_id, type(exc).__name__)
                if self._pacer.hurried:  # flush() makes the one last attempt
                    return
                delay = max(delay, 1.0)

    async def _stamp(self, room_id: ObjectId, new_ids: list[ObjectId] | None = None) -> None:
        """Mark the room's history as changed, for every process's cache, and keep the
        room's list of its newest message ids."""
        async with self._stamping:
            new = ObjectId()
            update: dict[str, Any] = {"$set": {"history_version": new}}
            if new_ids:
                update["$addToSet"] = {"recent_ids": {"$each": new_ids}}  # in order; a repeated stamp adds nothing
            before = await self._rooms.find_one_and_update(
                {"_id": room_id}, update, return_document=ReturnDocument.BEFORE
            )  # (no projection: FerretDB 1.24 does not take one here)
            if before is None:
                return
            self._recent.stamped(room_id, before.get("history_version"), new)
            listed = len(before.get("recent_ids") or ()) + len(new_ids or ())
            if new_ids and listed > 2 * RECENT_KEEP:  # trim (FerretDB 1.24 has no $push $slice)
                kept = list(dict.fromkeys([*(before.get("recent_ids") or ()), *new_ids]))[-RECENT_KEEP:]
                await self._rooms.update_one(
                    {"_id": room_id, "history_version": new},
                    {"$set": {"recent_ids": kept, "recent_from_start": False}},
                )

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

    async def _keyed_page(
        self, room_id: ObjectId, seq: int, limit: int, *, newest_first: bool, viewer: ObjectId | None, last: int
    ) -> tuple[list[Message], bool]:
        """`_page` through the seq keys (FerretDB): the seqs next to `seq` (down to 1, or up
        to `last`) by point lookups, a few pages of them when this viewer may not see
        some. A missing key or message (a crash between message and key, a database
        older than the keys) falls back to the query, and its keys are written then."""
        step = -1 if newest_first else 1
        seen: list[Message] = []
        edge = seq
        for _ in range(KEYED_ROUNDS):
            stop = max(edge - limit - 2, 0) if newest_first else min(edge + limit + 2, last + 1)
            seqs = list(range(edge + step, stop, step))
            if not seqs:
                break
            ids = await self._keys.by_seq(room_id, seqs)
            messages = await self._by_ids(list(ids.values())) if len(ids) == len(seqs) else []
            if len(messages) != len(seqs):
                return await self._page_and_heal(room_id, seq, limit, newest_first=newest_first, viewer=viewer)
            messages.sort(key=lambda m: m.seq, reverse=newest_first)
            seen.extend(visible_to(messages, viewer))
            edge = seqs[-1]
            if len(seen) > limit:
                break
        else:
            return await self._page(
                room_id, {"$lt" if newest_first else "$gt": seq}, limit, newest_first=newest_first, viewer=viewer
            )
        page = seen[:limit]
        if newest_first:
            page.reverse()
        return page, len(seen) > limit

    async def _page_and_heal(
        self, room_id: ObjectId, seq: int, limit: int, *, newest_first: bool, viewer: ObjectId | None
    ) -> tuple[list[Message], bool]:
        messages, more = await self._page(
            room_id, {"$lt" if newest_first else "$gt": seq}, limit, newest_first=newest_first, viewer=None
        )
        self._add_keys_soon([(seq_key(m.room_id, m.seq), m.id) for m in messages])
        if viewer is None:
            return messages, more
        return await self._page(
            room_id, {"$lt" if newest_first else "$gt": seq}, limit, newest_first=newest_first, viewer=viewer
        )

    async def context(self, room_id: ObjectId, seq: int, count: int) -> tuple[list[Message], list[Message]]:
        """The messages around one (the review console), oldest first."""
        before, _ = await self.before(room_id, seq, count, viewer=None)
        after, _ = await self.after(room_id, seq, count, viewer=None)
        return before, after

    async def last_by_author(self, room_id: ObjectId, author_id: ObjectId) -> Message | None:
        doc = await self._messages.find_one({"room_id": room_id, "author_id": author_id}, sort=[("seq", -1)])
        return Message.from_doc(doc) if doc else None

    async def update(self, message_id: ObjectId, expect: dict[str, Any], changes: dict[str, Any]) -> Message | None:
        """Conditional update (e.g. only a held message can be released); None if nothing matched."""
        doc = await self._messages.find_one_and_update(
            {"_id": message_id, **expect}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        if doc is None:
            return None
        message = Message.from_doc(doc)
        self._recent.replace(message.room_id, message)
        await self._stamp(message.room_id)
        return message

    async def add_flag(self, message_id: ObjectId, flag_id: ObjectId, severity_if_none: str) -> None:
        """Tag a message with a new flag (a peer report); an existing severity is kept."""
        await self._messages.update_one({"_id": message_id}, {"$addToSet": {"flag_ids": flag_id}})
        await self._messages.update_one({"_id": message_id, "severity": None}, {"$set": {"severity": severity_if_none}})
        message = await self.get(message_id)
        if message is not None:
            self._recent.replace(message.room_id, message)
            await self._stamp(message.room_id)

    async def purge_text_before(self, cutoff: Any) -> int:
        result = await self._messages.update_many(
            {"created_at": {"$lt": cutoff}, "text": {"$ne": None}}, {"$set": {"text": None, "purged": True}}
        )
        if result.modified_count:  # every process reloads its recent history
            self._recent.clear()
            async with self._stamping:  # (not alongside a stamp: see __init__)
                await self._rooms.update_many({}, {"$set": {"history_version": ObjectId()}})
        return result.modified_count
