"""Staff administration: cohorts, rooms, users, membership and counselor assignment.

Every handler starts with `staff(request)` and every change is audited. Membership and
deactivation changes are published to live sockets at once (server/sessions.py).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server.actions import pseudonyms
from server.actions.audit import record
from server.actions.chat import room_view
from server.clock import UnknownTimezone, utcnow, zone
from server.context import AppContext
from server.errors import Invalid, NotFound
from server.http.common import body, context, json_response, origin, path_id, staff
from server.models import LANGUAGES, ROLES, Cohort
from server.passwords import MIN_PASSWORD_LENGTH, hash_password
from server.wire.payloads import user_admin
from server.wire.schemas import clean_text

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{3,64}")
COHORT_FIELDS = ("name", "program", "schedule", "start_date", "end_date")


def cohort_payload(cohort: Cohort) -> dict[str, Any]:
    return {
        "id": str(cohort.id),
        "name": cohort.name,
        "program": cohort.program,
        "schedule": cohort.schedule,
        "start_date": cohort.start_date,
        "end_date": cohort.end_date,
        "active": cohort.active,
        "member_ids": [str(i) for i in cohort.member_ids],
        "counselor_ids": [str(i) for i in cohort.counselor_ids],
        "timezone": cohort.timezone,
    }


def _text(data: dict[str, Any], key: str, limit: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise Invalid(f"'{key}' is required.")
        return None
    if not isinstance(value, str):
        raise Invalid(f"'{key}' must be a string.")
    value = clean_text(value)
    if required and not value:
        raise Invalid(f"'{key}' is required.")
    if len(value) > limit:
        raise Invalid(f"'{key}' is longer than {limit} characters.")
    return value


def _cohort_fields(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in COHORT_FIELDS:
        if key in data:
            fields[key] = _text(data, key, 200, required=key == "name")
    if creating and "name" not in fields:
        raise Invalid("'name' is required.")
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("'active' must be true or false.")
        fields["active"] = data["active"]
    if "timezone" in data:  # the local day of its check-ins; null: the server's CLINIC_TZ
        fields["timezone"] = _timezone(data["timezone"])
    unknown = set(data) - set(COHORT_FIELDS) - {"active", "timezone"}
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    return fields


def _timezone(value: Any) -> str | None:
    if value is None:
        return None
    refusal = Invalid("'timezone' must be an IANA time zone name such as America/Chicago, or null.")
    if not isinstance(value, str):
        raise refusal
    try:
        zone(value)
    except UnknownTimezone:
        raise refusal from None
    return value


async def list_cohorts(request: web.Request) -> web.Response:
    """Who is in which group of a substance-use program is itself protected (42 CFR Part
    2): every read of the directory is on the audit record, like the other PHI reads."""
    caller = await staff(request)
    ctx = context(request)
    cohorts = await ctx.stores.cohorts.list()
    await record(ctx, "admin.cohorts_read", caller, ("cohort", None), origin(request), count=len(cohorts))
    return json_response({"cohorts": [cohort_payload(c) for c in cohorts]})


async def create_cohort(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    cohort = await ctx.stores.cohorts.create(_cohort_fields(await body(request), creating=True))
    await record(ctx, "admin.cohort_create", caller, ("cohort", cohort.id), origin(request))
    return json_response(cohort_payload(cohort), status=201)


async def update_cohort(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    cohort_id = path_id(request, "id")
    fields = _cohort_fields(await body(request), creating=False)
    # The edit form sends `active` with every save: only a real opening or closing moves sockets.
    before = await ctx.stores.cohorts.get(cohort_id) if "active" in fields else None
    cohort = await ctx.stores.cohorts.update(cohort_id, fields) if fields else None
    if cohort is None:
        cohort = await ctx.stores.cohorts.get(cohort_id)
        if cohort is None:
            raise NotFound("That cohort does not exist.")
    if "name" in fields:
        await ctx.stores.rooms.rename_cohort(cohort.id, cohort.name)
        for room in await ctx.stores.rooms.for_cohorts(frozenset([cohort.id])):
            await ctx.control.publish("room_changed", room_id=str(room.id))
    await record(ctx, "admin.cohort_update", caller, ("cohort", cohort.id), origin(request), fields=sorted(fields))
    if before is not None and before.active != cohort.active:
        await _open_or_close_live(ctx, cohort)
    return json_response(cohort_payload(cohort))


async def _open_or_close_live(ctx: AppContext, cohort: Cohort) -> None:
    """Closing a cohort takes its people's open sockets out of its rooms and alerts at once,
    as removing one member does (reopening puts them back). Only new connections used to
    see the change: open ones went on receiving the group's messages and flags."""
    for user_id in (*cohort.member_ids, *cohort.counselor_ids):
        await ctx.control.publish(
            "membership", user_id=str(user_id), cohort_id=str(cohort.id), present=cohort.active, reason="cohort_closed"
        )


