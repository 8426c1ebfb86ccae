"""Opening the database, the one way both the server and the CLI do it.

With MONGODB_URI unset (development), a local MongoDB-protocol server is started in
DATA_DIR/db (devdb.py); indexes are ensured; the caller gets the stores, and everything
is closed (and the local database stopped) on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo import AsyncMongoClient

from server.config import Config
from server.store import Stores
from server.store.client import make_client
from server.store.devdb import LocalDatabase
from server.store.indexes import ensure_indexes


@dataclass
class OpenDatabase:
    stores: Stores
    client: AsyncMongoClient
    local: LocalDatabase | None  # the development database, when we started one


@asynccontextmanager
async def open_database(
    config: Config, on_command: Callable[[str, float], None] | None = None
) -> AsyncIterator[OpenDatabase]:
    local: LocalDatabase | None = None
    uri = config.mongodb_uri
    if uri is None:
        local = LocalDatabase(Path(config.data_dir).absolute() / "db")
        uri = await local.start()
    client = make_client(uri, config.db_timeout_ms, on_command=on_command)
    try:
        db = client[config.mongodb_db]
        await ensure_indexes(db)
        stores = Stores.open(db, shared=config.shared_database)
        await stores.users.key_usernames()  # accounts from before the username keys
        yield OpenDatabase(stores, client, local)
    finally:
        await client.close()
        if local is not None:
            local.stop()
