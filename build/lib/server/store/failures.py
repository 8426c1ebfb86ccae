"""Storage failures as the rest of the server knows them.

Only `server.store` imports pymongo; the edges and use cases catch `StorageError` and ask
`is_outage` whether to answer `unavailable` (retry later) or `internal` (a bug).
"""

from __future__ import annotations

from pymongo.errors import ConnectionFailure, PyMongoError

StorageError = PyMongoError


def is_outage(exc: BaseException) -> bool:
    """A failure a client can act on by retrying later (`unavailable`): the database is
    unreachable or too slow. Anything else, a bad query say, is a bug and stays `internal`
    so that it is noticed rather than mistaken for an outage."""
    return isinstance(exc, ConnectionFailure) or bool(getattr(exc, "timeout", False))
