"""The receive rule itself, as pure unit tests: the table refuses what it must."""

from __future__ import annotations

from server.wire import events
from server.wire.receive_rules import RECEIVERS, Viewer, may_receive, violations

PATIENT = Viewer("p1", "patient", frozenset({"c1"}))
COUNSELOR = Viewer("u2", "counselor", frozenset({"c1"}))
STAFF = Viewer("s1", "staff", frozenset())


def test_every_server_event_has_a_rule() -> None:
    assert set(RECEIVERS) == events.SERVER_EVENTS


def test_patients_never_receive_alerts() -> None:
    assert not may_receive("patient", events.ALERT_NEW)
    assert not may_receive("patient", events.ALERT_UPDATED)
    assert violations(PATIENT, events.ALERT_NEW, {"text": "x"}) == ["patient may not receive alert:new"]


def test_crisis_resources_are_for_patients_only() -> None:
    assert may_receive("patient", events.CRISIS_RESOURCES)
    assert not may_receive("counselor", events.CRISIS_RESOURCES)


def test_an_unknown_event_is_refused_to_everyone() -> None:
    assert not may_receive("staff", "debug:dump")


def test_a_patient_gets_no_detector_output_even_nested() -> None:
    message = {"id": "m", "status": "visible", "author": {"id": "p2"}, "pinned": {"severity": "high"}}
    assert violations(PATIENT, events.MESSAGE_NEW, message) != []
    assert violations(PATIENT, events.MESSAGE_NEW, {"flag_ids": ["f"], "status": "visible"}) != []


def test_a_patient_gets_only_their_own_held_message() -> None:
    theirs = {"id": "m", "status": "held", "author": {"id": "p2"}, "text": "x"}
    own = {"id": "m", "status": "held", "author": {"id": "p1"}, "text": "x"}
    assert violations(PATIENT, events.MESSAGE_NEW, theirs) == ["message:new delivers another patient's held message"]
    assert violations(PATIENT, events.MESSAGE_UPDATED, own) == []


def test_a_patient_gets_no_held_message_of_another_inside_a_room() -> None:
    pinned = {"id": "m", "status": "held", "author": {"id": "p2"}, "text": "x"}
    room = {"id": "r", "cohort_id": "c1", "locked": True, "pinned": pinned}
    assert violations(PATIENT, events.ROOM_UPDATED, room) == ["room:updated delivers another patient's held message"]
    assert violations(PATIENT, events.SESSION, {"rooms": [room]}) != []
    assert violations(PATIENT, events.ROOM_UPDATED, {**room, "pinned": None}) == []


def test_a_patient_gets_no_text_of_a_hidden_message() -> None:
    hidden = {"id": "m", "status": "hidden", "author": {"id": "p2"}, "text": "x"}
    assert violations(PATIENT, events.MESSAGE_UPDATED, hidden) != []
    assert violations(PATIENT, events.MESSAGE_UPDATED, {**hidden, "text": None}) == []


def test_a_counselor_gets_another_cohorts_flag_only_when_widened() -> None:
    flag = {"cohort_id": "c9", "break_glass": False, "escalation_level": 0}
    assert violations(COUNSELOR, events.ALERT_NEW, flag) != []
    assert violations(COUNSELOR, events.ALERT_NEW, {**flag, "break_glass": True}) == []
    assert violations(COUNSELOR, events.ALERT_UPDATED, {**flag, "escalation_level": 1}) == []
    assert violations(COUNSELOR, events.ALERT_NEW, {**flag, "cohort_id": "c1"}) == []


def test_staff_may_receive_every_flag() -> None:
    assert violations(STAFF, events.ALERT_NEW, {"cohort_id": "c9"}) == []
