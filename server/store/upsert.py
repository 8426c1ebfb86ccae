"""Upserts by `_id` that survive a concurrent upsert of the same missing document.

Two upserts of a document that does not exist yet both try to insert it, and one of them
gets E11000 (MongoDB documents this; FerretDB does the same). The loser's retry finds the
document and updates it. Found when sixteen cohorts created at once answered 500.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from pymongo.results import UpdateResult


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
