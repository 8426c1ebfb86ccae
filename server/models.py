"""Typed documents that cross layers: the store returns these, never raw dicts.

Each `from_doc` is the one place that knows a collection's field names. Ids are kept
as ObjectId inside the server and become hex strings only in payloads (server/payloads.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

ROLES = ("patient", "counselor", "staff")
MESSAGE_STATUSES = ("visible", "held", "hidden", "deleted")
FLAG_STATUSES = ("open", "acknowledged", "resolved")
FLAG_SOURCES = ("detector", "model", "report", "counselor", "help_button", "checkin", "silence")
OUTCOMES = ("false_positive", "supported_in_chat", "contacted_patient", "emergency_services", "referred", "other")
LANGUAGES = ("en", "es")


SEVERITY_RANK = {"high": 3, "medium": 2, "low": 1}  # stored beside severity, for sorting


@dataclass(frozen=True)
class Origin:
    """Where a request came from (the real client address; see http/common.py), for the audit."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class AuditEntry:
    id: ObjectId
    at: datetime
    actor_id: ObjectId | None
    actor_name: str | None
    actor_role: str | None
    action: str
    target_type: str
    target_id: str | None
    origin: Origin
    details: dict[str, Any]

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> AuditEntry:
        origin = doc.get("origin") or {}
        return cls(
            id=doc["_id"],
            at=doc["at"],
            actor_id=doc.get("actor_id"),
            actor_name=doc.get("actor_name"),
            actor_role=doc.get("actor_role"),
            action=doc["action"],
            target_type=doc.get("target_type", ""),
            target_id=doc.get("target_id"),
            origin=Origin(origin.get("ip"), origin.get("user_agent")),
            details=doc.get("details", {}),
        )


@dataclass(frozen=True)
class User:
    id: ObjectId
    username: str
    display_name: str
    role: str
    active: bool = True
    language: str = "en"
    password_hash: str | None = field(default=None, repr=False)
    tokens_valid_after: datetime | None = None
    oncall: bool = False
    created_at: datetime | None = None
    # Addresses this user signed in from (the last few): failures from elsewhere never
    # throttle a sign-in from one of these (OWASP: throttle, don't lock out).
    known_addresses: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> User:
        return cls(
            id=doc["_id"],
            username=doc["username"],
            display_name=doc["display_name"],
            role=doc["role"],
            active=doc.get("active", True),
            language=doc.get("language", "en"),
            password_hash=doc.get("password_hash"),
            tokens_valid_after=doc.get("tokens_valid_after"),
            oncall=doc.get("oncall", False),
            created_at=doc.get("created_at"),
            known_addresses=tuple(doc.get("known_addresses", ())),
        )


@dataclass(frozen=True)
class Cohort:
    id: ObjectId
    name: str
    program: str | None = None
    schedule: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    active: bool = True
    member_ids: tuple[ObjectId, ...] = ()
    counselor_ids: tuple[ObjectId, ...] = ()
    timezone: str | None = None  # IANA name for its check-in days; None: the server's CLINIC_TZ

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Cohort:
        return cls(
            id=doc["_id"],
            name=doc["name"],
            program=doc.get("program"),
            schedule=doc.get("schedule"),
            start_date=doc.get("start_date"),
            end_date=doc.get("end_date"),
            active=doc.get("active", True),
            member_ids=tuple(doc.get("member_ids", ())),
            counselor_ids=tuple(doc.get("counselor_ids", ())),
            timezone=doc.get("timezone"),
        )


@dataclass(frozen=True)
class Room:
    id: ObjectId
    cohort_id: ObjectId
    cohort_name: str
    name: str
    locked: bool = False
    slow_mode_seconds: int = 0
    pinned_message_id: ObjectId | None = None
    crisis_hold: str | None = None  # per-room policy; None means the server default

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Room:
        return cls(
            id=doc["_id"],
            cohort_id=doc["cohort_id"],
            cohort_name=doc.get("cohort_name", ""),
            name=doc["name"],
            locked=doc.get("locked", False),
            slow_mode_seconds=doc.get("slow_mode_seconds", 0),
            pinned_message_id=doc.get("pinned_message_id"),
            crisis_hold=doc.get("crisis_hold"),
        )


