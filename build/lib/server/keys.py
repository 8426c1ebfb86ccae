"""Typed aiohttp application keys."""

from __future__ import annotations

from aiohttp import web

from server.context import AppContext

CONTEXT = web.AppKey("context", AppContext)
