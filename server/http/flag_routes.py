"""The review queue: list, read (audited), acknowledge, resolve; the lexicon report."""

from __future__ import annotations

import base64
import json
from typing import Any

from aiohttp import web
from bson import ObjectId
from bson.errors import InvalidId

from server.actions import flags
from server.actions.audit import record
from server.errors import Forbidden, Invalid
from server.http.common import (
    body,
    context,
    json_response,
    moderator,
    origin,
    path_id,
    query_id,
    query_int,
    query_time,
    staff,
)
from server.models import FLAG_STATUSES, OUTCOMES, SEVERITY_RANK
from server.wire.payloads import flag_payload, message_payload

CONTEXT_MESSAGES = 5


def _encode_cursor(rank: int, last_id: ObjectId) -> str:
    return base64.urlsafe_b64encode(json.dumps([rank, str(last_id)]).encode()).decode()


def _decode_cursor(raw: str | None) -> tuple[int, ObjectId] | None:
    if not raw:
        return None
    try:
        rank, last_id = json.loads(base64.urlsafe_b64decode(raw.encode()))
        # Only a severity rank: any other number reached the database query (a 30-digit
        # one failed there as an internal error).
        if type(rank) is not int or rank not in SEVERITY_RANK.values():
            raise ValueError
        return rank, ObjectId(last_id)
    except (ValueError, TypeError, InvalidId, json.JSONDecodeError):
        raise Invalid("'cursor' is not valid.") from None


async def list_flags(request: web.Request) -> web.Response:
    caller = await moderator(request)
    ctx = context(request)
    query: dict[str, Any] = {}
    status = request.query.get("status")
    if status:
        if status not in FLAG_STATUSES:
            raise Invalid(f"'status' must be one of {', '.join(FLAG_STATUSES)}.")
        query["status"] = status
    severity = request.query.get("severity")
    if severity:
        if severity not in SEVERITY_RANK:
            raise Invalid("'severity' must be high, medium or low.")
        query["severity"] = severity
    cohort_id = query_id(request, "cohort_id")
    if cohort_id is not None:
        if not caller.can_see_cohort(cohort_id):
            raise Forbidden("That cohort is not yours.")
        query["cohort_id"] = cohort_id
    elif not caller.is_staff:
        query["cohort_id"] = {"$in": list(caller.cohort_ids)}
    since, until = query_time(request, "since"), query_time(request, "until")
    if since or until:
        query["created_at"] = {**({"$gte": since} if since else {}), **({"$lt": until} if until else {})}
    limit = query_int(request, "limit", 50, 1, 200)
    flags, more = await ctx.stores.flags.page(query, _decode_cursor(request.query.get("cursor")), limit)
    cursor = _encode_cursor(SEVERITY_RANK[flags[-1].severity], flags[-1].id) if more and flags else None
    if flags:  # every read of flag text is on the record: one entry per page, naming the flags
        await record(ctx, "flag.list", caller, ("flag", None), origin(request), flag_ids=[str(f.id) for f in flags])
    return json_response({"flags": [flag_payload(f) for f in flags], "next_cursor": cursor})


async def get_flag(request: web.Request) -> web.Response:
    caller = await moderator(request)
    ctx = context(request)
    flag = await flags.access_flag(ctx, caller, path_id(request, "id"), origin(request))
    await record(ctx, "flag.read", caller, ("flag", flag.id), origin(request))
    before: list[Any] = []
    after: list[Any] = []
    message = await ctx.stores.messages.get(flag.message_id)
    # Through break glass a counselor may read the flag (and its message), but nothing
    # else of that cohort opens to them (PROTOCOL.md): not the other patients' messages
    # around it.
    if message is not None and caller.can_see_cohort(flag.cohort_id):
        before, after = await ctx.stores.messages.context(flag.room_id, message.seq, CONTEXT_MESSAGES)
    return json_response(
        {
            "flag": flag_payload(flag),
            "message": message_payload(message, moderator=True) if message else None,
            "context": {
                "before": [message_payload(m, moderator=True) for m in before],
                "after": [message_payload(m, moderator=True) for m in after],
            },
        }
    )


async def acknowledge(request: web.Request) -> web.Response:
    caller = await moderator(request)
    flag = await flags.acknowledge(context(request), caller, path_id(request, "id"), origin(request))
    return json_response({"flag": flag_payload(flag)})


async def resolve(request: web.Request) -> web.Response:
    caller = await moderator(request)
    data = await body(request)
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise Invalid(f"'outcome' must be one of {', '.join(OUTCOMES)}.")
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise Invalid("'note' must be a string of at most 2000 characters.")
    flag = await flags.resolve(context(request), caller, path_id(request, "id"), outcome, note, origin(request))
    return json_response({"flag": flag_payload(flag)})


async def lexicon_report(request: web.Request) -> web.Response:
    await staff(request)
    return json_response({"terms": await context(request).stores.flags.term_stats()})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/flags", list_flags)
    app.router.add_get("/api/flags/{id}", get_flag)
    app.router.add_post("/api/flags/{id}/acknowledge", acknowledge)
    app.router.add_post("/api/flags/{id}/resolve", resolve)
    app.router.add_get("/api/reports/lexicon", lexicon_report)
