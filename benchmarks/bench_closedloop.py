"""Closed-loop benchmark: phase accuracy, compute time and LSL loopback latency.

Accuracy: for each SNR, a simulated recording (neurodsp; mu source under C3,
spatially correlated background) is split into a resting baseline (calibration:
individual peak, amplitude threshold, ETP period and bias) and a test part that
is replayed sample by sample through the full trigger (Hjorth filter, quality
guard, estimator, trough crossing, power gate, 2 s minimum interval, safety
gate). At every trigger the ground-truth phase is read (a) offline, from the whole
Hjorth signal by zero-phase band-pass and Hilbert over phastimate's equivalent
filters, and (b) from the generator. Reported: circular mean error, circular SD
``sqrt(-2 ln R)`` and the share within +/-45 deg of the trough.

Compute: wall time of one decision that estimates a phase (``PhaseTrigger.push``
with one new sample), p50/p99, during the replays.

Latency: a pylsl outlet in a separate process pushes simulated EEG at 1 kHz, one
sample per push, stamped with ``local_clock()`` at the push; the closed loop
reads it through mne-lsl (``StreamLSL``, manual acquisition) or a raw pylsl inlet
and decides on every chunk; latency = ``local_clock()`` after the decision minus
the newest sample's push time.

Polar histograms (PNG, one per estimator) go to ``$PLPTMS_BENCH_FIGURES``
(default: a ``plptms-bench`` folder in the system temporary directory).

Run standalone: ``python benchmarks/bench_closedloop.py``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from plptms.closedloop import (
    ARPhaseEstimator,
    HjorthFilter,
    PhaseTrigger,
    SafetyGate,
    SignalQualityError,
    TriggerPolicy,
    TriggerStatus,
    calibrate,
    individual_peak_frequency,
    make_estimator,
    offline_phase,
    phase_accuracy,
    polar_histogram,
    replay,
    simulate_mu_eeg,
)
from plptms.closedloop._scoring import (
    paired_sd_difference,
    phase_error_ci,
    score_evenly,
)
from plptms.closedloop._simulate import PHASE_CASES, simulate_phase_case
from plptms.closedloop._sspe import SSPEPhaseEstimator, fit_sspe
from plptms.protocol import StimulationDose

SFREQ_HZ = 1000.0
SNRS_DB = (-5.0, 0.0, 5.0, 10.0)
BASELINE_S = 120.0
TEST_S = float(os.environ.get("PLPTMS_BENCH_CLOSEDLOOP_TEST_S", "240"))
SEED = 2024
# SSPE with an AR background (fit_sspe(..., background_order=SSPE_AR_ORDER))
SSPE_AR_ORDER = 8
SSPE_AR_NAME = "SSPE-AR8"
METHODS = (
    ("ar", "AR forward prediction (phastimate)"),
    ("etp", "Educated temporal prediction"),
    ("sspe", "State space phase estimator (Wodeyar et al., 2021), AR(8) background"),
)
LOOPBACK_S = 10.0
TARGET = math.pi

# The checked protocol the gate enforces: single pulses, <= 0.9 Hz mean rate
# (so the 2 s trigger interval is the binding limit), 110 % RMT, 1000 pulses.
DOSE = StimulationDose(
    pattern="single_pulse",
    target="m1_hand",
    laterality="left",
    frequency_hz=0.9,
    intensity_pct_rmt=110.0,
    pulses_per_train=1,
    trains_per_session=1000,
    inter_train_interval_s=None,
)


def _figure_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "plptms-bench"
    out = Path(os.environ.get("PLPTMS_BENCH_FIGURES", str(default)))
    out.mkdir(parents=True, exist_ok=True)
    return out


def _shown(path: Path) -> str:
    """The folder as the report shows it: relative to the working directory
    when it lies inside it (docs/figures for `make bench`)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fmt_ci(errors: np.ndarray) -> str:
    """Circular SD of the true phase at the triggers with its bootstrap 95 % CI."""
    if errors.size < 2:
        return "-"
    c = phase_error_ci(errors, n_boot=1000, seed=SEED)
    return (
        f"{c.sd_deg:.0f} [{c.sd_ci_deg[0]:.0f}, {c.sd_ci_deg[1]:.0f}]; mean "
        f"[{c.mean_ci_deg[0]:+.0f}, {c.mean_ci_deg[1]:+.0f}]"
    )


