"""Recent history served from memory stays true across processes: a join on one process
sees what another process stored or moderated since its cache was filled."""

from __future__ import annotations

from tests.conftest import World


async def test_joins_on_another_process_see_new_and_moderated_messages(server_factory, password_hash) -> None:  # type: ignore[no-untyped-def]
    one = await server_factory(semantic_detection=False, shared_database=True)
    two = await server_factory(semantic_detection=False, shared_database=True)
    world_one = World(server=one, password_hash=password_hash)
    world_two = World(server=two, password_hash=password_hash)
    room, (alice, bob, carol, counselor) = await world_one.scene("patient", "patient", "patient", "counselor")
    author = await world_one.connect(alice, join=room)
    sent = [(await author.send(room.id, f"line {i}"))["message"]["id"] for i in range(3)]

    first = await world_two.connect(bob)
    joined = await first.ok("room:join", {"room_id": str(room.id)})  # fills process two's cache
    assert [m["id"] for m in joined["messages"]] == sent

    sent.append((await author.send(room.id, "line 3"))["message"]["id"])  # stored by process one
    moderator = await world_one.connect(counselor, join=room)
    await moderator.ok("mod:hide", {"message_id": sent[1], "reason": "off topic"})

    second = await world_two.connect(carol)
    joined = await second.ok("room:join", {"room_id": str(room.id)})
    assert [m["id"] for m in joined["messages"]] == sent
    assert joined["messages"][1]["text"] is None and joined["messages"][1]["status"] == "hidden"
    caught_up = await first.ok("message:history", {"room_id": str(room.id), "after": sent[0]})
    assert [m["id"] for m in caught_up["messages"]] == sent[1:] and caught_up["messages"][0]["text"] is None


async def test_a_held_message_stays_out_of_a_peers_history_from_memory(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(semantic_detection=False)
    room, (alice, bob) = await world.scene("patient", "patient")
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)
    await peer.ok("room:join", {"room_id": str(room.id)})  # cache filled
    held = (await author.send(room.id, "I want to kill myself tonight"))["message"]
    fine = (await author.send(room.id, "sorry, rough night"))["message"]

    again = await peer.ok("room:join", {"room_id": str(room.id)})
    mine = await author.ok("room:join", {"room_id": str(room.id)})

    assert [m["id"] for m in again["messages"]] == [fine["id"]]
    assert [m["id"] for m in mine["messages"]] == [held["id"], fine["id"]]
