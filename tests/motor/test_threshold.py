"""Threshold hunting: accuracy against the simulated truth, failures, validation.

The simulated subjects here follow the model the hunts assume; see
test_threshold_mismatched.py for subjects simulated with a model they do not assume.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from plptms.motor import _constants as C
from plptms.motor._subject import (
    SimulatedSubject,
    SubjectParameters,
    sample_population,
    sample_subject_parameters,
)
from plptms.motor._threshold import (
    StopReason,
    ThresholdMethod,
    ThresholdNotFoundError,
    ThresholdResult,
    TracePoint,
    hunt_ml_pest,
    hunt_population,
    hunt_psi,
    hunt_relative_frequency,
    hunt_threshold,
)

N_SUBJECTS = 200

#: Bounds on the mean |error| over 200 seeded subjects, % MSO. The benchmark over
#: 10,000 subjects gives about 1.1 (relative frequency, 1 % steps), 1.05 (ML-PEST,
#: 20 pulses) and 1.2 (Psi); the SD of |error| is about 0.9, so the standard error
#: of a 200-subject mean is about 0.07 and these bounds sit > 6 SE above.
MAE_BOUND_PCT_MSO = {
    ThresholdMethod.RELATIVE_FREQUENCY: 1.6,
    ThresholdMethod.ML_PEST: 1.6,
    ThresholdMethod.PSI: 1.7,
}
#: Bound on the mean signed error (bias), % MSO. Relative frequency reports the
#: lowest 1 % MSO grid point with 5 of 10, about +0.6 % MSO above the 50 % point.
BIAS_BOUND_PCT_MSO = 1.0
#: Fraction of Psi hunts that must reach the target precision within the budget.
PSI_MIN_CONVERGED = 0.95

HUNTS = {
    ThresholdMethod.RELATIVE_FREQUENCY: hunt_relative_frequency,
    ThresholdMethod.ML_PEST: hunt_ml_pest,
    ThresholdMethod.PSI: hunt_psi,
}


class StepResponder:
    """Deterministic subject: an MEP of 500 uV exactly when x >= T."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.calls = 0

    def stimulate(self, intensity_pct_mso: float) -> float:
        assert 0.0 <= intensity_pct_mso <= 100.0
        self.calls += 1
        return 500.0 if intensity_pct_mso >= self.threshold else 5.0


class StepPopulation:
    """Deterministic population for the lockstep driver."""

    def __init__(self, thresholds: np.ndarray) -> None:
        self.thresholds = thresholds

    @property
    def n_subjects(self) -> int:
        return int(self.thresholds.size)

    def stimulate_subjects(self, subjects: np.ndarray, x: np.ndarray) -> np.ndarray:
        assert ((x >= 0) & (x <= 100)).all()
        return np.where(x >= self.thresholds[subjects], 500.0, 5.0)


class ConstantResponder:
    def __init__(self, amplitude: float) -> None:
        self.amplitude = amplitude

    def stimulate(self, intensity_pct_mso: float) -> float:
        return self.amplitude


def _start(threshold: float, rng: np.random.Generator) -> float:
    """Hotspot-search intensity: 10-30 % above RMT, whole % MSO, at most 100."""
    return float(min(100.0, round(threshold * rng.uniform(1.1, 1.3))))


@pytest.fixture(scope="module")
def runs() -> dict[ThresholdMethod, list[tuple[float, ThresholdResult]]]:
    out: dict[ThresholdMethod, list[tuple[float, ThresholdResult]]] = {}
    for method, hunt in HUNTS.items():
        rng = np.random.default_rng(2024)
        res = []
        for i in range(N_SUBJECTS):
            p = sample_subject_parameters(10_000 + i)
            r = hunt(
                SimulatedSubject(p, seed=i),
                start_intensity_pct_mso=_start(p.threshold_pct_mso, rng),
            )
            res.append((p.threshold_pct_mso, r))
        out[method] = res
    return out


