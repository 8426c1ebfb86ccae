"""No crisis goes unseen: detection, hold, resources, alert routing, ack/resolve, reports."""

from __future__ import annotations

import logging

import pytest
from bson import ObjectId

from tests.conftest import Cohort, World

CRISIS = "I want to kill myself tonight"


async def oncall(world: World, user) -> object:  # type: ignore[no-untyped-def]
    probe = await world.connect(user)
    assert (await probe.ok("oncall:set", {"on": True}))["oncall"] is True
    return probe


async def test_high_severity_message_alerts_the_oncall_counselor_holds_it_and_shows_resources(
    world: World, cohort: Cohort
) -> None:
    counselor = await oncall(world, cohort.counselor)
    await counselor.ok("room:join", {"room_id": str(cohort.room.id)})
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)

    ack = await alice.send(cohort.room.id, CRISIS)

    message = ack["message"]
    assert message["status"] == "held"
    assert "flag_ids" not in message and "severity" not in message  # patients never see detector output
    alert = await counselor.next("alert:new")
    assert alert["message_id"] == message["id"]
    assert alert["severity"] == "high" and "suicide" in alert["categories"]
    assert alert["text"] == CRISIS and alert["source"] == "detector" and alert["status"] == "open"
    match = alert["matches"][0]
    assert CRISIS[match["start"] : match["end"]].lower().startswith("want to kill")
    assert alert["author"] == {"id": str(cohort.alice.id), "display_name": "Alice", "role": "patient"}
    resources = await alice.next("crisis:resources")
    assert resources["message_id"] == message["id"]
    contacts = " ".join(r["contact"] for r in resources["resources"])
    assert "988" in contacts and "741741" in contacts and "911" in contacts
    counselor_copy = await counselor.next("message:new")
    assert counselor_copy["status"] == "held" and counselor_copy["flag_ids"] == [alert["id"]]
    assert (await alice.next("message:new"))["status"] == "held"  # the author sees her own
    await bob.nothing("message:new")
    await bob.nothing("crisis:resources")
    history = await bob.ok("message:history", {"room_id": str(cohort.room.id)})
    assert history["messages"] == []
    flag = await world.stores.flags.get(ObjectId(alert["id"]))
    assert flag is not None and flag.status == "open"


