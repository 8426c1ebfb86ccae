"""Errors become `{"error": {"code", "message"}}` here, and every response gets the
security headers (a strict Content-Security-Policy: the web client has no inline code)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.errors import ChatError, Internal, SlowRequest, TooLarge, Unavailable
from server.store.failures import StorageError, is_outage

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def error_response(error: ChatError) -> web.Response:
    response = web.json_response({"error": error.to_dict()}, status=error.http_status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.to_dict()["retry_after"])
    if isinstance(error, SlowRequest):
        response.force_close()  # the rest of a trickled body is never read
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ChatError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        return error_response(TooLarge("The request body is too large."))
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            code = {404: "not_found", 405: "invalid"}.get(exc.status, "invalid")
            return web.json_response({"error": {"code": code, "message": exc.reason}}, status=exc.status)
        raise
    except StorageError as exc:
        if is_outage(exc):
            log.warning("%s %s: storage unavailable (%s)", request.method, request.path, type(exc).__name__)
            return error_response(Unavailable())
        log.exception("%s %s failed in storage", request.method, request.path)
        return error_response(Internal())
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(Internal())


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    for name, value in SECURITY_HEADERS.items():
        if name == "Cache-Control" and request.path.startswith(("/static/", "/vendor/")):
            continue
        response.headers.setdefault(name, value)
    return response
