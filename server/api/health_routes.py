"""/healthz (process alive), /readyz (database answers), /metrics (Prometheus text)."""

from __future__ import annotations

from aiohttp import web

from server.api.common import context, staff
from server.store.client import ping


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    if await ping(context(request).stores.db):
        return web.json_response({"status": "ready"})
    return web.json_response(
        {"status": "unavailable", "error": {"code": "unavailable", "message": "database"}}, status=503
    )


async def metrics(request: web.Request) -> web.Response:
    ctx = context(request)
    if not ctx.config.metrics_public:
        await staff(request)
    lines = [
        "# HELP iopchat_connections Socket.IO connections on this process.",
        "# TYPE iopchat_connections gauge",
        f"iopchat_connections {len(ctx.registry)}",
    ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
