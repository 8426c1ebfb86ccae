"""Live moderation: who may do what, and what everyone sees afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from server.clock import utcnow
from tests.conftest import Cohort, Probe, World

CRISIS = "I want to kill myself tonight"


# ---- the permission matrix -------------------------------------------------------------

Payload = Callable[[World, Cohort, Probe], Awaitable[dict[str, Any]]]


async def a_message(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    sent = await author.send(cohort.room.id, "an ordinary message")
    return {"message_id": sent["message"]["id"]}


async def a_hidden_message(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    target = await a_message(world, cohort, author)
    staff = await world.connect(cohort.staff)
    await staff.ok("mod:hide", target)
    return target


async def a_held_message(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    sent = await author.send(cohort.room.id, CRISIS)
    return {"message_id": sent["message"]["id"]}


async def the_member(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    return {"room_id": str(cohort.room.id), "user_id": str(cohort.bob.id)}


async def the_room(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    return {"room_id": str(cohort.room.id)}


async def a_flag(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
    sent = await author.send(cohort.room.id, CRISIS)
    return {"flag_id": str((await world.stores.flags.for_message(ObjectId(sent["message"]["id"])))[0].id)}


def plus(base: Payload, **extra: Any) -> Payload:
    async def build(world: World, cohort: Cohort, author: Probe) -> dict[str, Any]:
        return {**await base(world, cohort, author), **extra}

    return build


MATRIX: dict[str, Payload] = {
    "mod:hide": a_message,
    "mod:unhide": a_hidden_message,
    "mod:delete": a_message,
    "mod:release": a_held_message,
    "mod:mute": plus(the_member, minutes=5),
    "mod:unmute": the_member,
    "mod:kick": the_member,
    "mod:lock": the_room,
    "mod:unlock": the_room,
    "mod:slow_mode": plus(the_room, seconds=10),
    "mod:pin": a_message,
    "flag:ack": a_flag,
    "flag:resolve": plus(a_flag, outcome="other"),
}
ROLES = {"patient": "forbidden", "other_counselor": "forbidden", "counselor": "ok", "staff": "ok"}


@pytest.mark.parametrize("event", sorted(MATRIX))
async def test_permission_matrix_for_socket_events(world: World, cohort: Cohort, event: str) -> None:
    other_cohort = await world.cohort("Elsewhere")
    other_counselor = await world.user("counselor", "Other counselor")
    await world.enrol(other_cohort, other_counselor)
    author = await world.connect(cohort.alice, join=cohort.room)
    actors = {
        "patient": await world.connect(cohort.bob, join=cohort.room),
        "other_counselor": await world.connect(other_counselor),
        "counselor": await world.connect(cohort.counselor, join=cohort.room),
        "staff": await world.connect(cohort.staff, join=cohort.room),
    }
    for role, expected in ROLES.items():
        payload = await MATRIX[event](world, cohort, author)
        if event == "mod:pin":
            payload = {"room_id": str(cohort.room.id), **payload}
        ack = await actors[role].call(event, payload)
        if expected == "ok":
            assert ack["ok"] is True, f"{role} {event}: {ack}"
        else:
            assert ack["ok"] is False and ack["error"]["code"] == "forbidden", f"{role} {event}: {ack}"


async def test_a_deactivated_counselor_can_do_nothing(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    await world.http("PATCH", f"/api/users/{cohort.counselor.id}", cohort.staff, json={"active": False})
    await asyncio.wait_for(counselor.disconnected.wait(), 5)
    status, _ = await world.http("GET", "/api/flags", cohort.counselor)
    assert status == 401


# ---- what people see -------------------------------------------------------------------


async def test_a_hidden_message_reaches_peers_as_a_tombstone_and_counselors_with_text(
    world: World, cohort: Cohort
) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    sent = (await alice.send(cohort.room.id, "something unkind"))["message"]

    await counselor.ok("mod:hide", {"message_id": sent["id"], "reason": "kindness rule"})

    peer_view = await bob.next("message:updated")
    assert peer_view["id"] == sent["id"] and peer_view["status"] == "hidden"
    assert "text" in peer_view and peer_view["text"] is None and "moderation" not in peer_view
    counselor.drain("message:new")
    mod_view = await counselor.next("message:updated")
    assert mod_view["text"] == "something unkind"
    assert mod_view["moderation"]["by"]["id"] == str(cohort.counselor.id)
    assert mod_view["moderation"]["reason"] == "kindness rule"
    history = await bob.ok("message:history", {"room_id": str(cohort.room.id)})
    assert history["messages"][0]["text"] is None
    unhidden = await counselor.ok("mod:unhide", {"message_id": sent["id"]})
    assert unhidden["message"]["status"] == "visible"
    assert (await bob.next("message:updated"))["text"] == "something unkind"


async def test_a_deleted_message_is_a_tombstone_for_patients_and_kept_for_staff(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    staff = await world.connect(cohort.staff, join=cohort.room)
    sent = (await alice.send(cohort.room.id, "my phone number is 555-0100"))["message"]
    deleted = await staff.ok("mod:delete", {"message_id": sent["id"]})
    assert deleted["message"]["status"] == "deleted" and deleted["message"]["text"] == "my phone number is 555-0100"
    own_view = await alice.next("message:updated")
    assert own_view["status"] == "deleted" and own_view["text"] is None
    again = await staff.call("mod:unhide", {"message_id": sent["id"]})
    assert again["error"]["code"] == "invalid"


async def test_a_muted_patient_cannot_send_until_the_mute_ends_then_can(world: World, cohort: Cohort) -> None:
    bob = await world.connect(cohort.bob, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)

    muted = await counselor.ok(
        "mod:mute", {"room_id": str(cohort.room.id), "user_id": str(cohort.bob.id), "minutes": 1, "reason": "cool off"}
    )
    notice = await bob.next("mod:muted")
    refused = await bob.send(cohort.room.id, "let me talk")

    assert notice == {"room_id": str(cohort.room.id), "until": muted["until"], "reason": "cool off"}
    assert refused["error"]["code"] == "muted" and 50 <= refused["error"]["retry_after"] <= 60
    # The minute passes: the stored mute now ends in the past (as it would a minute later).
    await world.stores.rooms.mute(
        cohort.room.id, cohort.bob.id, utcnow() - timedelta(seconds=1), None, cohort.counselor.id
    )
    await world.server.ctx.control.publish("mute_changed", room_id=str(cohort.room.id), user_id=str(cohort.bob.id))
    assert (await bob.send(cohort.room.id, "thanks for waiting"))["ok"] is True


async def test_unmute_lifts_a_mute_at_once(world: World, cohort: Cohort) -> None:
    bob = await world.connect(cohort.bob, join=cohort.room)
    staff = await world.connect(cohort.staff)
    target = {"room_id": str(cohort.room.id), "user_id": str(cohort.bob.id)}
    await staff.ok("mod:mute", {**target, "minutes": 30})
    assert (await bob.send(cohort.room.id, "x"))["error"]["code"] == "muted"
    await staff.ok("mod:unmute", target)
    assert (await bob.send(cohort.room.id, "y"))["ok"] is True


async def test_slow_mode_refuses_the_second_message_inside_the_interval(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    await alice.send(cohort.room.id, "sent before slow mode")  # slow mode measures from here

    room = await counselor.ok("mod:slow_mode", {"room_id": str(cohort.room.id), "seconds": 30})
    update = await alice.next("room:updated")
    second = await alice.send(cohort.room.id, "second")
    counselor_send = await counselor.send(cohort.room.id, "counselors are not slowed")

    assert room["room"]["slow_mode_seconds"] == 30 and update["slow_mode_seconds"] == 30
    assert second["error"]["code"] == "slow_mode" and 28 <= second["error"]["retry_after"] <= 30
    assert counselor_send["ok"] is True
    await counselor.ok("mod:slow_mode", {"room_id": str(cohort.room.id), "seconds": 0})
    third = await alice.send(cohort.room.id, "third")
    assert third["ok"] is True, third


async def test_a_locked_room_refuses_patients_only(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    locked = await counselor.ok("mod:lock", {"room_id": str(cohort.room.id)})
    assert locked["room"]["locked"] is True and (await alice.next("room:updated"))["locked"] is True
    assert (await alice.send(cohort.room.id, "hello?"))["error"]["code"] == "room_locked"
    assert (await counselor.send(cohort.room.id, "room is locked for tonight"))["ok"] is True
    await counselor.ok("mod:unlock", {"room_id": str(cohort.room.id)})
    assert (await alice.send(cohort.room.id, "hello again"))["ok"] is True


async def test_a_kicked_patients_open_sockets_stop_receiving_the_room(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob_phone = await world.connect(cohort.bob, join=cohort.room)
    bob_laptop = await world.connect(cohort.bob, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)

    await counselor.ok("mod:kick", {"room_id": str(cohort.room.id), "user_id": str(cohort.bob.id), "reason": "break"})
    for socket in (bob_phone, bob_laptop):
        assert (await socket.next("room:removed")) == {"room_id": str(cohort.room.id), "reason": "break"}
    await alice.send(cohort.room.id, "after the kick")
    await bob_phone.nothing("message:new")
    await bob_laptop.nothing("message:new")
    assert (await bob_phone.send(cohort.room.id, "hey"))["error"]["code"] == "forbidden"
    assert (await bob_phone.call("room:join", {"room_id": str(cohort.room.id)}))["ok"] is True  # may rejoin


async def test_pin_shows_the_message_in_the_room_and_unpin_clears_it(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    sent = (await counselor.send(cohort.room.id, "Group moves to 7pm Thursday"))["message"]
    pinned = await counselor.ok("mod:pin", {"room_id": str(cohort.room.id), "message_id": sent["id"]})
    assert pinned["room"]["pinned"]["id"] == sent["id"]
    assert (await alice.next("room:updated"))["pinned"]["text"] == "Group moves to 7pm Thursday"
    cleared = await counselor.ok("mod:pin", {"room_id": str(cohort.room.id), "message_id": None})
    assert cleared["room"]["pinned"] is None


async def test_moderation_actions_are_audited_without_text(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    sent = (await alice.send(cohort.room.id, "audit-me-text"))["message"]
    await counselor.ok("mod:hide", {"message_id": sent["id"], "reason": "r"})
    status, body = await world.http("GET", "/api/audit?action=mod.hide", cohort.staff)
    assert status == 200
    entry = body["entries"][0]
    assert entry["actor"]["id"] == str(cohort.counselor.id)
    assert entry["target"] == {"type": "message", "id": sent["id"]}
    assert entry["origin"]["ip"] == "127.0.0.1"
    assert "audit-me-text" not in str(body)
