"""Untrusted payloads -> frozen commands.

Every client-to-server event is parsed here before anything else looks at it: types,
lengths and id formats are checked, so no client value can reach a query as an operator
(`{"$gt": ""}` is not a string, so it is not an id). Fields the contract does not name
(`sender_id`, `role`, ...) are ignored: identity always comes from the server session.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from moderation import CATEGORIES
from server.auth import parse_object_id
from server.errors import Invalid
from server.models import OUTCOMES

MAX_TEXT = 2000
MAX_REASON = 500
MAX_NOTE = 2000
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# Bidi embeddings/overrides/isolates and the invisible formatting characters that can
# disguise text; removed from messages (the detector also ignores them).
_INVISIBLE = dict.fromkeys(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2070), 0xFEFF, 0x061C], None
)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid("The payload must be an object.")
    return data


def _id(data: dict[str, Any], key: str) -> ObjectId:
    if key not in data:
        raise Invalid(f"'{key}' is required.")
    try:
        return parse_object_id(data[key])
    except Invalid:
        raise Invalid(f"'{key}' is not a valid id.") from None


def _optional_id(data: dict[str, Any], key: str) -> ObjectId | None:
    return None if data.get(key) is None else _id(data, key)


def _optional_text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"'{key}' must be a string.")
    value = clean_text(value)
    if len(value) > limit:
        raise Invalid(f"'{key}' is longer than {limit} characters.")
    return value or None


def _int(data: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise Invalid(f"'{key}' is required.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"'{key}' must be a whole number.")
    if not low <= value <= high:
        raise Invalid(f"'{key}' must be between {low} and {high}.")
    return value


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise Invalid(f"'{key}' must be true or false.")
    return value


def clean_text(text: str) -> str:
    """Drop control characters (except newline and tab) and bidi/invisible characters, trim.

    Lone surrogates cannot be stored as UTF-8; they are dropped too.
    """
    text = text.translate(_INVISIBLE)
    kept = [
        ch for ch in text if ch in "\n\t" or (unicodedata.category(ch) not in ("Cc", "Cs") and ch not in "\u2028\u2029")
    ]
    return "".join(kept).strip()


@dataclass(frozen=True)
class RoomRef:
    room_id: ObjectId


@dataclass(frozen=True)
class SendMessage:
    room_id: ObjectId
    text: str
    client_id: str


@dataclass(frozen=True)
class History:
    room_id: ObjectId
    before: ObjectId | None
    after: ObjectId | None
    limit: int


@dataclass(frozen=True)
class Typing:
    room_id: ObjectId
    typing: bool


@dataclass(frozen=True)
class Report:
    message_id: ObjectId
    reason: str | None


@dataclass(frozen=True)
class MessageAction:
    message_id: ObjectId
    reason: str | None


@dataclass(frozen=True)
class Mute:
    room_id: ObjectId
    user_id: ObjectId
    minutes: int
    reason: str | None


@dataclass(frozen=True)
class MemberAction:
    room_id: ObjectId
    user_id: ObjectId
    reason: str | None


@dataclass(frozen=True)
class SlowMode:
    room_id: ObjectId
    seconds: int


@dataclass(frozen=True)
class Pin:
    room_id: ObjectId
    message_id: ObjectId | None


@dataclass(frozen=True)
class OncallSet:
    on: bool


@dataclass(frozen=True)
class FlagRef:
    flag_id: ObjectId


@dataclass(frozen=True)
class FlagResolve:
    flag_id: ObjectId
    outcome: str
    note: str | None


def parse_room_ref(data: Any) -> RoomRef:
    return RoomRef(_id(_object(data), "room_id"))


def parse_send_message(data: Any) -> SendMessage:
    data = _object(data)
    room_id = _id(data, "room_id")
    text = data.get("text")
    if not isinstance(text, str):
        raise Invalid("'text' must be a string.")
    if len(text) > MAX_TEXT * 4:
        raise Invalid(f"The message is longer than {MAX_TEXT} characters.")
    text = clean_text(text)
    if not text:
        raise Invalid("The message is empty.")
    if len(text) > MAX_TEXT:
        raise Invalid(f"The message is longer than {MAX_TEXT} characters.")
    client_id = data.get("client_id")
    if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
        raise Invalid("'client_id' must be 8 to 64 characters of A-Z, a-z, 0-9, _ or -.")
    return SendMessage(room_id, text, client_id)


def parse_history(data: Any) -> History:
    data = _object(data)
    before, after = _optional_id(data, "before"), _optional_id(data, "after")
    if before is not None and after is not None:
        raise Invalid("Use either 'before' or 'after', not both.")
    return History(_id(data, "room_id"), before, after, _int(data, "limit", 1, 100, default=50))


def parse_typing(data: Any) -> Typing:
    data = _object(data)
    return Typing(_id(data, "room_id"), _bool(data, "typing"))


def parse_report(data: Any) -> Report:
    data = _object(data)
    return Report(_id(data, "message_id"), _optional_text(data, "reason", MAX_REASON))


def parse_message_action(data: Any) -> MessageAction:
    data = _object(data)
    return MessageAction(_id(data, "message_id"), _optional_text(data, "reason", MAX_REASON))


def parse_mute(data: Any) -> Mute:
    data = _object(data)
    return Mute(
        _id(data, "room_id"),
        _id(data, "user_id"),
        _int(data, "minutes", 1, 1440),
        _optional_text(data, "reason", MAX_REASON),
    )


def parse_member_action(data: Any) -> MemberAction:
    data = _object(data)
    return MemberAction(_id(data, "room_id"), _id(data, "user_id"), _optional_text(data, "reason", MAX_REASON))


def parse_slow_mode(data: Any) -> SlowMode:
    data = _object(data)
    return SlowMode(_id(data, "room_id"), _int(data, "seconds", 0, 3600))


def parse_pin(data: Any) -> Pin:
    data = _object(data)
    if "message_id" not in data:
        raise Invalid("'message_id' is required (null to unpin).")
    return Pin(_id(data, "room_id"), _optional_id(data, "message_id"))


def parse_oncall(data: Any) -> OncallSet:
    return OncallSet(_bool(_object(data), "on"))


def parse_flag_ref(data: Any) -> FlagRef:
    return FlagRef(_id(_object(data), "flag_id"))


def parse_flag_resolve(data: Any) -> FlagResolve:
    data = _object(data)
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise Invalid(f"'outcome' must be one of {', '.join(OUTCOMES)}.")
    return FlagResolve(_id(data, "flag_id"), outcome, _optional_text(data, "note", MAX_NOTE))


@dataclass(frozen=True)
class HelpRequest:
    """A patient presses "Ask a counselor to reach out to me now"."""

    room_id: ObjectId | None
    note: str | None


def parse_help_request(data: Any) -> HelpRequest:
    data = _object(data if data is not None else {})
    return HelpRequest(_optional_id(data, "room_id"), _optional_text(data, "note", MAX_REASON))


@dataclass(frozen=True)
class Concern:
    """A counselor marks a message "concerning, not flagged" (it becomes training data)."""

    message_id: ObjectId
    severity: str
    category: str
    note: str | None


def parse_concern(data: Any) -> Concern:
    data = _object(data)
    severity = data.get("severity", "medium")
    if severity not in ("low", "medium", "high"):
        raise Invalid("'severity' must be one of low, medium, high.")
    category = data.get("category")
    if category not in CATEGORIES:
        raise Invalid(f"'category' must be one of {', '.join(CATEGORIES)}.")
    note = _optional_text(data, "note", MAX_REASON) or _optional_text(data, "reason", MAX_REASON)
    return Concern(_id(data, "message_id"), severity, category, note)


@dataclass(frozen=True)
class CheckinSubmit:
    """A patient's daily check-in: mood 1 (very low) .. 5 (very good), craving 0 (none) ..
    10 (intense), and an optional note that the crisis detector reads."""

    mood: int
    craving: int
    note: str | None


MOOD_RANGE = (1, 5)
CRAVING_RANGE = (0, 10)


def parse_checkin(data: Any) -> CheckinSubmit:
    data = _object(data)
    return CheckinSubmit(
        _int(data, "mood", *MOOD_RANGE),
        _int(data, "craving", *CRAVING_RANGE),
        _optional_text(data, "note", MAX_REASON),
    )
