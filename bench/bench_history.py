"""Join and catch-up latency as the stored history grows (issue 10).

    python -m bench.bench_history [--sizes 1000 10000 100000] [--rooms 50]

Fills a fresh local database (FerretDB or mongod, as `make run` would) through the real
MessageStore, spread over `--rooms` rooms, then measures for each size:
- join, warm: the last 50 messages of a room from this process's memory (plus the one
  indexed lookup of the room's version);
- join, cold: the same on a fresh store (as after a restart): the room's recent ids, then
  one indexed lookup per message;
- storm: every room cold at once, 20 joins per room (1000 joins), as a reconnect storm;
- scroll-back: 50 messages from the middle of a room's history on a fresh store (the
  seq keys on FerretDB, a range query on MongoDB);
- the old way: the same page by a query on room_id (what every join cost before; skipped
  above --old-up-to, where one query takes minutes on FerretDB).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bson import ObjectId

from server.clock import utcnow
from server.store import Stores
from server.store.client import make_client
from server.store.devdb import LocalDatabase
from server.store.indexes import ensure_indexes


async def fill(stores: Stores, rooms: list[ObjectId], total: int, already: int) -> None:
    author = ObjectId()
    for start in range(already, total, 500):
        batch = []
        for i in range(start, min(total, start + 500)):
            room = rooms[i % len(rooms)]
            doc = {
                "room_id": room,
                "cohort_id": room,
                "author_id": author,
                "author_name": "Bench",
                "author_role": "patient",
                "text": f"message {i}: how is everyone holding up today?",
                "client_id": f"bench-{i:09d}",
                "created_at": utcnow(),
                "status": "visible",
            }
            batch.append(stores.messages.insert(doc))
        await asyncio.gather(*batch)


async def timed_join(stores: Stores, room: ObjectId) -> float:
    t = time.perf_counter()
    await stores.messages.latest(room, 50, None)
    return time.perf_counter() - t


def ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    return f"p50 {statistics.median(samples) * 1000:7.1f} ms, p99 {p99 * 1000:7.1f} ms"


async def main(sizes: list[int], room_count: int, old_up_to: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="iopchat-history-"))
    local = LocalDatabase(folder)
    uri = await local.start()
    client = make_client(uri, 60_000)
    try:
        db = client["history_bench"]
        await ensure_indexes(db)
        stores = Stores.open(db)
        rooms = [(await stores.rooms.create(ObjectId(), "bench", f"room {i}")).id for i in range(room_count)]
        stored = 0
        print(f"{local.kind}, {room_count} rooms")
        for size in sizes:
            await fill(stores, rooms, size, stored)
            stored = size
            warm, cold, old, back = [], [], [], []
            for room in rooms[:20]:
                await stores.messages.latest(room, 50, None)  # in memory from here on
                t = time.perf_counter()
                await stores.messages.latest(room, 50, None)
                warm.append(time.perf_counter() - t)
                fresh = Stores.open(db)
                t = time.perf_counter()
                await fresh.messages.latest(room, 50, None)
                cold.append(time.perf_counter() - t)
                middle = max(2, size // room_count // 2)
                t = time.perf_counter()
                await Stores.open(db).messages.before(room, middle, 50, None)
                back.append(time.perf_counter() - t)
            for room in rooms[:5] if size <= old_up_to else []:
                t = time.perf_counter()
                await stores.messages._page(room, {}, 50, newest_first=True, viewer=None)
                old.append(time.perf_counter() - t)
            storm_store = Stores.open(db)

            t = time.perf_counter()
            storm = await asyncio.gather(*(timed_join(storm_store, r) for r in rooms for _ in range(20)))
            wall = time.perf_counter() - t
            old_text = ms(old) if old else "skipped"
            print(f"{size:>7} messages: join warm {ms(warm)}; cold {ms(cold)}; scroll-back {ms(back)}")
            print(f"{'':>17} old query {old_text}")
            print(f"{'':>17} storm of {len(storm)} cold joins: {ms(list(storm))}, all done in {wall:.2f} s")
    finally:
        await client.close()
        local.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--old-up-to", type=int, default=100_000, help="time the old query up to this size")
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.rooms, args.old_up_to))