@pytest.mark.parametrize("method", list(ThresholdMethod))
def test_accuracy_against_simulated_truth(
    runs: dict[ThresholdMethod, list[tuple[float, ThresholdResult]]],
    method: ThresholdMethod,
) -> None:
    res = runs[method]
    conv = [(t, r) for t, r in res if r.converged]
    if method is ThresholdMethod.PSI:
        assert len(conv) >= PSI_MIN_CONVERGED * len(res)
    else:
        assert len(conv) == len(res)
    err = np.array([r.rmt_or_raise() - t for t, r in conv])
    assert np.abs(err).mean() <= MAE_BOUND_PCT_MSO[method]
    assert abs(err.mean()) <= BIAS_BOUND_PCT_MSO
    for _, r in res:
        assert r.method is method
        assert r.pulses_used == len(r.trace)
        assert r.citation


def test_ml_pest_uses_a_third_of_the_pulses(
    runs: dict[ThresholdMethod, list[tuple[float, ThresholdResult]]],
) -> None:
    rf = np.mean([r.pulses_used for _, r in runs[ThresholdMethod.RELATIVE_FREQUENCY]])
    ml = np.mean([r.pulses_used for _, r in runs[ThresholdMethod.ML_PEST]])
    assert ml == C.MLPEST_PULSES
    assert ml <= rf / 3


def test_relative_frequency_follows_the_descending_procedure(
    runs: dict[ThresholdMethod, list[tuple[float, ThresholdResult]]],
) -> None:
    for _, r in runs[ThresholdMethod.RELATIVE_FREQUENCY][:20]:
        xs = [p.intensity_pct_mso for p in r.trace]
        assert r.trace[0].intensity_pct_mso == xs[0]
        levels = list(dict.fromkeys(xs))
        steps = np.diff(levels)
        # Descending in 1 % MSO steps (after an optional ascent if the start failed).
        assert np.allclose(np.abs(steps), C.RF_STEP_PCT_MSO)
        est = r.rmt_or_raise()
        at_est = [p.mep_present for p in r.trace if p.intensity_pct_mso == est]
        below = [
            p.mep_present
            for p in r.trace
            if p.intensity_pct_mso == pytest.approx(est - C.RF_STEP_PCT_MSO)
        ]
        assert sum(at_est) >= C.RF_POSITIVES_REQUIRED
        assert len(below) - sum(below) > C.RF_TRIALS_PER_BLOCK - 5
        # Early stop: no block longer than 10 trials.
        assert max(xs.count(x) for x in levels) <= C.RF_TRIALS_PER_BLOCK


def test_early_stop_changes_pulses_not_estimates() -> None:
    for i in range(30):
        r_full = hunt_relative_frequency(
            StepResponder(47.3 + i / 10), start_intensity_pct_mso=55, early_stop=False
        )
        r_fast = hunt_relative_frequency(
            StepResponder(47.3 + i / 10), start_intensity_pct_mso=55
        )
        assert r_full.estimate_pct_mso == r_fast.estimate_pct_mso
        assert r_full.pulses_used > r_fast.pulses_used


def test_ml_pest_confidence_interval_rule() -> None:
    p = SubjectParameters(threshold_pct_mso=48.0, relative_spread=0.07)
    r = hunt_ml_pest(
        SimulatedSubject(p, seed=3),
        start_intensity_pct_mso=58,
        stop_rule="ci",
        max_pulses=60,
    )
    assert r.converged
    assert r.stop_reason is StopReason.PRECISION_REACHED
    assert r.ci95_pct_mso is not None
    lo, hi = r.ci95_pct_mso
    assert hi - lo <= C.MLPEST_CI_WIDTH_PCT_MSO
    assert lo <= r.rmt_or_raise() <= hi
    assert r.pulses_used >= C.MLPEST_CI_MIN_PULSES


def test_ml_pest_next_pulse_is_rounded_estimate() -> None:
    r = hunt_ml_pest(StepResponder(43.6), start_intensity_pct_mso=70)
    xs = [p.intensity_pct_mso for p in r.trace]
    assert xs[0] == 70
    assert all(float(x).is_integer() for x in xs[1:])
    assert abs(r.rmt_or_raise() - 43.6) <= 1.0


