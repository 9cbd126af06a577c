"""Closed-loop sessions on real and simulated EEG, in virtual time."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from plptms.closedloop import (
    ArraySource,
    ClosedLoopSession,
    HjorthFilter,
    PhaseTrigger,
    SafetyGate,
    SignalQualityError,
    StreamMismatchError,
    calibrate,
    make_estimator,
    read_recording,
    recording_source,
)
from plptms.delivery import FaultKind, FaultPlan, SimulatedStimulator
from plptms.delivery._runner import MemoryDeliveryLog, replay_events

from .conftest import single_pulse_dose


@pytest.fixture(scope="module")
def s001() -> tuple[Any, Any, Any]:
    """Calibration on S001's resting run, the motor-imagery run to stimulate on."""
    rest = read_recording("S001R01")
    task = read_recording("S001R04")
    hj = HjorthFilter(rest.ch_names, "C3")
    cal = calibrate(hj.apply(rest.get_data().T), rest.info["sfreq"], method="ar")
    return task, hj, cal


def _trigger(hj: HjorthFilter, cal: Any, fs: float, **dose: Any) -> PhaseTrigger:
    gate = SafetyGate(single_pulse_dose(frequency_hz=0.5, **dose), rmt_pct_mso=50.0)
    return PhaseTrigger(hj, make_estimator(cal, fs), gate, cal.amplitude_threshold)


def _run(source: Any, trig: PhaseTrigger, **kwargs: Any) -> tuple[Any, Any, Any]:
    log = MemoryDeliveryLog()
    stim = SimulatedStimulator(arm_delay_s=0.0, **kwargs.pop("stim", {}))
    with stim:
        session = ClosedLoopSession(source, trig, stim, 55.0, log, **kwargs)
        out = session.run()
        count = stim.device_pulse_count()
    return out, log, count


