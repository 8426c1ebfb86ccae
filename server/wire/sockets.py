"""Socket.IO wiring: connect/disconnect, and one thin handler per client event.

Each handler parses the payload (schemas.py), calls a use case and returns the ack.
`ChatServer` closes two gaps python-socketio leaves to applications (SECURITY.md):
reserved event names sent as ordinary events (W5) are refused and the client is
disconnected, and a handler learns whether the client asked for an ack, so that errors
of ack-less events come back as an `error` event (PROTOCOL.md "Conventions").
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from server import addresses
from server.actions import chat, checkins, flags, help_requests, moderate, oncall
from server.actions.access import access_message, access_message_to_moderate
from server.auth import authenticate
from server.clock import iso, utcnow
from server.context import AppContext
from server.errors import ChatError, Internal, Invalid, RateLimited, TokenExpired, Unauthorized, Unavailable
from server.models import Origin
from server.realtime import sessions
from server.realtime.registry import Connection
from server.store.failures import StorageError, is_outage
from server.wire import events, fastjson, schemas
from server.wire.payloads import checkin_payload, flag_payload, message_payload, user_public

log = logging.getLogger(__name__)
_ack_requested: contextvars.ContextVar[bool] = contextvars.ContextVar("ack_requested", default=True)
_background: set[asyncio.Task[Any]] = set()  # keep references so tasks are not garbage-collected

EventFn = Callable[[AppContext, Connection, Any], Awaitable[dict[str, Any]]]


class TextPacket(socketio.packet.Packet):
    """This server sends JSON only. python-socketio otherwise walks every outgoing
    payload looking for bytes on every emit (6% of the CPU under load in bench/)."""

    json = fastjson  # orjson, with the standard library as the fallback

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        return False


class ChatServer(socketio.AsyncServer):
    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """A packet that cannot be decoded (nested too deeply, malformed) is answered with
        an `error` event, not a traceback; the socket stays usable."""
        try:
            await super()._handle_eio_message(eio_sid, data)
        except (RecursionError, ValueError) as exc:
            sid = self.manager.sid_from_eio_sid(eio_sid, "/")
            log.warning("refused an undecodable packet from sid %s (%s)", sid, type(exc).__name__)
            if sid is not None:
                error = Invalid("That message could not be read (malformed or nested too deeply).").to_dict()
                await self.emit(events.ERROR, {"event": None, "error": error}, to=sid)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: list[Any]) -> None:
        if not data or not isinstance(data[0], str) or data[0] in events.RESERVED:
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace or "/")
            log.warning("security: reserved or malformed event name from sid %s; disconnecting", sid)
            await self.eio.disconnect(eio_sid)
            return
        token = _ack_requested.set(id is not None)
        try:
            await super()._handle_event(eio_sid, namespace, id, data)
        finally:
            _ack_requested.reset(token)


def spawn(coro: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)


def origin_of(environ: dict[str, Any], trusted_proxies: tuple[str, ...]) -> Origin:
    request = environ.get("aiohttp.request")
    peer = request.remote if request is not None else environ.get("REMOTE_ADDR")
    headers = request.headers if request is not None else {}
    ip = addresses.client_address(peer, headers, trusted_proxies)
    return Origin(ip=ip, user_agent=(environ.get("HTTP_USER_AGENT") or "")[:300] or None)


def setup_socket_handlers(sio: ChatServer, ctx: AppContext) -> None:
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        if environ is not sio.get_environ(sid):  # a forged "connect" event (W5)
            raise socketio.exceptions.ConnectionRefusedError(
                "Refused.", {"code": "unauthorized", "message": "Refused."}
            )
        eio_sid = sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid in _refused_sessions:  # one try per Engine.IO session: no token guessing
            raise refusal(Unauthorized())
        origin = origin_of(environ, ctx.config.trusted_proxies)
        wait = ctx.handshake_limiter.take(origin.ip)
        if wait > 0 or len(ctx.registry.from_address(origin.ip)) >= ctx.config.max_sockets_per_address:
            _close_engineio_later(sio, eio_sid)
            raise refusal(
                RateLimited(
                    "Too many connections from your network; please try again shortly.", retry_after=max(wait, 5)
                )
            )
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            async with ctx.admission:
                principal, user = await authenticate(ctx.config, ctx.stores, token)
        except (Unauthorized, TokenExpired, Unavailable) as exc:
            _close_engineio_later(sio, eio_sid)
            raise refusal(exc) from None
        except StorageError:
            _close_engineio_later(sio, eio_sid)
            raise refusal(Unavailable()) from None
        conn = Connection(sid=sid, principal=principal, origin=origin)
        ctx.registry.add(conn)
        await sio.enter_room(sid, events.user_room(principal.user_id))
        await sio.enter_room(sid, events.token_room(principal.jti))
        await oncall.join_alert_rooms(ctx, conn, oncall=user.oncall)
        _end_at_token_expiry(ctx, conn)
        _limit_sockets(ctx, conn)
        spawn(_after_connect(ctx, conn))
        return True

    async def disconnect(sid: str, reason: Any = None) -> None:
        conn = ctx.registry.remove(sid)
        if conn is None:
            return
        if conn.expiry is not None:
            conn.expiry.cancel()
        try:
            await ctx.presence.forget(conn)
        except Exception:
            log.exception("presence clean-up failed for sid %s", sid)
        for room_id in list(conn.rooms):
            try:
                await chat.leave_room(ctx, conn, room_id)
            except Exception:
                log.exception("presence update failed for sid %s", sid)

    sio.on("connect", connect)
    sio.on("disconnect", disconnect)

    def on(name: str, fn: EventFn) -> None:
        async def handler(sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
            return await _dispatch(sio, ctx, name, fn, sid, data)

        sio.on(name, handler)

    for name, fn in EVENT_HANDLERS.items():
        on(name, fn)

    async def unknown(event: str, sid: str, *args: Any) -> dict[str, Any]:
        return await _dispatch(sio, ctx, event, _unknown_event, sid, None)

    sio.on("*", unknown)


def _limit_sockets(ctx: AppContext, conn: Connection) -> None:
    """At most MAX_SOCKETS_PER_USER sockets per user on this process: the oldest go, told
    why. 500 sockets on one token once starved every other user of the database pool."""
    mine = sorted(ctx.registry.of_user(conn.principal.user_id), key=lambda c: c.connected_at)
    for extra in mine[: -ctx.config.max_sockets_per_user]:
        spawn(end_connection(ctx, extra, "too_many_sessions"))


def _end_at_token_expiry(ctx: AppContext, conn: Connection) -> None:
    """A socket ends when its token expires, not at its next event: until then it would
    go on receiving broadcasts (room messages, alerts) on an expired credential."""
    loop = asyncio.get_running_loop()
    delay = (conn.principal.token_exp - utcnow()).total_seconds()
    conn.expiry = loop.call_later(max(0.0, delay), lambda: spawn(end_connection(ctx, conn, "token_expired")))


async def _after_connect(ctx: AppContext, conn: Connection) -> None:
    """Send `session`, then any open alerts this user should see."""
    principal = conn.principal
    try:
        async with ctx.admission:
            rooms = await chat.visible_rooms(ctx, principal)
            room_views = [await chat.room_view(ctx, room, principal) for room in rooms]
        await ctx.notifier.to_sid(
            conn.sid,
            events.SESSION,
            {
                "user": user_public(principal.user_id, principal.display_name, principal.role),
                "rooms": room_views,
                "oncall": conn.oncall,
                "server_time": iso(utcnow()),
            },
        )
        await oncall.deliver_open_flags(ctx, conn)
    except Exception:
        log.exception("session set-up failed for sid %s", conn.sid)


def refusal(error: ChatError) -> socketio.exceptions.ConnectionRefusedError:
    """connect_error's `err.data` is {"code", "message"} (PROTOCOL.md "Refusals")."""
    return socketio.exceptions.ConnectionRefusedError(error.message, error.to_dict())


