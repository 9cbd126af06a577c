"""Amplitude-informed Bayesian threshold hunt (plptms.motor._threshold_amp)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from plptms.motor._amp_model import _AmpPsi, _log_lik, amplitude_log_likelihood
from plptms.motor._rehunt import next_session_population, rehunt_prior_sd
from plptms.motor._subject import SimulatedSubject, SubjectParameters, sample_population
from plptms.motor._threshold import StopReason, hunt_population
from plptms.motor._threshold_amp import (
    AMP_REHUNT_TARGET_SD_PCT_MSO,
    hunt_amplitude,
    hunt_population_amplitude,
    rehunt_amplitude,
)

#: Likelihood against adaptive quadrature (quad's own error is ~1e-10).
QUAD_RTOL = 1e-7
#: Posterior against the hand-written Bayes update.
POSTERIOR_RTOL = 1e-10
N_SUBJECTS = 200
#: Paired margin against the yes/no Bayesian hunt on the same 200 subjects, % MSO:
#: the SE of a 200-subject mean |error| is about 0.08, so 0.25 is about 3 SE.
MAE_MARGIN_PCT_MSO = 0.25
#: Mean pulses of the first amplitude hunt (defaults; measured 9.2 on 1,000).
PULSES_MAX = 10.5
#: Re-hunt: mean pulses (measured 9.5 on 1,000; 9.4 on these 200). The
#: accuracy is checked strictly (no margin) against relative frequency on the same
#: subjects and truth: measured 0.97 vs 1.11 mean and 2.46 vs 3.07 95th pct |error|
#: here (SE of a 200-subject mean |error| about 0.07).
REHUNT_PULSES_MAX = 10.0
REHUNT_MARGIN_PCT_MSO = 0.0
#: Binary Fisher information at threshold x sigma^2.
BINARY_MAX = 2.0 / math.pi


def _joint_by_quadrature(
    x: float, a: float, t: float, r: float, b: float, s: float, c: float
) -> float:
    """Density of (present, y = ln(A / c)) by integrating the latent excitation."""
    m = (x - t) / t
    y = math.log(a / c)

    def integrand(u: float) -> float:
        return float(stats.norm.pdf(u, m, r) * stats.norm.pdf(y, b * u, s))

    val, _ = integrate.quad(integrand, 0.0, np.inf, epsabs=0.0, epsrel=1e-11)
    return float(val)


@pytest.mark.parametrize(
    ("x", "a", "t", "r", "b", "s"),
    [
        (55.0, 120.0, 52.0, 0.07, 12.0, 0.7),
        (50.0, 51.0, 52.0, 0.05, 20.0, 0.3),
        (60.0, 2000.0, 48.0, 0.10, 8.0, 1.2),
    ],
)
def test_present_likelihood_equals_quadrature(
    x: float, a: float, t: float, r: float, b: float, s: float
) -> None:
    got = amplitude_log_likelihood(
        x, a, threshold_pct_mso=t, relative_spread=r, slope=b, output_log_sd=s
    )
    want = _joint_by_quadrature(x, a, t, r, b, s, 50.0)
    assert math.exp(got) == pytest.approx(want, rel=QUAD_RTOL)


def test_absent_likelihood_is_binary_and_model_is_normalised() -> None:
    x, t, r, b, s = 53.0, 52.0, 0.07, 12.0, 0.7
    got = amplitude_log_likelihood(
        x, 20.0, threshold_pct_mso=t, relative_spread=r, slope=b, output_log_sd=s
    )
    p_absent = stats.norm.cdf(-(x - t) / (r * t))
    assert math.exp(got) == pytest.approx(p_absent, rel=1e-12)

    def dens(y: float) -> float:
        # The model's y ranges over the real line: evaluate the present-MEP
        # density directly, also below the criterion (y < 0).
        out = _log_lik(
            np.array([(x - t) / t]),
            np.array([r]),
            np.array([b]),
            np.array([y]),
            np.array([True]),
            s,
            0.0,
        )
        return math.exp(float(out[0]))

    present, _ = integrate.quad(dens, -40.0, 40.0, points=[0.0], limit=200)
    assert present + p_absent == pytest.approx(1.0, abs=1e-8)


def test_lapse_mixture_by_hand() -> None:
    kw = {"threshold_pct_mso": 52.0, "relative_spread": 0.07, "slope": 12.0}
    pure = math.exp(amplitude_log_likelihood(56.0, 300.0, **kw))
    mixed = math.exp(amplitude_log_likelihood(56.0, 300.0, amplitude_lapse=0.1, **kw))
    p_yes = stats.norm.cdf((56.0 - 52.0) / (0.07 * 52.0))
    assert mixed == pytest.approx(0.9 * pure + 0.1 * p_yes * 0.1, rel=1e-12)


def test_posterior_equals_hand_computed_bayes_update() -> None:
    t_grid = np.array([45.0, 50.0, 55.0])
    r_grid = np.array([0.05, 0.10])
    b_grid = np.array([8.0, 16.0])
    eng = _AmpPsi(
        1,
        np.array([55.0]),
        prior_means=np.array([50.0]),
        prior_sds=np.array([6.0]),
        max_pulses=10,
        min_pulses=10,
        target_sd_pct_mso=0.1,
        resolution_pct_mso=1.0,
        offset_sd=1.0,
        output_log_sd=0.7,
        amplitude_lapse=0.05,
        slope_prior=(12.0, 0.5),
        spread_prior=(0.07, 0.5),
        grid=(t_grid, r_grid, b_grid),
    )
    pulses = [(55.0, 400.0), (51.0, 12.0)]
    idx = np.zeros(1, dtype=np.intp)
    for x, a in pulses:
        eng.observe_amplitude(idx, np.array([x]), np.array([a]), 50.0)
    weights = {}
    for t in t_grid:
        for r in r_grid:
            for b in b_grid:
                w = math.exp(
                    -0.5 * ((t - 50.0) / 6.0) ** 2
                    - 0.5 * (math.log(r / 0.07) / 0.5) ** 2
                    - 0.5 * (math.log(b / 12.0) / 0.5) ** 2
                )
                for x, a in pulses:
                    w *= math.exp(
                        amplitude_log_likelihood(
                            x,
                            a,
                            threshold_pct_mso=float(t),
                            relative_spread=float(r),
                            slope=float(b),
                            output_log_sd=0.7,
                            amplitude_lapse=0.05,
                        )
                    )
                weights[(t, r, b)] = w
    total = sum(weights.values())
    mean = sum(t * w for (t, _, _), w in weights.items()) / total
    spread = sum(r * t * w for (t, r, _), w in weights.items()) / total
    assert eng.estimate[0] == pytest.approx(mean, rel=POSTERIOR_RTOL)
    assert eng.next_x[0] == round(mean + spread)
    assert eng.pulses[0] == 2


def _fisher(x: float, t: float, r: float, b: float, s: float) -> float:
    """Fisher information on T of one pulse, by quadrature over y (nuisance known)."""
    h = 1e-4

    def ll(tt: float, y: float, present: bool) -> float:
        out = _log_lik(
            np.array([(x - tt) / tt]),
            np.array([r]),
            np.array([b]),
            np.array([y]),
            np.array([present]),
            s,
            0.0,
        )
        return float(out[0])

    def score2(y: float) -> float:
        d = (ll(t + h, y, True) - ll(t - h, y, True)) / (2 * h)
        return math.exp(ll(t, y, True)) * d * d

    present, _ = integrate.quad(score2, -30.0, 30.0, points=[0.0], limit=200)
    d_abs = (ll(t + h, 0.0, False) - ll(t - h, 0.0, False)) / (2 * h)
    return present + math.exp(ll(t, 0.0, False)) * d_abs**2


def test_fisher_information_beats_binary_bound_only_with_known_slope() -> None:
    """Honest check of the information claim (docs/threshold.md).

    With the recruitment slope and spread known, a pulse one spread above the
    threshold carries about 1.5x the most a yes/no pulse can (2 / (pi sigma^2));
    the gain is bounded by 1 / sigma^2 ~ (pi / 2) x binary because the amplitude
    only reveals the latent excitation, which carries the input noise itself.
    """
    t, r, b, s = 52.6, 0.0763, 14.8, 0.5
    sigma = r * t
    info = _fisher(t + sigma, t, r, b, s) * sigma**2
    assert info > 1.4 * BINARY_MAX
    # At the threshold the gain is smaller, and never above ~1/sigma^2 there.
    at_t = _fisher(t, t, r, b, s) * sigma**2
    assert BINARY_MAX < at_t < 1.0 + 0.05


def test_first_hunt_matches_yes_no_at_fewer_or_equal_pulses() -> None:
    """Seeded population: first hunt with amplitudes vs the yes/no Bayesian hunt.

    On 1,000 subjects (benchmark) the amplitude hunt uses 9.2 pulses at mean
    |error| 1.37 where the yes/no hunt uses 9.0 at 1.51: a modest gain, and
    relative frequency's 1.1 is not reached. Here 200 subjects: no more pulses
    than the yes/no hunt at posterior SD 2.2, mean |error| no worse by more
    than the margin, and the target of issue 19 still not met.
    """
    pop = sample_population(N_SUBJECTS, seed=7)
    truth = pop.thresholds_pct_mso
    start = np.minimum(100.0, np.round(truth * 1.2))
    amp = hunt_population_amplitude(pop, start_intensity_pct_mso=start)
    pop = sample_population(N_SUBJECTS, seed=7)
    yes_no = hunt_population(
        pop,
        "psi",
        start_intensity_pct_mso=start,
        placement="estimate",
        threshold_prior_mean_pct_mso=52.6,
        threshold_prior_sd_pct_mso=8.0,
        min_pulses=1,
        max_pulses=40,
        target_sd_pct_mso=2.2,
    )
    assert amp.converged.mean() >= 0.97
    assert amp.pulses_used.mean() <= PULSES_MAX
    assert amp.pulses_used.mean() <= yes_no.pulses_used.mean() + 1.0
    err_a = np.abs(amp.estimate_pct_mso - truth)[amp.converged]
    err_b = np.abs(yes_no.estimate_pct_mso - truth)[yes_no.converged]
    assert err_a.mean() <= err_b.mean() + MAE_MARGIN_PCT_MSO
    # Target of issue 19 not met: relative frequency's mean |error| is about 1.1.
    assert err_a.mean() > 1.15


def test_rehunt_with_amplitudes_reaches_relative_frequency_accuracy() -> None:
    """Re-hunt (previous RMT as prior) on the same subjects and truth today."""
    yesterday = sample_population(N_SUBJECTS, seed=11)
    t1 = yesterday.thresholds_pct_mso
    prev = hunt_population(
        yesterday, "relative_frequency", start_intensity_pct_mso=np.round(t1 * 1.2)
    ).estimate_pct_mso
    today, t2 = next_session_population(yesterday, seed=12)
    rf = hunt_population(
        today, "relative_frequency", start_intensity_pct_mso=np.round(t2 * 1.2)
    )
    today, t2 = next_session_population(yesterday, seed=12)
    amp = hunt_population_amplitude(
        today,
        start_intensity_pct_mso=np.round(prev),
        threshold_prior_mean_pct_mso=prev,
        threshold_prior_sd_pct_mso=rehunt_prior_sd(),
        target_sd_pct_mso=AMP_REHUNT_TARGET_SD_PCT_MSO,
    )
    err_rf = np.abs(rf.estimate_pct_mso - t2)
    err_a = np.abs(amp.estimate_pct_mso - t2)[amp.converged]
    assert amp.converged.mean() >= 0.97
    assert amp.pulses_used.mean() <= REHUNT_PULSES_MAX
    assert err_a.mean() <= err_rf.mean() + REHUNT_MARGIN_PCT_MSO
    assert np.percentile(err_a, 95) <= np.percentile(err_rf, 95) + REHUNT_MARGIN_PCT_MSO


def test_rehunt_amplitude_single_subject() -> None:
    subject = SimulatedSubject(SubjectParameters(threshold_pct_mso=47.0), seed=4)
    res = rehunt_amplitude(subject, previous_rmt_pct_mso=48.0)
    assert res.converged
    assert res.trace[0].intensity_pct_mso == 48.0
    assert res.estimate_pct_mso is not None
    assert abs(res.estimate_pct_mso - 47.0) < 6.0
    with pytest.raises(ValueError, match="previous_rmt_pct_mso"):
        rehunt_amplitude(subject, previous_rmt_pct_mso=150.0)


def test_single_subject_hunt_converges_near_truth() -> None:
    params = SubjectParameters(threshold_pct_mso=50.0)
    res = hunt_amplitude(SimulatedSubject(params, seed=3), start_intensity_pct_mso=60.0)
    assert res.converged
    assert res.pulses_used == len(res.trace) <= 40
    assert res.estimate_pct_mso is not None
    assert abs(res.estimate_pct_mso - 50.0) < 6.0  # 4 prior-free sigma of one hunt
    assert res.trace[0].intensity_pct_mso == 60.0


class _Bad:
    def __init__(self, value: object) -> None:
        self.value = value

    def stimulate(self, intensity_pct_mso: float) -> object:
        return self.value


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"target_sd_pct_mso": 0.0}, "target_sd_pct_mso"),
        ({"offset_sd": 5.0}, "offset_sd"),
        ({"output_log_sd": 0.0}, "output_log_sd"),
        ({"amplitude_lapse": 0.9}, "amplitude_lapse"),
        ({"slope_prior_median": -1.0}, "slope_prior_median"),
        ({"threshold_prior_sd_pct_mso": 0.1}, "threshold_prior_sd_pct_mso"),
        ({"max_pulses": 0}, "max_pulses"),
    ],
)
def test_invalid_options_name_the_field(kwargs: dict[str, float], field: str) -> None:
    subject = _Bad(100.0)
    with pytest.raises(ValueError, match=field):
        hunt_amplitude(subject, start_intensity_pct_mso=50.0, **kwargs)  # type: ignore[arg-type]


def test_invalid_inputs_raise_before_any_pulse() -> None:
    pop = sample_population(3, seed=1)
    with pytest.raises(ValueError, match="threshold_prior_mean_pct_mso"):
        hunt_population_amplitude(
            pop,
            start_intensity_pct_mso=50.0,
            threshold_prior_mean_pct_mso=np.array([50.0, 5.0, 50.0]),
        )
    with pytest.raises(TypeError, match="unknown_option"):
        hunt_population_amplitude(pop, start_intensity_pct_mso=50.0, unknown_option=1)
    with pytest.raises(ValueError, match="amplitude_uv"):
        hunt_amplitude(_Bad(-1.0), start_intensity_pct_mso=50.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="amplitude_uv"):
        hunt_amplitude(_Bad("big"), start_intensity_pct_mso=50.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="slope"):
        amplitude_log_likelihood(
            50.0,
            60.0,
            threshold_pct_mso=50.0,
            relative_spread=0.07,
            slope="x",  # type: ignore[arg-type]
        )
    with pytest.raises(ValueError, match="relative_spread"):
        amplitude_log_likelihood(
            50.0, 60.0, threshold_pct_mso=50.0, relative_spread=0.0, slope=12.0
        )


@settings(max_examples=40, deadline=None)
@given(
    spread=st.floats(-1.0, 2.0, allow_nan=False),
    slope=st.floats(-10.0, 2000.0, allow_nan=False),
)
def test_likelihood_validators_in_range_pass_out_of_range_name_field(
    spread: float, slope: float
) -> None:
    kw = {"threshold_pct_mso": 50.0, "relative_spread": spread, "slope": slope}
    spread_ok = 0.0 < spread <= 1.0
    slope_ok = 0.0 < slope <= 1000.0
    if spread_ok and slope_ok:
        first = amplitude_log_likelihood(55.0, 200.0, **kw)
        assert math.isfinite(first)
        assert amplitude_log_likelihood(55.0, 200.0, **kw) == first  # idempotent
    else:
        field = "relative_spread" if not spread_ok else "slope"
        with pytest.raises(ValueError, match=field):
            amplitude_log_likelihood(55.0, 200.0, **kw)


@pytest.mark.parametrize("amplitude", [float("nan"), -1.0])
def test_invalid_amplitude_from_responder(amplitude: float) -> None:
    with pytest.raises(ValueError, match="amplitude_uv"):
        hunt_amplitude(_Bad(amplitude), start_intensity_pct_mso=50.0)  # type: ignore[arg-type]


def test_threshold_above_stimulator_output_does_not_converge() -> None:
    subject = SimulatedSubject(SubjectParameters(threshold_pct_mso=140.0), seed=2)
    res = hunt_amplitude(subject, start_intensity_pct_mso=100.0)
    assert not res.converged
    assert res.stop_reason is StopReason.ESTIMATE_ABOVE_MAX_OUTPUT
    assert res.estimate_pct_mso is None


def test_repeated_amplitude_switches_to_hand_computed_yes_no_posterior() -> None:
    """After two present MEPs of the same amplitude the posterior is yes/no only.

    Oracle: the Bayes update by hand with Phi(+-(x - T) / (r T)) for every pulse
    (the amplitudes ignored), the slope prior marginalised out; the next pulse at
    the posterior mean (no offset).
    """
    t_grid = np.array([45.0, 50.0, 55.0])
    r_grid = np.array([0.05, 0.10])
    b_grid = np.array([8.0, 16.0])
    kw = {
        "prior_means": np.array([50.0]),
        "prior_sds": np.array([6.0]),
        "max_pulses": 10,
        "min_pulses": 10,
        "target_sd_pct_mso": 0.1,
        "resolution_pct_mso": 1.0,
        "offset_sd": 1.0,
        "output_log_sd": 0.7,
        "amplitude_lapse": 0.05,
        "slope_prior": (12.0, 0.5),
        "spread_prior": (0.07, 0.5),
        "grid": (t_grid, r_grid, b_grid),
    }
    eng = _AmpPsi(1, np.array([55.0]), **kw)  # type: ignore[arg-type]
    pulses = [(55.0, 500.0), (49.0, 5.0), (52.0, 500.0)]
    idx = np.zeros(1, dtype=np.intp)
    for k, (x, a) in enumerate(pulses):
        eng.observe_amplitude(idx, np.array([x]), np.array([a]), 50.0)
        assert bool(eng.degraded[0]) == (k == 2)
    weights = {}
    for t in t_grid:
        for r in r_grid:
            w = math.exp(
                -0.5 * ((t - 50.0) / 6.0) ** 2 - 0.5 * (math.log(r / 0.07) / 0.5) ** 2
            )
            for x, a in pulses:
                p = stats.norm.cdf((x - t) / (r * t))
                w *= p if a >= 50.0 else 1.0 - p
            weights[(t, r)] = w
    total = sum(weights.values())
    mean = sum(t * w for (t, _), w in weights.items()) / total
    assert eng.estimate[0] == pytest.approx(mean, rel=POSTERIOR_RTOL)
    assert eng.next_x[0] == round(mean)
    # Without the fallback the same pulses keep the amplitude posterior.
    off = _AmpPsi(1, np.array([55.0]), repeat_fallback=False, **kw)  # type: ignore[arg-type]
    for x, a in pulses:
        off.observe_amplitude(idx, np.array([x]), np.array([a]), 50.0)
    assert not off.degraded[0]
    assert abs(off.estimate[0] - mean) > 0.1


#: Constant amplitudes: margins against the yes/no Bayesian hunt stopping at the
#: same posterior SD (2.0) on the same 200 subjects. Measured (seed 3): amplitude
#: 10.9 pulses, bias -0.07, mean |error| 1.39; yes/no 11.1, -0.00, 1.42; without
#: the fallback 17.8 pulses, bias -1.43, 1.74. SE of a 200-subject bias about
#: 0.12, of a mean |error| about 0.08.
CONST_BIAS_MARGIN_PCT_MSO = 0.35
CONST_PULSE_MARGIN = 1.5


@pytest.mark.parametrize("shape", ["normal", "logistic"])
def test_constant_amplitudes_degrade_to_the_yes_no_hunt(shape: str) -> None:
    from plptms.motor._response_models import ResponseModelPopulation

    def pop() -> ResponseModelPopulation:
        return ResponseModelPopulation(
            N_SUBJECTS,
            seed=3,
            shape=shape,  # type: ignore[arg-type]
            amplitudes="constant",
        )

    truth = pop().thresholds_pct_mso
    start = np.minimum(100.0, np.round(truth * 1.2))
    amp = hunt_population_amplitude(pop(), start_intensity_pct_mso=start)
    yes_no = hunt_population(
        pop(),
        "psi",
        start_intensity_pct_mso=start,
        placement="estimate",
        threshold_prior_mean_pct_mso=52.6,
        threshold_prior_sd_pct_mso=8.0,
        min_pulses=1,
        max_pulses=40,
        target_sd_pct_mso=2.0,
    )
    assert amp.converged.mean() >= 0.99
    err_a = (amp.estimate_pct_mso - truth)[amp.converged]
    err_b = (yes_no.estimate_pct_mso - truth)[yes_no.converged]
    assert abs(err_a.mean()) <= CONST_BIAS_MARGIN_PCT_MSO
    assert abs(err_a.mean() - err_b.mean()) <= CONST_BIAS_MARGIN_PCT_MSO
    assert np.abs(err_a).mean() <= np.abs(err_b).mean() + MAE_MARGIN_PCT_MSO
    assert abs(amp.pulses_used.mean() - yes_no.pulses_used.mean()) <= (
        CONST_PULSE_MARGIN
    )
    # Without the fallback the same hunt is biased (the check can fail).
    raw = hunt_population_amplitude(
        pop(), start_intensity_pct_mso=start, repeat_fallback=False
    )
    err_r = (raw.estimate_pct_mso - truth)[raw.converged]
    assert err_r.mean() < -1.0


class _Clipped:
    """The default simulated population behind an amplifier that clips at 200 uV."""

    def __init__(self, n: int, seed: int) -> None:
        self.pop = sample_population(n, seed=seed)
        self.n_subjects = n

    def stimulate_subjects(
        self, subjects: np.ndarray, intensity_pct_mso: np.ndarray
    ) -> np.ndarray:
        return np.minimum(
            self.pop.stimulate_subjects(subjects, intensity_pct_mso), 200.0
        )


def test_clipping_amplifier_is_not_biased() -> None:
    """Clipped at 200 uV (4x the criterion): bias within the margin.

    Measured (seed 7, 200 subjects): 10.3 pulses, bias +0.00, mean |error| 1.37
    (the fallback fires for most subjects); without the fallback 8.2 pulses,
    +0.18, 1.47; unclipped 8.7, -0.30, 1.32. A robustness check: clipping this
    high biases little even without the fallback.
    """
    truth = sample_population(N_SUBJECTS, seed=7).thresholds_pct_mso
    start = np.minimum(100.0, np.round(truth * 1.2))
    amp = hunt_population_amplitude(
        _Clipped(N_SUBJECTS, 7), start_intensity_pct_mso=start
    )
    err = (amp.estimate_pct_mso - truth)[amp.converged]
    assert amp.converged.mean() >= 0.97
    assert abs(err.mean()) <= CONST_BIAS_MARGIN_PCT_MSO
    assert np.abs(err).mean() <= 1.51 + MAE_MARGIN_PCT_MSO  # yes/no hunt: 1.51
