"""Who may receive what, checked as a table over every flow (server/wire/receive_rules.py).

A patient, a counselor of the cohort, a counselor of another cohort and staff are
connected through send, hold, report, escalation, reconnect, on call and release; every
event each of them received is then checked against the rule. The first test is the
probe that found the leak: a patient who connects while a flag is open.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from server.actions import escalation
from server.clock import utcnow
from server.wire.receive_rules import Viewer, violations
from tests.conftest import Probe, World

CRISIS = "I want to kill myself tonight"


def viewer_of(probe: Probe, cohort_ids: list[Any]) -> Viewer:
    assert probe.user is not None
    return Viewer(str(probe.user.id), probe.user.role, frozenset(str(c) for c in cohort_ids))


async def test_a_patient_who_connects_while_a_flag_is_open_receives_no_flag(world: World) -> None:
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    author = await world.connect(alice, join=room)
    await author.send(room.id, CRISIS)
    await author.close()

    peer = await world.connect(bob)
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})

    backlog = await on_call.next("alert:new")  # the open flag is delivered to those who may see it
    assert backlog["text"] == CRISIS
    await peer.nothing("alert:new", within=1.0)
    await peer.nothing("alert:updated", within=0.1)
    for event, payload in peer.log:
        assert violations(viewer_of(peer, [room.cohort_id]), event, payload) == []


async def test_a_counselor_off_call_gets_no_backlog_at_connect_but_staff_do(world: World) -> None:
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    author = await world.connect(alice, join=room)
    await author.send(room.id, CRISIS)

    watcher = await world.connect(staff)
    off_call = await world.connect(counselor)

    assert (await watcher.next("alert:new"))["text"] == CRISIS
    await off_call.nothing("alert:new", within=0.5)


async def test_every_event_of_every_flow_reaches_only_whom_the_table_allows(world: World) -> None:
    cohort_id = await world.cohort("Evening")
    room = await world.room(cohort_id)
    elsewhere = await world.cohort("Morning")
    alice, bob = await world.user("patient", "Alice"), await world.user("patient", "Bob")
    casey, other = await world.user("counselor", "Casey"), await world.user("counselor", "Other")
    staff_user = await world.user("staff", "Sam")
    for person in (alice, bob, casey):
        await world.enrol(cohort_id, person)
    await world.enrol(elsewhere, other)

    ours = await world.connect(casey, join=room)
    await ours.ok("oncall:set", {"on": True})
    theirs = await world.connect(other)
    await theirs.ok("oncall:set", {"on": True})
    staff = await world.connect(staff_user)
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)
    seen: dict[str, list[tuple[str, Any]]] = {"author": [], "peer": [], "ours": [], "theirs": [], "staff": []}
    probes = {"author": author, "peer": peer, "ours": ours, "theirs": theirs, "staff": staff}

    def collect() -> None:
        for name, probe in probes.items():
            seen[name].extend(probe.log)
            probe.log.clear()

    # send: an ordinary message, then a crisis message that is held
    ordinary = (await author.send(room.id, "hello everyone"))["message"]
    await peer.next("message:new")
    held = (await author.send(room.id, CRISIS))["message"]
    flag = await ours.next("alert:new")
    await author.next("crisis:resources")
    collect()

    # report: the peer reports the ordinary message
    report = await peer.ok("message:report", {"message_id": ordinary["id"], "reason": "unkind"})
    assert (await staff.next("alert:new"))["id"] in (report["flag_id"], flag["id"])
    collect()

    # escalation: the clock moves past the delay; every counselor now has the crisis flag
    await escalation.sweep(
        world.server.ctx, now=utcnow() + timedelta(seconds=world.server.config.escalate_after_seconds + 1)
    )
    widened = await theirs.next("alert:new")
    assert widened["escalation_level"] == 1
    collect()

    # reconnect: the peer and the author come back while flags are open
    await peer.close()
    await author.close()
    peer = probes["peer"] = await world.connect(bob, join=room)
    author = probes["author"] = await world.connect(alice, join=room)
    await author.ok("message:history", {"room_id": str(room.id)})
    collect()

    # on call: off and on again delivers the backlog to the counselor only
    await ours.ok("oncall:set", {"on": False})
    await ours.ok("oncall:set", {"on": True})
    await ours.next("alert:new")
    collect()

    # release: peers now see the message, still without detector output
    await ours.ok("mod:release", {"message_id": held["id"]})
    released = await peer.next("message:new")
    assert released["id"] == held["id"] and released["status"] == "visible"
    await peer.nothing("alert:new", within=0.5)
    collect()

    cohorts = {"author": [cohort_id], "peer": [cohort_id], "ours": [cohort_id], "theirs": [elsewhere], "staff": []}
    users = {"author": alice, "peer": bob, "ours": casey, "theirs": other, "staff": staff_user}
    broken: list[str] = []
    for name, events in seen.items():
        user = users[name]
        viewer = Viewer(str(user.id), user.role, frozenset(str(c) for c in cohorts[name]))
        broken += [f"{name}: {problem}" for event, payload in events for problem in violations(viewer, event, payload)]
    assert broken == []
    patients_got = {event for name in ("author", "peer") for event, _ in seen[name]}
    assert not patients_got & {"alert:new", "alert:updated"}
    assert any(event == "crisis:resources" for event, _ in seen["author"])
    assert not any(event == "crisis:resources" for event, _ in seen["peer"])
    # the other cohort's counselor had the flag only once it escalated
    assert all(p["escalation_level"] >= 1 for e, p in seen["theirs"] if e == "alert:new")
