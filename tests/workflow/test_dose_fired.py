"""The dose fired is the checked, assigned dose (issue 15, open and closed loop).

For random protocols and RMTs, a session run through the workflow fires every
pulse on the simulator at exactly the checked dose's % MSO: the intensity in %
RMT times the patient's stored RMT (the % MSO definition; Rossi et al. 2009 use
% MT throughout), the value the safety verdict was computed with. The
simulator's own pulse log (the device's record) and the registry's pulse events
must both show it. For random amendments, one that raises any part of the dose
is refused and never delivered; one that lowers it is delivered as amended.
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


def _protocol(
    frequency_hz: float, pct_rmt: float, pulses: int, trains: int, iti_s: float = 5.0
) -> Protocol:
    return Protocol.model_validate(
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
                        "inter_train_interval_s": iti_s,
                    },
                    "sessions": 2,
                    "sessions_per_week": 2,
                    "course_weeks": 1,
                }
            ],
        }
    )


def _registered(reg: Registry, proto: Protocol, threshold: float) -> float:
    """Register, screen, hunt the RMT, assign; return the stored RMT."""
    answers = dict.fromkeys([i.id for i in load_screening_items()], "no")
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
    assign_protocol(reg, "S1", "P001", proto, actor="d", review=REVIEW)
    rmt = reg.latest_rmt("S1", "P001")
    assert rmt is not None
    return rmt[0]


_EEG: dict[str, object] = {}


def _eeg() -> tuple[object, dict[str, object]]:
    """The shipped task recording and a calibration on the resting one (cached)."""
    if not _EEG:
        from plptms.closedloop import HjorthFilter, calibrate, read_recording

        rest = read_recording("S001R01")
        fs = float(rest.info["sfreq"])
        hj = HjorthFilter(rest.ch_names, "C3")
        cal = calibrate(hj.apply(rest.get_data().T), fs)
        _EEG["task"] = read_recording("S001R04")
        _EEG["doc"] = {
            "center": hj.center,
            "neighbours": list(hj.neighbours),
            "sfreq_hz": fs,
            "calibration": cal.to_dict(),
        }
    return _EEG["task"], _EEG["doc"]  # type: ignore[return-value]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    threshold=st.floats(30.0, 70.0),
    pct_rmt=st.floats(80.0, 110.0),
    frequency_hz=st.sampled_from([1.0, 5.0, 10.0]),
    pulses=st.integers(1, 4),
    trains=st.integers(1, 2),
)
def test_closed_loop_fires_every_pulse_at_the_checked_dose(
    tmp_path_factory: pytest.TempPathFactory,
    threshold: float,
    pct_rmt: float,
    frequency_hz: float,
    pulses: int,
    trains: int,
) -> None:
    from plptms.closedloop import recording_source
    from plptms.workflow import prepare_closedloop, run_closedloop

    tmp: Path = tmp_path_factory.mktemp("cl")
    proto = _protocol(frequency_hz, pct_rmt, pulses, trains)
    task, doc = _eeg()
    with Registry(f"sqlite:///{tmp / 'r.sqlite3'}") as reg:
        rmt = _registered(reg, proto, threshold)
        expected = pct_rmt * rmt / 100.0
        src = recording_source(task)
        prepared = prepare_closedloop(
            reg, "S1", "P001", proto.id, 1, source=src, calibration=doc,
            device="sim", actor="t", ae_reviewed=True, dry_run=True,
        )  # fmt: skip
        assert prepared.intensity_pct_mso == pytest.approx(expected, rel=1e-12)
        log_path = tmp / "device.jsonl"
        stim = SimulatedStimulator(arm_delay_s=0.0, pulse_log=log_path)
        out = run_closedloop(reg, prepared, src, stim, actor="t")
        fired = read_pulse_log(log_path)
        assert 0 < len(fired) <= pulses * trains
        assert len(fired) == out.pulses
        for entry in fired:
            assert entry.intensity_pct_mso == pytest.approx(expected, rel=1e-12)
        events = [
            e for e in reg.delivery_events(prepared.session_id) if e.kind == "pulse"
        ]
        assert len(events) == len(fired)
        for e in events:
            assert e.intensity_pct_mso == pytest.approx(expected, rel=1e-12)
        d = reg.get_delivery(prepared.session_id)
        assert d.status == ("completed" if out.pulses == pulses * trains else
                            "interrupted")  # fmt: skip


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    intensity_factor=st.one_of(st.none(), st.floats(0.5, 1.5)),
    trains=st.one_of(st.none(), st.integers(1, 6)),
    min_interval_s=st.one_of(st.none(), st.floats(0.05, 1.0)),
)
def test_no_amendment_that_raises_the_dose_is_delivered(
    tmp_path_factory: pytest.TempPathFactory,
    intensity_factor: float | None,
    trains: int | None,
    min_interval_s: float | None,
) -> None:
    from plptms.protocol import AmendmentRefusedError, ClosedLoopRule, DoseAmendment
    from plptms.workflow import amend_dose

    tmp: Path = tmp_path_factory.mktemp("amend")
    assigned_pct, assigned_trains, freq, per_train = 90.0, 3, 5.0, 4
    proto = _protocol(freq, assigned_pct, per_train, assigned_trains)
    pct = None if intensity_factor is None else assigned_pct * intensity_factor
    amendment = DoseAmendment(
        from_session=1,
        intensity_pct_rmt=pct,
        trains_per_session=trains,
        closed_loop=None
        if min_interval_s is None
        else ClosedLoopRule(min_interpulse_interval_s=min_interval_s),
        reason="property test",
    )
    raises = (
        (pct is not None and pct > assigned_pct)
        or (trains is not None and trains > assigned_trains)
        or (min_interval_s is not None and min_interval_s < 1.0 / freq)
    )
    with Registry(f"sqlite:///{tmp / 'r.sqlite3'}") as reg:
        rmt = _registered(reg, proto, 50.0)
        if raises:
            with pytest.raises(AmendmentRefusedError):
                amend_dose(reg, "S1", "P001", proto.id, amendment, actor="d")
            aid, _ = reg.find_assignment("S1", "P001", proto.id)
            assert reg.list_amendments(aid) == []
        else:
            amend_dose(reg, "S1", "P001", proto.id, amendment, actor="d")
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
        use_pct = assigned_pct if raises or pct is None else pct
        use_trains = assigned_trains if raises or trains is None else trains
        assert len(fired) == use_trains * per_train
        for entry in fired:
            assert entry.intensity_pct_mso == pytest.approx(
                use_pct * rmt / 100.0, rel=1e-12
            )
            assert entry.intensity_pct_mso <= assigned_pct * rmt / 100.0 * (1 + 1e-12)
