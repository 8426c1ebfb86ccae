"""GET /api/reports/safety: the staff safety dashboard's one aggregated read (audited)."""

from __future__ import annotations

from aiohttp import web

from server.actions.safety_report import safety_report
from server.http.common import context, json_response, origin, query_int, staff

DEFAULT_WEEKS, MAX_WEEKS = 12, 52  # a quarter by default; at most a year


async def safety(request: web.Request) -> web.Response:
    caller = await staff(request)  # before the query is looked at: others learn nothing
    weeks = query_int(request, "weeks", DEFAULT_WEEKS, 1, MAX_WEEKS)
    return json_response(await safety_report(context(request), caller, weeks, origin(request)))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/reports/safety", safety)
