"""GET /api/audit: staff read the trail; there is no route that changes it."""

from __future__ import annotations

from aiohttp import web
from bson import ObjectId
from bson.errors import InvalidId

from server.clock import iso
from server.errors import Invalid
from server.http.common import context, json_response, query_id, query_int, query_time, staff
from server.models import AuditEntry
from server.wire.payloads import user_public


def entry_payload(entry: AuditEntry) -> dict[str, object]:
    actor = (
        user_public(entry.actor_id, entry.actor_name or "", entry.actor_role or "")
        if entry.actor_id is not None
        else None
    )
    return {
        "id": str(entry.id),
        "at": iso(entry.at),
        "actor": actor,
        "action": entry.action,
        "target": {"type": entry.target_type, "id": entry.target_id},
        "origin": {"ip": entry.origin.ip, "user_agent": entry.origin.user_agent},
        "details": entry.details,
    }


async def list_audit(request: web.Request) -> web.Response:
    await staff(request)
    cursor = request.query.get("cursor")
    try:
        before_id = ObjectId(cursor) if cursor else None
    except (InvalidId, TypeError):
        raise Invalid("'cursor' is not valid.") from None
    action = request.query.get("action") or None
    if action is not None and len(action) > 64:
        raise Invalid("'action' is too long.")
    entries, more = await context(request).stores.audit.page(
        actor_id=query_id(request, "actor_id"),
        action=action,
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        before_id=before_id,
        limit=query_int(request, "limit", 50, 1, 200),
    )
    next_cursor = str(entries[-1].id) if more and entries else None
    return json_response({"entries": [entry_payload(e) for e in entries], "next_cursor": next_cursor})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/audit", list_audit)
