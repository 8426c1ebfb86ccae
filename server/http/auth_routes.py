"""POST /api/auth/login, POST /api/auth/logout, GET /api/me."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from server.actions import chat
from server.actions.audit import record
from server.auth import decode_token, issue_token
from server.clock import iso
from server.context import (
    LOGIN_FAILURES_PER_ADDRESS,
    LOGIN_FAILURES_PER_PAIR,
    LOGIN_FAILURES_PER_USERNAME,
    LOGIN_WINDOW_SECONDS,
)
from server.errors import Conflict, Invalid, RateLimited, Unauthorized
from server.http.common import body, client_address, context, json_response, origin, principal
from server.passwords import verify_password
from server.wire.payloads import user_of
from server.wire.schemas import clean_text

MAX_DISPLAY_NAME = 60

GENERIC_FAILURE = "That username and password do not match."


async def login(request: web.Request) -> web.Response:
    ctx = context(request)
    data = await body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise Invalid("'username' and 'password' are required strings.")
    if len(username) > 100 or len(password) > 1000:
        raise Invalid("That username or password is too long.")
    address = client_address(request)
    name = username.lower()
    failures, window = ctx.stores.login_failures, timedelta(seconds=LOGIN_WINDOW_SECONDS)
    user = await ctx.stores.users.by_username(username)
    attempt = await failures.record([f"pair:{name}|{address}", f"user:{name}", f"addr:{address}"])
    limits = [(f"pair:{name}|{address}", LOGIN_FAILURES_PER_PAIR), (f"addr:{address}", LOGIN_FAILURES_PER_ADDRESS)]
    if user is None or address not in user.known_addresses:
        # A ceiling per username, high enough that a stranger cannot cheaply lock out the
        # real user, who is not subject to it from an address they signed in from before.
        limits.append((f"user:{name}", LOGIN_FAILURES_PER_USERNAME))
    wait = max([await failures.retry_after(key, limit, window) for key, limit in limits])
    if wait > 0:
        raise RateLimited("Too many failed sign-in attempts; please wait and try again.", retry_after=wait)
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        await record(ctx, "auth.login_failed", None, ("user", user.id if user else None), origin(request))
        raise Unauthorized(GENERIC_FAILURE)
    await failures.forget(attempt)
    await ctx.stores.users.remember_address(user, address)
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
    rooms = await chat.visible_rooms(ctx, caller)
    user = await ctx.stores.users.get(caller.user_id)
    return json_response(
        {
            "user": {**user_of(user), "language": user.language} if user else None,
            "rooms": [await chat.room_view(ctx, room, caller) for room in rooms],
        }
    )


async def update_me(request: web.Request) -> web.Response:
    """PATCH /api/me {display_name}: a patient (or anyone) chooses the name peers see.

    Rate limited, unique (case-insensitively) among the people of each of the caller's
    cohorts, never the username, audited. Live sockets take the new name at once."""
    ctx = context(request)
    caller = await principal(request)
    data = await body(request)
    if set(data) - {"display_name"}:
        raise Invalid("Only 'display_name' can be changed here.")
    raw = data.get("display_name")
    name = clean_text(raw) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise Invalid(f"'display_name' must be 1 to {MAX_DISPLAY_NAME} characters.")
    wait = ctx.rename_limiter.take(caller.user_id)
    if wait > 0:
        raise RateLimited(retry_after=wait)
    user = await ctx.stores.users.get(caller.user_id)
    if user is None:
        raise Unauthorized()
    if name.casefold() == user.username.casefold():
        raise Invalid("Please choose a name other than your username: others in your group will see it.")
    for cohort_id in caller.cohort_ids:
        cohort = await ctx.stores.cohorts.get(cohort_id)
        if cohort is None:
            continue
        others = [i for i in (*cohort.member_ids, *cohort.counselor_ids) if i != caller.user_id]
        if name.casefold() in {n.casefold() for n in await ctx.stores.users.display_names(others)}:
            raise Conflict("Someone in your group already uses that name. Please choose another.")
    updated = await ctx.stores.users.update(caller.user_id, {"display_name": name})
    await record(ctx, "user.rename", caller, ("user", caller.user_id), origin(request))
    await ctx.control.publish("renamed", user_id=str(caller.user_id), display_name=name)
    return json_response({"user": {**user_of(updated), "language": updated.language} if updated else None})


def setup(app: web.Application) -> None:
    app.router.add_post("/api/auth/login", login)
    app.router.add_post("/api/auth/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_patch("/api/me", update_me)
