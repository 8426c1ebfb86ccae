"""Outbound objects, shaped per viewer (PROTOCOL.md "Objects").

The minimum-necessary rule lives here: patients get pseudonyms only, tombstones for
hidden/deleted messages and never detector output; counselors and staff get the text,
moderation info, flag ids and severity. Every payload sent to a client is built by one
of these functions.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from server.clock import iso
from server.models import Checkin, Flag, Message, Room, User


def user_public(user_id: ObjectId, display_name: str, role: str) -> dict[str, Any]:
    return {"id": str(user_id), "display_name": display_name, "role": role}


def user_of(user: User) -> dict[str, Any]:
    return user_public(user.id, user.display_name, user.role)


def user_admin(user: User) -> dict[str, Any]:
    """What staff see in the admin screens (never the password hash)."""
    return {
        **user_of(user),
        "username": user.username,
        "active": user.active,
        "language": user.language,
        "oncall": user.oncall,
        "created_at": iso(user.created_at),
    }


def message_payload(message: Message, *, moderator: bool) -> dict[str, Any]:
    tombstone = message.status in ("hidden", "deleted")
    payload: dict[str, Any] = {
        "id": str(message.id),
        "room_id": str(message.room_id),
        "cohort_id": str(message.cohort_id),
        "seq": message.seq,
        "author": user_public(message.author_id, message.author_name, message.author_role),
        "text": message.text if (moderator or not tombstone) else None,
        "created_at": iso(message.created_at),
        "client_id": message.client_id,
        "status": message.status,
    }
    if moderator:
        if message.moderation is not None:
            mod = message.moderation
            payload["moderation"] = {
                "by": user_public(mod.by_id, mod.by_name, mod.by_role),
                "at": iso(mod.at),
                "reason": mod.reason,
            }
        if message.flag_ids:
            payload["flag_ids"] = [str(f) for f in message.flag_ids]
            payload["severity"] = message.severity
            payload["categories"] = list(message.categories)
    return payload


def room_payload(room: Room, pinned: Message | None, *, moderator: bool) -> dict[str, Any]:
    """A pinned message the detector has since held (a late verdict) is left out for
    patients, its author included: every way a room reaches a patient (session, join,
    room:updated) goes through here, and room:updated once sent the held text to all."""
    if pinned is not None and pinned.status == "held" and not moderator:
        pinned = None
    return {
        "id": str(room.id),
        "cohort_id": str(room.cohort_id),
        "cohort_name": room.cohort_name,
        "name": room.name,
        "locked": room.locked,
        "slow_mode_seconds": room.slow_mode_seconds,
        "pinned": message_payload(pinned, moderator=moderator) if pinned is not None else None,
        # The room's own crisis policy (null: the server's CRISIS_HOLD); moderators only.
        **({"crisis_hold": room.crisis_hold} if moderator else {}),
    }


def _actor(value: tuple[ObjectId, str, str] | None) -> dict[str, Any] | None:
    return user_public(*value) if value else None


def flag_payload(flag: Flag) -> dict[str, Any]:
    """Flags go only to counselors and staff (and never to patients)."""
    return {
        "id": str(flag.id),
        "message_id": str(flag.message_id),
        "room_id": str(flag.room_id),
        "cohort_id": str(flag.cohort_id),
        "cohort_name": flag.cohort_name,
        "author": user_public(flag.author_id, flag.author_name, flag.author_role),
        "text": flag.text,
        "severity": flag.severity,
        "categories": list(flag.categories),
        "matches": [{"term": m.term, "category": m.category, "start": m.start, "end": m.end} for m in flag.matches],
        "source": flag.source,
        "reported_by": user_public(flag.reported_by_id, flag.reported_by_name or "", flag.reported_by_role or "patient")
        if flag.reported_by_id
        else None,
        "reason": flag.reason,
        "status": flag.status,
        "escalation_level": flag.escalation_level,
        "break_glass": flag.break_glass,
        "created_at": iso(flag.created_at),
        "acknowledged_by": _actor(flag.acknowledged_by),
        "acknowledged_at": iso(flag.acknowledged_at),
        "resolved_by": _actor(flag.resolved_by),
        "resolved_at": iso(flag.resolved_at),
        "resolution": flag.resolution,
        "lexicon_version": flag.lexicon_version,
        "score": flag.score,
        **({"help_presses": flag.help_presses} if flag.source == "help_button" else {}),
    }


def checkin_payload(checkin: Checkin, *, moderator: bool) -> dict[str, Any]:
    """A check-in for its patient, or for the cohort's counselors and staff, who also get
    the ids of the flags it raised (detector output: never to a patient)."""
    payload: dict[str, Any] = {
        "day": checkin.day,
        "mood": checkin.mood,
        "craving": checkin.craving,
        "note": checkin.note,
        "submitted_at": iso(checkin.submitted_at),
    }
    if moderator:
        payload["flag_ids"] = [str(f) for f in checkin.flag_ids]
    return payload
