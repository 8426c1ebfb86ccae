"""The history's hot queries never scan the collection, on FerretDB (where only `_id` is
indexed: they go through keys) and on MongoDB (compound indexes). Every `find` the store
issues while a room is joined, scrolled back, caught up, reviewed and retried into is
captured and explained; a plan that reads the whole collection fails the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient, monitoring

from server.store import Stores
from server.store.indexes import ensure_indexes

MESSAGES = 240


class FindRecorder(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []
        self.recording = False
        self.room_updates_in_flight: set[int] = set()
        self.most_room_updates_at_once = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("findAndModify", "update") and event.command.get(event.command_name) == "rooms":
            self.room_updates_in_flight.add(event.request_id)
            self.most_room_updates_at_once = max(self.most_room_updates_at_once, len(self.room_updates_in_flight))
        if self.recording and event.command_name == "find":
            command = event.command
            find = {"find": command["find"], "filter": command.get("filter", {}), "sort": command.get("sort")}
            self.finds.append(find)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.room_updates_in_flight.discard(event.request_id)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.room_updates_in_flight.discard(event.request_id)


@pytest.fixture
async def store(mongodb_uri: str, db_name: str) -> AsyncIterator[tuple[Stores, FindRecorder]]:
    recorder = FindRecorder()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_uri, event_listeners=[recorder])
    db = client[db_name]
    await ensure_indexes(db)
    yield Stores.open(db, shared=True), recorder
    await client.drop_database(db_name)
    await client.close()


def _doc(room_id: ObjectId, author_id: ObjectId, n: int) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "room_id": room_id,
        "cohort_id": ObjectId(),
        "author_id": author_id,
        "author_name": "A",
        "author_role": "patient",
        "text": f"line {n}",
        "client_id": f"client-{n}",
        "created_at": datetime.now(UTC),
        "status": "held" if n % 10 == 0 else "visible",
    }


async def _room_with_history(stores: Stores) -> tuple[ObjectId, ObjectId]:
    room = await stores.rooms.create(ObjectId(), "Cohort", "Group")
    author = ObjectId()
    for start in range(0, MESSAGES, 40):  # batches, as the group commit sees them under load
        await asyncio.gather(*(stores.messages.insert(_doc(room.id, author, n)) for n in range(start, start + 40)))
    await stores.messages.flush()
    return room.id, author


async def _scans(stores: Stores, finds: list[dict[str, Any]]) -> list[str]:
    """The plans, among these finds, that read a whole collection."""
    found = []
    for find in finds:
        command: dict[str, Any] = {"find": find["find"], "filter": find["filter"]}
        if find["sort"]:
            command["sort"] = find["sort"]
        plan = str(await stores.db.command("explain", command, verbosity="queryPlanner"))
        # FerretDB shows SQLite's plan ("SCAN t" vs "SEARCH t USING INDEX"); MongoDB a COLLSCAN stage.
        if "COLLSCAN" in plan or ("detail=SCAN" in plan and "USING INDEX" not in plan):
            found.append(f"{find['find']} {find['filter']}: {plan[:300]}")
    return found


async def test_scroll_back_catch_up_and_review_context_do_not_scan(store: tuple[Stores, FindRecorder]) -> None:
    stores, recorder = store
    room_id, author = await _room_with_history(stores)
    viewer = ObjectId()  # a peer: others' held messages are left out
    fresh = Stores.open(stores.db, shared=True)  # another process: nothing in memory

    recorder.recording = True
    latest, more_latest = await fresh.messages.latest(room_id, 50, viewer)
    older, more_older = await fresh.messages.before(room_id, 121, 50, viewer)
    oldest, more_oldest = await fresh.messages.before(room_id, 30, 50, viewer)
    caught_up, more_after = await fresh.messages.after(room_id, 40, 20, viewer)
    around = await fresh.messages.context(room_id, 100, 5)
    retried = await fresh.messages.by_client_id(author, "client-7")
    never_sent = await fresh.messages.by_client_id(author, "client-never")
    recorder.recording = False

    def visible(seqs: range) -> list[int]:
        return [s for s in seqs if (s - 1) % 10 != 0]  # seq s holds line s-1; every tenth line is held

    assert [m.seq for m in latest] == visible(range(1, MESSAGES + 1))[-50:] and more_latest
    assert [m.seq for m in older] == visible(range(1, 121))[-50:] and more_older
    assert [m.seq for m in oldest] == visible(range(1, 30)) and not more_oldest
    assert [m.seq for m in caught_up] == visible(range(41, MESSAGES + 1))[:20] and more_after
    assert [m.seq for m in around[0]] == [95, 96, 97, 98, 99]
    assert [m.seq for m in around[1]] == [101, 102, 103, 104, 105]
    assert retried is not None and retried.seq == 8 and never_sent is None
    assert recorder.finds, "nothing was recorded"
    assert await _scans(stores, recorder.finds) == []


async def test_a_restarted_process_numbers_the_next_message_without_scanning(
    store: tuple[Stores, FindRecorder],
) -> None:
    stores, recorder = store
    room_id, author = await _room_with_history(stores)
    fresh = Stores.open(stores.db, shared=True)

    recorder.recording = True
    message, created = await fresh.messages.insert(_doc(room_id, author, 9999))
    recorder.recording = False

    assert created and message.seq == MESSAGES + 1
    assert await _scans(stores, recorder.finds) == []


async def test_a_history_without_keys_is_still_served_in_full(store: tuple[Stores, FindRecorder]) -> None:
    """A database from before the keys (or a crash between a message and its key): the
    reader falls back to the query once, and writes the keys it found."""
    stores, _ = store
    room_id, _ = await _room_with_history(stores)
    await stores.db["message_keys"].delete_many({})
    fresh = Stores.open(stores.db, shared=True)

    first, _ = await fresh.messages.before(room_id, 121, 50, None)
    await fresh.messages.flush()
    again, _ = await Stores.open(stores.db, shared=True).messages.before(room_id, 121, 50, None)

    assert [m.seq for m in first] == [m.seq for m in again] == list(range(71, 121))
    if await fresh.messages.is_ferretdb():
        assert await stores.db["message_keys"].count_documents({"_id": {"$regex": "^s:"}}) == 50


async def test_two_processes_writing_one_room_number_it_without_gaps_or_scans(
    store: tuple[Stores, FindRecorder],
) -> None:
    """Each process numbers optimistically from what it last saw; the other's inserts
    make it collide on (room, seq). On FerretDB the collision is settled by key probes,
    not by reading the room's whole history."""
    stores, recorder = store
    room_id, author = await _room_with_history(stores)
    one, two = Stores.open(stores.db, shared=True), Stores.open(stores.db, shared=True)

    recorder.recording = True
    for round_ in range(6):  # alternating bursts: each process's view of the room is always stale
        base = 1000 + round_ * 20
        await asyncio.gather(*(one.messages.insert(_doc(room_id, author, base + n)) for n in range(10)))
        await asyncio.gather(*(two.messages.insert(_doc(room_id, author, base + 10 + n)) for n in range(10)))
    recorder.recording = False
    await one.messages.flush()
    await two.messages.flush()

    seqs = sorted([d["seq"] async for d in stores.db["messages"].find({"room_id": room_id}, {"seq": 1})])
    assert seqs == list(range(1, MESSAGES + 121))
    assert await _scans(stores, recorder.finds) == []


