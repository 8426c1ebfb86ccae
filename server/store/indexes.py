"""Indexes, created at start-up (idempotent).

Only top-level keys are indexed: FerretDB's SQLite backend, used in development and
tests, does not index nested fields, and MongoDB handles these the same way.
"""

from __future__ import annotations

import asyncio

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

INDEXES: dict[str, list[IndexModel]] = {
    "users": [IndexModel([("username", ASCENDING)], unique=True, name="username_unique")],
    "cohorts": [
        IndexModel([("member_ids", ASCENDING)], name="members"),
        IndexModel([("counselor_ids", ASCENDING)], name="counselors"),
    ],
    "rooms": [IndexModel([("cohort_id", ASCENDING)], name="by_cohort")],
    "messages": [
        IndexModel([("room_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="room_seq_unique"),
        IndexModel([("author_id", ASCENDING), ("client_id", ASCENDING)], unique=True, name="author_client_id_unique"),
        IndexModel([("room_id", ASCENDING), ("author_id", ASCENDING), ("seq", DESCENDING)], name="room_author_seq"),
        IndexModel([("created_at", ASCENDING)], name="created_at"),
    ],
    "flags": [
        IndexModel([("status", ASCENDING), ("severity_rank", DESCENDING), ("_id", DESCENDING)], name="queue"),
        IndexModel([("cohort_id", ASCENDING), ("severity_rank", DESCENDING), ("_id", DESCENDING)], name="cohort_queue"),
        IndexModel([("message_id", ASCENDING)], name="by_message"),
        IndexModel([("dedupe_key", ASCENDING)], unique=True, name="dedupe_key_unique"),
        IndexModel(
            [("status", ASCENDING), ("severity", ASCENDING), ("escalation_level", ASCENDING)], name="escalation"
        ),
        IndexModel([("alerted", ASCENDING), ("status", ASCENDING)], name="unalerted"),
        IndexModel([("webhook_due_at", ASCENDING)], name="webhook_due", sparse=True),
        IndexModel([("created_at", ASCENDING)], name="by_time"),  # the safety report's period
    ],
    "audit": [
        IndexModel([("actor_id", ASCENDING), ("_id", DESCENDING)], name="by_actor"),
        IndexModel([("action", ASCENDING), ("_id", DESCENDING)], name="by_action"),
        IndexModel([("at", DESCENDING)], name="by_time"),
    ],
    "undelivered_messages": [IndexModel([("created_at", ASCENDING)], name="by_time")],
    "mutes": [IndexModel([("room_id", ASCENDING)], name="by_room")],
    "login_failures": [IndexModel([("key", ASCENDING), ("at", ASCENDING)], name="by_key")],
    "revoked_tokens": [IndexModel([("expires_at", ASCENDING)], name="by_expiry")],
}


async def ensure_indexes(db: AsyncDatabase, attempts: int = 5) -> None:
    """Create the indexes that are missing, retrying a dropped connection.

    FerretDB 1.24 drops the connection ("slice bounds out of range" in its log) when one
    createIndexes command names two or more indexes that already exist (reproduced with
    a single client), and we also saw it when two processes started at once. MongoDB
    does neither. So existing indexes are left alone and a failed creation is retried.
    """
    for collection, models in INDEXES.items():
        for attempt in range(1, attempts + 1):
            try:
                existing = {index["name"] async for index in await db[collection].list_indexes()}
                missing = [m for m in models if m.document["name"] not in existing]
                if missing:
                    await db[collection].create_indexes(missing)
                break
            except ConnectionFailure:
                if attempt == attempts:
                    raise
                await asyncio.sleep(0.1 * attempt)
