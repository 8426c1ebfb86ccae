"""Staff administration over HTTP, health endpoints, the web client's headers and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from server.http.middleware import CSP
from tests.conftest import PASSWORD, Cohort, World


async def test_staff_create_a_cohort_with_rooms_and_people_who_can_then_chat(world: World, cohort: Cohort) -> None:
    status, created = await world.http(
        "POST",
        "/api/cohorts",
        cohort.staff,
        json={
            "name": "Weekend IOP",
            "program": "IOP",
            "schedule": "Sat 9-12",
            "start_date": "2027-01-09",
            "end_date": None,
        },
    )
    assert status == 201
    assert created["name"] == "Weekend IOP" and created["active"] is True and created["start_date"] == "2027-01-09"
    cohort_id = created["id"]
    status, room = await world.http("POST", f"/api/cohorts/{cohort_id}/rooms", cohort.staff, json={"name": "Lounge"})
    assert status == 201 and room["cohort_id"] == cohort_id and room["cohort_name"] == "Weekend IOP"
    status, user = await world.http(
        "POST",
        "/api/users",
        cohort.staff,
        json={
            "username": "dana.w",
            "display_name": "Dana",
            "role": "patient",
            "password": "a-long-password",
            "language": "es",
        },
    )
    assert status == 201 and "password" not in user and "password_hash" not in user
    assert user["username"] == "dana.w" and user["language"] == "es" and user["active"] is True
    assert (await world.http("POST", f"/api/cohorts/{cohort_id}/members/{user['id']}", cohort.staff))[0] == 204
    assert (await world.http("POST", f"/api/cohorts/{cohort_id}/counselors/{cohort.counselor.id}", cohort.staff))[
        0
    ] == 204

    status, login = await world.http(
        "POST", "/api/auth/login", json={"username": "dana.w", "password": "a-long-password"}
    )
    assert status == 200
    status, me = await world.http("GET", "/api/me", headers={"Authorization": f"Bearer {login['token']}"})
    assert [r["name"] for r in me["rooms"]] == ["Lounge"]
    _, cohorts = await world.http("GET", "/api/cohorts", cohort.staff)
    listed = next(c for c in cohorts["cohorts"] if c["id"] == cohort_id)
    assert listed["member_ids"] == [user["id"]] and listed["counselor_ids"] == [str(cohort.counselor.id)]


async def test_a_newly_assigned_counselor_sees_the_cohort_without_reconnecting(world: World, cohort: Cohort) -> None:
    other_cohort = await world.cohort("Weekend")
    room = await world.room(other_cohort, "Lounge")
    counselor = await world.connect(cohort.counselor)
    assert (await counselor.call("room:join", {"room_id": str(room.id)}))["error"]["code"] == "forbidden"
    await world.http("POST", f"/api/cohorts/{other_cohort}/counselors/{cohort.counselor.id}", cohort.staff)
    assert (await counselor.call("room:join", {"room_id": str(room.id)}))["ok"] is True


async def test_patch_updates_a_cohort_and_renames_its_rooms(world: World, cohort: Cohort) -> None:
    status, updated = await world.http(
        "PATCH", f"/api/cohorts/{cohort.id}", cohort.staff, json={"name": "Evening IOP A"}
    )
    assert status == 200 and updated["name"] == "Evening IOP A"
    _, me = await world.http("GET", "/api/me", cohort.alice)
    assert me["rooms"][0]["cohort_name"] == "Evening IOP A"


async def test_admin_input_errors(world: World, cohort: Cohort) -> None:
    cases = [
        ("POST", "/api/cohorts", {}, 400),
        ("POST", "/api/cohorts", {"name": "x", "colour": "red"}, 400),
        ("POST", "/api/cohorts", {"name": 7}, 400),
        ("PATCH", "/api/cohorts/0123456789abcdef01234567", {"name": "x"}, 404),
        ("PATCH", "/api/cohorts/not-an-id", {"name": "x"}, 404),
        ("POST", "/api/users", {"username": "ok.name", "role": "admin"}, 400),
        ("POST", "/api/users", {"username": "a", "role": "patient"}, 400),
        ("POST", "/api/users", {"username": "ok.name2", "role": "patient", "password": "short"}, 400),
        ("POST", "/api/users", {"username": cohort.alice.username, "role": "patient"}, 409),
        ("POST", f"/api/cohorts/{cohort.id}/members/{cohort.counselor.id}", None, 400),
        ("POST", f"/api/cohorts/{cohort.id}/counselors/{cohort.alice.id}", None, 400),
        ("POST", f"/api/cohorts/{cohort.id}/members/0123456789abcdef01234567", None, 404),
        ("POST", "/api/cohorts/0123456789abcdef01234567/rooms", {"name": "x"}, 404),
    ]
    for method, path, body, expected in cases:
        status, answer = await world.http(method, path, cohort.staff, json=body)
        assert status == expected, (method, path, body, status, answer)
        assert set(answer["error"]) >= {"code", "message"}


@pytest.mark.parametrize("field", ["role", "language"])
async def test_staff_cannot_blank_an_accounts_role_or_language(world: World, cohort: Cohort, field: str) -> None:
    """null is not a role: an account stored without one could not sign in or be shown."""
    status, body = await world.http("PATCH", f"/api/users/{cohort.bob.id}", cohort.staff, json={field: None})
    assert status == 400 and body["error"]["code"] == "invalid"
    bob = await world.stores.users.get(cohort.bob.id)
    assert bob is not None and (bob.role, bob.language) == ("patient", "en")


async def test_malformed_json_is_invalid(world: World, cohort: Cohort) -> None:
    status, body = await world.http(
        "POST", "/api/cohorts", cohort.staff, data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["error"]["code"] == "invalid"


async def test_oversized_body_is_too_large(world: World, cohort: Cohort) -> None:
    status, body = await world.http("POST", "/api/cohorts", cohort.staff, json={"name": "x" * 400_000})
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_user_list_never_contains_password_hashes(world: World, cohort: Cohort) -> None:
    status, body = await world.http("GET", "/api/users", cohort.staff)
    assert status == 200 and len(body["users"]) == 4
    assert "argon2" not in str(body) and "password" not in str(body)


async def test_health_and_readiness(world: World, cohort: Cohort) -> None:
    assert await world.http("GET", "/healthz") == (200, {"status": "ok"})
    assert (await world.http("GET", "/readyz"))[0] == 200
    status, text = await world.http("GET", "/metrics")
    assert status == 200 and "iopchat_connections" in text


async def test_the_web_client_is_served_with_a_strict_content_security_policy(world: World, cohort: Cohort) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(world.server.url + "/") as response:
            html = await response.text()
            assert response.status == 200 and response.headers["Content-Security-Policy"] == CSP
            assert "<script>" not in html and "unsafe-inline" not in CSP
        async with session.get(world.server.url + "/vendor/socket.io.esm.min.js") as response:
            assert response.status == 200 and "javascript" in response.headers["Content-Type"]
        async with session.get(world.server.url + "/vendor/uPlot.esm.js") as response:
            assert response.status == 200 and "javascript" in response.headers["Content-Type"]
        async with session.get(world.server.url + "/vendor/uPlot.min.css") as response:
            assert response.status == 200 and "text/css" in response.headers["Content-Type"]
        async with session.get(world.server.url + "/static/js/main.js") as response:
            assert response.status == 200


def run_cli(*args: str, uri: str, db: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MONGODB_URI": uri, "MONGODB_DB": db, "APP_ENV": "development"}
    return subprocess.run([sys.executable, "-m", "server", *args], env=env, capture_output=True, text=True, timeout=120)


async def test_cli_creates_users_and_seeds_the_demo(mongodb_uri: str, db_name: str, server_factory) -> None:  # type: ignore[no-untyped-def]
    created = run_cli(
        "create-user",
        "--username",
        "nina",
        "--password",
        PASSWORD,
        "--role",
        "counselor",
        "--display-name",
        "Nina",
        uri=mongodb_uri,
        db=db_name,
    )
    assert created.returncode == 0, created.stderr
    seeded = run_cli("seed-demo", uri=mongodb_uri, db=db_name)
    assert seeded.returncode == 0 and "river" in seeded.stdout
    again = run_cli("seed-demo", uri=mongodb_uri, db=db_name)  # idempotent
    assert again.returncode == 0
    helped = run_cli("--help", uri=mongodb_uri, db=db_name)
    assert "create-user" in helped.stdout and "seed-demo" in helped.stdout
    server = await server_factory()
    world = World(server=server, password_hash="")
    status, body = await world.http("POST", "/api/auth/login", json={"username": "nina", "password": PASSWORD})
    assert status == 200 and body["user"]["role"] == "counselor"
    cohorts = await server.stores.cohorts.list()
    assert [c.name for c in cohorts] == ["Evening IOP — Group B"]
    assert len(await server.stores.rooms.for_cohorts(None)) == 2


async def test_staff_set_a_rooms_crisis_policy_and_the_send_path_follows_it(world: World, cohort: Cohort) -> None:
    crisis = "I want to kill myself tonight"
    status, body = await world.http("PATCH", f"/api/rooms/{cohort.room.id}", cohort.staff, json={"crisis_hold": "show"})
    assert status == 200 and body["crisis_hold"] == "show"
    author = await world.connect(cohort.alice, join=cohort.room)
    peer = await world.connect(cohort.bob, join=cohort.room)

    sent = (await author.send(cohort.room.id, crisis))["message"]

    assert sent["status"] == "visible" and (await peer.next("message:new"))["text"] == crisis
    assert await world.stores.audit.count({"action": "admin.room_update", "target_id": str(cohort.room.id)}) == 1
    status, body = await world.http("PATCH", f"/api/rooms/{cohort.room.id}", cohort.staff, json={"crisis_hold": None})
    assert status == 200 and body["crisis_hold"] is None
    held = (await author.send(cohort.room.id, crisis.replace("tonight", "today")))["message"]
    assert held["status"] == "held"
    await peer.nothing("message:new")


@pytest.mark.parametrize(
    ("who", "payload", "expected"),
    [("alice", {"crisis_hold": "show"}, 403), ("counselor", {"crisis_hold": "show"}, 403),
     ("staff", {"crisis_hold": "maybe"}, 400), ("staff", {"locked": True}, 400)],
)  # fmt: skip
async def test_only_staff_set_a_rooms_crisis_policy_and_only_to_known_values(
    world: World, cohort: Cohort, who: str, payload: dict, expected: int
) -> None:
    status, _ = await world.http("PATCH", f"/api/rooms/{cohort.room.id}", getattr(cohort, who), json=payload)
    assert status == expected


async def test_metrics_parse_as_prometheus_text_and_move_after_a_send_and_a_flag(world: World, cohort: Cohort) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    _, before = await world.http("GET", "/metrics")
    author = await world.connect(cohort.alice, join=cohort.room)
    counselor = await world.connect(cohort.counselor)
    await counselor.ok("oncall:set", {"on": True})
    await author.send(cohort.room.id, "hello all")
    await author.send(cohort.room.id, "I want to kill myself tonight")
    alert = await counselor.next("alert:new")
    await counselor.ok("flag:ack", {"flag_id": alert["id"]})
    _, after = await world.http("GET", "/metrics")

    was, now = samples(before), samples(after)
    assert now[("iopchat_messages_stored_total", ())] - was.get(("iopchat_messages_stored_total", ()), 0) == 2
    key = ("iopchat_flags_total", (("severity", "high"), ("source", "detector")))
    assert now[key] - was.get(key, 0) == 1
    assert now[("iopchat_flag_ack_seconds_count", (("severity", "high"),))] == 1
    assert now[("iopchat_connections", ())] >= 2
    assert any(name == "iopchat_db_seconds_count" and value > 0 for (name, _), value in now.items())
    assert now[("iopchat_detector_seconds_count", ())] >= 2


async def test_every_staff_read_of_the_account_and_cohort_directories_is_audited(world: World, cohort: Cohort) -> None:
    """Who is in a substance-use program is protected (42 CFR Part 2): reading the lists
    that name the patients leaves a record of who read them, like any PHI read."""
    for path in ("/api/users", "/api/cohorts", "/api/users"):
        status, _ = await world.http("GET", path, cohort.staff)
        assert status == 200

    _, audit = await world.http("GET", "/api/audit?action=admin.users_read", cohort.staff)
    assert [e["actor"]["id"] for e in audit["entries"]] == [str(cohort.staff.id)] * 2
    assert audit["entries"][0]["details"]["count"] >= 4  # the cohort's two patients, its counselor, staff
    assert await world.stores.audit.count({"action": "admin.cohorts_read", "actor_id": cohort.staff.id}) == 1
