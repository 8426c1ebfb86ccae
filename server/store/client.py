"""The MongoDB client: the one place that decides timeouts and write concern.

Why these settings: a chat send must fail fast with `unavailable` when the database is
gone (SECURITY.md R6), so server selection and every operation are bounded by
`DB_TIMEOUT_MS` (client-side operation timeout) instead of PyMongo's 30 s default.
Writes use w="majority" so that on a replica set an acknowledged message survives a
failover (R1/R10); a single-node development server treats it as w=1.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError, ServerSelectionTimeoutError

from server.errors import Unavailable

log = logging.getLogger(__name__)


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


@contextlib.contextmanager
def storage_errors(operation: str) -> Iterator[None]:
    """Turn driver failures into `Unavailable` (a value clients can act on: retry later).

    Only connection-level failures are translated; a bug such as a bad query still
    surfaces as `internal` so that it is noticed rather than mistaken for an outage.
    """
    try:
        yield
    except (ConnectionFailure, ServerSelectionTimeoutError) as exc:
        log.warning("storage unavailable during %s: %s", operation, type(exc).__name__)
        raise Unavailable() from exc
    except PyMongoError as exc:
        if getattr(exc, "timeout", False):
            log.warning("storage timed out during %s", operation)
            raise Unavailable() from exc
        raise