# ---------------------------------------------------------------------------
# Failed hunts are never an RMT.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        (ThresholdMethod.RELATIVE_FREQUENCY, StopReason.MAX_OUTPUT_REACHED),
        (ThresholdMethod.ML_PEST, StopReason.NO_MEP_AT_MAX_OUTPUT),
        (ThresholdMethod.PSI, StopReason.ESTIMATE_ABOVE_MAX_OUTPUT),
    ],
)
@pytest.mark.parametrize("threshold", [120.0, 160.0])
def test_threshold_above_max_output_does_not_converge(
    method: ThresholdMethod, reason: StopReason, threshold: float
) -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=threshold), seed=1)
    r = hunt_threshold(s, method, start_intensity_pct_mso=90)
    assert not r.converged
    assert r.stop_reason is reason
    assert r.estimate_pct_mso is None
    assert all(p.intensity_pct_mso <= C.MAX_PCT_MSO for p in r.trace)
    with pytest.raises(ThresholdNotFoundError, match="did not converge"):
        r.rmt_or_raise()
    with pytest.raises(ValueError, match=reason.value):
        r.rmt_or_raise()


@pytest.mark.parametrize("method", list(ThresholdMethod))
def test_no_mep_even_at_max_output(method: ThresholdMethod) -> None:
    r = hunt_threshold(ConstantResponder(0.0), method, start_intensity_pct_mso=60)
    assert not r.converged
    assert r.estimate_pct_mso is None
    assert max(p.intensity_pct_mso for p in r.trace) == C.MAX_PCT_MSO
    with pytest.raises(ThresholdNotFoundError):
        r.rmt_or_raise()


def test_pulse_budget_exhausted() -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=40.0), seed=0)
    r = hunt_relative_frequency(s, start_intensity_pct_mso=80, max_pulses=10)
    assert (r.converged, r.stop_reason) == (False, StopReason.PULSE_BUDGET_EXHAUSTED)
    assert r.pulses_used == 10
    r = hunt_ml_pest(
        s,
        start_intensity_pct_mso=60,
        stop_rule="ci",
        ci_width_pct_mso=0.1,
        max_pulses=8,
        min_pulses=8,
    )
    assert (r.converged, r.stop_reason) == (False, StopReason.PULSE_BUDGET_EXHAUSTED)
    r = hunt_psi(s, start_intensity_pct_mso=60, max_pulses=3, min_pulses=3)
    assert (r.converged, r.stop_reason) == (False, StopReason.PULSE_BUDGET_EXHAUSTED)
    with pytest.raises(ThresholdNotFoundError, match="pulse_budget_exhausted"):
        r.rmt_or_raise()


def test_mep_at_lowest_intensity_does_not_converge() -> None:
    r = hunt_relative_frequency(
        ConstantResponder(300.0), start_intensity_pct_mso=20, step_pct_mso=5
    )
    assert (r.converged, r.stop_reason) == (False, StopReason.MIN_OUTPUT_REACHED)
    with pytest.raises(ThresholdNotFoundError):
        r.rmt_or_raise()


def test_relative_frequency_ascends_when_start_is_subthreshold() -> None:
    r = hunt_relative_frequency(StepResponder(52.5), start_intensity_pct_mso=48)
    assert r.rmt_or_raise() == 53.0
    assert [p.intensity_pct_mso for p in r.trace][:6] == [48.0] * 6


@pytest.mark.parametrize("amplitude", [float("nan"), -1.0])
def test_invalid_amplitude_from_responder(amplitude: float) -> None:
    with pytest.raises(ValueError, match="amplitude_uv"):
        hunt_ml_pest(ConstantResponder(amplitude), start_intensity_pct_mso=50)


def test_result_model_refuses_inconsistent_results() -> None:
    tp = TracePoint(intensity_pct_mso=50.0, amplitude_uv=80.0, mep_present=True)
    base: dict[str, Any] = {
        "method": "ml_pest",
        "estimate_pct_mso": 50.0,
        "pulses_used": 1,
        "converged": True,
        "trace": (tp,),
        "stop_reason": "fixed_pulses_completed",
        "detail": "x",
        "citation": "x",
    }
    assert ThresholdResult(**base).rmt_or_raise() == 50.0
    for field, value in [
        ("estimate_pct_mso", None),
        ("estimate_pct_mso", 120.0),
        ("pulses_used", 2),
        ("stop_reason", "pulse_budget_exhausted"),
    ]:
        with pytest.raises(ValueError, match=field):
            ThresholdResult(**{**base, field: value})
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        TracePoint(intensity_pct_mso=101.0, amplitude_uv=1.0, mep_present=False)
    assert issubclass(ThresholdNotFoundError, ValueError)


