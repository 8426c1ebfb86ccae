"""Daily check-ins over HTTP: a patient's own series, and a cohort's for its counselors
and staff (audited). Submitting is a socket event (`checkin:submit`, wire/sockets.py)."""

from __future__ import annotations

from aiohttp import web

from server.actions import checkins
from server.http.common import context, json_response, origin, path_id, principal, query_int


async def my_checkins(request: web.Request) -> web.Response:
    caller = await principal(request)
    days = query_int(request, "days", 30, 1, checkins.MAX_DAYS)
    return json_response(await checkins.my_series(context(request), caller, days))


async def cohort_checkins(request: web.Request) -> web.Response:
    caller = await principal(request)
    days = query_int(request, "days", 14, 1, checkins.MAX_DAYS)
    cohort_id = path_id(request, "id")
    return json_response(await checkins.cohort_series(context(request), caller, cohort_id, days, origin(request)))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/me/checkins", my_checkins)
    app.router.add_get("/api/cohorts/{id}/checkins", cohort_checkins)
