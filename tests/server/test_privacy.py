"""Minimum necessary, from an attacker's and a patient's seat: who receives what.

Each test is a finding of the privacy review (issue: "who receives what"): a real server
and database, real sockets, and the story of one person receiving something they do not
need. Non-delivery is proven without timing: after the event that would leak, the
viewer makes a round trip of its own (`settled`); the server queued anything meant for
it before that ack, so by the time the ack is back, the viewer's log is complete.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from moderation import load_semantic
from server.actions import flags
from server.wire.receive_rules import Viewer, violations
from tests.conftest import PASSWORD, Cohort, Probe, World

CRISIS = "I want to kill myself tonight"
# Three lines, each clean alone; together the model calls them high risk (a plan).
SPLIT_PLAN = ("i wrote my will last night", "nobody is home till monday", "it's settled")


def viewer_of(probe: Probe, *cohort_ids: Any) -> Viewer:
    assert probe.user is not None
    return Viewer(str(probe.user.id), probe.user.role, frozenset(str(c) for c in cohort_ids))


async def settled(probe: Probe) -> list[str]:
    """A round trip; then the names of every event this socket has received."""
    await probe.ok("room:leave", {"room_id": str(ObjectId())})  # leaving a room one is not in: a no-op
    return [event for event, _ in probe.log]


async def oncall(world: World, user: Any) -> Probe:
    probe = await world.connect(user)
    await probe.ok("oncall:set", {"on": True})
    return probe


async def test_a_pinned_message_the_model_later_holds_is_not_sent_to_patients_in_a_room_update(world_factory) -> None:  # type: ignore[no-untyped-def]
    """Found: room:updated carried the pinned message as it is now, held text included, to
    every patient of the room (join and session already left a held pin out)."""
    world: World = await world_factory(semantic_detection=False)
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    moderator = await world.connect(counselor, join=room)
    author = await world.connect(alice, join=room)
    for line in SPLIT_PLAN:
        sent = (await author.send(room.id, line))["message"]
    await moderator.ok("mod:pin", {"room_id": str(room.id), "message_id": sent["id"]})
    # The model's verdict arrives late (overload): the pinned line is withdrawn and held.
    verdict = load_semantic().detect([SPLIT_PLAN[-1]], [SPLIT_PLAN[:-1]])[0]
    assert verdict.severity == "high"
    await flags.late_verdict(world.server.ctx, ObjectId(sent["id"]), verdict)
    peer = await world.connect(bob, join=room)  # never had the text
    moderator.drain("room:updated")  # the pin's own update

    await moderator.ok("mod:lock", {"room_id": str(room.id)})

    update = await peer.next("room:updated")
    assert update["locked"] is True and update["pinned"] is None
    assert (await moderator.next("room:updated"))["pinned"]["status"] == "held"  # counselors still see it
    assert all(violations(viewer_of(peer, room.cohort_id), e, p) == [] for e, p in peer.log)


async def test_a_counselor_who_broke_the_glass_reads_the_flag_but_not_the_rest_of_that_cohorts_room(
    world: World, cohort: Cohort
) -> None:
    """Found: GET /api/flags/{id} gave a counselor of another cohort, reading through break
    glass, the five messages before and after the flagged one: other patients' chat in a
    cohort they are not assigned to. The contract: nothing else of that cohort opens."""
    elsewhere = await world.cohort("Morning IOP")
    stranger = await world.user("counselor", "Other counselor")
    await world.enrol(elsewhere, stranger)
    theirs = await oncall(world, stranger)  # nobody of the cohort is on call: the glass breaks
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    await bob.send(cohort.room.id, "my sponsor moved away last week")
    crisis = (await alice.send(cohort.room.id, CRISIS))["message"]
    alert = await theirs.next("alert:new")
    assert alert["break_glass"] is True and alert["message_id"] == crisis["id"]

    status, body = await world.http("GET", f"/api/flags/{alert['id']}", stranger)

    assert status == 200 and body["flag"]["text"] == CRISIS
    assert body["message"]["id"] == crisis["id"]  # the flagged message itself is the flag's
    assert body["context"] == {"before": [], "after": []}
    _, own = await world.http("GET", f"/api/flags/{alert['id']}", cohort.counselor)
    assert [m["text"] for m in own["context"]["before"]] == ["my sponsor moved away last week"]


async def test_news_of_a_break_glass_flag_reaches_those_who_had_it_not_every_counselor(
    world: World, cohort: Cohort
) -> None:
    """Found: once a flag broke the glass (routed to on-call counselors outside its cohort),
    every alert:updated about it (acknowledged, resolved, pressed again, webhook result)
    went to every connected counselor, off call and of any cohort, with the patient's text;
    the web client then showed it in their alert panel. Only escalation widens to all."""
    elsewhere, third = await world.cohort("Morning IOP"), await world.cohort("Weekend IOP")
    stranger = await world.user("counselor", "On call elsewhere")
    bystander = await world.user("counselor", "Off call elsewhere")
    await world.enrol(elsewhere, stranger)
    await world.enrol(third, bystander)
    theirs = await oncall(world, stranger)
    idle = await world.connect(bystander)  # connected, not on call: never routed this flag
    desk = await world.connect(cohort.staff)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    alert = await theirs.next("alert:new")
    assert alert["break_glass"] is True and (await desk.next("alert:new"))["id"] == alert["id"]

    await desk.ok("flag:ack", {"flag_id": alert["id"]})

    assert (await theirs.next("alert:updated"))["status"] == "acknowledged"  # they had it
    assert (await desk.next("alert:updated"))["status"] == "acknowledged"
    assert await settled(idle) == ["session"]
    assert all(violations(viewer_of(idle, third), e, p) == [] for e, p in idle.log)


async def test_muting_someone_outside_the_rooms_cohort_gets_one_answer_whoever_they_are(
    world: World, cohort: Cohort
) -> None:
    """Found: mod:mute / mod:unmute / mod:kick told a counselor whether any id was an
    account ("That user does not exist") and whether it was a patient ("Only patients can
    be muted"), for accounts of any cohort: an oracle over the clinic's accounts."""
    elsewhere = await world.cohort("Morning IOP")
    outsider, colleague = await world.user("patient", "Elsewhere"), await world.user("counselor", "Colleague")
    for person in (outsider, colleague):
        await world.enrol(elsewhere, person)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    strangers = {"no one": ObjectId(), "staff": cohort.staff.id, "patient": outsider.id, "counselor": colleague.id}

    answers = set()
    for event, extra in (("mod:mute", {"minutes": 5}), ("mod:unmute", {}), ("mod:kick", {})):
        for user_id in strangers.values():
            refused = await counselor.call(event, {"room_id": str(cohort.room.id), "user_id": str(user_id), **extra})
            answers.add((refused["error"]["code"], refused["error"]["message"]))

    assert answers == {("not_found", "That patient is not in this room's cohort.")}
    own = await counselor.call(
        "mod:mute", {"room_id": str(cohort.room.id), "user_id": str(cohort.counselor.id), "minutes": 5}
    )
    assert own["error"]["code"] == "invalid"  # a counselor of the room is in plain sight


async def test_acknowledging_a_flag_someone_already_has_is_a_read_on_the_record(world: World, cohort: Cohort) -> None:
    """Found: flag:ack (and POST .../acknowledge, .../resolve) on a flag already
    acknowledged or resolved changes nothing and returns the whole flag, the patient's text
    included, with no audit entry: a read of health information off the record."""
    colleague = await world.user("counselor", "Second counselor")
    await world.enrol(cohort.id, colleague)
    first = await oncall(world, cohort.counselor)
    second = await world.connect(colleague)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    alert = await first.next("alert:new")
    await first.ok("flag:ack", {"flag_id": alert["id"]})

    again = await second.ok("flag:ack", {"flag_id": alert["id"]})
    status, body = await world.http("POST", f"/api/flags/{alert['id']}/acknowledge", colleague)
    await first.ok("flag:resolve", {"flag_id": alert["id"], "outcome": "supported_in_chat"})
    status_resolved, resolved = await world.http(
        "POST", f"/api/flags/{alert['id']}/resolve", colleague, json={"outcome": "false_positive"}
    )

    assert again["flag"]["text"] == body["flag"]["text"] == resolved["flag"]["text"] == CRISIS
    assert status == status_resolved == 200 and resolved["flag"]["resolution"]["outcome"] == "supported_in_chat"
    reads = await world.stores.audit.count({"action": "flag.read", "target_id": alert["id"], "actor_id": colleague.id})
    assert reads == 3
    assert await world.stores.audit.count({"action": "flag.ack", "target_id": alert["id"]}) == 1


async def test_when_a_cohort_is_closed_its_open_sockets_stop_receiving_it_at_once(world: World, cohort: Cohort) -> None:
    """Found: PATCH /api/cohorts/{id} {"active": false} closed the cohort for every new
    connection and HTTP call, but sockets already open kept its rooms and alerts: patients
    went on receiving (and sending) the group's messages, counselors its flags, until they
    happened to reconnect. Removing one member takes effect at once; closing all of them did not."""
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await oncall(world, cohort.counselor)
    await counselor.ok("room:join", {"room_id": str(cohort.room.id)})
    staff = await world.connect(cohort.staff, join=cohort.room)

    status, _ = await world.http("PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"active": False})

    assert status == 200
    assert (await alice.next("room:removed"))["room_id"] == str(cohort.room.id)
    assert (await counselor.next("room:removed"))["room_id"] == str(cohort.room.id)
    refused = await alice.send(cohort.room.id, "still here?")
    assert refused["error"]["code"] == "forbidden"
    await staff.send(cohort.room.id, "The group has ended; thank you all.")
    bob = await world.connect(cohort.bob)  # a patient connecting now sees no room of it
    assert (await bob.call("room:join", {"room_id": str(cohort.room.id)}))["error"]["code"] == "forbidden"
    assert "message:new" not in await settled(alice)
    assert "message:new" not in await settled(counselor)

    await world.http("PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"active": True})
    assert (await alice.ok("room:join", {"room_id": str(cohort.room.id)}))["room"]["id"] == str(cohort.room.id)


# ---- reviewed, nothing wrong: kept as guards -------------------------------------------------


async def test_a_logged_out_token_and_a_deactivated_counselor_read_no_flag_or_checkin(
    world: World, cohort: Cohort
) -> None:
    """Every read of health information answers 401 to a revoked token and to a
    deactivated account, and reads nothing (no audit entry of a read)."""
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    [flag] = await world.stores.flags.open_for_cohorts(frozenset([cohort.id]))
    paths = [
        "/api/flags",
        f"/api/flags/{flag.id}",
        f"/api/cohorts/{cohort.id}/checkins",
        f"/api/rooms/{cohort.room.id}/messages",
    ]
    _, login = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.counselor.username, "password": PASSWORD}
    )
    revoked = {"Authorization": f"Bearer {login['token']}"}
    assert (await world.http("POST", "/api/auth/logout", headers=revoked))[0] == 204
    deactivated = {"Authorization": f"Bearer {world.token(cohort.counselor)}"}
    await world.http("PATCH", f"/api/users/{cohort.counselor.id}", cohort.staff, json={"active": False})

    for headers in (revoked, deactivated):
        for path in paths:
            status, body = await world.http("GET", path, headers=headers)
            assert (status, body["error"]["code"]) == (401, "unauthorized"), path
    reads = await world.stores.audit.count({"action": {"$in": ["flag.list", "flag.read", "checkin.read"]}})
    assert reads == 0


async def test_the_help_button_and_checkins_tell_peers_nothing_and_their_author_no_detector_output(
    world: World, cohort: Cohort
) -> None:
    """The flows added since the first leak, through the receive table: a help request
    (pressed twice, then acknowledged), a crisis check-in note and a low-mood check-in.
    The peer in the room receives nothing of them; the author, no flag or detector output."""
    counselor = await oncall(world, cohort.counselor)
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    for probe in (alice, bob):
        await settled(probe)  # the connects and joins (session, presence) are behind us
        probe.log.clear()

    help_ack = await alice.ok("help:request", {"room_id": str(cohort.room.id), "note": "please call me"})
    await alice.ok("help:request", {"room_id": str(cohort.room.id), "note": "still here"})
    note = await alice.ok("checkin:submit", {"mood": 1, "craving": 9, "note": CRISIS})
    alerts = [await counselor.next("alert:new") for _ in range(3)]  # help, crisis note, low mood
    assert {a["source"] for a in alerts} == {"help_button", "detector", "checkin"}
    await counselor.ok("flag:ack", {"flag_id": help_ack["flag_id"]})
    assert (await alice.next("help:updated"))["status"] == "acknowledged"

    assert "flag_ids" not in note["checkin"]
    assert await settled(bob) == []
    assert set(await settled(alice)) == {"crisis:resources", "help:updated"}
    for probe in (alice, bob):
        assert all(violations(viewer_of(probe, cohort.id), e, p) == [] for e, p in probe.log)