# ---------------------------------------------------------------------------
# Input validation names the field.
# ---------------------------------------------------------------------------

_S = StepResponder(50.0)


@pytest.mark.parametrize(
    ("hunt", "kwargs", "error", "field"),
    [
        (hunt_relative_frequency, {"start_intensity_pct_mso": 0.0}, ValueError, None),
        (hunt_relative_frequency, {"start_intensity_pct_mso": 101}, ValueError, None),
        (hunt_ml_pest, {"start_intensity_pct_mso": float("nan")}, ValueError, None),
        (hunt_psi, {"start_intensity_pct_mso": "60"}, TypeError, None),
        (hunt_relative_frequency, {"step_pct_mso": 0.0}, ValueError, "step_pct_mso"),
        (hunt_relative_frequency, {"step_pct_mso": 12}, ValueError, "step_pct_mso"),
        (hunt_relative_frequency, {"max_pulses": 0}, ValueError, "max_pulses"),
        (hunt_relative_frequency, {"max_pulses": 2.5}, TypeError, "max_pulses"),
        (hunt_relative_frequency, {"max_pulses": True}, TypeError, "max_pulses"),
        (hunt_relative_frequency, {"early_stop": 1}, TypeError, "early_stop"),
        (hunt_ml_pest, {"max_pulses": 5000}, ValueError, "max_pulses"),
        (hunt_ml_pest, {"stop_rule": "fixd"}, ValueError, "stop_rule"),
        (hunt_ml_pest, {"min_pulses": 30}, ValueError, "min_pulses"),
        (hunt_ml_pest, {"relative_spread": 0.0}, ValueError, "relative_spread"),
        (hunt_ml_pest, {"ci_width_pct_mso": -1}, ValueError, "ci_width_pct_mso"),
        (hunt_ml_pest, {"resolution_pct_mso": 0}, ValueError, "resolution_pct_mso"),
        (hunt_psi, {"target_sd_pct_mso": 0}, ValueError, "target_sd_pct_mso"),
        (hunt_psi, {"lapse_rate": 0.5}, ValueError, "lapse_rate"),
        (hunt_psi, {"mep_threshold_uv": 0.0}, ValueError, "mep_threshold_uv"),
    ],
)
def test_validation_names_the_field(
    hunt: Any, kwargs: dict[str, Any], error: type[Exception], field: str | None
) -> None:
    args = {"start_intensity_pct_mso": 60.0, **kwargs}
    with pytest.raises(error, match=field or "start_intensity_pct_mso"):
        hunt(_S, **args)


def test_unknown_method_suggests() -> None:
    with pytest.raises(ValueError, match="Did you mean 'ml_pest'"):
        hunt_threshold(_S, "ml-pest", start_intensity_pct_mso=60)


@settings(max_examples=60, deadline=None)
@given(start=st.floats(-50.0, 150.0, allow_nan=False), step=st.floats(-1.0, 15.0))
def test_validation_property(start: float, step: float) -> None:
    ok = 0.0 < start <= 100.0 and 0.0 < step <= C.MAX_STEP_PCT_MSO
    if ok:
        a = hunt_relative_frequency(
            StepResponder(40.0), start_intensity_pct_mso=start, step_pct_mso=step
        )
        b = hunt_relative_frequency(
            StepResponder(40.0), start_intensity_pct_mso=start, step_pct_mso=step
        )
        assert a == b
    else:
        with pytest.raises(ValueError, match=r"start_intensity_pct_mso|step_pct_mso"):
            hunt_relative_frequency(
                StepResponder(40.0), start_intensity_pct_mso=start, step_pct_mso=step
            )