_refused_sessions: set[str] = set()


def _close_engineio_later(sio: socketio.AsyncServer, eio_sid: str | None) -> None:
    """A refused CONNECT leaves the Engine.IO session open (SECURITY.md W4): every later
    CONNECT on it is refused unread, and it is closed once the refusal has been flushed,
    so one session cannot try token after token."""
    if eio_sid is None:
        return
    _refused_sessions.add(eio_sid)

    async def close() -> None:
        try:
            await asyncio.sleep(0.5)
            await sio.eio.disconnect(eio_sid)
        finally:
            _refused_sessions.discard(eio_sid)

    spawn(close())


async def _dispatch(
    sio: socketio.AsyncServer, ctx: AppContext, name: str, fn: EventFn, sid: str, data: Any
) -> dict[str, Any]:
    ack_requested = _ack_requested.get()
    conn = ctx.registry.get(sid)
    try:
        if conn is None:
            raise Unauthorized()
        if conn.principal.token_exp <= utcnow():
            spawn(end_connection(ctx, conn, "token_expired"))
            raise TokenExpired()
        if name != events.TYPING or data is None or (isinstance(data, dict) and data.get("typing")):
            conn.last_active = time.monotonic()  # a user action (typing "stopped" is not one)
        result = await fn(ctx, conn, data)
        return {"ok": True, **result}
    except ChatError as exc:
        ack = exc.to_ack()
    except StorageError as exc:
        if is_outage(exc):
            log.warning("event %s from sid %s: storage unavailable (%s)", name, sid, type(exc).__name__)
            ack = Unavailable().to_ack()
        else:
            log.exception("event %s from sid %s failed in storage", name, sid)
            ack = Internal().to_ack()
    except Exception:
        user_id = conn.principal.user_id if conn else None
        log.exception("event %s from sid %s (user %s) failed", name, sid, user_id)
        ack = Internal().to_ack()
    if not ack_requested:
        await sio.emit(events.ERROR, {"event": name, "error": ack["error"]}, to=sid)
    return ack


