"""The database goes away mid-conversation: sends fail cleanly, nothing acked is lost."""

from __future__ import annotations

from typing import Any

from server.store.devdb import LocalDatabase
from tests.conftest import Probe, World, new_client_id


async def stored(probe: Probe, room_id: Any, text: str) -> str:
    """Send as the web client does: on `unavailable`, again with the same client_id. A
    fresh FerretDB on a loaded machine (CI) may take longer than the test's short
    DB_TIMEOUT_MS to create its first collections."""
    client_id = new_client_id()
    for _ in range(5):
        ack = await probe.send(room_id, text, client_id)
        if ack["ok"]:
            return str(ack["message"]["id"])
        assert ack["error"]["code"] == "unavailable", ack
    raise AssertionError(f"not stored after 5 tries: {ack}")


async def test_sends_fail_as_unavailable_while_the_database_is_down_and_work_again_after(
    own_database: LocalDatabase,
    server_factory,
    password_hash: str,  # type: ignore[no-untyped-def]
) -> None:
    server = await server_factory(mongodb_uri=own_database.uri, db_timeout_ms=1500)
    world = World(server=server, password_hash=password_hash)
    cohort_id = await world.cohort()
    room = await world.room(cohort_id)
    alice, bob = await world.user("patient", "Alice"), await world.user("patient", "Bob")
    for person in (alice, bob):
        await world.enrol(cohort_id, person)
    alice_probe = await world.connect(alice, join=room)
    bob_probe = await world.connect(bob, join=room)
    acked = [await stored(alice_probe, room.id, f"before {i}") for i in range(3)]
    bob_probe.drain("message:new")

    own_database.stop()
    retry_id = new_client_id()
    during = await alice_probe.send(room.id, "while down", retry_id)

    assert during["ok"] is False and during["error"]["code"] == "unavailable"
    await bob_probe.nothing("message:new")
    status, _ = await world.http("GET", "/readyz")
    assert status == 503

    await own_database.start()
    after = await alice_probe.send(room.id, "while down", retry_id)
    assert after["ok"] is True
    assert (await bob_probe.next("message:new"))["id"] == after["message"]["id"]
    history = await bob_probe.ok("message:history", {"room_id": str(room.id)})
    assert [m["id"] for m in history["messages"]] == [*acked, after["message"]["id"]]
    assert (await world.http("GET", "/readyz"))[0] == 200
    for probe in world.probes:
        await probe.close()
