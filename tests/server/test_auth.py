"""Tokens, login, logout and deactivation, as a client sees them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import aiohttp
import jwt
import pytest

from tests.conftest import PASSWORD, TEST_SECRET, Cohort, World, open_probe


def claims(user_id: str, **overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "sub": user_id,
        "role": "patient",
        "iss": "iopchat",
        "aud": "iopchat",
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def forged_tokens(user_id: str) -> dict[str, str]:
    none_header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    body = jwt.utils.base64url_encode(json.dumps(claims(user_id)).encode()).decode()
    return {
        "garbage": "not-a-token",
        "wrong-key": jwt.encode(claims(user_id), "another-secret-" + "y" * 40, algorithm="HS256"),
        "alg-none": f"{none_header}.{body}.",
        "no-exp": jwt.encode(claims(user_id, exp=None), TEST_SECRET, algorithm="HS256"),
        "no-jti": jwt.encode(claims(user_id, jti=None), TEST_SECRET, algorithm="HS256"),
        "wrong-aud": jwt.encode(claims(user_id, aud="elsewhere"), TEST_SECRET, algorithm="HS256"),
        "wrong-iss": jwt.encode(claims(user_id, iss="iopchat.evil"), TEST_SECRET, algorithm="HS256"),
        "wrong-role": jwt.encode(claims(user_id, role="staff"), TEST_SECRET, algorithm="HS256"),
        "unknown-user": jwt.encode(claims("0123456789abcdef01234567"), TEST_SECRET, algorithm="HS256"),
        "hs512": jwt.encode(claims(user_id), TEST_SECRET + "z" * 20, algorithm="HS512"),
    }


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "wrong-key",
        "alg-none",
        "no-exp",
        "no-jti",
        "wrong-aud",
        "wrong-iss",
        "wrong-role",
        "unknown-user",
        "hs512",
    ],
)
async def test_forged_or_malformed_tokens_are_refused_as_unauthorized(world: World, cohort: Cohort, kind: str) -> None:
    probe = await open_probe(world.server.url, forged_tokens(str(cohort.alice.id))[kind])
    world.probes.append(probe)
    assert not probe.client.connected
    assert probe.refusal["code"] == "unauthorized"


async def test_no_token_is_refused(world: World, cohort: Cohort) -> None:
    probe = await open_probe(world.server.url, None)
    world.probes.append(probe)
    assert not probe.client.connected and probe.refusal["code"] == "unauthorized"


async def test_expired_token_is_refused_as_token_expired(world: World, cohort: Cohort) -> None:
    past = int(time.time()) - 3600
    token = jwt.encode(claims(str(cohort.alice.id), iat=past - 600, exp=past), TEST_SECRET, algorithm="HS256")
    probe = await open_probe(world.server.url, token)
    world.probes.append(probe)
    assert probe.refusal["code"] == "token_expired"


async def test_a_socket_ends_when_its_token_expires_without_sending_anything(world: World, cohort: Cohort) -> None:
    """A timer, not the next event: a silent socket must not go on receiving broadcasts."""
    soon = int(time.time()) + 2
    token = jwt.encode(claims(str(cohort.alice.id), exp=soon), TEST_SECRET, algorithm="HS256")
    probe = await open_probe(world.server.url, token)
    world.probes.append(probe)
    await probe.ok("room:join", {"room_id": str(cohort.room.id)})

    assert (await probe.next("session:ended", timeout=10)) == {"reason": "token_expired"}
    await asyncio.wait_for(probe.disconnected.wait(), 5)
    peer = await world.connect(cohort.bob, join=cohort.room)
    await peer.send(cohort.room.id, "anyone here?")
    await probe.nothing("message:new")


async def test_a_disallowed_origin_is_refused(world: World, cohort: Cohort) -> None:
    probe = await open_probe(world.server.url, world.token(cohort.alice), headers={"Origin": "https://evil.example"})
    world.probes.append(probe)
    assert not probe.client.connected


async def test_the_servers_own_origin_is_allowed(world: World, cohort: Cohort) -> None:
    probe = await open_probe(world.server.url, world.token(cohort.alice), headers={"Origin": world.server.url})
    world.probes.append(probe)
    assert probe.client.connected


async def test_login_returns_a_token_that_opens_a_socket(world: World, cohort: Cohort) -> None:
    status, body = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.alice.username, "password": PASSWORD}
    )
    assert status == 200
    assert body["user"] == {"id": str(cohort.alice.id), "display_name": "Alice", "role": "patient"}
    assert body["expires_at"].endswith("Z")
    probe = await open_probe(world.server.url, body["token"])
    world.probes.append(probe)
    assert probe.client.connected
    decoded = jwt.decode(body["token"], TEST_SECRET, algorithms=["HS256"], audience="iopchat")
    assert {"sub", "role", "iss", "aud", "iat", "exp", "jti"} <= set(decoded)


async def test_wrong_password_and_unknown_user_get_the_same_answer(world: World, cohort: Cohort) -> None:
    bad_password = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.alice.username, "password": "nope-nope"}
    )
    unknown = await world.http("POST", "/api/auth/login", json={"username": "nobody-here", "password": "nope-nope"})
    assert bad_password == unknown
    assert bad_password[0] == 401 and bad_password[1]["error"]["code"] == "unauthorized"


async def test_login_is_rate_limited_after_five_failures_for_a_username(world: World, cohort: Cohort) -> None:
    for _ in range(5):
        status, _ = await world.http(
            "POST", "/api/auth/login", json={"username": cohort.bob.username, "password": "guess-guess"}
        )
        assert status == 401
    status, body = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.bob.username, "password": PASSWORD}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited"
    async with aiohttp.ClientSession() as session:
        async with session.post(
            world.server.url + "/api/auth/login", json={"username": cohort.bob.username, "password": PASSWORD}
        ) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) > 0
    # another username is unaffected
    status, _ = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.alice.username, "password": PASSWORD}
    )
    assert status == 200


async def test_logout_revokes_the_token_and_ends_its_sockets(world: World, cohort: Cohort) -> None:
    _, body = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.alice.username, "password": PASSWORD}
    )
    token = body["token"]
    probe = await open_probe(world.server.url, token)
    world.probes.append(probe)
    other_session = await world.connect(cohort.alice)  # a different token stays connected

    status, _ = await world.http("POST", "/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    ended = await probe.next("session:ended")

    assert status == 204 and ended == {"reason": "logout"}
    await asyncio.wait_for(probe.disconnected.wait(), 5)
    replay = await open_probe(world.server.url, token)
    world.probes.append(replay)
    assert replay.refusal["code"] == "unauthorized"
    me_status, _ = await world.http("GET", "/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me_status == 401
    assert other_session.client.connected


async def test_deactivated_user_is_disconnected_and_cannot_come_back(world: World, cohort: Cohort) -> None:
    token = world.token(cohort.bob)
    bob = await open_probe(world.server.url, token)
    world.probes.append(bob)

    status, body = await world.http("PATCH", f"/api/users/{cohort.bob.id}", cohort.staff, json={"active": False})
    ended = await bob.next("session:ended")

    assert status == 200 and body["active"] is False
    assert ended["reason"] == "deactivated"
    await asyncio.wait_for(bob.disconnected.wait(), 5)
    again = await open_probe(world.server.url, token)
    world.probes.append(again)
    assert again.refusal["code"] == "unauthorized"
    login, _ = await world.http("POST", "/api/auth/login", json={"username": cohort.bob.username, "password": PASSWORD})
    assert login == 401

    # Re-activation does not revive old tokens; a new login works.
    await world.http("PATCH", f"/api/users/{cohort.bob.id}", cohort.staff, json={"active": True})
    old = await open_probe(world.server.url, token)
    world.probes.append(old)
    assert old.refusal["code"] == "unauthorized"
    login, body = await world.http(
        "POST", "/api/auth/login", json={"username": cohort.bob.username, "password": PASSWORD}
    )
    assert login == 200


async def test_http_api_refuses_missing_and_bad_tokens(world: World, cohort: Cohort) -> None:
    assert (await world.http("GET", "/api/me"))[0] == 401
    status, body = await world.http("GET", "/api/me", headers={"Authorization": "Bearer nope"})
    assert status == 401 and body == {"error": {"code": "unauthorized", "message": body["error"]["message"]}}


async def test_after_a_bad_connect_the_engineio_session_takes_no_more_tries_and_closes(
    world: World, cohort: Cohort
) -> None:
    """A refused CONNECT must not leave the Engine.IO session open for token guessing (W4).

    A raw Engine.IO websocket, not python-socketio's client (which closes its own
    session after a refusal and so would pass either way): even a valid token on the
    same session is refused, and the server closes the session."""
    import aiohttp

    url = world.server.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    replies: list[str] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        assert (await ws.receive_str()).startswith("0")  # Engine.IO open
        for token in ("bad-token", "guess-2", world.token(cohort.alice)):
            await ws.send_str("40" + json.dumps({"token": token}))
        while True:  # until the server's Engine.IO CLOSE packet ("1")
            frame = await asyncio.wait_for(ws.receive(), 5)
            assert frame.type == aiohttp.WSMsgType.TEXT
            if frame.data == "1":
                break
            replies.append(frame.data)
    assert len(replies) == 3 and all(r.startswith("44") and '"unauthorized"' in r for r in replies)
    assert world.server.ctx.sio.eio.sockets == {}


@pytest.mark.parametrize("namespace", ["/admin", "/x"])
async def test_other_namespaces_are_refused(world: World, cohort: Cohort, namespace: str) -> None:
    """No admin UI and no catch-all namespace (SECURITY.md W9, W10)."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            world.server.url,
            namespaces=[namespace],
            auth={"token": world.token(cohort.staff)},
            transports=["websocket"],
            wait_timeout=5,
        )
    await client.disconnect()


