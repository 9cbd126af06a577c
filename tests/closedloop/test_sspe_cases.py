"""Where the state space phase estimator wins and where it does not.

The simulation cases of :func:`simulate_phase_case` are each checked for what
they claim (the target is the cosine of the true phase, the broadband target's
half-power width, the phase slips at the stated samples, the competitor's
spectral peak, the SNR); then AR and SSPE are scored at evenly spaced moments
against the simulator's true phase, and the direction of the difference is
asserted only where the measured paired 95 % CI stayed at least 4 deg away from
0 (seed 7); finally the trigger built by ``calibrate(method="sspe")`` fires at
the target phase of a noiseless sinusoid.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.closedloop import (
    ARPhaseEstimator,
    HjorthFilter,
    PhaseTrigger,
    SafetyGate,
    TriggerPolicy,
    calibrate,
    make_estimator,
    replay,
    wrap_phase,
)
from plptms.closedloop._scoring import paired_sd_difference, score_evenly
from plptms.closedloop._simulate import PhaseCase, simulate_phase_case
from plptms.closedloop._sspe import SSPEModel, SSPEPhaseEstimator, fit_sspe
from plptms.closedloop._trigger import Calibration

from .conftest import single_pulse_dose

FS = 1000.0
# cos(phase) reconstructs the target up to float rounding
RECON_ATOL = 1e-9
# Welch estimate (4 s Hann segments, 0.25 Hz bins, ~150 averages) of a
# Lorentzian half-power width: within 20 % of the analytic width.
WIDTH_RTOL = 0.20
# the competitor's peak lies within one 0.1 Hz bin of its frequency
PEAK_ATOL_HZ = 0.1
# the SNR is set exactly (one scale factor): float rounding only
SNR_RTOL = 1e-9


def _case(name: str, **kw: float) -> PhaseCase:
    return simulate_phase_case(name, 60.0, FS, seed=3, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["narrowband", "phase_reset", "competing"])
def test_target_is_the_cosine_of_the_true_phase(name: str) -> None:
    c = _case(name, snr_db=5.0)
    cos = np.cos(c.true_phase_rad)
    amp = float(c.rhythm @ cos / (cos @ cos))  # least-squares scale
    np.testing.assert_allclose(c.rhythm / amp, cos, atol=RECON_ATOL)


def test_broadband_width_and_phase() -> None:
    from scipy.signal import welch

    c = simulate_phase_case("broadband", 600.0, FS, bandwidth_hz=4.0, seed=3)
    f, p = welch(c.rhythm, FS, nperseg=4000)
    # the real part's spectrum near the peak is the Lorentzian of the complex
    # AR(1) (its mirror at -10 Hz adds < 2 % there)
    band = (f > 2.0) & (f < 18.0)
    fb, pb = f[band], p[band]
    k = int(np.argmax(pb))
    half = pb[k] / 2.0
    lo = fb[:k][pb[:k] < half][-1]
    hi = fb[k:][pb[k:] < half][0]
    assert fb[k] == pytest.approx(10.0, abs=0.5)
    assert hi - lo == pytest.approx(4.0, rel=WIDTH_RTOL)
    assert c.bandwidth_hz == 4.0
    # the target is |z| cos(arg z): never of the opposite sign to cos(phase)
    assert np.all(c.rhythm * np.cos(c.true_phase_rad) >= -RECON_ATOL)


def test_phase_slips_at_the_stated_samples() -> None:
    c = _case("phase_reset", reset_rate_hz=0.5)
    omega = 2 * math.pi * 10.0 / FS
    step = wrap_phase(np.diff(c.true_phase_rad) - omega)
    slips = np.flatnonzero(np.abs(step) > 1e-6) + 1
    np.testing.assert_array_equal(slips, c.reset_samples)
    np.testing.assert_allclose(step[slips - 1], c.reset_jumps_rad, atol=RECON_ATOL)
    mags = np.abs(c.reset_jumps_rad)
    assert np.all((mags >= math.pi / 2) & (mags <= math.pi))
    assert np.all(np.diff(c.reset_samples) >= FS / 10.0)  # one cycle apart
    # Poisson count, mean 30 in 60 s: within 4 SD
    assert abs(c.reset_samples.size - 30) <= 4 * math.sqrt(30)


def test_competitor_peak_and_snr() -> None:
    from scipy.signal import periodogram

    c = _case("competing", snr_db=10.0, competitor_offset_hz=2.5)
    assert c.competitor_hz == pytest.approx(12.5)
    f, p = periodogram(c.signal - c.rhythm, FS)
    sel = (f > 11.0) & (f < 14.0)
    assert f[sel][np.argmax(p[sel])] == pytest.approx(12.5, abs=PEAK_ATOL_HZ)
    # SNR: target over noise power in 8-12 Hz, on the narrowband case
    n = _case("narrowband", snr_db=-3.0)
    f, p_t = periodogram(n.rhythm, FS)
    _, p_n = periodogram(n.signal - n.rhythm, FS)
    b = (f >= 8.0) & (f <= 12.0)
    ratio = p_t[b].sum() / p_n[b].sum()
    assert ratio == pytest.approx(10 ** (-0.3), rel=SNR_RTOL)


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("case", {"case": "burst"}),
        ("bandwidth_hz", {"bandwidth_hz": 20.0}),
        ("reset_rate_hz", {"reset_rate_hz": 0.0}),
        ("competitor_ratio", {"competitor_ratio": -1.0}),
        ("peak_hz", {"peak_hz": 2.0}),
    ],
)
def test_out_of_range_names_the_field(field: str, kw: dict[str, object]) -> None:
    args: dict[str, object] = {"case": "narrowband", "n_seconds": 10.0}
    args.update(kw)
    with pytest.raises(ValueError, match=field):
        simulate_phase_case(**args)  # type: ignore[arg-type]


# Measured (seed 7, 10 s baseline, 120 s scored, EM 40 iterations, paired
# moving-block bootstrap, blocks of 4 moments, 1000 resamples), SD(SSPE) - SD(AR)
# at +5 dB: narrowband +13.0 [+6.8, +18.7] deg, phase_reset +10.4 [+4.3, +16.7]
# (AR wins both, also at the benchmark's seed: +22.7 [+15.1, +29.3] and +13.0
# [+5.4, +20.7]); broadband -13.9 [-22.5, -6.2] (SSPE wins) at seed 7 but +7.3
# [-4.0, +17.1] (a tie) at the benchmark's seed, so not asserted. Asserted: the
# sign of the CI bound nearer 0, >= 4 deg away from it in both measurements.
@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "sspe_better"), [("narrowband", False), ("phase_reset", False)]
)
def test_direction_where_the_ci_is_clear(name: str, sspe_better: bool) -> None:
    c = simulate_phase_case(name, 130.0, FS, snr_db=5.0, seed=7)  # type: ignore[arg-type]
    nb = 10000
    model = fit_sspe(c.signal[:nb], FS, c.peak_hz, max_iter=40)
    errs = []
    for est in (SSPEPhaseEstimator(model), ARPhaseEstimator(FS, c.peak_hz)):
        est.update(c.signal[nb - 1000 : nb])
        errs.append(score_evenly(est, c.signal, c.true_phase_rad, start=nb)[1])
    n = min(e.size for e in errs)
    assert n >= 200
    _, lo, hi = paired_sd_difference(
        errs[0][:n], errs[1][:n], n_boot=1000, block=4, seed=1
    )
    if sspe_better:
        assert hi < 0.0
    else:
        assert lo > 0.0


# ------------------------------------------------------------ SSPE as fired
# a trigger on a noiseless tone fires within this of the target (the policy's
# crossing tolerance is 0.3 rad; one sample at 10 Hz is 0.063 rad)
FIRE_ATOL_RAD = 0.15


def test_sspe_trigger_fires_at_the_target_phase_of_a_sinusoid() -> None:
    names = ["C3", "FC3", "CP3", "C1", "C5"]
    t = np.arange(round(40.0 * FS)) / FS
    phi = 0.4
    tone = np.cos(2 * math.pi * 10.0 * t + phi)
    # a whisper of 1/f-like noise so that the peak finder has a background
    rng = np.random.default_rng(0)
    bg = np.cumsum(rng.standard_normal(t.size)) * 1e-3
    bg -= np.convolve(bg, np.ones(501) / 501, mode="same")
    data = np.zeros((t.size, 5))
    data[:, 0] = tone + bg
    hj = HjorthFilter(names, "C3")
    n_base = round(25.0 * FS)
    cal = calibrate(hj.apply(data[:n_base]), FS, method="sspe")
    assert cal.method == "sspe"
    assert isinstance(cal.sspe, SSPEModel)
    assert cal.sspe.target_hz == pytest.approx(10.0, abs=0.25)
    est = make_estimator(cal, FS)
    assert isinstance(est, SSPEPhaseEstimator)
    pol = TriggerPolicy(min_interpulse_interval_s=1.2, amplitude_percentile=10.0)
    trig = PhaseTrigger(
        hj, est, SafetyGate(single_pulse_dose()), cal.amplitude_threshold, pol
    )
    res = replay(trig, data[n_base:], t0_s=25.0)
    idx = res.fire_samples + n_base
    assert idx.size >= 8
    true_at = 2 * math.pi * 10.0 * t[idx] + phi
    assert np.abs(wrap_phase(true_at - pol.target_phase_rad)).max() < FIRE_ATOL_RAD


def test_sspe_calibration_round_trip_and_missing_model() -> None:
    model = SSPEModel(
        sfreq_hz=FS,
        freqs_hz=(1.0, 10.0),
        damping=(0.99, 0.995),
        state_var=(1.0, 1.0),
        obs_var=4.0,
        target=1,
        n_iter=3,
        log_likelihood=-1.5,
    )
    from plptms.closedloop import MuPeak

    peak = MuPeak(peak_hz=10.0, snr_db=8.0, band_hz=(8.0, 13.0), resolution_hz=0.5)
    cal = Calibration(peak, 0.5, 50.0, "sspe", None, model)
    back = Calibration.from_dict(cal.to_dict())
    assert back == cal
    bad = Calibration(peak, 0.5, 50.0, "sspe", None, None)
    with pytest.raises(ValueError, match=r"calibration\.sspe"):
        make_estimator(bad, FS)


def test_calibrate_fits_the_ar_background_by_default_and_on_request() -> None:
    from plptms.closedloop._constants import SSPE_BACKGROUND_ORDER

    sfreq = 250.0
    x = simulate_phase_case("narrowband", 30.0, sfreq, snr_db=5.0, seed=3).signal
    cal = calibrate(x, sfreq, method="sspe")
    assert cal.sspe is not None
    assert len(cal.sspe.ar_coefs) == SSPE_BACKGROUND_ORDER
    plain = calibrate(x, sfreq, method="sspe", sspe_background_order=0)
    assert plain.sspe is not None
    assert len(plain.sspe.ar_coefs) == 0
    assert Calibration.from_dict(cal.to_dict()) == cal
    for bad in (1, 201):
        with pytest.raises(ValueError, match="sspe_background_order"):
            calibrate(x, sfreq, method="sspe", sspe_background_order=bad)
    with pytest.raises(TypeError, match="sspe_background_order"):
        calibrate(x, sfreq, method="sspe", sspe_background_order=8.0)  # type: ignore[arg-type]
