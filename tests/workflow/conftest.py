"""A registered patient, screened, with an RMT and two assigned protocols."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from plptms.protocol import Protocol
from plptms.registry import Registry
from tests._review import REVIEW

RMT = 50.0


def protocol_data(**dose: Any) -> dict[str, Any]:
    """A small 10 Hz protocol (2 trains of 5 pulses, 5 s apart) with changes."""
    base = {
        "pattern": "rtms",
        "target": "m1_hand",
        "laterality": "contralateral",
        "frequency_hz": 10,
        "intensity_pct_rmt": 90,
        "pulses_per_train": 5,
        "trains_per_session": 2,
        "inter_train_interval_s": 5,
    }
    base.update(dose)
    return {
        "id": "small-10hz",
        "name": "test: 2 trains of 5 pulses",
        "condition": "active",
        "blocks": [
            {
                "label": "M1",
                "dose": base,
                "sessions": 10,
                "sessions_per_week": 5,
                "course_weeks": 2,
            }
        ],
    }


def screen_patient(reg: Registry, *, excluded: bool = False) -> None:
    """Record a screening today (every answer no, or an epilepsy history)."""
    from plptms.safety import ScreeningAnswers, load_screening_items, screen

    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    if excluded:
        absolute = [
            i.id for i in load_screening_items() if i.item_class.value == "absolute"
        ]
        answers[absolute[0]] = "yes"
    report = screen(ScreeningAnswers(answers=answers, screened_on=dt.date.today()))
    assert (report.status.value == "excluded") is excluded
    reg.record_screening("S1", "P001", report, actor="dr1")


def record_rmt(reg: Registry, threshold: float = RMT) -> None:
    """Record a converged ML-PEST hunt on a simulated subject."""
    from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest

    hunt = hunt_ml_pest(
        SimulatedSubject(SubjectParameters(threshold_pct_mso=threshold), seed=3),
        start_intensity_pct_mso=threshold + 10.0,
    )
    reg.record_rmt(
        "S1",
        "P001",
        hunt,
        hemisphere="right",
        muscle="FDI",
        stimulator="sim",
        actor="tech1",
    )


@pytest.fixture
def url(db_url: str) -> str:
    """A registry (SQLite and PostgreSQL) with S1/P001 ready for ``small-10hz``."""
    from plptms.safety import check_protocol

    url = db_url
    with Registry(url) as reg:
        reg.add_patient("S1", "P001", history=None, actor="n1")
        screen_patient(reg)
        record_rmt(reg)
        proto = Protocol.model_validate(protocol_data())
        reg.assign_protocol(
            "S1", "P001", proto, check_protocol(proto, review=REVIEW), actor="dr1"
        )
    return url
