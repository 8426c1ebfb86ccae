"""How long the staff safety report takes with many flags (issue 13, item 4).

    python -m bench.bench_safety_report [--flags 10000] [--runs 5]

Fills a fresh local database (FerretDB or mongod, as `make run` would) with `--flags`
flags spread over the last 12 weeks (most acknowledged, some open and escalated, every
source) through the real FlagStore, plus a month of check-ins for 3 cohorts of 12, then
times the report's two reads (`ReportStore.flags_since`, `checkin_days`) and its pure
computation (`build_report`) separately, `--runs` times, and prints the medians. On
FerretDB the flag read is a full scan of the collection (see server/store/reports.py), so
it also times a query that matches no flag: the cost of the scan alone, the floor.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bson import ObjectId

from server.actions.safety_report import build_report, period_weeks
from server.clock import utcnow
from server.models import FLAG_SOURCES
from server.store import Stores
from server.store.client import make_client
from server.store.devdb import LocalDatabase
from server.store.indexes import ensure_indexes

WEEKS = 12


async def fill_flags(stores: Stores, total: int, rng: random.Random) -> None:
    now, cohort, room = utcnow(), ObjectId(), ObjectId()
    for start in range(0, total, 500):
        batch = []
        for i in range(start, min(total, start + 500)):
            created = now - timedelta(seconds=rng.uniform(0, WEEKS * 7 * 86400))
            acked = rng.random() < 0.9
            doc = {
                "dedupe_key": f"bench:{i}",
                "message_id": ObjectId(),
                "room_id": room,
                "cohort_id": cohort,
                "cohort_name": "Bench",
                "author_id": ObjectId(),
                "author_name": "Bench",
                "author_role": "patient",
                "text": "a message of about the usual length, which the report never reads",
                "severity": rng.choice(["high", "medium", "low"]),
                "categories": [rng.choice(["suicide", "self_harm", "relapse", "overdose"])],
                "matches": [],
                "source": rng.choice(FLAG_SOURCES),
                "status": "acknowledged" if acked else "open",
                "escalation_level": 0 if acked else rng.choice([0, 1, 2]),
                "created_at": created,
                "acknowledged_at": created + timedelta(seconds=rng.expovariate(1 / 120)) if acked else None,
            }
            batch.append(stores.flags.insert(doc))
        await asyncio.gather(*batch)


async def fill_checkins(stores: Stores, rng: random.Random) -> None:
    today = utcnow().date()
    docs = []
    for c in range(3):
        members = [ObjectId() for _ in range(12)]
        await stores.cohorts.create({"name": f"Cohort {c}", "member_ids": members})
        for patient in members:
            for back in range(30):
                if rng.random() < 0.7:
                    day = (today - timedelta(days=back)).isoformat()
                    docs.append({"_id": f"{patient}:{day}", "patient_id": patient, "day": day, "mood": 3})
    await stores.db["checkins"].insert_many(docs)


async def main(total: int, runs: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="iopchat-report-"))
    local = LocalDatabase(folder)
    uri = await local.start()
    client = make_client(uri, 60_000)
    rng = random.Random(13)
    try:
        db = client["report_bench"]
        await ensure_indexes(db)
        stores = Stores.open(db)
        await fill_flags(stores, total, rng)
        await fill_checkins(stores, rng)
        reads, checkin_reads, computes, floors = [], [], [], []
        for _ in range(runs):
            now = utcnow()
            starts = period_weeks(now, WEEKS)
            t0 = time.perf_counter()
            flags = await stores.reports.flags_since(starts[0])
            t1 = time.perf_counter()
            cohorts = await stores.cohorts.list()
            checkins = await stores.reports.checkin_days(starts[0].date().isoformat(), now.date().isoformat())
            t2 = time.perf_counter()
            build_report(now, WEEKS, flags, cohorts, checkins)
            t3 = time.perf_counter()
            # the floor: a query that matches nothing still scans every flag on FerretDB
            t4 = time.perf_counter()
            await stores.db["flags"].find_one({"severity": "no such severity"})
            floors.append(time.perf_counter() - t4)
            reads.append(t1 - t0)
            checkin_reads.append(t2 - t1)
            computes.append(t3 - t2)
        print(f"{local.kind}: {total} flags, {len(checkins)} check-ins, {WEEKS} weeks, median of {runs} runs")
        print(f"  read flags    {statistics.median(reads) * 1000:8.1f} ms  ({len(flags)} flags)")
        print(f"  (a query matching no flag: {statistics.median(floors) * 1000:8.1f} ms, the scan alone)")
        print(f"  read cohorts + check-ins {statistics.median(checkin_reads) * 1000:8.1f} ms")
        print(f"  compute       {statistics.median(computes) * 1000:8.1f} ms")
        total_ms = (statistics.median(reads) + statistics.median(checkin_reads) + statistics.median(computes)) * 1000
        print(f"  whole report  {total_ms:8.1f} ms")
    finally:
        await client.close()
        local.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flags", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.flags, args.runs))