async def create_room(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    cohort = await ctx.stores.cohorts.get(path_id(request, "id"))
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    name = _text(await body(request), "name", 100, required=True)
    assert name is not None
    room = await ctx.stores.rooms.create(cohort.id, cohort.name, name)
    await ctx.control.publish("room_changed", room_id=str(room.id), cohort_id=str(cohort.id))
    await record(ctx, "admin.room_create", caller, ("room", room.id), origin(request), cohort_id=str(cohort.id))
    return json_response(await room_view(ctx, room, caller), status=201)


async def update_room(request: web.Request) -> web.Response:
    """PATCH /api/rooms/{id} {name?, crisis_hold?: "hold" | "show" | null}: the per-room
    crisis policy ("are peers protected from high-severity messages?"), null = default."""
    caller = await staff(request)
    ctx = context(request)
    room = await ctx.stores.rooms.get(path_id(request, "id"))
    if room is None:
        raise NotFound("That room does not exist.")
    data = await body(request)
    unknown = set(data) - {"name", "crisis_hold"}
    if unknown:
        raise Invalid(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = _text(data, "name", 100, required=True)
    if "crisis_hold" in data:
        if data["crisis_hold"] not in ("hold", "show", None):
            raise Invalid("'crisis_hold' must be hold, show or null (the server default).")
        changes["crisis_hold"] = data["crisis_hold"]
    updated = await ctx.stores.rooms.update(room.id, changes) if changes else room
    assert updated is not None
    await record(ctx, "admin.room_update", caller, ("room", room.id), origin(request), **changes)
    await ctx.control.publish("room_changed", room_id=str(room.id))
    return json_response(await room_view(ctx, updated, caller))


async def set_membership(request: web.Request) -> web.Response:
    """POST/DELETE /api/cohorts/{id}/members|counselors/{user_id}."""
    caller = await staff(request)
    ctx = context(request)
    kind = request.match_info["kind"]
    cohort_id, user_id = path_id(request, "id"), path_id(request, "user_id")
    user = await ctx.stores.users.get(user_id)
    if user is None:
        raise NotFound("That user does not exist.")
    expected_role = "counselor" if kind == "counselors" else "patient"
    if user.role != expected_role:
        raise Invalid(f"Only a {expected_role} can be added as one of the cohort's {kind}.")
    present = request.method == "POST"
    field = "counselor_ids" if kind == "counselors" else "member_ids"
    if not await ctx.stores.cohorts.set_membership(cohort_id, field, user_id, present):
        raise NotFound("That cohort does not exist.")
    action = f"admin.{'counselor' if kind == 'counselors' else 'member'}_{'add' if present else 'remove'}"
    await record(ctx, action, caller, ("user", user_id), origin(request), cohort_id=str(cohort_id))
    await ctx.control.publish("membership", user_id=str(user_id), cohort_id=str(cohort_id), present=present)
    return web.Response(status=204)


async def list_users(request: web.Request) -> web.Response:
    """The account directory names every patient: audited (see list_cohorts)."""
    caller = await staff(request)
    ctx = context(request)
    users = await ctx.stores.users.list()
    await record(ctx, "admin.users_read", caller, ("user", None), origin(request), count=len(users))
    return json_response({"users": [user_admin(u) for u in users]})


async def _password(data: dict[str, Any]) -> str | None:
    password = data.get("password")
    if password is None:
        return None
    if not isinstance(password, str) or not MIN_PASSWORD_LENGTH <= len(password) <= 200:
        raise Invalid(f"'password' must be {MIN_PASSWORD_LENGTH} to 200 characters.")
    return await hash_password(password)


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], nullable: bool = True) -> str | None:
    """`nullable`: null means "not given" (on create, for a default); on update it is not
    a value (an account stored with a null role or language could not be served)."""
    value = data.get(key)
    if value is None and nullable:
        return None
    if value not in choices:
        raise Invalid(f"'{key}' must be one of {', '.join(choices)}.")
    return str(value)