@dataclass(frozen=True)
class Moderation:
    by_id: ObjectId
    by_name: str
    by_role: str
    at: datetime
    reason: str | None


@dataclass(frozen=True)
class Message:
    id: ObjectId
    room_id: ObjectId
    cohort_id: ObjectId
    seq: int
    author_id: ObjectId
    author_name: str
    author_role: str
    text: str | None
    client_id: str
    created_at: datetime
    status: str = "visible"
    severity: str | None = None
    categories: tuple[str, ...] = ()
    flag_ids: tuple[ObjectId, ...] = ()
    moderation: Moderation | None = None
    status_before_hide: str | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Message:
        mod = doc.get("moderation")
        return cls(
            id=doc["_id"],
            room_id=doc["room_id"],
            cohort_id=doc["cohort_id"],
            seq=doc["seq"],
            author_id=doc["author_id"],
            author_name=doc.get("author_name", ""),
            author_role=doc.get("author_role", "patient"),
            text=doc.get("text"),
            client_id=doc["client_id"],
            created_at=doc["created_at"],
            status=doc.get("status", "visible"),
            severity=doc.get("severity"),
            categories=tuple(doc.get("categories", ())),
            flag_ids=tuple(doc.get("flag_ids", ())),
            status_before_hide=doc.get("status_before_hide"),
            moderation=Moderation(
                by_id=mod["by_id"],
                by_name=mod["by_name"],
                by_role=mod["by_role"],
                at=mod["at"],
                reason=mod.get("reason"),
            )
            if mod
            else None,
        )


@dataclass(frozen=True)
class FlagMatch:
    term: str
    category: str
    start: int
    end: int


@dataclass(frozen=True)
class Flag:
    id: ObjectId
    message_id: ObjectId
    room_id: ObjectId
    cohort_id: ObjectId
    cohort_name: str
    author_id: ObjectId
    author_name: str
    author_role: str
    text: str | None
    severity: str
    categories: tuple[str, ...]
    matches: tuple[FlagMatch, ...]
    source: str
    status: str
    escalation_level: int
    created_at: datetime
    reported_by_id: ObjectId | None = None
    reported_by_name: str | None = None
    reported_by_role: str | None = None
    reason: str | None = None
    acknowledged_by: tuple[ObjectId, str, str] | None = None
    acknowledged_at: datetime | None = None
    resolved_by: tuple[ObjectId, str, str] | None = None
    resolved_at: datetime | None = None
    resolution: dict[str, str | None] | None = None
    lexicon_version: str | None = None
    # Set when the flag was routed outside its cohort (nobody of the cohort on call) or
    # escalated: counselors of other cohorts may then read, ack and resolve it (audited).
    break_glass: bool = False
    webhook: dict[str, Any] | None = None
    score: float | None = None  # the model's risk score (source "model", or a scored lexicon flag)
    # Delivery state, so that it completes exactly once across retries, restarts and
    # outages: alert:new went out to counselors; the author was shown crisis resources.
    # Flags stored before these fields existed count as delivered.
    alerted: bool = True
    resources_sent: bool = True
    help_presses: int = 0  # a help request (source "help_button"): how often the patient pressed

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Flag:
        def actor(key: str) -> tuple[ObjectId, str, str] | None:
            value = doc.get(key)
            return (value["id"], value["name"], value["role"]) if value else None

        reporter = doc.get("reported_by")
        return cls(
            id=doc["_id"],
            message_id=doc["message_id"],
            room_id=doc["room_id"],
            cohort_id=doc["cohort_id"],
            cohort_name=doc.get("cohort_name", ""),
            author_id=doc["author_id"],
            author_name=doc.get("author_name", ""),
            author_role=doc.get("author_role", "patient"),
            text=doc.get("text"),
            severity=doc["severity"],
            categories=tuple(doc.get("categories", ())),
            matches=tuple(FlagMatch(**m) for m in doc.get("matches", ())),
            source=doc.get("source", "detector"),
            status=doc.get("status", "open"),
            escalation_level=doc.get("escalation_level", 0),
            created_at=doc["created_at"],
            reported_by_id=reporter["id"] if reporter else None,
            reported_by_name=reporter["name"] if reporter else None,
            reported_by_role=reporter["role"] if reporter else None,
            reason=doc.get("reason"),
            acknowledged_by=actor("acknowledged_by"),
            acknowledged_at=doc.get("acknowledged_at"),
            resolved_by=actor("resolved_by"),
            resolved_at=doc.get("resolved_at"),
            resolution=doc.get("resolution"),
            lexicon_version=doc.get("lexicon_version"),
            break_glass=doc.get("break_glass", False),
            webhook=doc.get("webhook"),
            score=doc.get("score"),
            alerted=doc.get("alerted", True),
            resources_sent=doc.get("resources_sent", True),
            help_presses=doc.get("help_presses", 0),
        )