async def test_an_identity_providers_rs256_tokens_are_accepted_and_hs_confusion_is_refused(
    server_factory,
    password_hash,  # type: ignore[no-untyped-def]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    server = await server_factory(jwt_public_key=public_pem, jwt_algorithm="RS256")
    idp_world = World(server=server, password_hash=password_hash)
    user = await idp_world.user("patient", "Rae")

    good = jwt.encode(claims(str(user.id)), key, algorithm="RS256")
    confused = jwt.encode(claims(str(user.id)), TEST_SECRET, algorithm="HS256")

    accepted = await open_probe(server.url, good)
    refused = await open_probe(server.url, confused)
    idp_world.probes += [accepted, refused]
    assert accepted.client.connected
    assert refused.refusal["code"] == "unauthorized"
    status, _ = await idp_world.http("POST", "/api/auth/login", json={"username": user.username, "password": PASSWORD})
    assert status == 400  # this server issues no tokens of its own when an IdP signs them
    for probe in idp_world.probes:
        await probe.close()


async def test_bootstrap_staff_account_is_created_once(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = await server_factory(bootstrap_staff_username="first.admin", bootstrap_staff_password="a-strong-password")
    bootstrap_world = World(server=server, password_hash="")
    status, body = await bootstrap_world.http(
        "POST", "/api/auth/login", json={"username": "first.admin", "password": "a-strong-password"}
    )
    assert status == 200 and body["user"]["role"] == "staff"
    second = await server_factory(bootstrap_staff_username="second.admin", bootstrap_staff_password="another-password")
    assert await second.stores.users.by_username("second.admin") is None  # a staff account already exists


async def test_an_idle_session_is_ended_and_activity_keeps_it(world_factory) -> None:  # type: ignore[no-untyped-def]
    """The idle sweep is run at a later time (an injected clock), not waited for."""
    import time as clock

    from server.actions import idle_logoff

    world = await world_factory(idle_timeout_seconds=600)
    room, (idle_user, busy_user) = await world.scene("patient", "patient")
    idle = await world.connect(idle_user, join=room)
    busy = await world.connect(busy_user, join=room)
    later = clock.monotonic() + 601
    for conn in world.server.ctx.registry.all():  # the busy user acts at the later time
        if conn.principal.user_id == busy_user.id:
            conn.last_active = later

    assert await idle_logoff.end_idle(world.server.ctx, now=later) == 1

    assert (await idle.next("session:ended", timeout=10))["reason"] == "idle"
    await asyncio.wait_for(idle.disconnected.wait(), 5)
    assert busy.client.connected
    await busy.ok("message:history", {"room_id": str(room.id), "limit": 1})


async def test_the_login_limit_holds_across_server_processes(world: World, cohort: Cohort, server_factory) -> None:  # type: ignore[no-untyped-def]
    """Five failures through one process lock the username out on another one too."""
    sibling = World(server=await server_factory(), password_hash=world.password_hash)
    guess = {"username": cohort.bob.username, "password": "guess-guess"}
    for _ in range(5):
        assert (await world.http("POST", "/api/auth/login", json=guess))[0] == 401
    right = {"username": cohort.bob.username, "password": PASSWORD}
    status, body = await sibling.http("POST", "/api/auth/login", json=right)
    assert status == 429 and body["error"]["code"] == "rate_limited"


async def test_a_sixth_socket_of_one_user_ends_the_oldest_with_a_reason(world: World, cohort: Cohort) -> None:
    sockets = [await world.connect(cohort.alice) for _ in range(5)]
    sixth = await world.connect(cohort.alice)

    assert await sockets[0].next("session:ended") == {"reason": "too_many_sessions"}
    await asyncio.wait_for(sockets[0].disconnected.wait(), 5)
    assert all(s.client.connected for s in [*sockets[1:], sixth])


async def test_connections_from_one_address_are_capped_with_a_clear_refusal(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(max_sockets_per_address=3, semantic_detection=False)
    room, people = await world.scene("patient", "patient", "patient", "patient")
    for person in people[:3]:
        await world.connect(person)
    refused = await open_probe(world.server.url, world.token(people[3]))
    world.probes.append(refused)
    assert not refused.client.connected and refused.refusal["code"] == "rate_limited"
    del room


async def test_a_flood_of_handshakes_from_one_address_is_throttled(world_factory) -> None:  # type: ignore[no-untyped-def]
    world: World = await world_factory(handshakes_per_second=1.0, semantic_detection=False)
    room, people = await world.scene(*["patient"] * 12)
    probes = [await open_probe(world.server.url, world.token(person)) for person in people]
    world.probes.extend(probes)
    refused = [p.refusal["code"] for p in probes if p.connect_error is not None]
    assert sum(p.client.connected for p in probes) <= 10 and refused and set(refused) == {"rate_limited"}
    del room
