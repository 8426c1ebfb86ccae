"""The staff review queue, flag detail with context, the audit log and the lexicon report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bson import ObjectId

from server.actions import retention
from server.clock import utcnow
from tests.conftest import Cohort, World

CRISIS = "I want to kill myself tonight"
MEDIUM = "I picked up again last night"


async def flagged(world: World, cohort: Cohort, texts: list[str]) -> list[str]:
    alice = await world.connect(cohort.alice, join=cohort.room)
    ids = []
    for text in texts:
        sent = await alice.send(cohort.room.id, text)
        ids.append(str((await world.stores.flags.for_message(ObjectId(sent["message"]["id"])))[0].id))
    return ids


async def test_flags_sort_high_first_then_newest_and_filter(world: World, cohort: Cohort) -> None:
    medium_old, high_old, medium_new, high_new = await flagged(world, cohort, [MEDIUM, CRISIS, MEDIUM, CRISIS])

    status, body = await world.http("GET", "/api/flags", cohort.staff)
    assert status == 200
    assert [f["id"] for f in body["flags"]] == [high_new, high_old, medium_new, medium_old]
    assert body["next_cursor"] is None

    _, only_medium = await world.http("GET", "/api/flags?severity=medium", cohort.staff)
    assert [f["id"] for f in only_medium["flags"]] == [medium_new, medium_old]
    _, none_resolved = await world.http("GET", "/api/flags?status=resolved", cohort.staff)
    assert none_resolved["flags"] == []
    future = (utcnow() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    _, since_future = await world.http("GET", f"/api/flags?since={future}", cohort.staff)
    assert since_future["flags"] == []
    bad, error = await world.http("GET", "/api/flags?severity=urgent", cohort.staff)
    assert bad == 400 and error["error"]["code"] == "invalid"


async def test_cursor_pagination_stays_stable_while_new_flags_arrive(world: World, cohort: Cohort) -> None:
    first_batch = await flagged(world, cohort, [MEDIUM] * 5)
    _, page1 = await world.http("GET", "/api/flags?limit=2", cohort.staff)
    await flagged(world, cohort, [MEDIUM, CRISIS])  # arrive between pages
    seen = [f["id"] for f in page1["flags"]]
    cursor = page1["next_cursor"]
    while cursor:
        _, page = await world.http("GET", f"/api/flags?limit=2&cursor={cursor}", cohort.staff)
        seen += [f["id"] for f in page["flags"]]
        cursor = page["next_cursor"]
    assert seen == list(reversed(first_batch))


async def test_counselors_see_only_their_cohorts_flags(world: World, cohort: Cohort) -> None:
    ours = await flagged(world, cohort, [CRISIS])
    other_cohort = await world.cohort("Elsewhere")
    other_counselor = await world.user("counselor")
    await world.enrol(other_cohort, other_counselor)

    _, mine = await world.http("GET", "/api/flags", cohort.counselor)
    _, theirs = await world.http("GET", "/api/flags", other_counselor)
    forbidden, _ = await world.http("GET", f"/api/flags?cohort_id={cohort.id}", other_counselor)
    detail, _ = await world.http("GET", f"/api/flags/{ours[0]}", other_counselor)

    assert [f["id"] for f in mine["flags"]] == ours
    assert theirs["flags"] == []
    assert forbidden == 403 and detail == 403


async def test_reading_a_flag_returns_context_and_writes_an_audit_entry(world: World, cohort: Cohort) -> None:
    alice = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor, join=cohort.room)
    before = [(await alice.send(cohort.room.id, f"before {i}"))["message"]["id"] for i in range(6)]
    crisis = (await alice.send(cohort.room.id, CRISIS))["message"]
    after = [(await counselor.send(cohort.room.id, f"after {i}"))["message"]["id"] for i in range(6)]
    await counselor.ok("mod:hide", {"message_id": before[-1]})
    flag_id = str((await world.stores.flags.for_message(ObjectId(crisis["id"])))[0].id)

    status, body = await world.http("GET", f"/api/flags/{flag_id}", cohort.counselor)

    assert status == 200
    assert body["flag"]["id"] == flag_id and body["flag"]["text"] == CRISIS
    assert [m["id"] for m in body["context"]["before"]] == before[1:]
    assert [m["id"] for m in body["context"]["after"]] == after[:5]
    assert body["context"]["before"][-1]["status"] == "hidden"
    assert body["context"]["before"][-1]["text"] == "before 5"  # staff see moderated text
    reads = await world.stores.audit.count({"action": "flag.read", "target_id": flag_id})
    assert reads == 1


async def test_acknowledge_and_resolve_over_http(world: World, cohort: Cohort) -> None:
    (flag_id,) = await flagged(world, cohort, [CRISIS])
    status, acked = await world.http("POST", f"/api/flags/{flag_id}/acknowledge", cohort.counselor)
    assert status == 200 and acked["flag"]["status"] == "acknowledged"
    bad, _ = await world.http("POST", f"/api/flags/{flag_id}/resolve", cohort.counselor, json={"outcome": "nope"})
    assert bad == 400
    status, resolved = await world.http(
        "POST", f"/api/flags/{flag_id}/resolve", cohort.staff, json={"outcome": "contacted_patient", "note": "called"}
    )
    assert status == 200 and resolved["flag"]["status"] == "resolved"
    assert resolved["flag"]["resolution"] == {"outcome": "contacted_patient", "note": "called"}
    patient, _ = await world.http("POST", f"/api/flags/{flag_id}/acknowledge", cohort.alice)
    assert patient == 403


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/flags"),
        ("GET", "/api/audit"),
        ("GET", "/api/reports/lexicon"),
        ("GET", "/api/cohorts"),
        ("GET", "/api/users"),
    ],
)
async def test_patients_are_forbidden_from_review_and_admin_endpoints(
    world: World, cohort: Cohort, method: str, path: str
) -> None:
    status, body = await world.http(method, path, cohort.alice)
    assert status == 403 and body["error"]["code"] == "forbidden"


@pytest.mark.parametrize("path", ["/api/audit", "/api/reports/lexicon", "/api/cohorts", "/api/users"])
async def test_counselors_are_forbidden_from_staff_endpoints(world: World, cohort: Cohort, path: str) -> None:
    assert (await world.http("GET", path, cohort.counselor))[0] == 403


async def test_the_audit_log_cannot_be_changed_through_any_endpoint(world: World, cohort: Cohort) -> None:
    await world.http("POST", "/api/auth/login", json={"username": cohort.alice.username, "password": "wrong-password"})
    _, body = await world.http("GET", "/api/audit", cohort.staff)
    entry_id = body["entries"][0]["id"]
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        for path in ("/api/audit", f"/api/audit/{entry_id}"):
            status, _ = await world.http(method, path, cohort.staff, json={"action": "nothing.happened"})
            assert status in (404, 405), (method, path, status)
    _, again = await world.http("GET", "/api/audit", cohort.staff)
    assert any(e["id"] == entry_id and e["action"] == "auth.login_failed" for e in again["entries"])


async def test_audit_filters_and_pagination(world: World, cohort: Cohort) -> None:
    for _ in range(3):
        await world.http(
            "POST", "/api/auth/login", json={"username": cohort.alice.username, "password": "wrong-password"}
        )
    _, page1 = await world.http("GET", "/api/audit?action=auth.login_failed&limit=2", cohort.staff)
    _, page2 = await world.http(
        "GET", f"/api/audit?action=auth.login_failed&limit=2&cursor={page1['next_cursor']}", cohort.staff
    )
    ids = [e["id"] for e in page1["entries"] + page2["entries"]]
    assert len(ids) == len(set(ids)) == 3 and page2["next_cursor"] is None
    assert all(e["action"] == "auth.login_failed" for e in page1["entries"] + page2["entries"])
    assert ids == sorted(ids, reverse=True)  # newest first


async def test_the_lexicon_report_counts_flags_and_false_positives_per_term(world: World, cohort: Cohort) -> None:
    first, second = await flagged(world, cohort, [CRISIS, CRISIS.replace("tonight", "today")])
    await world.http("POST", f"/api/flags/{first}/resolve", cohort.staff, json={"outcome": "false_positive"})
    status, body = await world.http("GET", "/api/reports/lexicon", cohort.staff)
    assert status == 200
    row = next(r for r in body["terms"] if r["category"] == "suicide")
    assert row["flags"] == 2 and row["false_positives"] == 1 and row["false_positive_rate"] == 0.5
    del second


async def test_retention_purges_only_text_older_than_the_limit_and_is_audited(world_factory) -> None:  # type: ignore[no-untyped-def]
    world = await world_factory(retention_days=30)
    server = world.server
    room, (alice,) = await world.scene("patient")
    probe = await world.connect(alice, join=room)
    old = (await probe.send(room.id, "an old message"))["message"]["id"]
    new = (await probe.send(room.id, "a new message"))["message"]["id"]
    await server.stores.db["messages"].update_one(
        {"_id": ObjectId(old)}, {"$set": {"created_at": utcnow() - timedelta(days=31)}}
    )

    purged = await retention.purge_once(server.ctx)

    assert purged == 1
    history = await probe.ok("message:history", {"room_id": str(room.id)})
    assert [(m["id"], m["text"]) for m in history["messages"]] == [(old, None), (new, "a new message")]
    entry = await server.stores.db["audit"].find_one({"action": "retention.purge"}, sort=[("_id", -1)])
    assert entry is not None and entry["details"]["count"] == 1
    await probe.close()


HTTP_MATRIX = {
    # endpoint: expected status for patient, counselor of the cohort, counselor of another cohort, staff
    ("GET", "/api/flags"): (403, 200, 200, 200),
    ("GET", "/api/flags/{flag}"): (403, 200, 403, 200),
    ("POST", "/api/flags/{flag}/acknowledge"): (403, 200, 403, 200),
    ("POST", "/api/flags/{flag}/resolve"): (403, 200, 403, 200),
    ("GET", "/api/audit"): (403, 403, 403, 200),
    ("GET", "/api/reports/lexicon"): (403, 403, 403, 200),
}


@pytest.mark.parametrize("method, path", sorted(HTTP_MATRIX))
async def test_permission_matrix_for_review_and_audit_endpoints(
    world: World, cohort: Cohort, method: str, path: str
) -> None:
    other_cohort = await world.cohort("Elsewhere")
    other_counselor = await world.user("counselor")
    await world.enrol(other_cohort, other_counselor)
    deactivated = await world.user("staff", "Former staff")
    token_of_deactivated = world.token(deactivated)
    await world.stores.users.deactivate(deactivated.id)
    actors = (cohort.alice, cohort.counselor, other_counselor, cohort.staff)
    for actor, expected in zip(actors, HTTP_MATRIX[(method, path)], strict=True):
        (flag_id,) = await flagged(world, cohort, [CRISIS + f" {actor.display_name}"])
        body = {"outcome": "other"} if path.endswith("resolve") else None
        status, _ = await world.http(method, path.format(flag=flag_id), actor, json=body)
        assert status == expected, f"{actor.display_name} {method} {path}: {status}"
    status, _ = await world.http(
        method, path.format(flag=flag_id), headers={"Authorization": f"Bearer {token_of_deactivated}"}
    )
    assert status == 401


async def test_retention_purges_the_text_of_resolved_flags_but_not_open_ones(world_factory) -> None:  # type: ignore[no-untyped-def]
    world = await world_factory(retention_days=30, semantic_detection=False)
    server = world.server
    room, (alice, staff) = await world.scene("patient", "staff")
    probe = await world.connect(alice, join=room)
    resolved = (await probe.send(room.id, CRISIS))["message"]["id"]
    still_open = (await probe.send(room.id, CRISIS.replace("tonight", "today")))["message"]["id"]
    flags = [(await server.stores.flags.for_message(ObjectId(m)))[0] for m in (resolved, still_open)]
    await world.http("POST", f"/api/flags/{flags[0].id}/resolve", staff, json={"outcome": "false_positive"})
    old = utcnow() - timedelta(days=31)
    for flag in flags:
        await server.stores.db["flags"].update_one({"_id": flag.id}, {"$set": {"created_at": old}})
        await server.stores.db["messages"].update_one({"_id": flag.message_id}, {"$set": {"created_at": old}})

    await retention.purge_once(server.ctx)

    purged, kept = [await server.stores.flags.get(f.id) for f in flags]
    assert purged is not None and purged.text is None
    assert kept is not None and kept.text == CRISIS.replace("tonight", "today")  # a counselor must still read it
    entry = await server.stores.db["audit"].find_one({"action": "retention.purge"}, sort=[("_id", -1)])
    assert entry is not None and entry["details"]["flags"] == 1
    await probe.close()