async def end_connection(ctx: AppContext, conn: Connection, reason: str) -> None:
    await sessions.disconnect(ctx, conn.sid, reason)


# ---- handlers: parse, call the use case, shape the ack --------------------------------


async def _unknown_event(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    raise Invalid("Unknown event.")


async def on_join(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await chat.join_room(ctx, conn, schemas.parse_room_ref(data).room_id)


async def on_leave(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    await chat.leave_room(ctx, conn, schemas.parse_room_ref(data).room_id)
    return {}


async def on_send(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    message = await chat.send_message(ctx, conn, schemas.parse_send_message(data))
    return {"message": message_payload(message, moderator=conn.principal.is_moderator)}


async def on_history(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await chat.history(ctx, conn.principal, schemas.parse_history(data), conn.origin)


async def on_typing(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    cmd = schemas.parse_typing(data)
    await chat.typing(ctx, conn, cmd.room_id, cmd.typing)
    return {}


async def on_oncall(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return {"oncall": await oncall.set_oncall(ctx, conn, schemas.parse_oncall(data).on)}


async def on_flag_ack(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    flag = await flags.acknowledge(ctx, conn.principal, schemas.parse_flag_ref(data).flag_id, conn.origin)
    return {"flag": flag_payload(flag)}


async def on_flag_resolve(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    cmd = schemas.parse_flag_resolve(data)
    flag = await flags.resolve(ctx, conn.principal, cmd.flag_id, cmd.outcome, cmd.note, conn.origin)
    return {"flag": flag_payload(flag)}


async def on_report(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    cmd = schemas.parse_report(data)
    wait = ctx.report_limiter.take(conn.principal.user_id)
    if wait > 0:
        raise RateLimited("You have sent many reports just now; a counselor will look at them.", retry_after=wait)
    message, room = await access_message(ctx, conn.principal, cmd.message_id)
    flag = await flags.report_message(ctx, conn.principal, message, room, cmd.reason, conn.origin)
    return {"flag_id": str(flag.id)}


async def on_help(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await help_requests.request_help(ctx, conn, schemas.parse_help_request(data))


async def on_checkin(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    checkin = await checkins.submit(ctx, conn, schemas.parse_checkin(data))
    return {"checkin": checkin_payload(checkin, moderator=False)}


async def on_concern(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    cmd = schemas.parse_concern(data)
    message, room = await access_message_to_moderate(ctx, conn.principal, cmd.message_id)
    flag = await flags.mark_concerning(ctx, conn.principal, message, room, cmd, conn.origin)
    return {"flag": flag_payload(flag)}


def message_action(action: str) -> EventFn:
    async def handler(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
        updated = await moderate.change_message(ctx, conn, action, schemas.parse_message_action(data))
        return moderate.message_ack(updated)

    return handler


async def on_mute(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.mute(ctx, conn, schemas.parse_mute(data))


async def on_unmute(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.unmute(ctx, conn, schemas.parse_member_action(data))


async def on_kick(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.kick(ctx, conn, schemas.parse_member_action(data))


async def on_lock(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.lock(ctx, conn, schemas.parse_room_ref(data).room_id, True)


async def on_unlock(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.lock(ctx, conn, schemas.parse_room_ref(data).room_id, False)


async def on_slow_mode(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.slow_mode(ctx, conn, schemas.parse_slow_mode(data))


async def on_pin(ctx: AppContext, conn: Connection, data: Any) -> dict[str, Any]:
    return await moderate.pin(ctx, conn, schemas.parse_pin(data))


EVENT_HANDLERS: dict[str, EventFn] = {
    events.ROOM_JOIN: on_join,
    events.ROOM_LEAVE: on_leave,
    events.MESSAGE_SEND: on_send,
    events.MESSAGE_HISTORY: on_history,
    events.TYPING: on_typing,
    events.ONCALL_SET: on_oncall,
    events.FLAG_ACK: on_flag_ack,
    events.FLAG_RESOLVE: on_flag_resolve,
    events.MESSAGE_REPORT: on_report,
    events.MOD_CONCERN: on_concern,
    events.HELP_REQUEST: on_help,
    events.CHECKIN_SUBMIT: on_checkin,
    events.MOD_HIDE: message_action("hide"),
    events.MOD_UNHIDE: message_action("unhide"),
    events.MOD_DELETE: message_action("delete"),
    events.MOD_RELEASE: message_action("release"),
    events.MOD_MUTE: on_mute,
    events.MOD_UNMUTE: on_unmute,
    events.MOD_KICK: on_kick,
    events.MOD_LOCK: on_lock,
    events.MOD_UNLOCK: on_unlock,
    events.MOD_SLOW_MODE: on_slow_mode,
    events.MOD_PIN: on_pin,
}
