"""Cohort chat end to end: real server, real database, real Socket.IO clients."""

from __future__ import annotations

import asyncio
import json

import pytest
from bson import ObjectId

from server.actions.ratelimit import TokenBucket
from tests.conftest import Cohort, World, new_client_id


async def test_two_patients_chat_and_both_see_the_message_once(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)

    ack = await alice.send(cohort.room.id, "made it to group tonight")

    assert ack["ok"] is True
    message = ack["message"]
    assert message["text"] == "made it to group tonight"
    assert message["author"] == {"id": str(cohort.alice.id), "display_name": "Alice", "role": "patient"}
    assert message["status"] == "visible"
    for probe in (alice, bob):
        received = await probe.next("message:new")
        assert received["id"] == message["id"]
        await probe.nothing("message:new")
    stored = await world.stores.messages.get(ObjectId(message["id"]))
    assert stored is not None and stored.text == "made it to group tonight"


async def test_patient_of_another_cohort_gets_forbidden_on_join(world: World, cohort: Cohort) -> None:
    other_cohort = await world.cohort("Morning IOP")
    outsider = await world.user("patient", "Olive")
    await world.enrol(other_cohort, outsider)
    probe = await world.connect(outsider)

    ack = await probe.call("room:join", {"room_id": str(cohort.room.id)})

    assert ack == {"ok": False, "error": {"code": "forbidden", "message": ack["error"]["message"]}}


async def test_counselor_of_another_cohort_cannot_join_and_staff_can(world: World, cohort: Cohort) -> None:
    other_cohort = await world.cohort("Morning IOP")
    other_counselor = await world.user("counselor")
    await world.enrol(other_cohort, other_counselor)

    refused = await (await world.connect(other_counselor)).call("room:join", {"room_id": str(cohort.room.id)})
    allowed = await (await world.connect(cohort.staff)).call("room:join", {"room_id": str(cohort.room.id)})

    assert refused["error"]["code"] == "forbidden"
    assert allowed["ok"] is True


async def test_unknown_room_is_not_found(world: World, cohort: Cohort) -> None:
    probe = await world.connect(cohort.alice)
    ack = await probe.call("room:join", {"room_id": "0123456789abcdef01234567"})
    assert ack["error"]["code"] == "not_found"


async def test_session_lists_the_rooms_of_the_users_cohorts(world: World, cohort: Cohort) -> None:
    elsewhere = await world.cohort("Other")
    await world.room(elsewhere, "Not yours")
    probe = await world.connect(cohort.alice)  # consumes session in connect(); reconnect to read it
    await probe.close()
    from tests.conftest import open_probe

    again = await open_probe(world.server.url, world.token(cohort.alice))
    world.probes.append(again)
    session = await again.next("session")
    assert session["user"]["id"] == str(cohort.alice.id)
    assert [r["id"] for r in session["rooms"]] == [str(cohort.room.id)]
    assert session["oncall"] is False
    assert session["server_time"].endswith("Z")


async def test_a_room_created_by_staff_is_in_the_next_session_at_once(world: World, cohort: Cohort) -> None:
    """The cohorts' room lists are cached for connects; a new room must not wait out the cache."""
    from tests.conftest import open_probe

    first = await open_probe(world.server.url, world.token(cohort.alice))
    world.probes.append(first)
    assert [r["id"] for r in (await first.next("session"))["rooms"]] == [str(cohort.room.id)]

    status, created = await world.http(
        "POST", f"/api/cohorts/{cohort.id}/rooms", cohort.staff, json={"name": "Aftercare"}
    )
    assert status == 201

    again = await open_probe(world.server.url, world.token(cohort.alice))
    world.probes.append(again)
    assert {r["id"] for r in (await again.next("session"))["rooms"]} == {str(cohort.room.id), created["id"]}


