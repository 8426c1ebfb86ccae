"""What every HTTP handler needs: the app context, the caller, the body, the origin."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from bson import ObjectId

from server import addresses
from server.auth import authenticate, parse_object_id
from server.clock import parse_iso
from server.context import AppContext
from server.errors import Forbidden, Invalid, NotFound, TooLarge, Unauthorized
from server.keys import CONTEXT
from server.models import Origin, Principal


def context(request: web.Request) -> AppContext:
    return request.app[CONTEXT]


def client_address(request: web.Request) -> str:
    return addresses.client_address(request.remote, request.headers, context(request).config.trusted_proxies)


def origin(request: web.Request) -> Origin:
    agent = request.headers.get("User-Agent", "")[:300] or None
    return Origin(ip=client_address(request), user_agent=agent)


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def principal(request: web.Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    found, _ = await authenticate(context(request).config, context(request).stores, token)
    return found


async def staff(request: web.Request) -> Principal:
    caller = await principal(request)
    if not caller.is_staff:
        raise Forbidden("Only staff can do that.")
    return caller


async def moderator(request: web.Request) -> Principal:
    caller = await principal(request)
    if not caller.is_moderator:
        raise Forbidden("Only counselors and staff can do that.")
    return caller


async def body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge("The request body is too large.") from None
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Invalid("The body must be JSON (and not nested too deeply).") from None
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.")
    if _depth(data) > MAX_JSON_DEPTH:
        raise Invalid(f"The body is nested too deeply (at most {MAX_JSON_DEPTH} levels).")
    return data


MAX_JSON_DEPTH = 8  # our bodies are flat objects; deep nesting is only ever an attack


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what deep input is built to break)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def path_id(request: web.Request, name: str) -> ObjectId:
    try:
        return parse_object_id(request.match_info[name])
    except Invalid:
        raise NotFound("Not found.") from None


def query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"'{name}' must be a whole number.") from None
    if not low <= value <= high:
        raise Invalid(f"'{name}' must be between {low} and {high}.")
    return value


def query_id(request: web.Request, name: str) -> ObjectId | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_object_id(raw)
    except Invalid:
        raise Invalid(f"'{name}' is not a valid id.") from None


def query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise Invalid(f"'{name}' must be an ISO-8601 time.") from None


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)
