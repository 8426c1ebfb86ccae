"""Sign-in throttling as OWASP describes it: parallel guesses all count, a stranger cannot
lock a counselor out, and behind a trusted proxy the real client address is used."""

from __future__ import annotations

import asyncio

from tests.conftest import PASSWORD, Cohort, World


def via(address: str) -> dict[str, dict[str, str]]:
    return {"headers": {"X-Forwarded-For": address}}


async def test_forty_parallel_guesses_get_at_most_five_password_checks(world: World, cohort: Cohort) -> None:
    guess = {"username": cohort.counselor.username, "password": "guess-guess"}
    statuses = await asyncio.gather(*(world.http("POST", "/api/auth/login", json=guess) for _ in range(40)))
    checked = sum(1 for status, _ in statuses if status == 401)
    assert checked <= 5 and sum(1 for status, _ in statuses if status == 429) >= 35


async def test_a_stranger_cannot_lock_a_counselor_out_of_her_usual_address(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(trusted_proxies=("127.0.0.1/32",))
    counselor = await world.user("counselor", "Casey")
    right = {"username": counselor.username, "password": PASSWORD}
    assert (await world.http("POST", "/api/auth/login", json=right, **via("10.0.0.2")))[0] == 200  # her desk

    wrong = {"username": counselor.username, "password": "guess-guess"}
    for attacker in range(12):  # 60 failures from 12 addresses: past the username's ceiling of 50
        for _ in range(5):
            await world.http("POST", "/api/auth/login", json=wrong, **via(f"203.0.113.{attacker + 1}"))

    elsewhere, _ = await world.http("POST", "/api/auth/login", json=right, **via("198.51.100.7"))
    at_her_desk, body = await world.http("POST", "/api/auth/login", json=right, **via("10.0.0.2"))
    assert elsewhere == 429  # an unknown address is throttled by the ceiling...
    assert at_her_desk == 200 and body["token"]  # ...her usual one is not


async def test_behind_a_trusted_proxy_the_audit_records_the_real_client(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(trusted_proxies=("127.0.0.1/32",))
    user = await world.user("patient")
    wrong = {"username": user.username, "password": "guess-guess"}
    await world.http("POST", "/api/auth/login", json=wrong, **via("192.0.2.44, 127.0.0.1"))
    entry = await world.stores.db["audit"].find_one({"action": "auth.login_failed"})
    assert entry is not None and entry["origin"]["ip"] == "192.0.2.44"


async def test_without_trusted_proxies_a_forwarded_header_is_ignored(world: World, cohort: Cohort) -> None:
    wrong = {"username": cohort.alice.username, "password": "guess-guess"}
    for i in range(5):  # a spoofed header cannot spread guesses over fake addresses
        await world.http("POST", "/api/auth/login", json=wrong, **via(f"203.0.113.{i}"))
    status, _ = await world.http("POST", "/api/auth/login", json=wrong, **via("203.0.113.99"))
    assert status == 429
    entry = await world.stores.db["audit"].find_one({"action": "auth.login_failed"})
    assert entry is not None and entry["origin"]["ip"] == "127.0.0.1"
