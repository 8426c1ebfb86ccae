"""Bad input gets a clear error and never a traceback: deeply nested JSON on HTTP and on
the socket (which is answered and stays usable)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging

import aiohttp
import pytest

from tests.conftest import Cohort, World

DEEP = 100_000


@pytest.mark.parametrize("depth", [20, DEEP])
async def test_a_deeply_nested_http_body_is_invalid_not_an_internal_error(
    world: World, cohort: Cohort, depth: int, caplog: pytest.LogCaptureFixture
) -> None:
    nested = "[" * depth + "]" * depth
    raw = '{"username": "x.y", "role": "patient", "display_name": ' + nested + "}"
    with caplog.at_level(logging.WARNING):
        status, body = await world.http(
            "POST", "/api/users", cohort.staff, data=raw, headers={"Content-Type": "application/json"}
        )
    assert status == 400 and body["error"]["code"] == "invalid"
    assert "Traceback" not in caplog.text


async def test_a_deeply_nested_socket_packet_is_answered_and_the_socket_stays_usable(
    world: World, cohort: Cohort, caplog: pytest.LogCaptureFixture
) -> None:
    url = world.server.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
            assert (await ws.receive_str()).startswith("0")
            await ws.send_str("40" + json.dumps({"token": world.token(cohort.alice)}))
            replies = [await ws.receive_str() for _ in range(2)]  # the CONNECT ack, then `session`
            assert replies[0].startswith("40")
            await ws.send_str('42["typing",' + "[" * 20_000 + "]" * 20_000 + "]")  # within the 64 KB frame limit
            error = await asyncio.wait_for(ws.receive_str(), 5)
            assert error.startswith('42["error"') and '"invalid"' in error
            await ws.send_str('421["room:join",{"room_id":"' + str(cohort.room.id) + '"}]')
            while True:  # presence and other events may come first
                frame = await asyncio.wait_for(ws.receive_str(), 5)
                if frame.startswith("431"):
                    break
            assert '"ok":true' in frame.replace(" ", "")
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "query",
    [
        "/api/flags?since=0001-01-01T00:00:00%2B01:00",  # an hour before the calendar begins, in UTC
        "/api/audit?until=9999-12-31T23:59:59-01:00",  # an hour after it ends
    ],
)
async def test_a_time_past_the_ends_of_the_calendar_is_invalid_not_an_internal_error(
    world: World, cohort: Cohort, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        status, body = await world.http("GET", query, cohort.staff)
    assert status == 400 and body["error"]["code"] == "invalid"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("rank", [10**30, 7, True])
async def test_a_forged_review_queue_cursor_is_invalid_not_an_internal_error(
    world: World, cohort: Cohort, rank: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Cursors carry a severity rank (1..3); a client that forges one gets `invalid`."""
    cursor = base64.urlsafe_b64encode(json.dumps([rank, "0" * 24]).encode()).decode()
    with caplog.at_level(logging.WARNING):
        status, body = await world.http("GET", f"/api/flags?cursor={cursor}", cohort.staff)
    assert status == 400 and body["error"]["code"] == "invalid"
    assert "Traceback" not in caplog.text