# ---------------------------------------------------------------------------
# Properties (hypothesis).
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(list(ThresholdMethod)),
    threshold=st.floats(5.0, 150.0),
    spread=st.floats(0.01, 0.3),
    start=st.floats(1.0, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_estimate_always_within_stimulator_range(
    method: ThresholdMethod, threshold: float, spread: float, start: float, seed: int
) -> None:
    p = SubjectParameters(threshold_pct_mso=threshold, relative_spread=spread)
    r = hunt_threshold(
        SimulatedSubject(p, seed=seed), method, start_intensity_pct_mso=start
    )
    if r.estimate_pct_mso is not None:
        assert 0.0 <= r.estimate_pct_mso <= C.MAX_PCT_MSO
    if r.converged:
        assert r.estimate_pct_mso is not None
    assert all(0.0 <= t.intensity_pct_mso <= C.MAX_PCT_MSO for t in r.trace)


@settings(max_examples=80, deadline=None)
@given(
    threshold=st.floats(5.0, 90.0),
    step=st.sampled_from([0.5, 1.0, 2.0, 5.0]),
    above=st.floats(0.0, 10.0),
)
def test_relative_frequency_on_step_responder_within_one_step(
    threshold: float, step: float, above: float
) -> None:
    # a block one step below must exist: the hunt rounds intensities to 1e-6 % MSO
    # and stops at 0, so one step below must lie clearly above 0 % MSO
    assume(threshold - step >= 0.01)
    start = min(100.0, threshold + above)
    r = hunt_relative_frequency(
        StepResponder(threshold),
        start_intensity_pct_mso=start,
        step_pct_mso=step,
        max_pulses=C.MAX_PULSES_LIMIT,
    )
    est = r.rmt_or_raise()
    assert threshold <= est < threshold + step + 1e-9


@settings(max_examples=30, deadline=None)
@given(threshold=st.floats(5.0, 95.0), below=st.floats(0.5, 20.0))
def test_relative_frequency_ascending_on_step_responder(
    threshold: float, below: float
) -> None:
    start = max(1.0, threshold - below)
    r = hunt_relative_frequency(
        StepResponder(threshold),
        start_intensity_pct_mso=start,
        max_pulses=C.MAX_PULSES_LIMIT,
    )
    assert threshold <= r.rmt_or_raise() < threshold + C.RF_STEP_PCT_MSO + 1e-9


@settings(max_examples=15, deadline=None)
@given(method=st.sampled_from(list(ThresholdMethod)), seed=st.integers(0, 10_000))
def test_same_seed_same_result(method: ThresholdMethod, seed: int) -> None:
    p = sample_subject_parameters(seed)
    a = hunt_threshold(
        SimulatedSubject(p, seed=seed), method, start_intensity_pct_mso=70
    )
    b = hunt_threshold(
        SimulatedSubject(p, seed=seed), method, start_intensity_pct_mso=70
    )
    assert a == b


@pytest.mark.parametrize("method", list(ThresholdMethod))
def test_lockstep_population_matches_single_hunts(method: ThresholdMethod) -> None:
    rng = np.random.default_rng(9)
    thresholds = rng.uniform(30.0, 80.0, 40)
    starts = np.minimum(100.0, np.round(thresholds * 1.2))
    pop = hunt_population(
        StepPopulation(thresholds), method, start_intensity_pct_mso=starts, chunk_size=7
    )
    for i in range(thresholds.size):
        r = hunt_threshold(
            StepResponder(float(thresholds[i])),
            method,
            start_intensity_pct_mso=float(starts[i]),
        )
        assert pop.pulses_used[i] == r.pulses_used
        assert pop.converged[i] == r.converged
        assert pop.stop_reasons[i] is r.stop_reason
        assert pop.estimate_pct_mso[i] == pytest.approx(r.estimate_pct_mso)


def test_population_hunt_on_simulated_population() -> None:
    pop = sample_population(300, seed=5)
    t = pop.thresholds_pct_mso
    res = hunt_population(
        pop, "ml_pest", start_intensity_pct_mso=np.minimum(100, np.round(t * 1.2))
    )
    assert res.converged.all()
    assert (res.pulses_used == C.MLPEST_PULSES).all()
    err = res.estimate_pct_mso - t
    assert np.abs(err).mean() <= MAE_BOUND_PCT_MSO[ThresholdMethod.ML_PEST]
    with pytest.raises(ValueError, match="start_intensity_pct_mso"):
        hunt_population(pop, "psi", start_intensity_pct_mso=np.full(300, 120.0))
    with pytest.raises(ValueError, match="method"):
        hunt_population(pop, "bayes", start_intensity_pct_mso=60.0)
