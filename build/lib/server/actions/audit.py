"""Writing the audit trail: one call per action, ids only (never message text)."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.context import AppContext
from server.models import Origin, Principal, User
from server.store.audit import Actor


def actor_of(who: Principal | User | None) -> Actor | None:
    if who is None:
        return None
    if isinstance(who, Principal):
        return Actor(who.user_id, who.display_name, who.role)
    return Actor(who.id, who.display_name, who.role)


async def record(
    ctx: AppContext,
    action: str,
    who: Principal | User | None,
    target: tuple[str, ObjectId | str | None],
    origin: Origin,
    **details: Any,
) -> None:
    await ctx.stores.audit.append(
        action, actor=actor_of(who), target_type=target[0], target_id=target[1], origin=origin, details=details
    )