async def test_sign_in_finds_an_account_by_username_without_scanning(store: tuple[Stores, FindRecorder]) -> None:
    stores, recorder = store
    user = await stores.users.create(username="ana.r", display_name="Ana", role="counselor", password_hash=None)

    recorder.recording = True
    found = await stores.users.by_username("ana.r")
    known = list(recorder.finds)
    recorder.finds.clear()
    missing = await stores.users.by_username("nobody.here")
    unknown = list(recorder.finds)
    recorder.recording = False

    assert found is not None and found.id == user.id and missing is None
    # The same reads for a real and an unknown username: no timing tells them apart.
    assert [f["find"] for f in known] == [f["find"] for f in unknown] == ["usernames", "users"]
    assert await _scans(stores, known + unknown) == []


async def test_accounts_from_before_the_username_keys_can_sign_in_after_a_restart(
    store: tuple[Stores, FindRecorder],
) -> None:
    stores, _ = store
    await stores.db["users"].insert_one(
        {"_id": ObjectId(), "username": "old.timer", "display_name": "Old", "role": "patient", "active": True}
    )
    assert await stores.users.by_username("old.timer") is None  # no key yet

    assert await stores.users.key_usernames() == 1  # what open_database does at start-up

    assert (found := await stores.users.by_username("old.timer")) is not None and found.display_name == "Old"
    assert await stores.users.key_usernames() == 0


