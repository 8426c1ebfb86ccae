"""The MongoDB client: the one place that decides timeouts and write concern.

Why these settings: a chat send must fail fast with `unavailable` when the database is
gone (SECURITY.md R6), so server selection and every operation are bounded by
`DB_TIMEOUT_MS` (client-side operation timeout) instead of PyMongo's 30 s default.
Writes use w="majority" so that on a replica set an acknowledged message survives a
failover (R1/R10); a single-node development server treats it as w=1.
"""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError


def make_client(uri: str, timeout_ms: int) -> AsyncMongoClient:
    return AsyncMongoClient(
        uri,
        tz_aware=True,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=min(timeout_ms, 3000),
        w="majority",
        appname="iopchat",
    )


async def ping(db: AsyncDatabase) -> bool:
    try:
        await db.command("ping")
    except PyMongoError:
        return False
    return True
