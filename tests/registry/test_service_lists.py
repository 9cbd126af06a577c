"""Listing a patient's protocol assignments and their recorded sessions."""

from __future__ import annotations

import datetime as dt

import pytest

from plptms.protocol import load_library
from plptms.registry import (
    AssignmentOut,
    RecordNotFoundError,
    Registry,
    SessionStatus,
    TreatmentSessionOut,
)
from plptms.safety import check_protocol

TODAY = dt.date.today()


def test_list_assignments_and_sessions(registry: Registry) -> None:
    lib = load_library()
    registry.add_patient("S1", "P001", history=None, actor="nurse1")
    assert registry.list_assignments("S1", "P001") == []
    first = lib.protocol("wang2022-m1-1hz")
    second = lib.protocol("vats2024-dlpfc-1hz")
    day1 = TODAY - dt.timedelta(days=30)
    day2 = TODAY - dt.timedelta(days=10)
    a2 = registry.assign_protocol(
        "S1", "P001", second, check_protocol(second), actor="dr1", assigned_on=day2
    )
    a1 = registry.assign_protocol(
        "S1", "P001", first, check_protocol(first), actor="dr1", assigned_on=day1
    )
    rows = registry.list_assignments("S1", "P001")
    assert all(isinstance(r, AssignmentOut) for r in rows)
    # oldest first, whatever the insertion order
    assert [(r.id, r.protocol_id, r.assigned_on) for r in rows] == [
        (a1, "wang2022-m1-1hz", day1),
        (a2, "vats2024-dlpfc-1hz", day2),
    ]
    assert rows[0].protocol == first.model_dump(mode="json")
    assert rows[0].decision == check_protocol(first).decision.value
    assert registry.list_sessions(a1) == []
    registry.record_session(
        a1, 2, day1 + dt.timedelta(days=1), SessionStatus.ABORTED, actor="t1", note="x"
    )
    registry.record_session(a1, 1, day1, SessionStatus.COMPLETED, actor="t1")
    sessions = registry.list_sessions(a1)
    assert all(isinstance(s, TreatmentSessionOut) for s in sessions)
    assert [(s.number, s.session_date, s.status, s.note) for s in sessions] == [
        (1, day1, SessionStatus.COMPLETED, ""),
        (2, day1 + dt.timedelta(days=1), SessionStatus.ABORTED, "x"),
    ]
    assert registry.list_sessions(a2) == []


def test_list_assignments_unknown_patient(registry: Registry) -> None:
    with pytest.raises(RecordNotFoundError, match="code"):
        registry.list_assignments("S1", "NOPE")