def bench_evenly() -> list[str]:
    """AR and SSPE scored at evenly spaced moments (Zrenner et al., 2020)."""
    rows: list[str] = []
    n_base = round(BASELINE_S * SFREQ_HZ)
    for k, snr in enumerate(SNRS_DB):
        eeg = simulate_mu_eeg(BASELINE_S + TEST_S, SFREQ_HZ, snr_db=snr, seed=SEED + k)
        x = HjorthFilter(eeg.ch_names, "C3").apply(eeg.data)
        try:
            peak = individual_peak_frequency(x[:n_base], SFREQ_HZ)
        except SignalQualityError as err:
            rows.append(f"| {snr:+g} | refused: {err} | | | | | |")
            continue
        truth = offline_phase(x, SFREQ_HZ, peak.peak_hz).phase_rad
        models, notes = {}, {}
        for name, order in (("SSPE", 0), (SSPE_AR_NAME, SSPE_AR_ORDER)):
            t0 = time.perf_counter()
            models[name] = fit_sspe(
                x[:n_base], SFREQ_HZ, peak.peak_hz, background_order=order
            )
            notes[name] = (
                f" (EM {models[name].n_iter} it, {time.perf_counter() - t0:.1f} s)"
            )
        errs = {}
        for name, est in (
            ("AR", ARPhaseEstimator(SFREQ_HZ, peak.peak_hz)),
            ("SSPE", SSPEPhaseEstimator(models["SSPE"])),
            (SSPE_AR_NAME, SSPEPhaseEstimator(models[SSPE_AR_NAME])),
        ):
            est.update(x[n_base - 1000 : n_base])
            _, errs[name] = score_evenly(est, x, truth, start=n_base)
        n = min(e.size for e in errs.values())
        for name in ("AR", "SSPE", SSPE_AR_NAME):
            c = phase_error_ci(errs[name], n_boot=1000, block=4, seed=SEED)
            extra, note = "", notes.get(name, "")
            if name != "AR":
                d, lo, hi = paired_sd_difference(
                    errs[name][:n], errs["AR"][:n], n_boot=1000, block=4, seed=SEED
                )
                extra = f"{d:+.1f} [{lo:+.1f}, {hi:+.1f}]"
            rows.append(
                f"| {snr:+g} | {peak.snr_db:.1f} | {name}{note} | {c.n} | "
                f"{c.mean_deg:+.0f} [{c.mean_ci_deg[0]:+.0f}, {c.mean_ci_deg[1]:+.0f}]"
                f" | {c.sd_deg:.0f} [{c.sd_ci_deg[0]:.0f}, {c.sd_ci_deg[1]:.0f}] | "
                f"{c.plv:.2f} [{c.plv_ci[0]:.2f}, {c.plv_ci[1]:.2f}] | {extra} |"
            )
    return [
        "## Closed loop: estimators at evenly spaced moments (like for like)",
        "",
        "As Zrenner et al. (2020) score phastimate: one estimate every 0.5 s of the "
        f"{TEST_S:g} s test part whatever the amplitude, against the offline phase "
        "(mean of the equivalent zero-phase filters); x axis on their published "
        "scale, the peak SNR (dB above the 1/f fit, `estimate_SNR.m`) of the "
        "Hjorth baseline. SSPE: state space phase estimator (Wodeyar et al., 2021), "
        "two oscillators fitted by EM on 5 s of baseline, target held at the peak "
        f"and at most 2 Hz wide; {SSPE_AR_NAME}: the target oscillator and an "
        f"AR({SSPE_AR_ORDER}) background fitted jointly by EM (no slow oscillator). "
        "Brackets: 95 % moving-block bootstrap intervals "
        "(blocks of 4 moments = 2 s). Last column: circular SD of SSPE minus AR, "
        "paired at the same moments (negative: SSPE more precise).",
        "",
        "| sim. SNR (dB) | peak SNR (dB) | estimator | moments | mean error (deg) | "
        "circ. SD (deg) | PLV | SD(SSPE) - SD(AR) (deg) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


CASE_SNRS_DB = (-5.0, 0.0, 5.0)
CASE_BASE_S = 10.0
CASE_TEST_S = float(os.environ.get("PLPTMS_BENCH_CASES_TEST_S", "120"))
CASE_EM_ITER = 40


def bench_cases() -> list[str]:
    """AR vs SSPE on the cases where Wodeyar et al. (2021) report SSPE ahead."""
    rows: list[str] = []
    n_base = round(CASE_BASE_S * SFREQ_HZ)
    for case in PHASE_CASES:
        for k, snr in enumerate(CASE_SNRS_DB):
            c = simulate_phase_case(
                case,  # type: ignore[arg-type]
                CASE_BASE_S + CASE_TEST_S,
                SFREQ_HZ,
                snr_db=snr,
                seed=SEED + k,
            )
            x = c.signal
            try:
                pk = f"{individual_peak_frequency(x[:n_base], SFREQ_HZ).snr_db:.1f}"
            except SignalQualityError:
                pk = "no peak"
            fast = c.competitor_hz if case == "competing" else None
            ests: list[Any] = [ARPhaseEstimator(SFREQ_HZ, c.peak_hz)]
            for order in (0, SSPE_AR_ORDER):
                model = fit_sspe(
                    x[:n_base],
                    SFREQ_HZ,
                    c.peak_hz,
                    fast_hz=fast,
                    max_iter=CASE_EM_ITER,
                    background_order=order,
                )
                ests.append(SSPEPhaseEstimator(model))
            errs = []
            for est in ests:
                est.update(x[n_base - 1000 : n_base])
                errs.append(score_evenly(est, x, c.true_phase_rad, start=n_base)[1])
            n = min(e.size for e in errs)
            sd = [phase_error_ci(e[:n], n_boot=1000, block=4, seed=SEED) for e in errs]
            cells = []
            for i in (1, 2):
                d, lo, hi = paired_sd_difference(
                    errs[i][:n], errs[0][:n], n_boot=1000, block=4, seed=SEED
                )
                verdict = "SSPE wins" if hi < 0 else ("AR wins" if lo > 0 else "tie")
                cells.append(
                    f"{sd[i].sd_deg:.0f} [{sd[i].sd_ci_deg[0]:.0f}, "
                    f"{sd[i].sd_ci_deg[1]:.0f}] | {d:+.1f} [{lo:+.1f}, {hi:+.1f}] "
                    f"| {verdict}"
                )
            rows.append(
                f"| {case} | {snr:+g} | {pk} | {n} | "
                f"{sd[0].sd_deg:.0f} [{sd[0].sd_ci_deg[0]:.0f}, "
                f"{sd[0].sd_ci_deg[1]:.0f}] | {cells[0]} | {cells[1]} |"
            )
    return [
        "## Closed loop: AR vs SSPE where the state space method should win",
        "",
        "`simulate_phase_case`: one channel, a target at 10 Hz in 1/f^1.5 noise "
        "(SNR: target over noise power in 8-12 Hz) in four settings: narrowband "
        "(a sinusoid, control), broadband (a damped oscillator 4 Hz wide at half "
        "power, twice the AR method's +/-1 Hz pass-band), phase_reset (phase slips "
        "of pi/2 to pi at Poisson times, 0.5/s) and competing (a second sinusoid "
        "of equal amplitude 2.5 Hz above): the settings where Wodeyar et al. "
        "(2021) report SSPE ahead of band-pass methods (their parameters not "
        "verified). Ground truth: the simulator's true phase of the target "
        "(the latent oscillator's angle for broadband), not a band-pass phase. "
        "Both estimators are told the target frequency; SSPE is fitted once per "
        f"recording by EM ({CASE_EM_ITER} iterations at most) on the last 5 s of "
        f"a {CASE_BASE_S:g} s baseline, target held at 10 Hz and at most 2 Hz "
        "wide, with a third oscillator started at the competitor's frequency in "
        f"the competing case. Scored every 0.5 s over {CASE_TEST_S:g} s. "
        "Brackets: 95 % moving-block bootstrap intervals (blocks of 4 moments). "
        "Verdict from the paired CI of SD(SSPE) - SD(AR). "
        f"{SSPE_AR_NAME}: the same fit with an AR({SSPE_AR_ORDER}) background "
        "fitted jointly by EM in place of the slow oscillator and the white-noise "
        "background (a Kalman filter with the broadband case's true parameters "
        "that takes the 1/f noise as white loses to AR; in white noise it wins).",
        "",
        "| case | SNR (dB) | peak SNR (dB) | moments | AR circ. SD (deg) | "
        "SSPE circ. SD (deg) | SD(SSPE) - SD(AR) (deg) | verdict | "
        f"{SSPE_AR_NAME} circ. SD (deg) | SD({SSPE_AR_NAME}) - SD(AR) (deg) | "
        "verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def _fmt_acc(acc: Any) -> str:
    return (
        f"{acc.mean_error_deg:+.0f} | {acc.circular_sd_deg:.0f} | "
        f"{100 * acc.share_within:.0f} %"
    )


def bench_accuracy() -> tuple[list[str], dict[str, np.ndarray]]:
    rows: list[str] = []
    compute: dict[str, list[float]] = {m: [] for m, _ in METHODS}
    polar: dict[str, dict[str, np.ndarray]] = {m: {} for m, _ in METHODS}
    n_base = round(BASELINE_S * SFREQ_HZ)
    for k, snr in enumerate(SNRS_DB):
        eeg = simulate_mu_eeg(BASELINE_S + TEST_S, SFREQ_HZ, snr_db=snr, seed=SEED + k)
        hjorth = HjorthFilter(eeg.ch_names, "C3")
        x = hjorth.apply(eeg.data)
        raw_peak = individual_peak_frequency(eeg.channel("C3")[:n_base], SFREQ_HZ)
        for method, _ in METHODS:
            try:
                cal = calibrate(x[:n_base], SFREQ_HZ, method=method)  # type: ignore[arg-type]
            except SignalQualityError as err:
                rows.append(
                    f"| {snr:+g} | - | {method.upper()} | refused: {err} "
                    "| | | | | | | |"
                )
                continue
            truth = offline_phase(x, SFREQ_HZ, cal.peak.peak_hz)
            trig = PhaseTrigger(
                hjorth,
                make_estimator(cal, SFREQ_HZ),
                SafetyGate(DOSE),
                cal.amplitude_threshold,
                TriggerPolicy(),
            )
            res = replay(trig, eeg.data[n_base:], t0_s=BASELINE_S)
            idx = res.fire_samples + n_base
            idx = idx[idx < eeg.n_times]
            compute[method].extend(res.compute_s.tolist())
            if idx.size == 0:
                rows.append(
                    f"| {snr:+g} | - | {method.upper()} | no trigger | | | | | | | |"
                )
                continue
            off = phase_accuracy(truth.phase_rad[idx], TARGET)
            gen = phase_accuracy(eeg.true_phase_rad[idx], TARGET)
            spread = math.degrees(float(np.median(truth.spread_rad[idx])))
            polar[method][f"SNR {snr:+g} dB (peak {cal.peak.snr_db:.0f} dB)"] = (
                truth.phase_rad[idx]
            )
            rate = idx.size / TEST_S * 60.0
            rows.append(
                f"| {snr:+g} | {cal.peak.snr_db:.1f} (raw C3 {raw_peak.snr_db:.1f} at "
                f"{raw_peak.peak_hz:g} Hz) | {method.upper()} | {idx.size} "
                f"({rate:.0f}/min) | {_fmt_acc(off)} | "
                f"{_fmt_ci(truth.phase_rad[idx] - TARGET)} | {_fmt_acc(gen)} | "
                f"{spread:.0f} |"
            )
    arrays = {m: np.asarray(v) for m, v in compute.items()}
    figdir = _figure_dir()
    for method, label in METHODS:
        if polar[method]:
            fig = polar_histogram(
                polar[method],
                TARGET,
                title=f"{label}: offline true phase at the triggers",
            )
            fig.savefig(figdir / f"closedloop_polar_{method}.png", dpi=110)
    header = [
        "## Closed loop: phase accuracy on simulated EEG",
        "",
        f"neurodsp simulation (seed {SEED}+k): mu source under C3 (bursty, 10 Hz "
        "mean, cycle frequency drifting with SD 0.5 Hz), far-field 1/f and posterior "
        "alpha common to all channels, local 1/f and white noise per channel. "
        f"Baseline {BASELINE_S:g} s for calibration, then {TEST_S:g} s replayed "
        "sample by sample through the whole trigger (Hjorth C3, trough crossing, "
        "power above the baseline median, 2 s minimum interval, safety gate). "
        "'SNR' is the simulation's mu-band SNR on the Hjorth signal; 'peak SNR' is "
        "the 1/f-corrected spectral peak height of Zrenner et al. (2020), measured "
        "on the baseline (and, for comparison, on the raw C3 channel, where the "
        "volume-conducted posterior alpha dominates). Error columns: circular mean "
        "error (deg) | circular SD (deg) | share within +/-45 deg of the trough.",
        "",
        "| SNR (dB) | peak SNR, Hjorth (dB) | estimator | triggers | offline: mean "
        "error | offline: circ. SD | offline: +-45 deg | offline: circ. SD [95 % "
        "bootstrap CI]; mean error CI | generator: mean error | "
        "generator: circ. SD | generator: +-45 deg | truth spread (deg) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    footer = ["", f"Polar histograms: `{_shown(figdir)}/closedloop_polar_*.png`.", ""]
    return [*header, *rows, *footer], arrays


REAL_RUNS = (
    # (label, calibration recording, seconds of it, stimulation recording, skip s)
    ("S001: rest R01 -> motor imagery R04", "S001R01", None, "S001R04", 0.0),
    ("S002: R01 first 30 s -> last 31 s", "S002R01", 30.0, "S002R01", 30.0),
    ("S003: R01 first 30 s -> last 31 s", "S003R01", 30.0, "S003R01", 30.0),
)


def bench_real() -> list[str]:
    """Real EEG (EEGMMIDB, 160 Hz) through the product session in virtual time."""
    from plptms.closedloop import ClosedLoopSession, read_recording, recording_source
    from plptms.delivery import MemoryDeliveryLog, SimulatedStimulator

    rows: list[str] = []
    polar: dict[str, dict[str, np.ndarray]] = {m: {} for m, _ in METHODS}
    pooled: dict[str, list[float]] = {m: [] for m, _ in METHODS}
    for label, cal_name, cal_s, run_name, skip in REAL_RUNS:
        rest = read_recording(cal_name)
        fs = float(rest.info["sfreq"])
        hj = HjorthFilter(rest.ch_names, "C3")
        base = hj.apply(rest.get_data().T)
        if cal_s is not None:
            base = base[: round(cal_s * fs)]
        task = read_recording(run_name)
        if skip:
            task = task.crop(tmin=skip)
        for method, _ in METHODS:
            try:
                cal = calibrate(base, fs, method=method)  # type: ignore[arg-type]
            except SignalQualityError as err:
                msg = str(err).split(":")[1].split(";")[0].strip()
                rows.append(
                    f"| {label} | {method.upper()} | refused at calibration "
                    f"({msg}) | | | | |"
                )
                continue
            trig = PhaseTrigger(
                hj,
                make_estimator(cal, fs),
                SafetyGate(DOSE),
                cal.amplitude_threshold,
                TriggerPolicy(),
            )
            with SimulatedStimulator(arm_delay_s=0.0) as stim:
                out = ClosedLoopSession(
                    recording_source(task), trig, stim, 50.0, MemoryDeliveryLog()
                ).run()
            keep = out.fire_samples[out.fire_samples < out.signal.size]
            if keep.size == 0:
                rows.append(f"| {label} | {method.upper()} | no trigger | | | | |")
                continue
            truth = offline_phase(out.signal, fs, cal.peak.peak_hz).phase_rad[keep]
            acc = phase_accuracy(truth, TARGET)
            polar[method][label.split(":")[0]] = truth
            pooled[method].extend(truth.tolist())
            rows.append(
                f"| {label} | {method.upper()} | {cal.peak.peak_hz:.1f} Hz, "
                f"{cal.peak.snr_db:.1f} dB | {keep.size} | {_fmt_acc(acc)} |"
            )
    for method, _ in METHODS:
        if pooled[method]:
            acc = phase_accuracy(np.asarray(pooled[method]), TARGET)
            rows.append(
                f"| pooled | {method.upper()} | | {acc.n_triggers} | {_fmt_acc(acc)} |"
            )
    figdir = _figure_dir()
    for method, lab in METHODS:
        if polar[method]:
            fig = polar_histogram(
                polar[method],
                TARGET,
                title=f"{lab}, real EEG (EEGMMIDB): offline true phase at the triggers",
            )
            fig.savefig(figdir / f"closedloop_polar_real_{method}.png", dpi=110)
    return [
        "## Closed loop: phase accuracy on real EEG",
        "",
        "Shipped PhysioNet EEGMMIDB recordings (Schalk et al., 2004; 160 Hz, C3 "
        "Hjorth), run through the whole product path in virtual time "
        "(`recording_source` -> `ClosedLoopSession` -> simulated stimulator, same "
        "trigger settings as above). Ground truth: the offline phase of the "
        "session's own Hjorth signal. At 160 Hz a sample is 27 deg of a 12 Hz "
        "cycle, so the sample-instant trigger adds up to one sample of phase lag "
        "that a 1 kHz system (4 deg per sample) does not have. Columns: circular "
        "mean error (deg) | circular SD (deg) | share within +/-45 deg of the "
        "trough.",
        "",
        "| recording | estimator | mu peak (calibration) | triggers | mean error | "
        "circ. SD | +-45 deg |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        f"Polar histograms: `{_shown(figdir)}/closedloop_polar_real_*.png`.",
        "",
    ]


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if x.size else math.nan


def compute_lines(compute: dict[str, np.ndarray]) -> list[str]:
    lines = [
        "## Closed loop: compute time per decision",
        "",
        "Wall time of `PhaseTrigger.push` for one new sample when a phase is "
        "estimated (spatial filter, quality checks, estimator, decision, gate), "
        "collected during the replays above; goal < 1 ms at 1 kHz.",
        "",
        "| estimator | decisions | p50 (us) | p99 (us) | max (us) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for method, _ in METHODS:
        c = compute[method] * 1e6
        lines.append(
            f"| {method.upper()} | {c.size} | {_pct(c, 50):.0f} | {_pct(c, 99):.0f} | "
            f"{(c.max() if c.size else math.nan):.0f} |"
        )
    return [*lines, ""]


_PRODUCER = r"""
import sys, time
import numpy as np
import pylsl
from plptms.closedloop import simulate_mu_eeg
source_id, seconds = sys.argv[1], float(sys.argv[2])
eeg = simulate_mu_eeg(seconds + 1.0, 1000.0, snr_db=10.0, seed=7)
info = pylsl.StreamInfo("plptms-bench", "EEG", len(eeg.ch_names), 1000.0,
                        pylsl.cf_double64, source_id)
chans = info.desc().append_child("channels")
for name in eeg.ch_names:
    ch = chans.append_child("channel")
    ch.append_child_value("label", name)
    ch.append_child_value("unit", "microvolts")
    ch.append_child_value("type", "EEG")
out = pylsl.StreamOutlet(info, chunk_size=1)
if not out.wait_for_consumers(20.0):
    sys.exit(2)
time.sleep(0.5)
t0 = time.perf_counter()
n = int(seconds * 1000)
for k in range(n):
    target = t0 + k / 1000.0
    while time.perf_counter() < target:
        pass
    out.push_sample(eeg.data[k], pylsl.local_clock())
time.sleep(0.5)
"""


def _start_producer(source_id: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _PRODUCER, source_id, str(LOOPBACK_S)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _loop_trigger(ch_names: list[str]) -> PhaseTrigger:
    eeg = simulate_mu_eeg(60.0, SFREQ_HZ, snr_db=10.0, seed=7)
    hj = HjorthFilter(ch_names, "C3")
    cal = calibrate(hj.apply(eeg.data), SFREQ_HZ, method="ar")
    # latency run: a short minimum interval so that most decisions estimate a phase
    pol = TriggerPolicy(min_interpulse_interval_s=0.05)
    dose = DOSE.model_copy(update={"frequency_hz": 0.9})
    return PhaseTrigger(
        hj,
        make_estimator(cal, SFREQ_HZ),
        SafetyGate(dose),
        cal.amplitude_threshold,
        pol,
    )


def _summarise(name: str, lat: list[float], est: list[float], fires: int) -> str:
    a = np.asarray(lat) * 1e3
    e = np.asarray(est) * 1e3
    return (
        f"| {name} | {a.size} | {_pct(a, 50):.2f} | {_pct(a, 99):.2f} | "
        f"{(a.max() if a.size else math.nan):.2f} | {_pct(e, 50):.2f} | "
        f"{_pct(e, 99):.2f} | {(e.max() if e.size else math.nan):.2f} | {fires} |"
    )


def _loopback_lslsource() -> str:
    from mne_lsl.lsl import local_clock

    from plptms.closedloop import LSLSource

    source_id = f"plptms-mnelsl-{os.getpid()}"
    proc = _start_producer(source_id)
    try:
        src = LSLSource(source_id=source_id, bufsize=2.0, timeout=20.0)
        trig = _loop_trigger(list(src.ch_names))
        trig.check_stream(src.ch_names, src.sfreq_hz)
        lat: list[float] = []
        est: list[float] = []
        fires = 0
        deadline = time.perf_counter() + LOOPBACK_S + 25.0
        while proc.poll() is None and time.perf_counter() < deadline:
            x, ts = src.pull()
            if x.shape[0] == 0:
                continue
            d = trig.push(x, ts)
            latency = local_clock() - float(ts[-1])
            lat.append(latency)
            if d.status not in (TriggerStatus.REFRACTORY, TriggerStatus.FILLING):
                est.append(latency)
            fires += int(d.fire)
        src.close()
    finally:
        proc.kill()
        proc.wait()
    return _summarise("plptms LSLSource (mne-lsl StreamLSL)", lat, est, fires)


def _loopback_session(durable: bool) -> str:
    """The whole product path: LSLSource -> ClosedLoopSession -> simulator + log."""
    from plptms.closedloop import ClosedLoopSession, LSLSource
    from plptms.delivery import MemoryDeliveryLog, SimulatedStimulator
    from plptms.registry import RegistryDeliveryLog

    source_id = f"plptms-session-{os.getpid()}-{int(durable)}"
    proc = _start_producer(source_id)
    tmp = tempfile.TemporaryDirectory()
    reg: Any = None
    try:
        if durable:
            from plptms.protocol import load_library
            from plptms.registry import Registry
            from plptms.safety import PhysicianReview, check_protocol

            _BENCH_REVIEW = PhysicianReview(
                physician="Dr Bench",
                reason="Benchmark: unverified table cells reviewed.",
            )

            reg = Registry(f"sqlite:///{tmp.name}/r.sqlite3")
            reg.add_patient("B", "P1", history=None, actor="bench")
            proto = load_library().protocol("consensus2024-example-10hz")
            aid = reg.assign_protocol(
                "B", "P1", proto, check_protocol(proto, review=_BENCH_REVIEW), actor="b"
            )
            sid = reg.start_delivery(
                aid, 1, device="sim", plan={}, blinded=False, actor="b"
            )
            log: Any = RegistryDeliveryLog(reg, sid)
            name = "session, registry log (SQLite WAL, synchronous=FULL)"
        else:
            log = MemoryDeliveryLog()
            name = "session, in-memory log (baseline)"
        src = LSLSource(source_id=source_id, bufsize=2.0, timeout=20.0)
        trig = _loop_trigger(list(src.ch_names))
        with SimulatedStimulator(arm_delay_s=0.0) as stim:
            out = ClosedLoopSession(
                src, trig, stim, 50.0, log, max_duration_s=LOOPBACK_S - 0.5
            ).run()
        src.close()
        lat = out.latency_s * 1e3
        return (
            f"| {name} | {out.pulses} pulses | {_pct(lat, 50):.2f} | "
            f"{_pct(lat, 99):.2f} | {(lat.max() if lat.size else math.nan):.2f} | | | "
            f"| {out.pulses} |"
        )
    finally:
        if reg is not None:
            reg.close()
        tmp.cleanup()
        proc.kill()
        proc.wait()


def _loopback_pylsl() -> str:
    import pylsl

    source_id = f"plptms-pylsl-{os.getpid()}"
    proc = _start_producer(source_id)
    try:
        found = pylsl.resolve_byprop("source_id", source_id, timeout=20.0)
        if not found:
            return "| pylsl inlet | stream not found | | | | | | | |"
        inlet = pylsl.StreamInlet(found[0], max_buflen=2, processing_flags=0)
        info = inlet.info()
        ch = info.desc().child("channels").child("channel")
        names = []
        while not ch.empty():
            names.append(ch.child_value("label"))
            ch = ch.next_sibling()
        inlet.open_stream(timeout=20.0)
        trig = _loop_trigger(names)
        trig.check_stream(names, info.nominal_srate())
        lat: list[float] = []
        est: list[float] = []
        fires = 0
        deadline = time.perf_counter() + LOOPBACK_S + 25.0
        while proc.poll() is None and time.perf_counter() < deadline:
            data, ts = inlet.pull_chunk(timeout=0.0)
            if not ts:
                continue
            d = trig.push(np.asarray(data), np.asarray(ts))
            latency = pylsl.local_clock() - ts[-1]
            lat.append(latency)
            if d.status not in (TriggerStatus.REFRACTORY, TriggerStatus.FILLING):
                est.append(latency)
            fires += int(d.fire)
    finally:
        proc.kill()
        proc.wait()
    return _summarise("pylsl StreamInlet (pull_chunk)", lat, est, fires)


def bench_loopback() -> list[str]:
    lines = [
        "## Closed loop: LSL loopback latency",
        "",
        f"A pylsl outlet in a separate process pushes {LOOPBACK_S:g} s of simulated "
        "EEG (11 channels) at 1 kHz, one sample per push, stamped with "
        "`local_clock()`; the closed loop (AR estimator, decision on every chunk) "
        "reads it on the same machine. Latency = `local_clock()` after the decision "
        "minus the push time of the newest sample. 'estimating' counts only "
        "decisions that ran the estimator (not refractory or filling). Goal: p99 "
        "< 5 ms.",
        "",
        "| reader | decisions | p50 (ms) | p99 (ms) | max (ms) | estimating p50 "
        "(ms) | p99 (ms) | max (ms) | fired |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    runs: list[tuple[str, Any]] = [
        ("LSLSource", _loopback_lslsource),
        ("pylsl", _loopback_pylsl),
        ("session, memory", lambda: _loopback_session(False)),
        ("session, registry", lambda: _loopback_session(True)),
    ]
    for label, fn in runs:
        try:
            lines.append(fn())
        except Exception as err:  # report, do not hide, a failing LSL setup
            lines.append(
                f"| {label} | failed: {type(err).__name__}: {err} | | | | | | | |"
            )
    lines += [
        "",
        "The two 'session' rows run the product path end to end (`LSLSource` -> "
        "`ClosedLoopSession` -> simulated stimulator): their latency is per fired "
        "pulse, from the newest sample's push to the stimulator's confirmation, "
        "and includes the durable `pulse_intent` commit that precedes every pulse "
        "(the in-memory log is the baseline run side by side).",
    ]
    return [*lines, ""]


def run() -> list[str]:
    t0 = time.perf_counter()
    acc, compute = bench_accuracy()
    lines = [
        *acc,
        *bench_evenly(),
        *bench_cases(),
        *bench_real(),
        *compute_lines(compute),
        *bench_loopback(),
    ]
    lines.append(f"Closed-loop benchmark wall time: {time.perf_counter() - t0:.0f} s.")
    lines.append("")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
