"""The web client: static/ at /static/, index at /, its libraries (socket.io-client, uPlot) from node_modules."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "static"
VENDOR_FILES = {
    "socket.io.esm.min.js": ROOT / "node_modules/socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": ROOT / "node_modules/socket.io-client/dist/socket.io.esm.min.js.map",
    # uPlot draws the check-in and safety charts: small (~50 KB), MIT, no dependencies.
    "uPlot.esm.js": ROOT / "node_modules/uplot/dist/uPlot.esm.js",
    "uPlot.min.css": ROOT / "node_modules/uplot/dist/uPlot.min.css",
}


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def vendor(request: web.Request) -> web.StreamResponse:
    path = VENDOR_FILES.get(request.match_info["name"])
    if path is None or not path.exists():
        raise web.HTTPNotFound(text="Run `make setup` to install the web client's dependencies.")
    content_type = {".js": "text/javascript", ".css": "text/css"}.get(path.suffix)
    return web.FileResponse(path, headers={"Content-Type": content_type} if content_type else None)


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/vendor/{name}", vendor)
    if STATIC.is_dir():
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
