"""POST /api/auth/login, POST /api/auth/logout, GET /api/me."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from server import chat
from server.api.common import body, context, json_response, origin, principal
from server.audit import record
from server.auth import decode_token, issue_token
from server.clock import iso
from server.context import LOGIN_FAILURES_PER_ADDRESS, LOGIN_FAILURES_PER_USERNAME, LOGIN_WINDOW_SECONDS
from server.errors import Invalid, RateLimited, Unauthorized
from server.passwords import verify_password
from server.payloads import user_of

GENERIC_FAILURE = "That username and password do not match."


async def login(request: web.Request) -> web.Response:
    ctx = context(request)
    data = await body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Invalid("'username' and 'password' are required strings.")
    if len(username) > 100 or len(password) > 1000:
        raise Invalid("That username or password is too long.")
    address = request.remote or "unknown"
    failures, window = ctx.stores.login_failures, timedelta(seconds=LOGIN_WINDOW_SECONDS)
    wait = max(
        await failures.retry_after(f"user:{username.lower()}", LOGIN_FAILURES_PER_USERNAME, window),
        await failures.retry_after(f"addr:{address}", LOGIN_FAILURES_PER_ADDRESS, window),
    )
    if wait > 0:
        raise RateLimited("Too many failed sign-in attempts; please wait and try again.", retry_after=wait)
    user = await ctx.stores.users.by_username(username)
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        await failures.record([f"user:{username.lower()}", f"addr:{address}"])
        await record(ctx, "auth.login_failed", None, ("user", user.id if user else None), origin(request))
        raise Unauthorized(GENERIC_FAILURE)
    if not ctx.config.issues_tokens:
        raise Invalid("This server accepts tokens from the clinic's identity provider; sign in there.")
    token, expires_at = issue_token(ctx.config, user)
    await record(ctx, "auth.login", user, ("user", user.id), origin(request))
    return json_response({"token": token, "expires_at": iso(expires_at), "user": user_of(user)})


async def logout(request: web.Request) -> web.Response:
    ctx = context(request)
    caller = await principal(request)
    claims = decode_token(ctx.config, request.headers["Authorization"].partition(" ")[2].strip())
    await ctx.stores.users.revoke_token(claims.jti, caller.user_id, claims.expires_at)
    await record(ctx, "auth.logout", caller, ("user", caller.user_id), origin(request))
    await ctx.control.publish("end_sessions", jti=claims.jti, reason="logout")
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    ctx = context(request)
    caller = await principal(request)
    rooms = await ctx.stores.rooms.for_cohorts(None if caller.is_staff else caller.cohort_ids)
    user = await ctx.stores.users.get(caller.user_id)
    return json_response(
        {
            "user": {**user_of(user), "language": user.language} if user else None,
            "rooms": [await chat.room_view(ctx, room, caller) for room in rooms],
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_post("/api/auth/login", login)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_get("/api/me", me)
