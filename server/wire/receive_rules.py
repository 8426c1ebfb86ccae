"""Who may receive what: the minimum-necessary rule for every server-to-client event.

One table, read by the notifier before any direct send and by the tests, which check
every event each kind of viewer received against it. Socket.IO rooms do the routing;
this module is the rule those rooms must obey, stated once so that a new code path that
emits to a socket cannot quietly widen the audience (a patient once received the open
flags of their cohort at connect, because nothing stated this rule).

A patient never receives a flag-shaped payload, detector output, or held text other than
their own; counselors receive only their cohorts' flags unless the flag broke the glass
or was escalated to every counselor; staff receive everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from server.wire import events

PATIENT: Final = frozenset({"patient"})
MODERATORS: Final = frozenset({"counselor", "staff"})
EVERYONE: Final = frozenset({"patient", "counselor", "staff"})

# event -> (roles that may receive it, the condition, in words, for the README table)
RECEIVERS: Final[Mapping[str, tuple[frozenset[str], str]]] = {
    events.SESSION: (EVERYONE, "the connecting socket itself"),
    events.MESSAGE_NEW: (EVERYONE, "members of the room; a held message only its author and moderators"),
    events.MESSAGE_UPDATED: (EVERYONE, "as message:new; patients get tombstones, never detector output"),
    events.PRESENCE: (EVERYONE, "members of the room"),
    events.TYPING: (EVERYONE, "members of the room, not the typist"),
    events.ROOM_UPDATED: (EVERYONE, "members of the room"),
    events.ROOM_REMOVED: (EVERYONE, "the removed or kicked user; the people of a closed cohort"),
    events.MOD_MUTED: (EVERYONE, "the muted user"),
    events.SESSION_ENDED: (EVERYONE, "the sockets being ended"),
    events.ERROR: (EVERYONE, "the socket that sent the faulty event"),
    events.CRISIS_RESOURCES: (PATIENT, "the author of the flagged message or help request, only"),
    events.HELP_UPDATED: (PATIENT, "the patient who asked for help: sent, or acknowledged by a counselor"),
    events.ALERT_NEW: (
        MODERATORS,
        "staff; counselors of the flag's cohort (on call); any on-call counselor when the glass "
        "is broken; every counselor from escalation level 1",
    ),
    events.ALERT_UPDATED: (
        MODERATORS,
        "staff; counselors of the cohort; on-call counselors once the glass is broken; every counselor "
        "from escalation level 1",
    ),
}

# Keys that only moderators' payloads carry: detector output and flag identity.
DETECTOR_KEYS: Final = frozenset({"flag_ids", "severity", "categories", "matches", "score", "moderation"})
FLAG_EVENTS: Final = frozenset({events.ALERT_NEW, events.ALERT_UPDATED})


class ReceiveRuleViolation(RuntimeError):
    """Raised inside the server when code tries to send an event to someone the table forbids."""


def may_receive(role: str, event: str) -> bool:
    """Whether a viewer of this role may ever receive this event. Unknown events: no."""
    rule = RECEIVERS.get(event)
    return rule is not None and role in rule[0]


@dataclass(frozen=True)
class Viewer:
    """Who received an event, as far as the rule needs to know."""

    user_id: str
    role: str
    cohort_ids: frozenset[str]


def violations(viewer: Viewer, event: str, payload: Any) -> list[str]:
    """Every way this received event breaks the rule (empty when it is allowed).

    Used by the tests on everything each viewer received; pure so it can be unit-tested.
    """
    found: list[str] = []
    if not may_receive(viewer.role, event):
        found.append(f"{viewer.role} may not receive {event}")
        return found
    if not isinstance(payload, dict):
        return found
    if viewer.role == "patient":
        leaked = _detector_keys(payload)
        if leaked:
            found.append(f"{event} carries detector output to a patient: {sorted(leaked)}")
        for message in _messages(payload):  # the payload itself, or one inside it (a room's pin)
            if message.get("status") == "held" and (message.get("author") or {}).get("id") != viewer.user_id:
                found.append(f"{event} delivers another patient's held message")
            if message.get("status") in ("hidden", "deleted") and message.get("text"):
                found.append(f"{event} delivers the text of a hidden message to a patient")
    elif viewer.role == "counselor" and event in FLAG_EVENTS:
        in_cohort = payload.get("cohort_id") in viewer.cohort_ids
        widened = bool(payload.get("break_glass")) or int(payload.get("escalation_level") or 0) >= 1
        if not in_cohort and not widened:
            found.append(f"{event} of another cohort's flag reached a counselor without break glass or escalation")
    return found


MESSAGE_STATUSES: Final = frozenset({"visible", "held", "hidden", "deleted"})


def _objects(payload: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The payload and every object inside it, at any depth (a room's `pinned`, a list)."""
    yield payload
    for value in payload.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                yield from _objects(item)


def _messages(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message-shaped object in a payload."""
    return [o for o in _objects(payload) if o.get("status") in MESSAGE_STATUSES and "author" in o]


def _detector_keys(payload: dict[str, Any]) -> set[str]:
    return {key for o in _objects(payload) for key in DETECTOR_KEYS & o.keys()}
