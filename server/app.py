"""The app factory: wiring only (database, stores, Socket.IO, routes, background tasks)."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from moderation import Detector, default_detector, load_lexicon
from server.actions import background, flags
from server.config import Config
from server.context import AppContext
from server.http import (
    admin_routes,
    audit_routes,
    auth_routes,
    checkin_routes,
    feedback_routes,
    flag_routes,
    health_routes,
    openapi,
    report_routes,
    room_routes,
    static_routes,
)
from server.http.middleware import errors, security_headers
from server.keys import CONTEXT
from server.metrics import Metrics
from server.realtime import sessions
from server.realtime.control import ControlBus
from server.realtime.fanout import BoundedRedisManager
from server.seed import bootstrap_staff, seed_demo
from server.store.db import open_database
from server.store.failures import StorageError
from server.wire.sockets import ChatServer, TextPacket, setup_socket_handlers

log = logging.getLogger(__name__)
MAX_HTTP_BODY = 256 * 1024


@functools.lru_cache(maxsize=4)
def detector_for(override_path: str | None) -> Detector:
    """The lexicon's detector: the one `moderation` already built for the repository's
    lexicon (a second copy of its automata cost ~100 MB of RSS), or one for an override."""
    if override_path is None:
        return default_detector()
    return Detector(load_lexicon(override_path))


def make_sio(config: Config) -> ChatServer:
    manager = BoundedRedisManager(config.redis_url) if config.redis_url else None
    return ChatServer(
        async_mode="aiohttp",
        client_manager=manager,
        serializer=TextPacket,
        # One client's events run in order (SECURITY.md W6): sends are stored and
        # broadcast in the order they were sent.
        async_handlers=False,
        cors_allowed_origins=list(config.cors_origins) or None,  # None: the server's own origin
        max_http_buffer_size=config.max_socket_payload_bytes,
        namespaces=["/"],
        logger=False,
        engineio_logger=False,
    )


# Loggers that print payloads at DEBUG/INFO: PyMongo's command log contains whole
# documents (message text), engine.io/socket.io log packet contents (SECURITY.md W8).
# They stay at WARNING whatever the root level, so no log ever holds message text.
PAYLOAD_LOGGERS = ("pymongo", "engineio", "socketio", "aiohttp.access")


def quiet_payload_loggers() -> None:
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def runner_options(config: Config) -> dict[str, Any]:
    """Options for aiohttp's runner, shared by `python -m server` and the tests.

    aiohttp closes a connection whose request head has not arrived within the keep-alive
    timeout (from the moment it opens, and between requests): that is our bound on
    slowloris clients that trickle their headers. Long-polls and WebSockets are requests
    in progress, so they are not cut by it."""
    return {"keepalive_timeout": config.http_idle_seconds, "access_log": None}


def _stop_redis_listener(sio: ChatServer) -> None:
    """python-socketio's Redis manager listens until its task is cancelled; a stopped
    server must not go on (it retried a vanished Redis in the logs forever)."""
    listener = getattr(sio.manager, "thread", None)
    if isinstance(listener, asyncio.Task):
        listener.cancel()


def create_app(config: Config) -> web.Application:
    quiet_payload_loggers()
    app = web.Application(middlewares=[security_headers, errors], client_max_size=MAX_HTTP_BODY)
    sio = make_sio(config)
    sio.attach(app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        metrics = Metrics()
        control = ControlBus(config.redis_url)
        try:
            async with open_database(
                config, on_command=lambda name, s: metrics.db_seconds.labels(name).observe(s)
            ) as opened:
                stores, local = opened.stores, opened.local
                if config.bootstrap_staff_username and config.bootstrap_staff_password:
                    await bootstrap_staff(stores, config.bootstrap_staff_username, config.bootstrap_staff_password)
                if config.seed_demo:
                    await seed_demo(stores, timezone=config.clinic_tz)
                detector = detector_for(config.lexicon_override_path)
                ctx = AppContext(
                    config=config, stores=stores, sio=sio, control=control, detector=detector, metrics=metrics
                )
                app[CONTEXT] = ctx
                sessions.register(ctx)
                setup_socket_handlers(sio, ctx)
                await control.start()
                await ctx.presence.start()
                ctx.detection.late = functools.partial(flags.late_verdict, ctx)
                await ctx.detection.start()
                tasks = start_background_tasks(ctx)
                if local is not None:
                    tasks.append(asyncio.create_task(local.supervise(), name="devdb-supervisor"))
                ctx.local_database = local
                yield
                for task in tasks:
                    task.cancel()
                await ctx.detection.stop()
                await ctx.crisis_outbox.stop(timeout=config.db_timeout_ms / 1000)
                try:
                    await stores.messages.flush()
                    await stores.activity.flush()
                except StorageError:
                    log.warning("pending history stamps, delivery records or activity days not written at shutdown")
                await ctx.presence.stop()
                _stop_redis_listener(sio)
        finally:
            await control.stop()

    async def close_sockets(app: web.Application) -> None:
        """Graceful shutdown: in-flight handlers finish, then every client is told to go
        (they reconnect with back-off to a sibling process or to us after a restart).

        Not eio.disconnect(): it waits for each socket's send queue to drain, which never
        happens for a client that has just gone away (shutdown hung). And a CLOSE packet
        alone is ignored by browsers on a WebSocket, so the socket's writer is also
        stopped (a None in its queue ends it and closes the WebSocket); otherwise each
        browser held the shutdown until its ping timeout (~45 s).
        """
        for socket in list(sio.eio.sockets.values()):
            await socket.close(wait=False, reason=sio.eio.reason.SERVER_DISCONNECT)
            await socket.queue.put(None)

    app.on_shutdown.append(close_sockets)
    app.cleanup_ctx.append(lifecycle)
    for module in (
        auth_routes,
        admin_routes,
        room_routes,
        checkin_routes,
        flag_routes,
        audit_routes,
        feedback_routes,
        report_routes,
        health_routes,
        openapi,
        static_routes,
    ):
        module.setup(app)
    return app


def start_background_tasks(ctx: AppContext) -> list[asyncio.Task[None]]:
    return background.start(ctx)