@dataclass(frozen=True)
class Checkin:
    """A patient's daily check-in: one per patient and local day (`day`, in the cohort's
    time zone), so its `_id` is "<patient_id>:<day>" and a same-day submit replaces it."""

    patient_id: ObjectId
    cohort_id: ObjectId
    day: str  # YYYY-MM-DD
    mood: int  # 1 (very low) .. 5 (very good)
    craving: int  # 0 (none) .. 10 (intense)
    note: str | None
    submitted_at: datetime
    flag_ids: tuple[ObjectId, ...] = ()

    @staticmethod
    def key(patient_id: ObjectId, day: str) -> str:
        return f"{patient_id}:{day}"

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Checkin:
        return cls(
            patient_id=doc["patient_id"],
            cohort_id=doc["cohort_id"],
            day=doc["day"],
            mood=doc["mood"],
            craving=doc["craving"],
            note=doc.get("note"),
            submitted_at=doc["submitted_at"],
            flag_ids=tuple(doc.get("flag_ids", ())),
        )

    def to_doc(self) -> dict[str, Any]:
        """The stored shape (other readers, such as the staff safety report, rely on it)."""
        return {
            "_id": self.key(self.patient_id, self.day),
            "patient_id": self.patient_id,
            "cohort_id": self.cohort_id,
            "day": self.day,
            "mood": self.mood,
            "craving": self.craving,
            "note": self.note,
            "submitted_at": self.submitted_at,
            "flag_ids": list(self.flag_ids),
        }


@dataclass(frozen=True)
class Principal:
    """Who is behind a socket or an HTTP request: always from the verified token + database."""

    user_id: ObjectId
    role: str
    display_name: str
    language: str
    jti: str
    token_exp: datetime
    cohort_ids: frozenset[ObjectId]  # patient: member of; counselor: assigned to; staff: empty (sees all)

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"

    @property
    def is_moderator(self) -> bool:
        return self.role in ("counselor", "staff")

    def can_see_cohort(self, cohort_id: ObjectId) -> bool:
        return self.is_staff or cohort_id in self.cohort_ids


@dataclass(frozen=True)
class FlagFacts:
    """What the safety report reads of a flag: its times, kind and state. Never its text,
    author or reporter (minimum necessary: an aggregate needs none of them)."""

    created_at: datetime
    acknowledged_at: datetime | None
    severity: str
    source: str
    categories: tuple[str, ...]
    status: str
    escalation_level: int

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> FlagFacts:
        return cls(
            created_at=_utc(doc["created_at"]),
            acknowledged_at=_utc(doc["acknowledged_at"]) if doc.get("acknowledged_at") else None,
            severity=doc.get("severity", "high"),
            source=doc.get("source", "detector"),
            categories=tuple(doc.get("categories") or ()),
            status=doc.get("status", "open"),
            escalation_level=doc.get("escalation_level", 0),
        )


@dataclass(frozen=True)
class CheckinDay:
    """One patient-day with a check-in (the report counts these; mood and note stay behind)."""

    patient_id: ObjectId
    day: str  # YYYY-MM-DD


def _utc(moment: datetime) -> datetime:
    """Aware UTC (a client opened without tz_aware hands back naive UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
