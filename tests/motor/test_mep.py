"""MEP analysis on synthetic EMG, in memory and read back from FIF, EDF, BrainVision.

The synthetic recording is white noise (SD ``NOISE_SD_UV``) plus, at each TMS
pulse, a large decaying artefact (``ARTEFACT_UV``, gone within 5 ms) and one
period of a sine of known peak-to-peak amplitude starting at a known latency (a
biphasic MEP whose onset is that latency). Two trials carry a pre-stimulus muscle
burst. The injected values are the reference.

Tolerances, all explicit:

- ``AMP_ATOL_UV``: noise changes each extreme by at most max|noise|, so the
  measured peak-to-peak lies within 2 max|noise| of the injected one; 5 SD bounds
  max|noise| over a 35 ms window (175 samples), hence 2 * 5 * NOISE_SD_UV.
- ``LATENCY_ATOL_MS``: the sine crosses the onset threshold (about 3 baseline SDs
  of the rectified noise, ~5 uV) within 0.25 ms for the smallest MEP (200 uV:
  slope pi * A / period = 79 uV/ms), plus one sample (0.2 ms) of grid rounding.
- File formats, compared with the in-memory analysis of the same samples:
  FIF and BrainVision store float32 (relative error ~1e-7, << 1e-3 uV at the mV
  scale of the data). EDF stores 16-bit integers over the channel's physical
  range (here about -5 to +5 mV), so each sample is off by up to half a
  quantisation step ``q = range / 65534`` (~0.15 uV); a peak-to-peak by up to
  one step. We allow 2 q.
"""

from __future__ import annotations

import csv
import io
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from plptms.motor._mep import (
    EmgTrace,
    MepAnalysis,
    MepDataError,
    MepParams,
    Muscle,
    NoTriggersError,
    RejectionReason,
    SamplingRateTooLowError,
    analyse_mep_file,
    analyse_meps,
    emg_from_array,
    emg_from_raw,
    epoch_emg,
    find_tms_triggers,
    read_emg,
)
from plptms.motor._mep_defaults import (
    ARTEFACT_WINDOW_MS,
    HAND_WINDOW_MS,
    MIN_SFREQ_HZ,
    MUSCLE_WINDOWS_MS,
    TA_WINDOW_MS,
)

SFREQ_HZ = 5000.0
NOISE_SD_UV = 2.0
ARTEFACT_UV = 5000.0
ARTEFACT_TAU_MS = 0.5
MEP_PERIOD_MS = 8.0  # extremes at +2 and +6 ms: on the 0.2 ms sample grid
FIRST_PULSE_S = 1.0
PULSE_SPACING_S = 1.0

#: Injected peak-to-peak amplitude (uV) and onset latency (ms) per trial.
AMPLITUDES_UV = (200.0, 500.0, 1000.0, 0.0, 800.0, 300.0, 1500.0, 25.0, 600.0, 700.0)
LATENCIES_MS = (21.0, 22.4, 20.2, 21.0, 23.0, 19.8, 21.6, 22.0, 24.2, 20.6)
#: Trials with a pre-stimulus burst (100 Hz, 60 uV peak: 120 uV peak-to-peak).
PREACTIVATED = frozenset({4, 8})
BURST_PEAK_UV = 60.0

AMP_ATOL_UV = 2 * 5 * NOISE_SD_UV
LATENCY_ATOL_MS = 0.5
FILE_ATOL_UV = {"fif": 1e-3, "brainvision": 1e-3}
FLOAT_RTOL = 1e-9

EMG_CH = "FDI"
STIM_CH = "STI 014"


def _mep_wave(t_ms: np.ndarray, amp_uv: float, latency_ms: float) -> np.ndarray:
    """One sine period of peak-to-peak ``amp_uv`` starting at ``latency_ms``."""
    phase = (t_ms - latency_ms) / MEP_PERIOD_MS
    inside = (phase >= 0) & (phase <= 1)
    return np.where(inside, amp_uv / 2 * np.sin(2 * np.pi * phase), 0.0)


