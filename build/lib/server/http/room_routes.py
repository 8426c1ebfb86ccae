"""GET /api/rooms/{id}/messages: history over HTTP, same rules as message:history."""

from __future__ import annotations

from aiohttp import web

from server.actions import chat
from server.errors import Invalid
from server.http.common import context, json_response, origin, path_id, principal, query_id, query_int
from server.wire.schemas import History


async def messages(request: web.Request) -> web.Response:
    caller = await principal(request)
    before, after = query_id(request, "before"), query_id(request, "after")
    if before is not None and after is not None:
        raise Invalid("Use either 'before' or 'after', not both.")
    cmd = History(path_id(request, "id"), before, after, query_int(request, "limit", 50, 1, 100))
    return json_response(await chat.history(context(request), caller, cmd, origin(request)))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/rooms/{id}/messages", messages)
