"""The yardstick: a bare python-socketio broadcast server with our wire shape.

It does what the framework alone must do for a chat message (decode, enter a
room, build a Message-shaped dict, fan it out, ack) and nothing our server does
on top (auth, validation, storage, detection, rate limits, audit). Whatever
our server reaches as a fraction of this is the cost of those features.

    python -m bench.yardstick_server --port 8099
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

COHORT_ID = "yardstick-cohort"


def iso_now() -> str:
    """ISO-8601 UTC with milliseconds and Z, like the real server."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def room_dict(room_id: str) -> dict[str, Any]:
    return {
        "id": room_id,
        "cohort_id": COHORT_ID,
        "cohort_name": "Yardstick",
        "name": room_id,
        "locked": False,
        "slow_mode_seconds": 0,
        "pinned": None,
    }


def create_app() -> web.Application:
    """The aiohttp app with the Socket.IO server attached."""
    sio = socketio.AsyncServer(
        async_mode="aiohttp", cors_allowed_origins="*", always_connect=True, logger=False, engineio_logger=False
    )
    users = itertools.count(1)
    message_ids = itertools.count(1)
    id_prefix = uuid.uuid4().hex[:8]
    # The last 50 messages of each room in memory, returned on join like a real chat's
    # recent history (YARDSTICK_PREFILL: that many made-up ones per room at first join,
    # for bench_storm's reconnect storm).
    history: dict[str, deque[dict[str, Any]]] = {}
    prefill = int(os.environ.get("YARDSTICK_PREFILL", "0"))

    def recent(room_id: str) -> deque[dict[str, Any]]:
        if room_id not in history:
            history[room_id] = deque(maxlen=50)
            for n in range(prefill):
                history[room_id].append(
                    {
                        "id": f"{id_prefix}{next(message_ids):016x}",
                        "room_id": room_id,
                        "cohort_id": COHORT_ID,
                        "author": {"id": "u0", "display_name": "earlier", "role": "patient"},
                        "text": f"message {n}: how is everyone holding up today?",
                        "created_at": iso_now(),
                        "client_id": f"prefill-{n}",
                        "status": "visible",
                        "seq": n + 1,
                    }
                )
        return history[room_id]

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        n = next(users)
        user = {"id": f"u{n}", "display_name": f"user {n}", "role": "patient"}
        await sio.save_session(sid, {"user": user})
        await sio.emit("session", {"user": user, "rooms": [], "oncall": False, "server_time": iso_now()}, to=sid)

    @sio.on("room:join")
    async def room_join(sid: str, data: Any) -> dict[str, Any]:
        room_id = str(data.get("room_id", "")) if isinstance(data, dict) else ""
        if not room_id:
            return {"ok": False, "error": {"code": "invalid", "message": "room_id"}}
        await sio.enter_room(sid, room_id)
        messages = list(recent(room_id))
        return {"ok": True, "room": room_dict(room_id), "messages": messages, "has_more": False, "online": []}

    @sio.on("message:send")
    async def message_send(sid: str, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            return {"ok": False, "error": {"code": "invalid", "message": "payload"}}
        session = await sio.get_session(sid)
        room_id = str(data.get("room_id", ""))
        message = {
            "id": f"{id_prefix}{next(message_ids):016x}",
            "room_id": room_id,
            "cohort_id": COHORT_ID,
            "author": session["user"],
            "text": data["text"],
            "created_at": iso_now(),
            "client_id": data.get("client_id"),
            "status": "visible",
        }
        recent(room_id).append(message)
        await sio.emit("message:new", message, room=room_id)
        return {"ok": True, "message": message}

    app = web.Application()
    sio.attach(app)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "time": time.time()})

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", healthz)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    web.run_app(create_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
