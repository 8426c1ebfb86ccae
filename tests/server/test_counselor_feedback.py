"""Counselor feedback becomes training data: a "concerning, not flagged" mark is a flag
and a labelled positive; a false-positive resolution is a labelled negative; the export
is text only, staff only, and audited."""

from __future__ import annotations

from tests.conftest import Cohort, World

QUIET = "my sister stopped answering my calls"


def test_the_quiet_message_is_not_flagged_by_lexicon_or_model() -> None:
    from moderation import detect

    assert detect([QUIET])[0].severity is None


async def test_a_counselors_concerning_mark_creates_a_flag_and_shows_in_the_export(
    world: World, cohort: Cohort
) -> None:
    moderator = await world.connect(cohort.counselor, join=cohort.room)
    await moderator.ok("oncall:set", {"on": True})
    author = await world.connect(cohort.alice, join=cohort.room)
    sent = (await author.send(cohort.room.id, QUIET))["message"]

    marked = await moderator.ok(
        "mod:concern", {"message_id": sent["id"], "severity": "medium", "category": "suicide", "note": "isolating"}
    )

    alert = await moderator.next("alert:new")
    assert alert["message_id"] == sent["id"] and alert["source"] == "counselor"
    assert alert["severity"] == "medium" and alert["categories"] == ["suicide"]
    assert marked["flag"]["id"] == alert["id"]
    status, body = await world.http("GET", "/api/feedback/export", cohort.staff)
    assert status == 200
    assert {"text": QUIET, "severity": "medium", "category": "suicide"}.items() <= body["examples"][0].items()
    exported = body["examples"][0]
    assert not {"message_id", "author_name", "author_id", "room_id", "created_at"} & exported.keys()
    assert await world.stores.audit.count({"action": "feedback.export"}) == 1


async def test_a_false_positive_resolution_is_exported_as_a_labelled_negative(world: World, cohort: Cohort) -> None:
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    author = await world.connect(cohort.alice, join=cohort.room)
    joke = "this homework is killing me lol, I want to die of boredom"
    await author.send(cohort.room.id, joke)
    alert = await counselor.next("alert:new")
    status, _ = await world.http(
        "POST", f"/api/flags/{alert['id']}/resolve", cohort.staff, json={"outcome": "false_positive"}
    )
    assert status == 200

    _, body = await world.http("GET", "/api/feedback/export", cohort.staff)
    assert [(e["text"], e["severity"], e["category"]) for e in body["examples"]] == [(joke, "none", None)]


async def test_only_staff_may_export_feedback(world: World, cohort: Cohort) -> None:
    for user in (cohort.alice, cohort.counselor):
        status, _ = await world.http("GET", "/api/feedback/export", user)
        assert status == 403
    status, _ = await world.http("GET", "/api/feedback/export")
    assert status == 401


async def test_a_patient_cannot_mark_a_message_concerning(world: World, cohort: Cohort) -> None:
    bob = await world.connect(cohort.bob, join=cohort.room)
    author = await world.connect(cohort.alice, join=cohort.room)
    sent = (await author.send(cohort.room.id, "see you thursday"))["message"]
    reply = await bob.call("mod:concern", {"message_id": sent["id"], "category": "suicide"})
    assert reply["ok"] is False and reply["error"]["code"] == "forbidden"
    _, queue = await world.http("GET", "/api/flags", cohort.staff)
    assert queue["flags"] == []
