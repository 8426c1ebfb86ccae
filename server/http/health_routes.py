"""/healthz (process alive), /readyz (database answers), /metrics (Prometheus text)."""

from __future__ import annotations

from aiohttp import web

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
    lines = [
        "# HELP iopchat_connections Socket.IO connections on this process.",
        "# TYPE iopchat_connections gauge",
        f"iopchat_connections {len(ctx.registry)}",
        "# HELP iopchat_semantic_queue Messages waiting for the semantic model.",
        "# TYPE iopchat_semantic_queue gauge",
        f"iopchat_semantic_queue {ctx.detection.queue_length}",
        "# HELP iopchat_semantic_up 1 when the semantic model is loaded and working.",
        "# TYPE iopchat_semantic_up gauge",
        f"iopchat_semantic_up {1 if ctx.detection.state == 'ready' else 0}",
    ]
    stats = ctx.detection.stats
    for name, value, text in (
        ("judged", stats.judged, "Messages the semantic model judged."),
        ("deferred", stats.deferred, "Messages sent on the cheap verdict under overload, judged after."),
        ("overflow", stats.overflow, "Deferred messages the cheap layers were unsure of (far over capacity)."),
        ("late_flags", stats.late_flags, "Deferred messages the model then flagged (late verdicts)."),
        ("skipped", stats.skipped, "Messages the model never judged (backlog full)."),
        ("failures", stats.failures, "Semantic model failures."),
    ):
        lines += [
            f"# HELP iopchat_semantic_{name}_total {text}",
            f"# TYPE iopchat_semantic_{name}_total counter",
            f"iopchat_semantic_{name}_total {value}",
        ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def setup(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
