"""A reconnect storm through the real server (issue 10): N stored messages, then a server
restart (every cache cold), then every client connects and rejoins its room at once.

    python -m bench.bench_storm [--messages 100000] [--clients 1000] [--rooms 50]

The database is a local one of its own (FerretDB or mongod, as `make run` starts it),
filled through the real MessageStore (so with the keys and stamps the server writes).
The server runs lexicon-only, pinned to one core, with the per-address caps lifted (every
client comes from 127.0.0.1). Reported: connect and join latency (from the moment the
storm starts, so queueing counts), the time until everyone is in, and refusals by code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from bson import ObjectId

from bench.lean_client import ConnectRefused, LeanClient
from bench.stats import summarize_ms
from bench.targets import OursTarget, YardstickTarget
from server.clock import utcnow
from server.store import Stores
from server.store.client import make_client
from server.store.devdb import LocalDatabase

LOG_DIR = Path("bench-results/logs")


class StormYardstick(YardstickTarget):
    """The bare python-socketio server, keeping 50 messages per room in memory."""

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "YARDSTICK_PREFILL": "50"}


class StormTarget(OursTarget):
    """Our server on a database we started (so it can be filled before, and survive a restart)."""

    def __init__(self, uri: str) -> None:
        super().__init__(cpu=0, log_dir=LOG_DIR, semantic=False)
        self.uri = uri
        self.name = "storm"

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "MONGODB_URI": self.uri, "MONGODB_DB": "storm"}


async def fill(uri: str, rooms: list[str], total: int) -> float:
    """`total` messages over the rooms through the store, as a chat of that size would have."""
    client = make_client(uri, timeout_ms=30_000)
    stores = Stores.open(client["storm"], shared=False)
    author = ObjectId()
    started = time.perf_counter()
    try:
        for start in range(0, total, 1000):
            batch = []
            for i in range(start, min(total, start + 1000)):
                room = ObjectId(rooms[i % len(rooms)])
                doc = {
                    "room_id": room,
                    "cohort_id": room,
                    "author_id": author,
                    "author_name": "Earlier",
                    "author_role": "patient",
                    "text": f"message {i}: how is everyone holding up today?",
                    "client_id": f"storm-fill-{i:09d}",
                    "created_at": utcnow(),
                    "status": "visible",
                }
                batch.append(stores.messages.insert(doc))
            await asyncio.gather(*batch)
        await stores.messages.flush()
    finally:
        await client.close()
    return time.perf_counter() - started


async def storm(url: str, specs: list[Any]) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    errors: Counter[str] = Counter()
    connect_ns: list[int] = []
    join_ns: list[int] = []
    clients: list[LeanClient] = []
    async with aiohttp.ClientSession(connector=connector) as http:
        t0 = time.monotonic_ns()

        async def one(spec: Any) -> None:
            client = LeanClient(http, url, lambda _event, _data: None)
            clients.append(client)
            try:
                await client.connect({"token": spec.token} if spec.token else None, timeout=60)
                connect_ns.append(time.monotonic_ns() - t0)
                ack = await client.call("room:join", {"room_id": spec.room_id}, timeout=60)
            except ConnectRefused as exc:
                errors[f"connect:{str(exc)[:60]}"] += 1
                return
            except (TimeoutError, aiohttp.ClientError, ConnectionError) as exc:
                errors[f"connect:{type(exc).__name__}"] += 1
                return
            if isinstance(ack, dict) and ack.get("ok"):
                join_ns.append(time.monotonic_ns() - t0)
            else:
                errors[f"join:{(ack or {}).get('error', {}).get('code', ack)}"] += 1

        await asyncio.gather(*(one(spec) for spec in specs))
        everyone = (time.monotonic_ns() - t0) / 1e6
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return {
        "clients": len(specs),
        "joined": len(join_ns),
        "errors": dict(errors),
        "connect_ms": summarize_ms(connect_ns),
        "join_ms": summarize_ms(join_ns),
        "all_in_ms": round(everyone, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rooms", type=int, default=50)
    args = parser.parse_args()
    results = [await run_yardstick(args), await run_ours(args)]
    for result in results:
        print(json.dumps(result, indent=2))
    for result in results:
        join = result["join_ms"]
        print(
            f"storm/{result['server']}: {result['joined']} of {result['clients']} joined "
            f"({result.get('messages', 0)} messages stored); join p50 {join.get('p50')} ms, p99 {join.get('p99')} ms, "
            f"everyone in after {result['all_in_ms']} ms; errors {result['errors'] or 'none'}"
        )
    yard, ours = results
    if yard["join_ms"].get("p99") and ours["join_ms"].get("p99"):
        print(f"storm: ours / yardstick join p99 {ours['join_ms']['p99'] / yard['join_ms']['p99']:.1f}x")


async def run_yardstick(args: argparse.Namespace) -> dict[str, Any]:
    target = StormYardstick(cpu=0, log_dir=LOG_DIR)
    try:
        await target.start()
        population = await target.provision(args.clients, args.rooms)
        result = await storm(target.url, population.clients)
    finally:
        await target.stop()
    result.update(server="yardstick", python=sys.version.split()[0])
    return result


async def run_ours(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="iopchat-storm-"))
    database = LocalDatabase(folder)
    await database.start()
    target = StormTarget(database.uri)
    try:
        await target.start()
        population = await target.provision(args.clients, args.rooms)
        rooms = sorted({spec.room_id for spec in population.clients})
        fill_s = await fill(database.uri, rooms, args.messages)
        await target.stop()  # a restart: every cache is cold
        target.proc = None
        await target.start()
        result = await storm(target.url, population.clients)
    finally:
        await target.stop()
        database.stop()
    result.update(server="ours", messages=args.messages, rooms=args.rooms, fill_seconds=round(fill_s, 1))
    result["python"] = sys.version.split()[0]
    return result


if __name__ == "__main__":
    asyncio.run(main())
