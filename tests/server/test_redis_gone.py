"""Redis goes away or stalls: the help button and a crisis check-in note still reach a person.

Redis carries cross-process fan-out and presence, and nothing in it is the only copy of
anything. When it is gone, a process still knows its own sockets: an alert reaches the
counselors and staff connected to it, and the patient gets a plain answer, not an error.
A stall (SIGSTOP: connections stay open and nothing answers) must not hold them either.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from server.actions import escalation
from server.clock import utcnow
from tests.conftest import World
from tests.server.test_multiprocess_redis import redis_url  # noqa: F401 - the fixture

pytestmark = pytest.mark.redis
CRISIS = "I want to kill myself tonight"


@pytest.fixture
async def stalled_redis(redis_url: str) -> AsyncIterator[int]:  # noqa: F811
    """The redis-server of `redis_url`, paused by the test (`os.kill(pid, SIGSTOP)`) and
    resumed afterwards whatever happened."""
    client = aioredis.from_url(redis_url)
    pid = (await client.info("server"))["process_id"]
    await client.aclose()
    yield pid
    os.kill(pid, signal.SIGCONT)


async def world_on(url: str, server_factory, password_hash: str, **overrides: Any) -> World:  # type: ignore[no-untyped-def]
    """A server on this Redis (lexicon only: these stories are about Redis, not the model)."""
    server = await server_factory(redis_url=url, semantic_detection=False, **overrides)
    return World(server=server, password_hash=password_hash)


async def stop_redis(url: str) -> None:
    client = aioredis.from_url(url)
    try:
        await client.shutdown(nosave=True)
    except redis.exceptions.ConnectionError:
        pass  # it went away while answering: that is the point
    finally:
        await client.aclose()


async def test_with_redis_gone_a_help_request_reaches_staff_and_the_patient_is_answered(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    redis_url: str,  # noqa: F811
) -> None:
    world = await world_on(redis_url, server_factory, password_hash)
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    await world.connect(counselor)  # connected, not on call
    desk = await world.connect(staff)
    patient = await world.connect(alice, join=room)

    await stop_redis(redis_url)
    ack = await patient.call("help:request", {"room_id": str(room.id)})

    assert ack["ok"] is True and ack["counselor_on_call"] is False
    assert (await desk.next("alert:new"))["id"] == ack["flag_id"]
    assert (await patient.next("crisis:resources"))["resources"]


async def test_with_redis_gone_a_crisis_checkin_note_reaches_staff_and_is_saved(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    redis_url: str,  # noqa: F811
) -> None:
    world = await world_on(redis_url, server_factory, password_hash)
    room, (alice, staff) = await world.scene("patient", "staff")
    desk = await world.connect(staff)
    patient = await world.connect(alice)

    await stop_redis(redis_url)
    saved = await patient.call("checkin:submit", {"mood": 2, "craving": 3, "note": CRISIS})

    assert saved["ok"] is True and saved["checkin"]["note"] == CRISIS
    alert = await desk.next("alert:new")
    assert alert["text"] == CRISIS and alert["cohort_id"] == str(room.cohort_id)
    assert (await patient.next("crisis:resources"))["resources"]


async def test_with_redis_gone_an_unacknowledged_help_request_still_escalates_to_the_counselors_here(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    redis_url: str,  # noqa: F811
) -> None:
    world = await world_on(redis_url, server_factory, password_hash, escalate_after_seconds=60)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    off_call = await world.connect(counselor)
    patient = await world.connect(alice, join=room)
    await stop_redis(redis_url)
    ack = await patient.ok("help:request", {"room_id": str(room.id)})

    escalated = await escalation.sweep(world.server.ctx, now=utcnow() + timedelta(seconds=61))

    assert [str(f.id) for f in escalated] == [ack["flag_id"]]
    alert = await off_call.next("alert:new")
    assert alert["id"] == ack["flag_id"] and alert["escalation_level"] == 1


async def test_with_redis_stalled_a_help_request_still_alerts_the_counselor_here_and_answers_the_patient(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    redis_url: str,  # noqa: F811
    stalled_redis: int,
) -> None:
    world = await world_on(redis_url, server_factory, password_hash)
    room, (alice, counselor) = await world.scene("patient", "counselor")
    on_call = await world.connect(counselor)
    await on_call.ok("oncall:set", {"on": True})
    patient = await world.connect(alice, join=room)

    os.kill(stalled_redis, signal.SIGSTOP)
    ack = await patient.call("help:request", {"room_id": str(room.id)})

    assert ack["ok"] is True and ack["counselor_on_call"] is True
    assert (await on_call.next("alert:new"))["id"] == ack["flag_id"]
    assert (await patient.next("crisis:resources"))["resources"]


async def test_with_redis_stalled_a_crisis_checkin_note_reaches_staff_and_is_saved(
    server_factory,  # type: ignore[no-untyped-def]
    password_hash: str,
    redis_url: str,  # noqa: F811
    stalled_redis: int,
) -> None:
    world = await world_on(redis_url, server_factory, password_hash, escalate_after_seconds=60)
    room, (alice, counselor, staff) = await world.scene("patient", "counselor", "staff")
    off_call = await world.connect(counselor)
    desk = await world.connect(staff)
    patient = await world.connect(alice)

    os.kill(stalled_redis, signal.SIGSTOP)
    saved = await patient.call("checkin:submit", {"mood": 2, "craving": 3, "note": CRISIS})
    alert = await desk.next("alert:new")
    escalated = await escalation.sweep(world.server.ctx, now=utcnow() + timedelta(seconds=61))

    assert saved["ok"] is True and alert["text"] == CRISIS, saved
    assert [str(f.id) for f in escalated] == [alert["id"]]
    assert (await off_call.next("alert:new"))["escalation_level"] == 1