def default_display_name(role: str) -> str:
    """Never the username (often a real name or an e-mail address): a patient gets a
    generated pseudonym; counselors and staff must be named, since patients see them."""
    if role == "patient":
        return pseudonyms.generate()
    raise Invalid("'display_name' is required for counselors and staff (patients see it).")


async def create_user(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    data = await body(request)
    username = data.get("username")
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise Invalid("'username' must be 3 to 64 characters of letters, digits and _ . @ -")
    role = _choice(data, "role", ROLES)
    if role is None:
        raise Invalid("'role' is required: patient, counselor or staff.")
    display_name = _text(data, "display_name", 60) or default_display_name(role)
    user = await ctx.stores.users.create(
        username=username,
        display_name=display_name,
        role=role,
        password_hash=await _password(data),
        language=_choice(data, "language", LANGUAGES) or "en",
    )
    await record(ctx, "admin.user_create", caller, ("user", user.id), origin(request), role=role)
    return json_response(user_admin(user), status=201)


async def update_user(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    user_id = path_id(request, "id")
    data = await body(request)
    user = await ctx.stores.users.get(user_id)
    if user is None:
        raise NotFound("That user does not exist.")
    changes: dict[str, Any] = {}
    if "display_name" in data:
        changes["display_name"] = _text(data, "display_name", 60, required=True)
    if "role" in data:
        changes["role"] = _choice(data, "role", ROLES, nullable=False)
    if "language" in data:
        changes["language"] = _choice(data, "language", LANGUAGES, nullable=False)
    if "password" in data:
        changes["password_hash"] = await _password(data)
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("'active' must be true or false.")
        changes["active"] = data["active"]
    revoke = changes.get("active") is False or ("role" in changes and changes["role"] != user.role)
    if changes.get("active") is False:
        updated = await ctx.stores.users.deactivate(user_id)
        changes.pop("active")
        if changes:
            updated = await ctx.stores.users.update(user_id, changes)
    else:
        if revoke:  # a role change invalidates tokens that carry the old role
            changes["tokens_valid_after"] = utcnow()
        updated = await ctx.stores.users.update(user_id, changes) if changes else user
    fields = sorted(k for k in data if k != "password") + (["password"] if "password" in data else [])
    await record(ctx, "admin.user_update", caller, ("user", user_id), origin(request), fields=fields)
    if revoke:
        await record(ctx, "auth.revoke_all", caller, ("user", user_id), origin(request))
        reason = "deactivated" if data.get("active") is False else "role_changed"
        await ctx.control.publish("end_sessions", user_id=str(user_id), reason=reason)
    assert updated is not None
    return json_response(user_admin(updated))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/cohorts", list_cohorts)
    app.router.add_post("/api/cohorts", create_cohort)
    app.router.add_patch("/api/cohorts/{id}", update_cohort)
    app.router.add_post("/api/cohorts/{id}/rooms", create_room)
    for method in ("POST", "DELETE"):
        app.router.add_route(method, "/api/cohorts/{id}/{kind:members|counselors}/{user_id}", set_membership)
    app.router.add_patch("/api/rooms/{id}", update_room)
    app.router.add_get("/api/users", list_users)
    app.router.add_post("/api/users", create_user)
    app.router.add_patch("/api/users/{id}", update_user)
