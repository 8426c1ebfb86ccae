"""Writes by `_id` that survive a concurrent writer of the same document.

Two upserts of a document that does not exist yet both try to insert it, and one of them
gets E11000 (MongoDB documents this; FerretDB does the same). The loser's retry finds the
document and updates it. Found when sixteen cohorts created at once answered 500.

Keyed inserts (message keys, delivery markers, activity days, username keys) are
repeated by design (a retried send, another process, a restart): `insert_new` inserts
what is missing and leaves what is there.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.results import UpdateResult

DUPLICATE_KEY = 11000


async def upsert_by_id(collection: AsyncCollection, _id: Any, update: dict[str, Any]) -> UpdateResult:
    try:
        return await collection.update_one({"_id": _id}, update, upsert=True)
    except DuplicateKeyError:
        return await collection.update_one({"_id": _id}, update, upsert=True)


async def replace_by_id(collection: AsyncCollection, _id: Any, document: dict[str, Any]) -> UpdateResult:
    try:
        return await collection.replace_one({"_id": _id}, document, upsert=True)
    except DuplicateKeyError:
        return await collection.replace_one({"_id": _id}, document, upsert=True)


async def insert_new(collection: AsyncCollection, docs: list[dict[str, Any]]) -> int:
    """Insert the documents whose `_id` is not there yet, all of them tried; the number
    inserted. Any error but a duplicate key is raised."""
    if not docs:
        return 0
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details["writeErrors"]
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return len(docs) - len(errors)
    return len(docs)
