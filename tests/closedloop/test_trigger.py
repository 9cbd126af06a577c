"""Trigger decision: signal-quality guard, stream checks and accuracy at triggers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.closedloop import (
    ARPhaseEstimator,
    HjorthFilter,
    PhaseTrigger,
    SafetyGate,
    SignalQualityError,
    StreamLostError,
    StreamMismatchError,
    StreamSpec,
    TriggerPolicy,
    TriggerStatus,
    calibrate,
    make_estimator,
    offline_phase,
    phase_accuracy,
    replay,
)

from .conftest import BASELINE_S, SFREQ_HZ, single_pulse_dose

N_BASE = round(BASELINE_S * SFREQ_HZ)


# ------------------------------------------------------------------ validators


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_phase_rad", 7.0),
        ("phase_tolerance_rad", 0.0),
        ("phase_tolerance_rad", 2.0),
        ("min_interpulse_interval_s", 0.01),
        ("amplitude_percentile", 100.0),
        ("min_confidence", 1.0),
        ("max_abs_amplitude", 0.0),
        ("lost_after_s", 0.0),
        ("max_sample_gap_s", 2.0),
        ("horizon_s", 0.2),
    ],
)
def test_policy_out_of_range_names_field(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        TriggerPolicy(**{field: value})  # type: ignore[arg-type]


def test_policy_is_frozen_and_forbids_extra() -> None:
    with pytest.raises(ValidationError, match="extra"):
        TriggerPolicy(phase=1.0)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        TriggerPolicy().horizon_s = 0.01  # type: ignore[misc]


@given(
    st.floats(0.05, 600.0),
    st.floats(0.0, 99.99),
    st.floats(-2 * math.pi, 2 * math.pi),
)
def test_policy_in_range_passes_and_is_idempotent(
    ipi: float, pct: float, target: float
) -> None:
    p = TriggerPolicy(
        min_interpulse_interval_s=ipi, amplitude_percentile=pct, target_phase_rad=target
    )
    assert TriggerPolicy.model_validate(p.model_dump()) == p


@given(st.floats(0.0, 0.1))
def test_horizon_in_range(h: float) -> None:
    assert TriggerPolicy(horizon_s=h).horizon_s == h


@given(
    st.one_of(
        st.floats(max_value=99.99, allow_nan=False),
        st.floats(min_value=20000.01, allow_infinity=False),
    )
)
def test_stream_spec_sfreq_out_of_range(sf: float) -> None:
    with pytest.raises(ValidationError, match="sfreq_hz"):
        StreamSpec(sfreq_hz=sf, ch_names=("C3",))


# ------------------------------------------------------------------ stream


def test_stream_spec_names_every_problem() -> None:
    spec = StreamSpec(sfreq_hz=1000.0, ch_names=("C3", "FC3", "CP3"))
    spec.check(["c3", "fc3", "cp3", "Cz"], 1000.0)
    with pytest.raises(StreamMismatchError) as exc:
        spec.check(["C3", "Cz"], 500.0)
    msg = str(exc.value)
    assert "FC3, CP3" in msg
    assert "'sfreq_hz': got 500.0" in msg
    assert "No triggers" in msg


@pytest.fixture
def trigger(eeg_high, hjorth_high) -> PhaseTrigger:  # type: ignore[no-untyped-def]
    cal = calibrate(hjorth_high.apply(eeg_high.data[:N_BASE]), SFREQ_HZ)
    return PhaseTrigger(
        hjorth_high,
        make_estimator(cal, SFREQ_HZ),
        SafetyGate(single_pulse_dose()),
        cal.amplitude_threshold,
    )


def test_check_stream(trigger: PhaseTrigger, eeg_high) -> None:  # type: ignore[no-untyped-def]
    trigger.check_stream(eeg_high.ch_names, 1000.0)
    with pytest.raises(StreamMismatchError, match="sfreq_hz"):
        trigger.check_stream(eeg_high.ch_names, 500.0)
    with pytest.raises(StreamMismatchError, match="order"):
        trigger.check_stream(list(reversed(eeg_high.ch_names)), 1000.0)
    with pytest.raises(StreamMismatchError, match="missing channels C3"):
        trigger.check_stream(["Cz"], 1000.0)


def test_chunk_shape_checked(trigger: PhaseTrigger) -> None:
    with pytest.raises(StreamMismatchError, match="'data'"):
        trigger.push(np.zeros((3, 2)), np.arange(3) / 1000.0)
    with pytest.raises(StreamMismatchError, match="timestamps"):
        trigger.push(np.zeros((3, 11)), np.arange(2) / 1000.0)


def _feed(trig: PhaseTrigger, data: np.ndarray, t0: float, chunk: int = 10):  # type: ignore[no-untyped-def]
    out = []
    for s in range(0, data.shape[0], chunk):
        block = data[s : s + chunk]
        out.append(trig.push(block, t0 + (s + np.arange(block.shape[0])) / SFREQ_HZ))
    return out


def test_lost_stream_stops_and_refills(trigger: PhaseTrigger, eeg_high) -> None:  # type: ignore[no-untyped-def]
    data = eeg_high.data[N_BASE:]
    _feed(trigger, data[:3000], 0.0)
    last_ts = 2.999
    d = trigger.check_alive(last_ts + 0.05)
    assert d.status is TriggerStatus.WAIT_PHASE
    d = trigger.check_alive(last_ts + 0.25)
    assert d.status is TriggerStatus.STREAM_LOST
    assert not d.fire
    assert "No EEG samples for 250 ms" in d.message
    with pytest.raises(StreamLostError, match="stream lost"):
        trigger.require_alive(last_ts + 0.3)
    # samples come back after a gap: nothing fires before a full new window
    resumed = _feed(trigger, data[3500:9000], 3.5, chunk=1)
    window = trigger.estimator.n_samples  # running counter; window is 500 samples
    assert window > 0
    first_ok = next(k for k, dd in enumerate(resumed) if dd.status not in _NOT_READY)
    assert first_ok >= 499
    assert not any(dd.fire for dd in resumed[:first_ok])


_NOT_READY = {
    TriggerStatus.STREAM_LOST,
    TriggerStatus.FILLING,
    TriggerStatus.POOR_SIGNAL,
}


def test_gap_and_nan_refill_window(trigger: PhaseTrigger, eeg_high) -> None:  # type: ignore[no-untyped-def]
    data = eeg_high.data[N_BASE:].copy()
    _feed(trigger, data[:2000], 0.0)
    assert trigger.estimator.ready
    # 20 samples missing inside a chunk (a 21 ms step)
    ts = np.concatenate([2.0 + np.arange(5) / 1e3, 2.025 + np.arange(5) / 1e3])
    d = trigger.push(data[2000:2010], ts)
    assert d.status is TriggerStatus.POOR_SIGNAL
    assert "gap of 21.0 ms" in d.message
    assert not trigger.estimator.ready
    # NaN in a sample
    _feed(trigger, data[2010:3000], 2.030)
    bad = data[3000:3010].copy()
    bad[4, 0] = np.nan
    d = trigger.push(bad, 3.030 + np.arange(10) / 1e3)
    assert d.status is TriggerStatus.POOR_SIGNAL
    assert "non-finite" in d.message


def test_artifact_refills_window(eeg_high, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    cal = calibrate(hjorth_high.apply(eeg_high.data[:N_BASE]), SFREQ_HZ)
    trig = PhaseTrigger(
        hjorth_high,
        make_estimator(cal, SFREQ_HZ),
        SafetyGate(single_pulse_dose()),
        cal.amplitude_threshold,
        TriggerPolicy(max_abs_amplitude=500.0),
    )
    data = eeg_high.data[N_BASE : N_BASE + 2000].copy()
    _feed(trig, data[:1000], 0.0)
    data[1005, 0] += 5000.0  # C3 saturates
    d = trig.push(data[1000:1010], 1.0 + np.arange(10) / 1e3)
    assert d.status is TriggerStatus.ARTIFACT
    assert not trig.estimator.ready


def test_noise_only_never_fires(trigger: PhaseTrigger) -> None:
    """Without mu the amplitude stays below the threshold learned on a clear mu:
    no pulse, whatever the estimated phase."""
    rng = np.random.default_rng(4)
    noise = rng.standard_normal((20_000, 11))
    out = _feed(trigger, noise, 0.0, chunk=1)
    assert not any(d.fire for d in out)


def test_calibration_refuses_poor_signal() -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(SignalQualityError, match="too poor"):
        calibrate(rng.standard_normal(60_000), SFREQ_HZ)


def test_horizon_mismatch_refused(hjorth_high) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="horizon_s"):
        PhaseTrigger(
            hjorth_high,
            ARPhaseEstimator(SFREQ_HZ, 10.0, horizon_s=0.01),
            SafetyGate(single_pulse_dose()),
            1.0,
            TriggerPolicy(),
        )


# Accuracy thresholds at the trigger, mu-band SNR 10 dB (~60 triggers in 90 s):
# against the offline ground truth, circular SD < 45 deg and >= 70 % within
# +/-45 deg of the trough (the criterion; uniform triggering gives 25 %).
# Measured at commit time: AR 18 deg / 100 %, ETP ~30 deg / ~95 %.
SD_MAX_DEG = 45.0
SHARE_MIN = 0.70
MEAN_MAX_DEG = 25.0


@pytest.mark.parametrize("method", ["ar", "etp"])
def test_trigger_accuracy_high_snr(eeg_high, hjorth_high, method: str) -> None:  # type: ignore[no-untyped-def]
    x = hjorth_high.apply(eeg_high.data)
    cal = calibrate(x[:N_BASE], SFREQ_HZ, method=method)  # type: ignore[arg-type]
    pol = TriggerPolicy(min_interpulse_interval_s=1.2)
    dose = single_pulse_dose(frequency_hz=0.9)
    trig = PhaseTrigger(
        hjorth_high,
        make_estimator(cal, SFREQ_HZ),
        SafetyGate(dose),
        cal.amplitude_threshold,
        pol,
    )
    res = replay(trig, eeg_high.data[N_BASE:], t0_s=BASELINE_S)
    fired = res.fired
    assert len(fired) >= 30
    # never fires blind: every fired decision has a confident, strong phase
    for d in fired:
        assert math.isfinite(d.phase_rad)
        assert d.confidence >= pol.min_confidence
        assert d.amplitude >= cal.amplitude_threshold
        assert abs(math.remainder(d.phase_rad - math.pi, 2 * math.pi)) <= 0.3
    # and the gate's interval holds
    times = np.array([d.time_s for d in fired])
    assert np.all(np.diff(times) >= 1.2 - 1e-9)
    truth = offline_phase(x, SFREQ_HZ, cal.peak.peak_hz)
    idx = res.fire_samples + N_BASE
    acc = phase_accuracy(truth.phase_rad[idx], math.pi)
    assert acc.circular_sd_deg < SD_MAX_DEG
    assert acc.share_within >= SHARE_MIN
    assert abs(acc.mean_error_deg) < MEAN_MAX_DEG


def test_gate_refusal_is_reported(eeg_high, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    """With a gate allowing 2 pulses per session, the third crossing is refused."""
    x = hjorth_high.apply(eeg_high.data)
    cal = calibrate(x[:N_BASE], SFREQ_HZ)
    trig = PhaseTrigger(
        hjorth_high,
        make_estimator(cal, SFREQ_HZ),
        SafetyGate(single_pulse_dose(trains_per_session=2)),
        cal.amplitude_threshold,
    )
    res = replay(trig, eeg_high.data[N_BASE : N_BASE + 40_000], chunk_size=2)
    assert len(res.fired) == 2
    assert res.status_counts.get("gate_refused", 0) >= 1


def test_hjorth_filter_type_is_used(hjorth_high) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(hjorth_high, HjorthFilter)
