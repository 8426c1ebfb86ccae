"""Every client event, fuzzed: whatever a client sends, the answer is an ack with a known
error code or success, never `internal`, never a traceback, and nothing bad is stored."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.wire.sockets import EVENT_HANDLERS
from tests.conftest import Cohort, World

KNOWN_CODES = {
    "invalid", "unauthorized", "forbidden", "not_found", "conflict", "too_large", "rate_limited",
    "muted", "room_locked", "slow_mode", "unavailable",
}  # fmt: skip

# Values a hostile or buggy client might put anywhere: wrong types, operators, edge unicode.
nasty_text = st.one_of(
    st.text(max_size=50),
    st.sampled_from(["", " ", "\x00", "\ud800", "$where", "{$ne: null}", "a" * 3000, "😀" * 10, "\u202e\u200b"]),
)
ids = st.one_of(st.sampled_from(["000000000000000000000000", "zzzzzzzzzzzzzzzzzzzzzzzz", "../../etc"]), nasty_text)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), nasty_text)
values = st.recursive(
    st.one_of(scalars, ids, st.just({"$gt": ""}), st.just({"$ne": None})),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=12,
)
FIELDS = [
    "room_id", "message_id", "flag_id", "user_id", "text", "client_id", "before", "after", "limit",
    "typing", "on", "reason", "note", "outcome", "minutes", "seconds", "severity", "category",
]  # fmt: skip
payloads = st.one_of(values, st.dictionaries(st.sampled_from(FIELDS), values, max_size=6))


def server_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Errors the server logged (the test's own Socket.IO client logs its closing noise)."""
    client = ("engineio.client", "socketio.client")
    return [r for r in caplog.records if r.levelno >= logging.ERROR and not r.name.startswith(client)]


@pytest.mark.parametrize("event", sorted(EVENT_HANDLERS))
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(payload=payloads)
async def test_any_payload_gets_a_known_answer(
    world: World, cohort: Cohort, event: str, payload: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    for user in (cohort.alice, cohort.counselor):
        probe = await world.connect(user, join=cohort.room)
        with caplog.at_level(logging.ERROR):
            reply = await probe.call(event, payload)
        await probe.close()
        if not reply.get("ok"):
            assert reply["error"]["code"] in KNOWN_CODES, (event, payload, reply)
        assert not server_errors(caplog), (event, payload)


HTTP_BODIES = [
    ("POST", "/api/auth/login"),
    ("PATCH", "/api/me"),
    ("POST", "/api/users"),
    ("POST", "/api/cohorts"),
    ("PATCH", "/api/rooms/{room}"),
    ("POST", "/api/cohorts/{cohort}/rooms"),
    ("POST", "/api/flags/000000000000000000000000/resolve"),
]
HTTP_FIELDS = ["username", "password", "display_name", "role", "name", "crisis_hold", "outcome", "note", "active"]
bodies = st.one_of(values, st.dictionaries(st.sampled_from(HTTP_FIELDS), values, max_size=5))


@pytest.mark.parametrize(("method", "path"), HTTP_BODIES)
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(body=bodies)
async def test_any_http_body_gets_a_known_answer(
    world: World, cohort: Cohort, method: str, path: str, body: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    url = path.format(room=cohort.room.id, cohort=cohort.id)
    with caplog.at_level(logging.ERROR):
        status, reply = await world.http(method, url, cohort.staff, json=body)
    assert status < 500, (method, url, body, reply)
    if status >= 400:
        assert reply["error"]["code"] in KNOWN_CODES
    assert not server_errors(caplog), (method, url, body)