async def test_release_shows_the_held_message_to_peers(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    held = (await alice.send(cohort.room.id, CRISIS))["message"]
    alice.drain("message:new")

    released = await counselor.ok("mod:release", {"message_id": held["id"]})

    assert released["message"]["status"] == "visible"
    peer_copy = await bob.next("message:new")
    assert peer_copy["id"] == held["id"] and peer_copy["text"] == CRISIS and "flag_ids" not in peer_copy
    author_update = await alice.next("message:updated")
    assert author_update["status"] == "visible"
    await alice.nothing("message:new")


async def test_patients_cannot_release(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    held = (await alice.send(cohort.room.id, CRISIS))["message"]
    ack = await alice.call("mod:release", {"message_id": held["id"]})
    assert ack["error"]["code"] == "forbidden"


async def test_a_counselor_of_another_cohort_gets_no_alert_when_the_cohorts_counselor_is_on_call(
    world: World, cohort: Cohort
) -> None:
    other_cohort = await world.cohort("Morning IOP")
    stranger = await world.user("counselor", "Other counselor")
    await world.enrol(other_cohort, stranger)
    ours = await oncall(world, cohort.counselor)
    theirs = await oncall(world, stranger)
    alice = await world.connect(cohort.alice, join=cohort.room)

    await alice.send(cohort.room.id, CRISIS)

    await ours.next("alert:new")
    await theirs.nothing("alert:new")


async def test_a_counselor_who_is_not_on_call_gets_no_live_alert(world: World, cohort: Cohort) -> None:
    off_duty = await world.connect(cohort.counselor)
    staff = await world.connect(cohort.staff)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    await staff.next("alert:new")
    await off_duty.nothing("alert:new")


async def test_with_nobody_on_call_staff_get_the_alert_and_the_patient_still_gets_resources(
    world: World, cohort: Cohort
) -> None:
    staff = await world.connect(cohort.staff)
    alice = await world.connect(cohort.alice, join=cohort.room)

    ack = await alice.send(cohort.room.id, CRISIS)

    assert (await staff.next("alert:new"))["message_id"] == ack["message"]["id"]
    assert (await alice.next("crisis:resources"))["resources"]


async def test_fallback_routing_reaches_other_on_call_counselors_who_may_then_ack(world: World, cohort: Cohort) -> None:
    other_cohort = await world.cohort("Morning IOP")
    stranger = await world.user("counselor", "Other counselor")
    await world.enrol(other_cohort, stranger)
    theirs = await oncall(world, stranger)
    alice = await world.connect(cohort.alice, join=cohort.room)

    await alice.send(cohort.room.id, CRISIS)
    alert = await theirs.next("alert:new")
    acked = await theirs.ok("flag:ack", {"flag_id": alert["id"]})

    assert acked["flag"]["status"] == "acknowledged"
    assert acked["flag"]["acknowledged_by"]["id"] == str(stranger.id)
    entries = await world.stores.audit.count({"action": "flag.break_glass", "actor_id": stranger.id})
    assert entries == 1
    # nothing else of that cohort opens to them
    join = await theirs.call("room:join", {"room_id": str(cohort.room.id)})
    assert join["error"]["code"] == "forbidden"


async def test_an_alert_raised_with_nobody_connected_arrives_when_a_counselor_goes_on_call(
    world: World, cohort: Cohort
) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    ack = await alice.send(cohort.room.id, CRISIS)
    counselor = await world.connect(cohort.counselor)
    await counselor.nothing("alert:new", within=0.3)

    await counselor.ok("oncall:set", {"on": True})

    assert (await counselor.next("alert:new"))["message_id"] == ack["message"]["id"]


async def test_an_oncall_counselor_gets_open_alerts_on_connect(world: World, cohort: Cohort) -> None:
    await world.stores.users.set_oncall(cohort.counselor.id, True)
    alice = await world.connect(cohort.alice, join=cohort.room)
    ack = await alice.send(cohort.room.id, CRISIS)
    counselor = await world.connect(cohort.counselor)
    assert (await counselor.next("alert:new"))["message_id"] == ack["message"]["id"]


async def test_ack_and_resolve_update_every_viewer(world: World, cohort: Cohort) -> None:
    counselor = await oncall(world, cohort.counselor)
    staff = await world.connect(cohort.staff)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    alert = await counselor.next("alert:new")
    await staff.next("alert:new")

    await counselor.ok("flag:ack", {"flag_id": alert["id"]})
    for viewer in (counselor, staff):
        assert (await viewer.next("alert:updated"))["status"] == "acknowledged"
    resolved = await staff.ok(
        "flag:resolve", {"flag_id": alert["id"], "outcome": "supported_in_chat", "note": "talked it through"}
    )
    assert resolved["flag"]["resolution"] == {"outcome": "supported_in_chat", "note": "talked it through"}
    for viewer in (counselor, staff):
        update = await viewer.next("alert:updated")
        assert update["status"] == "resolved" and update["resolved_by"]["id"] == str(cohort.staff.id)
    await alice.nothing("alert:updated")


async def test_resolve_needs_a_known_outcome(world: World, cohort: Cohort) -> None:
    counselor = await oncall(world, cohort.counselor)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    alert = await counselor.next("alert:new")
    ack = await counselor.call("flag:resolve", {"flag_id": alert["id"], "outcome": "made_up"})
    assert ack["error"]["code"] == "invalid"


async def test_a_peer_report_creates_a_flag_and_alerts(world: World, cohort: Cohort) -> None:
    counselor = await oncall(world, cohort.counselor)
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    sent = (await alice.send(cohort.room.id, "you people are pathetic"))["message"]

    report = await bob.ok("message:report", {"message_id": sent["id"], "reason": "this felt mean"})
    again = await bob.ok("message:report", {"message_id": sent["id"], "reason": "again"})

    alert = await counselor.next("alert:new")
    assert alert["id"] == report["flag_id"] == again["flag_id"]
    assert alert["source"] == "report" and alert["reason"] == "this felt mean"
    assert alert["reported_by"]["id"] == str(cohort.bob.id)


async def test_a_patient_cannot_report_a_message_of_another_cohort(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    sent = (await alice.send(cohort.room.id, "hello"))["message"]
    other_cohort = await world.cohort("Other")
    outsider = await world.user("patient")
    await world.enrol(other_cohort, outsider)
    probe = await world.connect(outsider)
    ack = await probe.call("message:report", {"message_id": sent["id"]})
    assert ack["error"]["code"] == "forbidden"


async def test_idioms_do_not_alert(world: World, cohort: Cohort) -> None:
    staff = await world.connect(cohort.staff)
    alice = await world.connect(cohort.alice, join=cohort.room)
    ack = await alice.send(cohort.room.id, "that workout killed me, dying to see you all thursday")
    assert ack["message"]["status"] == "visible"
    await staff.nothing("alert:new")


async def test_show_policy_lets_peers_see_high_severity_messages(world_factory) -> None:  # type: ignore[no-untyped-def]
    world = await world_factory(crisis_hold="show")
    room, (alice, bob) = await world.scene("patient", "patient")
    alice_probe = await world.connect(alice, join=room)
    bob_probe = await world.connect(bob, join=room)
    ack = await alice_probe.send(room.id, CRISIS)
    assert ack["message"]["status"] == "visible"
    assert (await bob_probe.next("message:new"))["id"] == ack["message"]["id"]
    assert await alice_probe.next("crisis:resources")


async def test_spanish_speaking_patient_gets_resources_in_spanish(world: World, cohort: Cohort) -> None:
    maria = await world.user("patient", "Maria", language="es")
    await world.enrol(cohort.id, maria)
    probe = await world.connect(maria, join=cohort.room)
    await probe.send(cohort.room.id, "me voy a matar esta noche")
    resources = await probe.next("crisis:resources")
    assert "AYUDA" in " ".join(f"{r['contact']} {r['note']}" for r in resources["resources"])


async def test_logs_never_contain_message_text(world: World, cohort: Cohort, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    counselor = await oncall(world, cohort.counselor)
    alice = await world.connect(cohort.alice, join=cohort.room)
    secret = "zebra-unique-phrase I want to kill myself tonight"
    await alice.send(cohort.room.id, secret)
    await counselor.next("alert:new")
    await alice.send(cohort.room.id, "another zebra-unique-phrase about my day")
    for record in caplog.records:
        assert "zebra-unique-phrase" not in record.getMessage()
        assert "kill myself" not in record.getMessage()


async def test_a_flood_of_reports_is_rate_limited(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    bob = await world.connect(cohort.bob, join=cohort.room)
    sent = [(await alice.send(cohort.room.id, f"message {i}"))["message"]["id"] for i in range(8)]
    acks = [await bob.call("message:report", {"message_id": message_id}) for message_id in sent]
    assert [a["ok"] for a in acks[:5]] == [True] * 5
    refused = acks[5]
    assert refused["error"]["code"] == "rate_limited" and refused["error"]["retry_after"] >= 1


async def test_when_the_detector_fails_the_message_is_held_and_a_counselor_is_alerted(world_factory) -> None:  # type: ignore[no-untyped-def]
    """Fail toward a human: a detector crash must never let a message through unjudged."""
    from moderation import Detection, Detector, load_lexicon
    from server.actions.detection import DetectionService

    class Broken(Detector):
        def scan(self, text: str) -> Detection:
            raise RuntimeError("lexicon automaton corrupted")

    world = await world_factory(semantic_detection=False)
    world.server.ctx.detection = DetectionService(Broken(load_lexicon()), enabled=False)
    room, (alice, bob, counselor) = await world.scene("patient", "patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    author = await world.connect(alice, join=room)
    peer = await world.connect(bob, join=room)

    sent = (await author.send(room.id, "see you all thursday"))["message"]

    assert sent["status"] == "held"
    alert = await on_call.next("alert:new")
    assert alert["message_id"] == sent["id"] and alert["severity"] == "high" and alert["reason"] == "detector_error"
    await peer.nothing("message:new")


async def test_a_broken_glass_flag_opens_only_to_counselors_on_call_until_it_escalates(
    world: World, cohort: Cohort
) -> None:
    """The glass breaks towards the counselors on call; a counselor of another cohort who is
    off call cannot read that crisis by its id (ObjectIds are close to sequential), until
    escalation sends it to every counselor."""
    other_cohort = await world.cohort("Morning IOP")
    on_duty, off_duty = await world.user("counselor", "On duty"), await world.user("counselor", "Off duty")
    for counselor in (on_duty, off_duty):
        await world.enrol(other_cohort, counselor)
    theirs = await oncall(world, on_duty)
    alice = await world.connect(cohort.alice, join=cohort.room)
    await alice.send(cohort.room.id, CRISIS)
    flag_id = (await theirs.next("alert:new"))["id"]

    status, _ = await world.http("GET", f"/api/flags/{flag_id}", off_duty)
    assert status == 403
    status, body = await world.http("GET", f"/api/flags/{flag_id}", on_duty)
    assert status == 200 and body["flag"]["text"] == CRISIS and body["context"] == {"before": [], "after": []}
    assert await world.stores.audit.count({"action": "flag.break_glass", "actor_id": off_duty.id}) == 0

    await world.stores.flags.transition(ObjectId(flag_id), {"status": "open"}, {"escalation_level": 1})
    status, _ = await world.http("GET", f"/api/flags/{flag_id}", off_duty)
    assert status == 200
