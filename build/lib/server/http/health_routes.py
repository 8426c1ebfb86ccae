"""/healthz (process alive), /readyz (database answers), /metrics (Prometheus text)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from server.http.common import context, staff


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """503 when the database does not answer; 200 with status "degraded" when the
    semantic detector is down (the lexicon still judges every message, so the process
    keeps serving, but an operator must see it)."""
    ctx = context(request)
    detection = ctx.detection.state
    if not await ctx.stores.ping():
        return web.json_response(
            {"status": "unavailable", "detection": detection, "error": {"code": "unavailable", "message": "database"}},
            status=503,
        )
    return web.json_response({"status": "degraded" if ctx.detection.degraded else "ready", "detection": detection})


async def metrics(request: web.Request) -> web.Response:
    ctx = context(request)
    if not ctx.config.metrics_public:
        await staff(request)
    return web.Response(body=ctx.metrics.text(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
