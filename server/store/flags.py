"""flags: detector hits and peer reports, the review queue, and escalation claims.

`severity_rank` (high=3, medium=2, low=1) is stored beside `severity` so the queue can
sort "high first, then newest" on one top-level index (FerretDB indexes top-level keys
only). Escalation is claimed with one conditional update per level, so that with
several server processes exactly one of them escalates a flag to each level.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from server.models import SEVERITY_RANK, Flag


class FlagStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._flags = db["flags"]
        self.on_insert: Callable[[Flag], None] | None = None  # metrics
        self._claims = db["escalation_claims"]

    async def insert(self, doc: dict[str, Any]) -> tuple[Flag, bool]:
        """Insert unless a flag with the same `dedupe_key` exists; returns (flag, created).

        The unique index does the deduplication (a retried send, a second report of the
        same message by the same person), so the common path costs one insert and no read.
        """
        doc = {"_id": ObjectId(), "severity_rank": SEVERITY_RANK[doc["severity"]], **doc}
        try:
            await self._flags.insert_one(doc)
        except DuplicateKeyError:
            existing = await self._flags.find_one({"dedupe_key": doc["dedupe_key"]})
            if existing is None:
                raise
            return Flag.from_doc(existing), False
        flag = Flag.from_doc(doc)
        if self.on_insert is not None:
            self.on_insert(flag)
        return flag, True

    async def get(self, flag_id: ObjectId) -> Flag | None:
        doc = await self._flags.find_one({"_id": flag_id})
        return Flag.from_doc(doc) if doc else None

    async def for_message(self, message_id: ObjectId) -> list[Flag]:
        return [Flag.from_doc(doc) async for doc in self._flags.find({"message_id": message_id})]

    async def open_for_cohorts(self, cohort_ids: frozenset[ObjectId] | None, limit: int = 100) -> list[Flag]:
        query: dict[str, Any] = {"status": "open"}
        if cohort_ids is not None:
            query["cohort_id"] = {"$in": list(cohort_ids)}
        cursor = self._flags.find(query).sort([("severity_rank", -1), ("_id", -1)]).limit(limit)
        return [Flag.from_doc(doc) async for doc in cursor]

    async def transition(self, flag_id: ObjectId, expect: dict[str, Any], changes: dict[str, Any]) -> Flag | None:
        doc = await self._flags.find_one_and_update(
            {"_id": flag_id, **expect}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return Flag.from_doc(doc) if doc else None

    async def open_glass(self, flag_id: ObjectId) -> None:
        await self._flags.update_one({"_id": flag_id}, {"$set": {"break_glass": True}})

    async def purge_text_before(self, cutoff: datetime) -> int:
        """Retention: the flag's copy of the message text goes with the message's. Open
        flags keep theirs until resolved: a counselor still has to read them."""
        result = await self._flags.update_many(
            {"created_at": {"$lt": cutoff}, "status": {"$ne": "open"}, "text": {"$ne": None}},
            {"$set": {"text": None, "purged": True}},
        )
        return result.modified_count

    async def help_requests_of(self, author_id: ObjectId, limit: int = 50) -> tuple[Flag | None, ObjectId | None]:
        """(the patient's newest help request that no counselor has resolved, if any; the
        id of their newest request of all, which names the next one's `dedupe_key`), in
        one read of their newest `limit` requests."""
        cursor = self._flags.find({"source": "help_button", "author_id": author_id}).sort("_id", -1).limit(limit)
        docs = [doc async for doc in cursor]
        newest = docs[0]["_id"] if docs else None
        unresolved = next((doc for doc in docs if doc["status"] != "resolved"), None)
        return (Flag.from_doc(unresolved) if unresolved else None), newest

    async def press_again(self, flag_id: ObjectId, note: str | None, now: datetime) -> Flag:
        changes: dict[str, Any] = {"$inc": {"help_presses": 1}, "$set": {"last_pressed_at": now}}
        if note:
            changes["$set"]["text"] = note
        doc = await self._flags.find_one_and_update({"_id": flag_id}, changes, return_document=ReturnDocument.AFTER)
        assert doc is not None
        return Flag.from_doc(doc)

    async def mark(self, flag_id: ObjectId, **fields: Any) -> None:
        """Record delivery state (`alerted`, `resources_sent`, `break_glass`)."""
        await self._flags.update_one({"_id": flag_id}, {"$set": fields})

    async def unalerted(self, created_before: datetime, limit: int = 100) -> list[Flag]:
        """Open flags whose alert:new never went out (stored late, or a crash), oldest first."""
        query = {"status": "open", "alerted": False, "created_at": {"$lte": created_before}}
        return [Flag.from_doc(d) async for d in self._flags.find(query).sort("_id", 1).limit(limit)]

    async def claim_escalation(self, flag_id: ObjectId, level: int, now: datetime) -> Flag | None:
        """Move an open flag from level-1 to level; None if another process already did.

        The claim is the insert of a document whose _id names (flag, level): a primary
        key insert is atomic on MongoDB and on FerretDB alike, whereas FerretDB 1.24's
        findAndModify is not atomic between connections (two processes both "won" a
        conditional update in our multi-process test).
        """
        try:
            await self._claims.insert_one({"_id": f"{flag_id}:{level}", "at": now})
        except DuplicateKeyError:
            return None
        return await self.transition(
            flag_id,
            {"status": "open", "escalation_level": level - 1},
            {"escalation_level": level, f"escalated_{level}_at": now, "break_glass": True},
        )

    async def due_for_escalation(self, created_before: datetime, level: int, limit: int = 100) -> list[Flag]:
        query = {
            "status": "open",
            "severity": "high",
            "escalation_level": level - 1,
            "created_at": {"$lte": created_before},
        }
        return [Flag.from_doc(doc) async for doc in self._flags.find(query).sort("_id", 1).limit(limit)]

    async def feedback(self, limit: int = 50_000) -> list[Flag]:
        """Counselors' labels: their "concerning" marks, and detector or model flags they
        resolved as false positives (training data; see moderation export-feedback)."""
        query = {
            "$or": [
                {"source": "counselor"},
                {"source": {"$in": ["detector", "model"]}, "resolution.outcome": "false_positive"},
            ]
        }
        return [Flag.from_doc(d) async for d in self._flags.find(query).sort("_id", 1).limit(limit)]

    async def set_webhook_result(self, flag_id: ObjectId, result: dict[str, Any], due_at: datetime | None) -> None:
        """Record a page's state; `webhook_due_at` (top level, so it can be queried and
        indexed on FerretDB) is when the escalator should try again, None when done."""
        await self._flags.update_one({"_id": flag_id}, {"$set": {"webhook": result, "webhook_due_at": due_at}})

    async def webhooks_due(self, now: datetime, limit: int = 20) -> list[Flag]:
        query = {"webhook_due_at": {"$lte": now}}
        return [Flag.from_doc(d) async for d in self._flags.find(query).sort("webhook_due_at", 1).limit(limit)]

    async def claim_webhook_attempt(self, flag_id: ObjectId, attempt: int, now: datetime) -> bool:
        """One process makes each attempt (the claim is a primary-key insert, see above)."""
        try:
            await self._claims.insert_one({"_id": f"{flag_id}:webhook:{attempt}", "at": now})
        except DuplicateKeyError:
            return False
        return True

    async def page(
        self, query: dict[str, Any], after: tuple[int, ObjectId] | None, limit: int
    ) -> tuple[list[Flag], bool]:
        """Severity (high first) then newest first; `after` = the last (rank, id) seen.

        A keyset cursor stays stable while new flags arrive: new ones sort before the
        cursor position (newer ids) or into an earlier rank, never into the pages ahead.
        """
        if after is not None:
            rank, last_id = after
            query = {
                **query,
                "$or": [{"severity_rank": {"$lt": rank}}, {"severity_rank": rank, "_id": {"$lt": last_id}}],
            }
        cursor = self._flags.find(query).sort([("severity_rank", -1), ("_id", -1)]).limit(limit + 1)
        docs = [doc async for doc in cursor]
        return [Flag.from_doc(d) for d in docs[:limit]], len(docs) > limit

    async def term_stats(self) -> list[dict[str, Any]]:
        """Per matched term: how many flags, how many resolved false_positive."""
        stats: dict[tuple[str, str], dict[str, Any]] = {}
        cursor = self._flags.find({"source": "detector"}, {"matches": 1, "status": 1, "resolution": 1})
        async for doc in cursor:
            false_positive = (doc.get("resolution") or {}).get("outcome") == "false_positive"
            for key in {(m["term"], m["category"]) for m in doc.get("matches", ())}:
                row = stats.setdefault(key, {"term": key[0], "category": key[1], "flags": 0, "false_positives": 0})
                row["flags"] += 1
                row["false_positives"] += int(false_positive)
        rows = sorted(stats.values(), key=lambda r: (-r["false_positives"], -r["flags"], r["term"]))
        for row in rows:
            row["false_positive_rate"] = round(row["false_positives"] / row["flags"], 3)
        return rows
