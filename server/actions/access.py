"""Fetch-and-authorize helpers: a caller gets an object only if the principal may use it.

No code path has a room or message without going through one of these (zulip's
`access_*` pattern). A room that exists in a cohort the user may not see is `forbidden`;
an id that does not exist is `not_found` (PROTOCOL.md "Access").
"""

from __future__ import annotations

from bson import ObjectId

from server.actions.ratelimit import TokenBucket
from server.context import AppContext
from server.errors import Forbidden, NotFound, RateLimited
from server.models import Message, Principal, Room


def patient_action(principal: Principal, limiter: TokenBucket, refusal: str) -> None:
    """A patient-only action (the help button, a check-in) within its rate limit."""
    if principal.role != "patient":
        raise Forbidden(refusal)
    wait = limiter.take(principal.user_id)
    if wait > 0:
        raise RateLimited(retry_after=wait)


async def access_room(ctx: AppContext, principal: Principal, room_id: ObjectId) -> Room:
    room = await ctx.caches.rooms.get(room_id)
    if room is None:
        raise NotFound("That room does not exist.")
    if not principal.can_see_cohort(room.cohort_id):
        raise Forbidden("That room belongs to another cohort.")
    return room


async def access_message(ctx: AppContext, principal: Principal, message_id: ObjectId) -> tuple[Message, Room]:
    """A message the principal may see: in a visible cohort, and not someone else's held message."""
    message = await ctx.stores.messages.get(message_id)
    if message is None:
        raise NotFound("That message does not exist.")
    room = await access_room(ctx, principal, message.room_id)
    if message.status == "held" and not principal.is_moderator and message.author_id != principal.user_id:
        raise NotFound("That message does not exist.")
    return message, room


def require_moderator(principal: Principal) -> None:
    if not principal.is_moderator:
        raise Forbidden("Only counselors and staff can do that.")


async def access_room_to_moderate(ctx: AppContext, principal: Principal, room_id: ObjectId) -> Room:
    require_moderator(principal)
    return await access_room(ctx, principal, room_id)


async def access_message_to_moderate(
    ctx: AppContext, principal: Principal, message_id: ObjectId
) -> tuple[Message, Room]:
    require_moderator(principal)
    return await access_message(ctx, principal, message_id)