async def test_retried_client_id_is_stored_once_and_broadcast_once(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    client_id = new_client_id()

    first = await alice.send(cohort.room.id, "hello", client_id)
    retry = await alice.send(cohort.room.id, "hello", client_id)

    assert first["ok"] and retry["ok"]
    assert retry["message"]["id"] == first["message"]["id"]
    await bob.next("message:new")
    await bob.nothing("message:new")
    history = await bob.ok("message:history", {"room_id": str(cohort.room.id)})
    assert [m["client_id"] for m in history["messages"]] == [client_id]


async def test_concurrent_retries_across_sockets_store_one_message(world: World, cohort: Cohort) -> None:
    first = await world.connect(cohort.alice, join=cohort.room)
    second = await world.connect(cohort.alice, join=cohort.room)
    client_id = new_client_id()

    acks = await asyncio.gather(*(p.send(cohort.room.id, "once", client_id) for p in (first, second, first, second)))

    assert len({a["message"]["id"] for a in acks}) == 1


async def test_reconnecting_client_gets_exactly_the_missed_messages_via_after(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    last_seen = (await alice.send(cohort.room.id, "before bob leaves"))["message"]["id"]
    await bob.next("message:new")
    await bob.close()

    missed = [(await alice.send(cohort.room.id, f"missed {i}"))["message"]["id"] for i in range(7)]

    bob_again = await world.connect(cohort.bob, join=cohort.room)
    page = await bob_again.ok("message:history", {"room_id": str(cohort.room.id), "after": last_seen, "limit": 5})
    rest = await bob_again.ok(
        "message:history", {"room_id": str(cohort.room.id), "after": page["messages"][-1]["id"], "limit": 5}
    )
    assert page["has_more"] is True and rest["has_more"] is False
    assert [m["id"] for m in page["messages"] + rest["messages"]] == missed


async def test_history_before_returns_the_previous_page_oldest_first(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    ids = [(await alice.send(cohort.room.id, f"m{i}"))["message"]["id"] for i in range(6)]

    page = await alice.ok("message:history", {"room_id": str(cohort.room.id), "before": ids[4], "limit": 3})

    assert [m["id"] for m in page["messages"]] == ids[1:4]
    assert page["has_more"] is True


async def test_join_returns_recent_history_newest_last_and_who_is_online(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    for i in range(3):
        await alice.send(cohort.room.id, f"m{i}")
    bob = await world.connect(cohort.bob)
    alice.drain("presence")  # her own arrival

    joined = await bob.ok("room:join", {"room_id": str(cohort.room.id)})

    assert [m["text"] for m in joined["messages"]] == ["m0", "m1", "m2"]
    assert joined["has_more"] is False
    assert {u["id"] for u in joined["online"]} == {str(cohort.alice.id), str(cohort.bob.id)}
    assert joined["room"]["id"] == str(cohort.room.id)
    presence = await alice.next("presence")
    assert presence == {"room_id": str(cohort.room.id), "user": presence["user"], "online": True}
    assert presence["user"]["id"] == str(cohort.bob.id)


async def test_one_clients_sends_are_stored_and_broadcast_in_the_order_sent(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    texts = [f"n{i}" for i in range(8)]  # under the burst limit of 10

    acks = await asyncio.gather(*(alice.send(cohort.room.id, t) for t in texts))

    assert all(a["ok"] for a in acks)
    received = [(await bob.next("message:new"))["text"] for _ in texts]
    assert received == texts
    history = await bob.ok("message:history", {"room_id": str(cohort.room.id)})
    assert [m["text"] for m in history["messages"]] == texts


async def test_typing_reaches_peers_but_not_the_typist(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)

    await alice.ok("typing", {"room_id": str(cohort.room.id), "typing": True})

    got = await bob.next("typing")
    assert got["user"]["id"] == str(cohort.alice.id) and got["typing"] is True
    await alice.nothing("typing")


async def test_leaving_a_room_stops_its_broadcasts_and_announces_presence(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    alice.drain("presence")

    await bob.ok("room:leave", {"room_id": str(cohort.room.id)})
    left = await alice.next("presence")
    await alice.send(cohort.room.id, "still here")

    assert left["online"] is False and left["user"]["id"] == str(cohort.bob.id)
    await bob.nothing("message:new")


async def test_sending_without_joining_is_forbidden(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    ack = await alice.send(cohort.room.id, "hi")
    assert ack["error"]["code"] == "forbidden"


BAD_SENDS = [
    pytest.param(None, "invalid", id="no-payload"),
    pytest.param("just a string", "invalid", id="string-payload"),
    pytest.param({"text": "hi", "client_id": "abcdefgh1"}, "invalid", id="missing-room"),
    pytest.param({"room_id": "ROOM", "client_id": "abcdefgh1"}, "invalid", id="missing-text"),
    pytest.param({"room_id": "ROOM", "text": "hi"}, "invalid", id="missing-client-id"),
    pytest.param({"room_id": 123, "text": "hi", "client_id": "abcdefgh1"}, "invalid", id="numeric-room"),
    pytest.param({"room_id": {"$gt": ""}, "text": "hi", "client_id": "abcdefgh1"}, "invalid", id="operator-room"),
    pytest.param({"room_id": "ROOM", "text": ["a"], "client_id": "abcdefgh1"}, "invalid", id="list-text"),
    pytest.param({"room_id": "ROOM", "text": None, "client_id": "abcdefgh1"}, "invalid", id="null-text"),
    pytest.param({"room_id": "ROOM", "text": "", "client_id": "abcdefgh1"}, "invalid", id="empty-text"),
    pytest.param({"room_id": "ROOM", "text": " \n\t\u200b ", "client_id": "abcdefgh1"}, "invalid", id="blank"),
    pytest.param({"room_id": "ROOM", "text": "x" * 2001, "client_id": "abcdefgh1"}, "invalid", id="2001-chars"),
    pytest.param({"room_id": "ROOM", "text": "hi", "client_id": "short"}, "invalid", id="short-client-id"),
    pytest.param({"room_id": "ROOM", "text": "hi", "client_id": "has space!!"}, "invalid", id="bad-client-id"),
    pytest.param({"room_id": "ROOM", "text": "hi", "client_id": {"$ne": None}}, "invalid", id="operator-client-id"),
    pytest.param(
        {"room_id": "0123456789abcdef01234567", "text": "hi", "client_id": "abcdefgh1"}, "not_found", id="unknown-room"
    ),
]


@pytest.mark.parametrize("payload, code", BAD_SENDS)
async def test_malformed_send_is_refused_and_stores_nothing(
    world: World, cohort: Cohort, payload: object, code: str
) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    if isinstance(payload, dict) and payload.get("room_id") == "ROOM":
        payload = {**payload, "room_id": str(cohort.room.id)}

    ack = await alice.call("message:send", payload)

    assert ack["ok"] is False and ack["error"]["code"] == code
    assert ack["error"]["message"]
    assert await world.stores.db["messages"].count_documents({}) == 0


async def test_2000_characters_is_accepted_and_control_characters_are_removed(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    long_ack = await alice.send(cohort.room.id, "y" * 2000)
    clean_ack = await alice.send(cohort.room.id, "hel\u0000lo \u202eworld\u200b")
    assert long_ack["ok"] and len(long_ack["message"]["text"]) == 2000
    assert clean_ack["message"]["text"] == "hello world"


async def test_identity_comes_from_the_session_not_the_payload(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    ack = await alice.call(
        "message:send",
        {
            "room_id": str(cohort.room.id),
            "text": "hi",
            "client_id": new_client_id(),
            "author": {"id": str(cohort.counselor.id), "role": "counselor"},
            "sender_id": str(cohort.counselor.id),
            "role": "staff",
            "status": "hidden",
        },
    )
    assert ack["message"]["author"]["id"] == str(cohort.alice.id)
    assert ack["message"]["author"]["role"] == "patient"
    assert ack["message"]["status"] == "visible"


async def test_an_event_without_ack_gets_its_error_as_an_error_event(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    await alice.client.emit("room:join", {"room_id": {"$gt": ""}})
    error = await alice.next("error")
    assert error["event"] == "room:join" and error["error"]["code"] == "invalid"


async def test_unknown_events_are_invalid(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice)
    ack = await alice.call("admin:make_me_staff", {})
    assert ack["error"]["code"] == "invalid"


@pytest.mark.parametrize("name", ["connect", "disconnect"])
async def test_reserved_event_names_disconnect_the_client(world: World, cohort: Cohort, name: str) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    bob.drain("presence")
    # Send the raw packet: python-socketio's client refuses to emit reserved names itself.
    forged = json.dumps([name, {"REMOTE_ADDR": "10.9.9.9", "HTTP_X_ROLE": "staff"}, {"token": "forged"}])
    await alice.client.eio.send("2" + forged)  # Socket.IO EVENT packet, namespace "/"

    await asyncio.wait_for(alice.disconnected.wait(), 5)
    assert (await bob.next("presence"))["online"] is False


async def test_rate_limit_refuses_bursts_with_retry_after(world: World, cohort: Cohort) -> None:
    # The limiter's clock stands still: on a slow box, real time would refill the bucket
    # between sends (each waits up to 0.25 s for the semantic detector).
    limiter = world.server.ctx.send_limiter
    world.server.ctx.send_limiter = TokenBucket(limiter.rate, limiter.burst, clock=lambda: 1000.0)
    alice = await world.connect(cohort.alice, join=cohort.room)
    acks = [await alice.send(cohort.room.id, f"flood {i}") for i in range(14)]
    refused = [a for a in acks if not a["ok"]]
    assert len(refused) == 4, "a burst of 14 exceeds the burst limit of 10 by four"
    assert all(a["error"]["code"] == "rate_limited" and a["error"]["retry_after"] >= 1 for a in refused)


async def test_removed_patient_leaves_the_room_at_once(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)

    status, _ = await world.http("DELETE", f"/api/cohorts/{cohort.id}/members/{cohort.bob.id}", cohort.staff)
    removed = await bob.next("room:removed")
    await alice.send(cohort.room.id, "after removal")

    assert status == 204
    assert removed["room_id"] == str(cohort.room.id)
    await bob.nothing("message:new")
    again = await bob.call("room:join", {"room_id": str(cohort.room.id)})
    assert again["error"]["code"] == "forbidden"


async def test_many_senders_at_once_get_unique_increasing_sequence_numbers_in_their_own_order(
    world: World, cohort: Cohort
) -> None:
    senders = [await world.user("patient", f"P{i}") for i in range(8)]
    probes = []
    for person in senders:
        await world.enrol(cohort.id, person)
        probes.append(await world.connect(person, join=cohort.room))

    async def burst(probe: object, name: str) -> list[dict]:  # type: ignore[type-arg]
        return await asyncio.gather(*(probe.send(cohort.room.id, f"{name}-{i}") for i in range(8)))  # type: ignore[attr-defined]

    results = await asyncio.gather(*(burst(p, f"P{i}") for i, p in enumerate(probes)))

    acks = [ack for per_sender in results for ack in per_sender]
    assert all(a["ok"] for a in acks)
    seqs = sorted(a["message"]["seq"] for a in acks)
    assert seqs == list(range(1, 65))
    for i, per_sender in enumerate(results):
        own = [a["message"]["seq"] for a in per_sender]
        assert own == sorted(own), f"P{i}'s messages were stored out of order"
    history = await probes[0].ok("message:history", {"room_id": str(cohort.room.id), "limit": 100})
    assert [m["seq"] for m in history["messages"]] == list(range(1, 65))


async def test_an_oversized_frame_closes_that_connection_and_stores_nothing(world: World, cohort: Cohort) -> None:
    """Frames above 64 KiB never reach a handler (python-engineio's default is 1 MB)."""
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    payload = {"room_id": str(cohort.room.id), "text": "x" * 70_000, "client_id": new_client_id()}
    await alice.client.emit("message:send", payload)
    await asyncio.wait_for(alice.disconnected.wait(), 10)
    assert await world.stores.db["messages"].count_documents({}) == 0
    assert (await bob.send(cohort.room.id, "still fine"))["ok"] is True


async def test_long_polling_clients_chat_with_websocket_clients(world: World, cohort: Cohort) -> None:
    """Both Engine.IO transports work (PROTOCOL.md "Conventions")."""
    from tests.conftest import open_probe

    polling = await open_probe(world.server.url, world.token(cohort.alice), transports=("polling",))
    world.probes.append(polling)
    assert polling.client.transport() == "polling"
    await polling.next("session")
    await polling.ok("room:join", {"room_id": str(cohort.room.id)})
    bob = await world.connect(cohort.bob, join=cohort.room)

    sent = await polling.send(cohort.room.id, "typed on an old office computer")
    assert (await bob.next("message:new"))["id"] == sent["message"]["id"]
    assert (await polling.next("message:new"))["id"] == sent["message"]["id"]  # the actor's copy
    reply = await bob.send(cohort.room.id, "got it")
    assert (await polling.next("message:new"))["id"] == reply["message"]["id"]
    # python-engineio's polling client otherwise waits out its pending long-poll (~25 s).
    await polling.client.eio.disconnect(abort=True)


async def test_a_polling_request_from_a_foreign_origin_is_refused(world: World, cohort: Cohort) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        url = world.server.url + "/socket.io/?EIO=4&transport=polling"
        async with session.get(url, headers={"Origin": "https://evil.example"}) as response:
            assert response.status == 400
        async with session.get(url, headers={"Origin": world.server.url}) as response:
            assert response.status == 200


async def test_a_flood_of_typing_events_is_rate_limited(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    acks = [await alice.call("typing", {"room_id": str(cohort.room.id), "typing": i % 2 == 0}) for i in range(15)]
    assert any(a.get("error", {}).get("code") == "rate_limited" for a in acks)
