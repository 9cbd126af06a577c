"""The dose fired is the checked, assigned dose (issue 15, open loop).

For random protocols and RMTs, a session run through the workflow fires every
pulse on the simulator at exactly the checked dose's % MSO: the intensity in %
RMT times the patient's stored RMT (the % MSO definition; Rossi et al. 2009 use
% MT throughout), the value the safety verdict was computed with. The
simulator's own pulse log (the device's record) and the registry's pulse events
must both show it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plptms.delivery import SimulatedStimulator, VirtualClock
from plptms.delivery._pulselog import read_pulse_log
from plptms.motor import SimulatedSubject, SubjectParameters, hunt_ml_pest
from plptms.protocol import Protocol
from plptms.registry import Registry
from plptms.safety import (
    PhysicianReview,
    ScreeningAnswers,
    load_screening_items,
    screen,
)
from plptms.workflow import assign_protocol, prepare_start, run_delivery

REVIEW = PhysicianReview(physician="Dr P", reason="Unverified table cells reviewed.")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    threshold=st.floats(30.0, 70.0),
    pct_rmt=st.floats(80.0, 110.0),
    frequency_hz=st.sampled_from([1.0, 5.0, 10.0]),
    pulses=st.integers(1, 5),
    trains=st.integers(1, 3),
)
def test_every_pulse_is_fired_at_the_checked_dose(
    tmp_path_factory: pytest.TempPathFactory,
    threshold: float,
    pct_rmt: float,
    frequency_hz: float,
    pulses: int,
    trains: int,
) -> None:
    tmp: Path = tmp_path_factory.mktemp("dose")
    proto = Protocol.model_validate(
        {
            "id": "random-dose",
            "name": "property test",
            "condition": "active",
            "blocks": [
                {
                    "label": "M1",
                    "dose": {
                        "pattern": "rtms",
                        "target": "m1_hand",
                        "laterality": "contralateral",
                        "frequency_hz": frequency_hz,
                        "intensity_pct_rmt": pct_rmt,
                        "pulses_per_train": pulses,
                        "trains_per_session": trains,
                        "inter_train_interval_s": 5.0,
                    },
                    "sessions": 1,
                    "sessions_per_week": 1,
                    "course_weeks": 1,
                }
            ],
        }
    )
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
    with Registry(f"sqlite:///{tmp / 'r.sqlite3'}") as reg:
        reg.add_patient("S1", "P001", history=None, actor="n")
        reg.record_screening(
            "S1",
            "P001",
            screen(ScreeningAnswers(answers=answers, screened_on=dt.date.today())),
            actor="d",
        )
        hunt = hunt_ml_pest(
            SimulatedSubject(SubjectParameters(threshold_pct_mso=threshold), seed=1),
            start_intensity_pct_mso=min(100.0, threshold + 10.0),
        )
        reg.record_rmt(
            "S1", "P001", hunt, hemisphere="left", muscle="FDI", stimulator="sim",
            actor="t",
        )  # fmt: skip
        rmt = reg.latest_rmt("S1", "P001")
        assert rmt is not None
        expected = pct_rmt * rmt[0] / 100.0  # the checked dose, % MSO
        result = assign_protocol(reg, "S1", "P001", proto, actor="d", review=REVIEW)
        assert result.verdict.rmt_pct_mso == rmt[0]
        prepared = prepare_start(
            reg, "S1", "P001", proto.id, 1, device="sim", actor="t", ae_reviewed=True
        )
        clock = VirtualClock()
        log_path = tmp / "device.jsonl"
        stim = SimulatedStimulator(
            clock=clock.now, sleep=clock.sleep, pulse_log=log_path
        )
        outcome = run_delivery(
            reg, prepared, stim, actor="t", clock=clock.now, sleep=clock.sleep
        )
        assert outcome.status == "completed"
        fired = read_pulse_log(log_path)
        assert len(fired) == pulses * trains
        for entry in fired:
            assert entry.intensity_pct_mso == pytest.approx(expected, rel=1e-12)
        events = [
            e for e in reg.delivery_events(prepared.session_id) if e.kind == "pulse"
        ]
        assert len(events) == pulses * trains
        for e in events:
            assert e.intensity_pct_mso == pytest.approx(expected, rel=1e-12)
