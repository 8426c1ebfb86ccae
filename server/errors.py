"""The error tree, translated into the wire envelope at exactly two boundaries.

    ChatError (code, message, retry_after)
    ├── Invalid            400  payload shape, type, length, unknown values
    ├── Unauthorized       401  no or bad token
    ├── TokenExpired       401
    ├── Forbidden          403  role or membership
    ├── NotFound           404
    ├── Conflict           409  e.g. a username that exists
    ├── TooLarge           413
    ├── RateLimited        429  retry_after
    ├── Muted              403  retry_after
    ├── RoomLocked         403
    ├── SlowMode           429  retry_after
    ├── Unavailable        503  storage or a dependency is down; nothing was stored
    │   └── CrisisUnavailable    ...but a counselor was alerted (`alerted: true`)
    └── Internal           500

Socket handlers turn them into `{"ok": false, "error": {...}}` acks (server/sockets.py);
HTTP handlers into `{"error": {...}}` bodies (server/http/middleware.py). Anything that is
not a ChatError is logged with ids only and reported as `internal`, never with its text.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar


class ChatError(Exception):
    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        self.extra = extra  # more fields for the client (PROTOCOL: add fields freely)
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, **self.extra}
        if self.retry_after is not None:
            body["retry_after"] = max(1, math.ceil(self.retry_after))
        return body

    def to_ack(self) -> dict[str, Any]:
        return {"ok": False, "error": self.to_dict()}


class Invalid(ChatError):
    code = "invalid"
    http_status = 400
    default_message = "The request is not valid."


class Unauthorized(ChatError):
    code = "unauthorized"
    http_status = 401
    default_message = "Please sign in."


class TokenExpired(ChatError):
    code = "token_expired"
    http_status = 401
    default_message = "Your session has expired; please sign in again."


class Forbidden(ChatError):
    code = "forbidden"
    http_status = 403
    default_message = "You do not have access to that."


class NotFound(ChatError):
    code = "not_found"
    http_status = 404
    default_message = "Not found."


class Conflict(ChatError):
    code = "conflict"
    http_status = 409
    default_message = "That conflicts with something that already exists."


class SlowRequest(Invalid):
    """A request body that trickles in (slowloris): 408, and the connection is closed."""

    http_status = 408
    default_message = "The request body arrived too slowly."


class TooLarge(ChatError):
    code = "too_large"
    http_status = 413
    default_message = "That is too large."


class RateLimited(ChatError):
    code = "rate_limited"
    http_status = 429
    default_message = "You are sending too fast; please wait a moment."


class Muted(ChatError):
    code = "muted"
    http_status = 403
    default_message = "A counselor has paused your messages in this room for now."


class RoomLocked(ChatError):
    code = "room_locked"
    http_status = 403
    default_message = "This room is locked by a counselor right now."


class SlowMode(ChatError):
    code = "slow_mode"
    http_status = 429
    default_message = "Slow mode is on in this room; please wait a little before your next message."


class Unavailable(ChatError):
    code = "unavailable"
    http_status = 503
    default_message = "The chat is having trouble saving messages right now. Nothing was sent; please try again."


class CrisisUnavailable(Unavailable):
    """A crisis message could not be posted, but a counselor was alerted and the author
    already has the crisis resources: the truth, in the same `unavailable` envelope."""

    ALERTED: ClassVar[str] = "A counselor has been alerted. If you are in danger, call or text 988, or call 911."
    # The flag is raised all the same, but "a counselor has been alerted" would not be true.
    NOBODY_ON_CALL: ClassVar[str] = (
        "No counselor is on call right now; the clinic will see it as soon as it can. "
        "If you are in danger, call or text 988, or call 911, now."
    )
    NOT_POSTED: ClassVar[str] = "Your message could not be posted to the group right now."
    default_message = f"{NOT_POSTED} {ALERTED}"

    def __init__(self, message_id: str, *, on_call: bool = True) -> None:
        super().__init__(
            f"{self.NOT_POSTED} {self.told(on_call)}", alerted=True, message_id=message_id, counselor_on_call=on_call
        )

    @classmethod
    def told(cls, on_call: bool) -> str:
        """What the patient is told of who has their crisis."""
        return cls.ALERTED if on_call else cls.NOBODY_ON_CALL


class Internal(ChatError):
    code = "internal"
    http_status = 500