def make_emg_uv(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic EMG (uV) and trigger samples."""
    n_trials = len(AMPLITUDES_UV)
    n_times = int((FIRST_PULSE_S + n_trials * PULSE_SPACING_S) * SFREQ_HZ)
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, NOISE_SD_UV, n_times)
    triggers = np.round(
        (FIRST_PULSE_S + PULSE_SPACING_S * np.arange(n_trials)) * SFREQ_HZ
    ).astype(int)
    t_ms = np.arange(n_times) / SFREQ_HZ * 1000.0
    for k, s in enumerate(triggers):
        rel = t_ms - t_ms[s]
        art = (rel >= 0) & (rel < 5.0)
        data[art] += (
            ARTEFACT_UV
            * np.exp(-rel[art] / ARTEFACT_TAU_MS)
            * np.cos(2 * np.pi * rel[art])
        )
        data += _mep_wave(rel, AMPLITUDES_UV[k], LATENCIES_MS[k])
        if k in PREACTIVATED:
            burst = (rel >= -80.0) & (rel <= -20.0)
            data[burst] += BURST_PEAK_UV * np.sin(2 * np.pi * 0.1 * rel[burst])
    return data, triggers


def make_raw(seed: int = 0, *, stim: bool = True, annotate: bool = True) -> Any:
    data_uv, triggers = make_emg_uv(seed)
    names, types, rows = [EMG_CH], ["emg"], [data_uv * 1e-6]
    if stim:
        sti = np.zeros_like(data_uv)
        sti[triggers] = 1.0
        names.append(STIM_CH)
        types.append("stim")
        rows.append(sti)
    info = mne.create_info(names, SFREQ_HZ, types)
    raw = mne.io.RawArray(np.vstack(rows), info, verbose=False)
    if annotate:
        onsets = triggers / SFREQ_HZ
        raw.set_annotations(mne.Annotations(onsets, 0.0, ["TMS"] * len(onsets)))
    return raw


@pytest.fixture(scope="module")
def emg() -> tuple[np.ndarray, np.ndarray]:
    return make_emg_uv()


@pytest.fixture(scope="module")
def reference(emg: tuple[np.ndarray, np.ndarray]) -> MepAnalysis:
    data, triggers = emg
    return analyse_meps(emg_from_array(data, SFREQ_HZ, triggers, unit="uV"))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mep")
    raw = make_raw()
    out = {
        "fif": folder / "mep_raw.fif",
        "edf": folder / "mep.edf",
        "brainvision": folder / "mep.vhdr",
    }
    raw.save(out["fif"], verbose=False)
    mne.export.export_raw(out["edf"], raw, fmt="edf", verbose=False)
    with pytest.warns(RuntimeWarning, match="float32"):
        mne.export.export_raw(out["brainvision"], raw, fmt="brainvision", verbose=False)
    return out


def _edf_atol_uv(emg: tuple[np.ndarray, np.ndarray]) -> float:
    data, _ = emg
    step = (data.max() - data.min()) / 65534
    return float(2 * step)


def _check_against_injected(result: MepAnalysis) -> None:
    assert result.summary.n_trials == len(AMPLITUDES_UV)
    for t in result.trials:
        injected = AMPLITUDES_UV[t.index]
        assert t.amplitude_uv is not None
        assert abs(t.amplitude_uv - injected) <= AMP_ATOL_UV
        if t.index in PREACTIVATED:
            assert t.rejected
            assert t.rejection_reason is RejectionReason.PRESTIM_PTP
            assert t.mep_present is None
            assert t.latency_ms is None
            continue
        assert not t.rejected
        assert t.mep_present is (injected >= 50.0)
        if t.mep_present:
            assert t.latency_ms is not None
            assert abs(t.latency_ms - LATENCIES_MS[t.index]) <= LATENCY_ATOL_MS
        else:
            assert t.latency_ms is None


# ---------------------------------------------------------------------------
# In memory.
# ---------------------------------------------------------------------------


def test_in_memory_matches_injected(reference: MepAnalysis) -> None:
    _check_against_injected(reference)
    accepted = [a for k, a in enumerate(AMPLITUDES_UV) if k not in PREACTIVATED]
    s = reference.summary
    assert s.n_accepted == len(accepted)
    assert s.n_rejected == len(PREACTIVATED)
    assert s.n_mep_present == sum(a >= 50.0 for a in accepted)
    assert s.proportion_mep_present == pytest.approx(
        s.n_mep_present / s.n_accepted, rel=FLOAT_RTOL
    )
    assert s.mean_amplitude_uv is not None
    assert abs(s.mean_amplitude_uv - float(np.mean(accepted))) <= AMP_ATOL_UV
    assert s.median_amplitude_uv is not None
    assert abs(s.median_amplitude_uv - float(np.median(accepted))) <= AMP_ATOL_UV


def test_artefact_not_taken_for_mep(reference: MepAnalysis) -> None:
    # Trial 3 has no MEP but the same 5 mV artefact as every trial.
    t = reference.trials[3]
    assert t.amplitude_uv is not None
    assert t.amplitude_uv < 50.0
    assert t.mep_present is False
    assert t.latency_ms is None


def test_window_over_artefact_excludes_artefact(
    emg: tuple[np.ndarray, np.ndarray], reference: MepAnalysis
) -> None:
    data, triggers = emg
    params = MepParams(window_ms=(0.0, 50.0))
    res = analyse_meps(emg_from_array(data, SFREQ_HZ, triggers, unit="uV"), params)
    for a, b in zip(res.trials, reference.trials, strict=True):
        assert a.amplitude_uv is not None
        assert b.amplitude_uv is not None
        assert a.amplitude_uv < ARTEFACT_UV
        assert abs(a.amplitude_uv - AMPLITUDES_UV[a.index]) <= AMP_ATOL_UV


def test_blank_artefact_epochs(emg: tuple[np.ndarray, np.ndarray]) -> None:
    data, triggers = emg
    trace = emg_from_array(data, SFREQ_HZ, triggers, unit="uV")
    raw_ep, times = epoch_emg(trace)
    blank_ep, _ = epoch_emg(trace, blank_artefact=True)
    art = (times >= ARTEFACT_WINDOW_MS[0]) & (times <= ARTEFACT_WINDOW_MS[1])
    assert np.abs(raw_ep[:, art]).max() > ARTEFACT_UV / 2
    assert np.abs(blank_ep[:, art]).max() < 10 * NOISE_SD_UV
    np.testing.assert_allclose(blank_ep[:, ~art], raw_ep[:, ~art], rtol=FLOAT_RTOL)


def test_units_and_raw_equivalent(
    emg: tuple[np.ndarray, np.ndarray], reference: MepAnalysis
) -> None:
    data, triggers = emg
    in_v = analyse_meps(emg_from_array(data * 1e-6, SFREQ_HZ, triggers, unit="V"))
    from_raw = analyse_meps(emg_from_raw(make_raw(), EMG_CH, trigger_samples=triggers))
    for res in (in_v, from_raw):
        for a, b in zip(res.trials, reference.trials, strict=True):
            assert a.amplitude_uv == pytest.approx(b.amplitude_uv, rel=1e-6)


def test_rms_criterion() -> None:
    n = int(2 * SFREQ_HZ)
    t_ms = np.arange(n) / SFREQ_HZ * 1000.0
    trig = int(SFREQ_HZ)
    rel = t_ms - t_ms[trig]
    # Tonic activity: 20 uV peak (40 uV p-p, below 50) but 14.1 uV RMS.
    data = np.where(rel < 0, 20.0 * np.sin(2 * np.pi * 0.05 * rel), 0.0)
    data += _mep_wave(rel, 500.0, 21.0)
    trace = emg_from_array(data, SFREQ_HZ, [trig], unit="uV")
    assert not analyse_meps(trace).trials[0].rejected
    strict = analyse_meps(trace, MepParams(prestim_max_rms_uv=10.0)).trials[0]
    assert strict.rejection_reason is RejectionReason.PRESTIM_RMS
    assert strict.prestim_rms_uv == pytest.approx(20.0 / math.sqrt(2), rel=1e-2)


def test_out_of_bounds_and_not_finite(emg: tuple[np.ndarray, np.ndarray]) -> None:
    data, triggers = emg
    data = data.copy()
    data[triggers[1] + 150] = np.nan  # 30 ms after pulse 1
    trig = np.concatenate([[100], triggers[:3], [data.size - 10]])
    res = analyse_meps(emg_from_array(data, SFREQ_HZ, trig, unit="uV"))
    reasons = [t.rejection_reason for t in res.trials]
    assert reasons[0] is RejectionReason.OUT_OF_BOUNDS
    assert reasons[2] is RejectionReason.NOT_FINITE
    assert reasons[-1] is RejectionReason.OUT_OF_BOUNDS
    assert res.trials[0].amplitude_uv is None
    assert res.summary.n_accepted == 2


def test_muscle_windows() -> None:
    assert MepParams().measurement_window_ms == HAND_WINDOW_MS
    assert MepParams(muscle=Muscle.TA).measurement_window_ms == TA_WINDOW_MS
    assert set(MUSCLE_WINDOWS_MS) == {m.value for m in Muscle}
    custom = MepParams(muscle="TA", window_ms=(25.0, 60.0))
    assert custom.measurement_window_ms == (25.0, 60.0)


def test_leg_latency_needs_leg_window() -> None:
    # A TA-like MEP at 45 ms: outside the hand window, inside the TA window.
    n = int(2 * SFREQ_HZ)
    trig = int(SFREQ_HZ)
    rel = (np.arange(n) - trig) / SFREQ_HZ * 1000.0
    data = _mep_wave(rel, 400.0, 45.0)
    trace = emg_from_array(data, SFREQ_HZ, [trig], unit="uV")
    ta = analyse_meps(trace, MepParams(muscle=Muscle.TA)).trials[0]
    assert ta.amplitude_uv == pytest.approx(400.0, rel=1e-6)
    assert ta.latency_ms is not None
    assert abs(ta.latency_ms - 45.0) <= LATENCY_ATOL_MS
    hand = analyse_meps(trace, MepParams(muscle=Muscle.FDI)).trials[0]
    assert hand.amplitude_uv is not None
    assert hand.amplitude_uv < 400.0


def test_serialisation(reference: MepAnalysis) -> None:
    again = MepAnalysis.model_validate_json(reference.model_dump_json())
    assert again == reference
    rows = reference.to_rows()
    assert len(rows) == len(AMPLITUDES_UV)
    assert all(type(r) is dict for r in rows)
    parsed = list(csv.DictReader(io.StringIO(reference.to_csv())))
    assert len(parsed) == len(rows)
    assert parsed[0].keys() == rows[0].keys()
    assert parsed[4]["rejection_reason"] == "prestim_ptp"
    assert parsed[4]["mep_present"] == ""
    assert float(parsed[1]["amplitude_uv"]) == pytest.approx(
        rows[1]["amplitude_uv"], rel=1e-12
    )


def test_results_frozen(reference: MepAnalysis) -> None:
    with pytest.raises(ValidationError):
        reference.trials[0].amplitude_uv = 1.0
    with pytest.raises(ValueError, match="read-only"):
        emg_from_array([0.0] * 2000, 2000.0, [1000]).data_uv[0] = 1.0


# ---------------------------------------------------------------------------
# Files.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["fif", "edf", "brainvision"])
@pytest.mark.parametrize("source", ["stim", "annotation", "auto"])
def test_file_round_trip(
    files: dict[str, Path],
    emg: tuple[np.ndarray, np.ndarray],
    reference: MepAnalysis,
    fmt: str,
    source: str,
) -> None:
    kwargs: dict[str, Any] = {
        "stim": {"stim_channel": STIM_CH},
        "annotation": {"annotation": "TMS"},
        "auto": {},
    }[source]
    trace = read_emg(files[fmt], EMG_CH, **kwargs)
    _, triggers = emg
    np.testing.assert_array_equal(trace.trigger_samples, triggers)
    assert trace.sfreq_hz == pytest.approx(SFREQ_HZ, rel=FLOAT_RTOL)
    expected_source = "stim:" + STIM_CH if source == "stim" else "annotation:TMS"
    assert trace.trigger_source == expected_source

    res = analyse_meps(trace)
    _check_against_injected(res)
    atol = _edf_atol_uv(emg) if fmt == "edf" else FILE_ATOL_UV[fmt]
    for a, b in zip(res.trials, reference.trials, strict=True):
        assert a.amplitude_uv is not None
        assert b.amplitude_uv is not None
        assert abs(a.amplitude_uv - b.amplitude_uv) <= atol
        assert a.rejected == b.rejected


def test_analyse_mep_file(files: dict[str, Path]) -> None:
    res = analyse_mep_file(
        files["fif"], EMG_CH, params=MepParams(muscle=Muscle.APB), annotation="TMS"
    )
    assert res.params.muscle is Muscle.APB
    assert res.window_ms == HAND_WINDOW_MS
    _check_against_injected(res)


def test_find_tms_triggers(emg: tuple[np.ndarray, np.ndarray]) -> None:
    _, triggers = emg
    raw = make_raw()
    np.testing.assert_array_equal(
        find_tms_triggers(raw, stim_channel=STIM_CH), triggers
    )
    np.testing.assert_array_equal(find_tms_triggers(raw, annotation="TMS"), triggers)
    only_stim = make_raw(annotate=False)
    np.testing.assert_array_equal(find_tms_triggers(only_stim), triggers)
    with pytest.raises(ValueError, match="annotation"):
        find_tms_triggers(raw, stim_channel=STIM_CH, annotation="TMS")
    with pytest.raises(TypeError, match="'raw'"):
        find_tms_triggers(np.zeros(3))


# ---------------------------------------------------------------------------
# Errors.
# ---------------------------------------------------------------------------


def test_missing_channel_lists_channels(files: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="'channel'") as exc:
        read_emg(files["fif"], "FDI_R")
    msg = str(exc.value)
    assert "'FDI_R'" in msg
    assert f"'{EMG_CH}'" in msg
    assert f"'{STIM_CH}'" in msg
    assert "Did you mean 'FDI'" in msg


def test_missing_stim_channel() -> None:
    with pytest.raises(ValueError, match=r"'stim_channel'.*Did you mean"):
        emg_from_raw(make_raw(), EMG_CH, stim_channel="STI 015")


def test_no_triggers() -> None:
    bare = make_raw(stim=False, annotate=False)
    with pytest.raises(NoTriggersError, match=r"stim_channel.*annotation"):
        emg_from_raw(bare, EMG_CH)
    with pytest.raises(NoTriggersError, match="'annotation'"):
        emg_from_raw(make_raw(), EMG_CH, annotation="MEP")
    flat = make_raw(annotate=False)
    flat._data[1] = 0.0
    with pytest.raises(NoTriggersError, match="'stim_channel'"):
        emg_from_raw(flat, EMG_CH, stim_channel=STIM_CH)
    with pytest.raises(NoTriggersError, match="'trigger_samples'"):
        emg_from_array(np.zeros(5000), SFREQ_HZ, [])


def test_sampling_rate_too_low(tmp_path: Path) -> None:
    with pytest.raises(SamplingRateTooLowError, match=r"'sfreq_hz'.*1000"):
        emg_from_array(np.zeros(500), 500.0, [250])
    info = mne.create_info([EMG_CH], 500.0, ["emg"])
    raw = mne.io.RawArray(np.zeros((1, 5000)), info, verbose=False)
    fname = tmp_path / "slow_raw.fif"
    raw.save(fname, verbose=False)
    with pytest.raises(SamplingRateTooLowError, match="'sfreq_hz'"):
        read_emg(fname, EMG_CH, trigger_samples=[2500])


def test_low_but_allowed_sampling_rate_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="plptms"):
        emg_from_array(np.zeros(1500), 1500.0, [750])
    assert "recommended" in caplog.text


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="'fname'"):
        read_emg(tmp_path / "absent.fif", EMG_CH)
    with pytest.raises(ValueError, match="'trigger_samples'"):
        emg_from_array(np.zeros(5000), SFREQ_HZ, [10, 6000])
    with pytest.raises(ValueError, match="'data'"):
        emg_from_array(np.zeros((2, 5000)), SFREQ_HZ, [10])
    with pytest.raises(ValueError, match=r"'unit'.*'uV'"):
        emg_from_array(np.zeros(5000), SFREQ_HZ, [10], unit="µV")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'trigger_samples'"):
        emg_from_array(np.zeros(5000), SFREQ_HZ, ["a"])
    with pytest.raises(TypeError, match="'sfreq_hz'"):
        emg_from_array(np.zeros(5000), "5000", [10])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'trace'"):
        analyse_meps(np.zeros(3))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"window_ms": (50.0, 15.0)}, "window_ms"),
        ({"window_ms": (15.0, 150.0)}, "window_ms"),
        ({"window_ms": (-20.0, 50.0)}, "window_ms"),
        ({"window_ms": (0.0, 4.0)}, "window_ms"),
        ({"baseline_ms": (-200.0, -5.0)}, "baseline_ms"),
        ({"artefact_ms": (-10.0, 5.0)}, "artefact_ms"),
        ({"epoch_tmin_ms": 10.0}, "epoch_tmin_ms"),
        ({"prestim_max_ptp_uv": -1.0}, "prestim_max_ptp_uv"),
        ({"mep_present_min_uv": 0.0}, "mep_present_min_uv"),
        ({"muscle": "FDX"}, "muscle"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_params_errors(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        MepParams(**changes)


# ---------------------------------------------------------------------------
# Properties.
# ---------------------------------------------------------------------------

PROP_SFREQ_HZ = 5000.0


def _single_trial(signal_after_pulse: np.ndarray, baseline: np.ndarray) -> EmgTrace:
    """Trace of baseline (200 ms) + pulse + signal, one trigger at the pulse."""
    data = np.concatenate([baseline, signal_after_pulse])
    return emg_from_array(data, PROP_SFREQ_HZ, [baseline.size], unit="uV")


@settings(max_examples=50, deadline=None)
@given(
    amp=st.floats(0.5, 1e4),
    freq=st.floats(50.0, 500.0),
    phase=st.floats(0.0, 2 * np.pi),
)
def test_sine_burst_peak_to_peak_is_twice_amplitude(
    amp: float, freq: float, phase: float
) -> None:
    n_post = int(0.2 * PROP_SFREQ_HZ)
    t_s = np.arange(n_post) / PROP_SFREQ_HZ
    burst = (t_s >= 0.020) & (t_s <= 0.040)  # at least one full period (f >= 50)
    signal = np.where(burst, amp * np.sin(2 * np.pi * freq * t_s + phase), 0.0)
    trace = _single_trial(signal, np.zeros(int(0.2 * PROP_SFREQ_HZ)))
    ptp = analyse_meps(trace).trials[0].amplitude_uv
    assert ptp is not None
    # Sampling can miss each sine extreme by at most half a sample period:
    # each extreme is at least amp * cos(pi * f / fs).
    low = 2 * amp * math.cos(math.pi * freq / PROP_SFREQ_HZ)
    assert low * (1 - FLOAT_RTOL) <= ptp <= 2 * amp * (1 + FLOAT_RTOL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 2**16))
def test_scaling_signal_scales_amplitude(scale: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_base = int(0.2 * PROP_SFREQ_HZ)
    rel = np.arange(int(0.2 * PROP_SFREQ_HZ)) / PROP_SFREQ_HZ * 1000.0
    signal = _mep_wave(rel, 300.0, 21.0) + rng.normal(0, NOISE_SD_UV, rel.size)
    baseline = rng.normal(0, NOISE_SD_UV, n_base)
    params = MepParams(prestim_max_ptp_uv=None)
    one = analyse_meps(_single_trial(signal, baseline), params).trials[0]
    many = analyse_meps(_single_trial(scale * signal, scale * baseline), params)
    scaled = many.trials[0]
    assert one.amplitude_uv is not None
    assert scaled.amplitude_uv is not None
    assert scaled.amplitude_uv == pytest.approx(scale * one.amplitude_uv, rel=1e-9)
    if one.mep_present and scaled.mep_present:
        assert scaled.latency_ms == pytest.approx(one.latency_ms, abs=1e-9)


@given(sfreq=st.floats(MIN_SFREQ_HZ, 50_000.0))
def test_sfreq_in_range_passes(sfreq: float) -> None:
    trace = emg_from_array(np.zeros(10), sfreq, [5])
    assert trace.sfreq_hz == sfreq


@given(sfreq=st.floats(0.0, MIN_SFREQ_HZ, exclude_max=True) | st.just(math.nan))
def test_sfreq_out_of_range_raises(sfreq: float) -> None:
    with pytest.raises(SamplingRateTooLowError, match="'sfreq_hz'"):
        emg_from_array(np.zeros(10), sfreq, [5])


@given(
    start=st.floats(0.0, 60.0),
    length=st.floats(1.0, 40.0),
    threshold=st.floats(1.0, 500.0),
)
def test_params_in_range_pass_and_are_idempotent(
    start: float, length: float, threshold: float
) -> None:
    stop = start + length
    if stop <= ARTEFACT_WINDOW_MS[1]:
        with pytest.raises(ValidationError, match="window_ms"):
            MepParams(window_ms=(start, stop))
        return
    p = MepParams(window_ms=(start, stop), prestim_max_ptp_uv=threshold)
    assert MepParams.model_validate(p.model_dump()) == p
    assert MepParams.model_validate_json(p.model_dump_json()) == p


@given(stop=st.floats(100.0, 1e6, exclude_min=True))
def test_window_past_epoch_raises(stop: float) -> None:
    with pytest.raises(ValidationError, match="window_ms"):
        MepParams(window_ms=(15.0, stop))


def test_import_does_not_load_mne() -> None:
    code = "import sys, plptms.motor._mep; print('mne' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def _truncated(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def test_truncated_edf_refused(files: dict[str, Path], tmp_path: Path) -> None:
    # MNE reads a cut EDF as a shorter recording (only a warning): the analysis
    # then silently covered part of the pulses and the CLI exited 0
    full = analyse_mep_file(files["edf"], EMG_CH, annotation="TMS")
    assert len(full.trials) == len(AMPLITUDES_UV)
    cut = _truncated(files["edf"], tmp_path / "cut.edf", 0.6)
    with pytest.raises(MepDataError, match=r"'fname'.*truncated.*data records"):
        analyse_mep_file(cut, EMG_CH, annotation="TMS")
    with pytest.raises(MepDataError, match="truncated"):
        read_emg(cut, EMG_CH, trigger_samples=[100])


def test_truncated_fif_refused(files: dict[str, Path], tmp_path: Path) -> None:
    cut = _truncated(files["fif"], tmp_path / "cut_raw.fif", 0.6)
    with pytest.raises(MepDataError, match=r"'fname'.*cannot be read"):
        analyse_mep_file(cut, EMG_CH, annotation="TMS")


def test_brainvision_with_markers_past_the_data_refused(
    files: dict[str, Path], tmp_path: Path
) -> None:
    vhdr = files["brainvision"]
    for suffix in (".vhdr", ".vmrk"):
        text = vhdr.with_suffix(suffix).read_text()
        text = text.replace("mep.eeg", "cut.eeg").replace("mep.vmrk", "cut.vmrk")
        (tmp_path / f"cut{suffix}").write_text(text)
    _truncated(vhdr.with_suffix(".eeg"), tmp_path / "cut.eeg", 0.3)
    with pytest.raises(MepDataError, match="outside data range"):
        analyse_mep_file(tmp_path / "cut.vhdr", EMG_CH, annotation="TMS")


def test_not_a_recording_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "noise.edf"
    bogus.write_bytes(b"0" * 300)
    with pytest.raises(MepDataError, match=r"'fname'.*malformed EDF header"):
        read_emg(bogus, EMG_CH)
    other = tmp_path / "notes.txt"
    other.write_text("not a recording")
    with pytest.raises(MepDataError, match="cannot be read"):
        read_emg(other, EMG_CH)