async def test_a_username_left_keyed_by_a_failed_create_can_be_taken(store: tuple[Stores, FindRecorder]) -> None:
    stores, _ = store
    await stores.db["usernames"].insert_one({"_id": "sol", "user_id": ObjectId()})  # its account was never made

    user = await stores.users.create(username="sol", display_name="Sol", role="patient", password_hash=None)

    assert (found := await stores.users.by_username("sol")) is not None and found.id == user.id


async def test_a_room_changed_while_its_new_messages_are_stamped_keeps_them_in_its_history(
    store: tuple[Stores, FindRecorder],
) -> None:
    """A moderator's change stamps the room at once while the writer's stamper lists new
    messages, and a flush (shutdown) lands in the middle. FerretDB 1.24 updates a
    document by reading it and writing it back: two stamps in flight at once lose one
    (the CI run of 2026-12-06 served a join that ended 80 messages early). A process
    never has two in flight; another process's join sees every message."""
    stores, recorder = store
    room_id, author = await _room_with_history(stores)
    recorder.most_room_updates_at_once = 0
    changed = (await stores.messages.latest(room_id, 1, None))[0][0]
    sent = 0
    for round_ in range(8):
        await asyncio.gather(
            *(stores.messages.insert(_doc(room_id, author, 10_000 + sent + n)) for n in range(20)),
            stores.messages.update(changed.id, {}, {"edited_round": round_}),
        )
        sent += 20
        if round_ % 2:
            await stores.messages.flush()  # while the stamper is listing the last batch
    await stores.messages.flush()

    fresh = Stores.open(stores.db, shared=True)
    latest, _ = await fresh.messages.latest(room_id, 50, None)

    assert [m.seq for m in latest] == list(range(MESSAGES + sent - 49, MESSAGES + sent + 1))
    assert recorder.most_room_updates_at_once == 1


async def test_a_join_sees_messages_whose_stamp_was_lost_without_scanning(store: tuple[Stores, FindRecorder]) -> None:
    """Another process's stamp may still be on its way, or lost to a concurrent update of
    the room (FerretDB 1.24 is not atomic between connections): the room's list of its
    newest ids then ends early. A cold join checks for the next seq and reads on to the
    real end, by keys."""
    stores, recorder = store
    room_id, _ = await _room_with_history(stores)
    room = await stores.db["rooms"].find_one({"_id": room_id})
    assert room is not None
    await stores.db["rooms"].update_one({"_id": room_id}, {"$set": {"recent_ids": room["recent_ids"][:-40]}})
    fresh = Stores.open(stores.db, shared=True)

    recorder.recording = True
    latest, more = await fresh.messages.latest(room_id, 50, None)
    recorder.recording = False

    assert [m.seq for m in latest] == list(range(MESSAGES - 49, MESSAGES + 1)) and more
    assert await _scans(stores, recorder.finds) == []
