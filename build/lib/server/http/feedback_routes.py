"""GET /api/feedback/export: counselors' labels as training data (staff only, audited).

Text, severity and category only: no ids, names, rooms or times leave with it, and a
flag whose text was purged by retention is left out. `python -m moderation
export-feedback` calls this and writes moderation/data/feedback.jsonl.
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from server.actions.audit import record
from server.http.common import context, json_response, origin, staff


async def export(request: web.Request) -> web.Response:
    caller = await staff(request)
    ctx = context(request)
    examples = []
    for flag in await ctx.stores.flags.feedback():
        if not flag.text:
            continue
        positive = flag.source == "counselor"
        examples.append(
            {
                "id": "feedback-" + hashlib.sha256(flag.text.encode()).hexdigest()[:16],
                "text": flag.text,
                "severity": flag.severity if positive else "none",
                "category": (flag.categories[0] if flag.categories else None) if positive else None,
                "lang": "",
                "kind": "counselor_concern" if positive else "false_positive",
                "source": "feedback",
            }
        )
    await record(ctx, "feedback.export", caller, ("feedback", None), origin(request), count=len(examples))
    return json_response({"examples": examples})


def setup(app: web.Application) -> None:
    app.router.add_get("/api/feedback/export", export)