def test_real_eeg_session_logs_every_pulse_with_its_phase(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    out, log, count = _run(recording_source(task), _trigger(hj, cal, fs))
    assert out.status == "completed"
    assert out.detail == "the recording ended"
    assert out.pulses >= 20
    # the device, the log and the outcome agree on every pulse
    assert count == out.pulses == replay_events(log.events()).total
    events = log.events()
    pulses = [e for e in events if e.kind == "pulse"]
    assert len(pulses) == out.pulses
    # every pulse was armed (its intent logged) before it fired, and the one
    # armed when the recording ended is closed as not delivered
    for e in pulses:
        (intent,) = [
            i
            for i in events
            if i.kind == "pulse_intent" and i.pulse_index == e.pulse_index
        ]
        assert intent.seq < e.seq
    assert events[-2].kind == "reconciled_not_delivered"
    assert events[-2].pulse_index == out.pulses
    assert replay_events(events).uncertain == []
    for e, ph in zip(pulses, out.estimated_phase_rad, strict=True):
        logged = float(e.detail.split("phase_deg=")[1].split()[0])
        assert logged == pytest.approx(math.degrees(ph), abs=0.06)
        assert "latency_ms=" in e.detail
        assert e.intensity_pct_mso == 55.0
    # the estimated phase at each trigger is just past the trough
    err = np.angle(np.exp(1j * (out.estimated_phase_rad - math.pi)))
    assert np.all((err >= 0) & (err <= 0.3 + 1e-9))
    # the gate's minimum interval held: >= 2 s between pulses
    assert np.diff(out.fire_samples).min() >= 2.0 * fs
    b = out.biomarkers
    assert b is not None
    assert b.n_triggers == out.pulses
    assert b.duration_s == pytest.approx(task.n_times / fs)
    assert b.mu_peak_hz is not None
    assert 8.0 <= b.mu_peak_hz <= 13.0
    # far better than chance (chance: 25 % within +/-45 deg)
    assert b.true_within_45 is not None
    assert b.true_within_45 > 0.6


def test_a_recording_without_mu_peak_is_refused_at_calibration() -> None:
    rest = read_recording("S003R01")
    hj = HjorthFilter(rest.ch_names, "C3")
    with pytest.raises(SignalQualityError, match="too poor"):
        calibrate(hj.apply(rest.get_data().T), rest.info["sfreq"])


def test_wrong_channels_are_refused_before_anything_is_logged(s001: Any) -> None:
    task, hj, cal = s001
    data = task.get_data().T
    names = [n if n != "C3" else "C3x" for n in task.ch_names]
    src = ArraySource(data, task.info["sfreq"], names)
    log = MemoryDeliveryLog()
    with SimulatedStimulator(arm_delay_s=0.0) as stim:
        session = ClosedLoopSession(
            src, _trigger(hj, cal, task.info["sfreq"]), stim, 55.0, log
        )
        with pytest.raises(StreamMismatchError, match="missing channels C3"):
            session.run()
        assert stim.device_pulse_count() == 0
    assert log.events() == []


def test_wrong_rate_is_refused(s001: Any) -> None:
    task, hj, cal = s001
    src = ArraySource(task.get_data().T, 250.0, task.ch_names)
    with (
        SimulatedStimulator(arm_delay_s=0.0) as stim,
        pytest.raises(StreamMismatchError, match="sfreq_hz"),
    ):
        ClosedLoopSession(
            src, _trigger(hj, cal, task.info["sfreq"]), stim, 55.0, MemoryDeliveryLog()
        ).run()


def test_a_lost_stream_ends_the_session_without_firing_blind(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    src = recording_source(task, stall_after_s=40.0)
    out, log, count = _run(src, _trigger(hj, cal, fs), stop_after_lost_s=3.0)
    assert out.status == "stream_lost"
    assert "no pulse was fired without a signal" in out.detail
    assert out.pulses == count
    # nothing fired once the samples stopped
    assert out.fire_samples.max() < 40.0 * fs
    kinds = [e.kind for e in log.events()]
    assert kinds[-1] == "session_interrupted"
    lost = [e for e in log.events() if "stream lost" in e.detail]
    assert lost, "the loss must be logged"


def test_no_trigger_inside_a_window_with_bad_samples(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    data = task.get_data().T.copy()
    bad = slice(int(30 * fs), int(40 * fs))
    data[bad, 4] = np.nan  # C3 drops out for 10 s
    src = ArraySource(data, fs, task.ch_names)
    out, _, _ = _run(src, _trigger(hj, cal, fs))
    window = round(0.5 * fs)  # the AR window must be refilled after the gap
    inside = (out.fire_samples >= bad.start) & (out.fire_samples < bad.stop + window)
    assert not inside.any()
    assert out.status_counts["poor_signal"] > 0
    assert out.pulses > 0  # it resumes after the window is refilled
    # biomarkers come from the longest clean stretch (the 85 s after the gap)
    b = out.biomarkers
    assert b is not None
    assert b.duration_s == pytest.approx(85.0, abs=0.01)
    assert math.isfinite(b.alpha_power)
    assert b.n_triggers == int((out.fire_samples >= bad.stop).sum())


def test_session_stops_at_max_pulses_and_on_emergency_stop(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    out, log, count = _run(recording_source(task), _trigger(hj, cal, fs), max_pulses=5)
    assert (out.status, out.pulses, count) == ("completed", 5, 5)
    assert log.events()[-1].detail == "5 pulses delivered"

    trig = _trigger(hj, cal, fs)
    log2 = MemoryDeliveryLog()
    with SimulatedStimulator(arm_delay_s=0.0) as stim:
        holder: dict[str, ClosedLoopSession] = {}

        def watch(p: Any) -> None:
            if p.pulses >= 3:
                holder["s"].emergency_stop()

        holder["s"] = ClosedLoopSession(
            recording_source(task), trig, stim, 55.0, log2, progress=watch
        )
        out2 = holder["s"].run()
        assert stim.device_pulse_count() == out2.pulses == 3
    assert out2.status == "emergency_stop"
    assert log2.events()[-1].kind == "emergency_stop"


def test_session_limit_comes_from_the_checked_dose(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    trig = _trigger(hj, cal, fs, trains_per_session=4)
    out, _, count = _run(recording_source(task), trig)
    assert out.pulses == count == 4
    assert out.detail == "4 pulses delivered"  # the dose's session total
    with (
        SimulatedStimulator(arm_delay_s=0.0) as stim,
        pytest.raises(ValueError, match="max_pulses"),
    ):
        ClosedLoopSession(
            recording_source(task),
            _trigger(hj, cal, fs, trains_per_session=4),
            stim,
            55.0,
            MemoryDeliveryLog(),
            max_pulses=5,
        )


def test_a_device_fault_ends_the_session_and_is_logged(s001: Any) -> None:
    task, hj, cal = s001
    fs = task.info["sfreq"]
    plan = FaultPlan(kind=FaultKind.DISCONNECT, after_pulses=2)
    out, log, _ = _run(
        recording_source(task), _trigger(hj, cal, fs), stim={"faults": plan}
    )
    assert out.status == "faulted"
    assert out.pulses == 2
    assert any(e.kind == "fault" for e in log.events())
    state = replay_events(log.events())
    assert state.total == 2
    assert len(state.uncertain) == 1


def test_the_stimulator_fires_the_gates_checked_dose(s001: Any) -> None:
    """The % MSO fired is computed once, in the gate, from the checked dose.

    110 % RMT at an RMT of 50 % MSO is 55 % MSO (% RMT x RMT / 100); without an
    explicit intensity the session fires exactly that, and another value is
    refused before anything is fired (issue 15: the gate and the stimulator see
    the same value).
    """
    task, hj, cal = s001
    trig = _trigger(hj, cal, task.info["sfreq"])
    assert trig.gate.intensity_pct_mso == pytest.approx(55.0, rel=1e-12)
    log = MemoryDeliveryLog()
    with SimulatedStimulator(arm_delay_s=0.0) as stim:
        with pytest.raises(ValueError, match="gate's checked dose"):
            ClosedLoopSession(recording_source(task), trig, stim, 60.0, log)
        out = ClosedLoopSession(recording_source(task), trig, stim, None, log).run()
    pulses = [e for e in log.events() if e.kind == "pulse"]
    assert out.pulses == len(pulses) > 0
    for e in pulses:
        assert e.intensity_pct_mso == pytest.approx(55.0, rel=1e-12)
