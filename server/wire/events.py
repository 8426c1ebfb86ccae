"""Protocol names in one place: event names and Socket.IO room names.

Socket.IO rooms (server-side only; clients never name them):
    room:{id}:patients      patients joined to a chat room (patient-shaped payloads)
    room:{id}:mods          counselors and staff joined to a chat room (full payloads)
    room:{id}:user:{uid}    one user's sockets joined to one chat room (held messages)
    user:{uid}              all sockets of a user (session:ended, alerts)
    token:{jti}             sockets opened with one token (logout)
    staff                   every connected staff socket (alerts always reach staff)
    counselors              every connected counselor socket (escalation level 1)
    oncall                  every on-call counselor socket (fallback routing)
    oncall:{cohort_id}      on-call counselors assigned to that cohort
    cohort:{cohort_id}      counselors assigned to that cohort (alert:updated)
"""

from __future__ import annotations

from typing import Final

from bson import ObjectId

# client -> server
ROOM_JOIN: Final = "room:join"
ROOM_LEAVE: Final = "room:leave"
MESSAGE_SEND: Final = "message:send"
MESSAGE_HISTORY: Final = "message:history"
TYPING: Final = "typing"
MESSAGE_REPORT: Final = "message:report"
MOD_HIDE: Final = "mod:hide"
MOD_UNHIDE: Final = "mod:unhide"
MOD_DELETE: Final = "mod:delete"
MOD_RELEASE: Final = "mod:release"
MOD_MUTE: Final = "mod:mute"
MOD_UNMUTE: Final = "mod:unmute"
MOD_KICK: Final = "mod:kick"
MOD_LOCK: Final = "mod:lock"
MOD_UNLOCK: Final = "mod:unlock"
MOD_SLOW_MODE: Final = "mod:slow_mode"
MOD_PIN: Final = "mod:pin"
ONCALL_SET: Final = "oncall:set"
FLAG_ACK: Final = "flag:ack"
FLAG_RESOLVE: Final = "flag:resolve"
MOD_CONCERN: Final = "mod:concern"
HELP_REQUEST: Final = "help:request"
CHECKIN_SUBMIT: Final = "checkin:submit"

# server -> client
SESSION: Final = "session"
MESSAGE_NEW: Final = "message:new"
MESSAGE_UPDATED: Final = "message:updated"
PRESENCE: Final = "presence"
ROOM_UPDATED: Final = "room:updated"
ALERT_NEW: Final = "alert:new"
ALERT_UPDATED: Final = "alert:updated"
CRISIS_RESOURCES: Final = "crisis:resources"
HELP_UPDATED: Final = "help:updated"
MOD_MUTED: Final = "mod:muted"
ROOM_REMOVED: Final = "room:removed"
SESSION_ENDED: Final = "session:ended"
ERROR: Final = "error"

# Everything the server emits (typing goes both ways); receive_rules.py has a rule for each.
SERVER_EVENTS: Final = frozenset(
    {
        SESSION, MESSAGE_NEW, MESSAGE_UPDATED, PRESENCE, TYPING, ROOM_UPDATED, ALERT_NEW, ALERT_UPDATED,
        CRISIS_RESOURCES, HELP_UPDATED, MOD_MUTED, ROOM_REMOVED, SESSION_ENDED, ERROR,
    }
)  # fmt: skip

# Names a client must never send as ordinary events (SECURITY.md W5).
RESERVED: Final = frozenset({"connect", "disconnect", "connect_error", "message"})

STAFF: Final = "staff"
COUNSELORS: Final = "counselors"
ONCALL: Final = "oncall"


def room_patients(room_id: ObjectId) -> str:
    return f"room:{room_id}:patients"


def room_mods(room_id: ObjectId) -> str:
    return f"room:{room_id}:mods"


def room_user(room_id: ObjectId, user_id: ObjectId) -> str:
    return f"room:{room_id}:user:{user_id}"


def user_room(user_id: ObjectId) -> str:
    return f"user:{user_id}"


def token_room(jti: str) -> str:
    return f"token:{jti}"


def oncall_room(cohort_id: ObjectId) -> str:
    return f"oncall:{cohort_id}"


def cohort_counselors(cohort_id: ObjectId) -> str:
    return f"cohort:{cohort_id}"


def is_moderator_room(name: str) -> bool:
    """Rooms only counselors and staff are ever put in (alerts may go only there)."""
    return name in (STAFF, COUNSELORS, ONCALL) or name.startswith(("oncall:", "cohort:"))
