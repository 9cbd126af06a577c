"""The simulated subject: MEP probability, amplitudes, spatial model, population."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.motor import _constants as C
from plptms.motor._responder import (
    CoilPosition,
    PopulationResponder,
    PositionResponder,
    Responder,
)
from plptms.motor._subject import (
    SimulatedPopulation,
    SimulatedSubject,
    SubjectParameters,
    sample_population,
    sample_subject_parameters,
)

#: Binomial tolerance: 4 standard errors of a proportion.
N_SIGMA = 4.0
#: Absolute tolerance on analytic noise-free amplitudes, uV.
ATOL_UV = 1e-6


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def test_implements_protocols() -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=50.0), seed=0)
    assert isinstance(s, Responder)
    assert isinstance(s, PositionResponder)
    pop = sample_population(3, seed=0)
    assert isinstance(pop, PopulationResponder)


@pytest.mark.parametrize("rel", [-1.5, -0.5, 0.0, 0.5, 1.0, 2.0])
def test_mep_frequency_is_cumulative_gaussian(rel: float) -> None:
    t, r = 50.0, 0.07
    s = SimulatedSubject(
        SubjectParameters(threshold_pct_mso=t, relative_spread=r), seed=11
    )
    x = t + rel * r * t
    n = 4000
    hits = sum(s.stimulate(x) >= C.MEP_PRESENT_UV for _ in range(n))
    p = _phi(rel)
    assert s.mep_probability(x) == pytest.approx(p, abs=1e-12)
    se = math.sqrt(p * (1 - p) / n) + 1e-9
    assert abs(hits / n - p) <= N_SIGMA * se + 1.0 / n


def test_absent_meps_are_noise_below_criterion() -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=60.0), seed=2)
    amps = np.array([s.stimulate(20.0) for _ in range(2000)])
    assert (amps < C.MEP_PRESENT_UV).all()
    assert np.median(amps) == pytest.approx(C.SIM_NOISE_MEDIAN_UV, rel=0.1)


def test_amplitudes_grow_along_the_recruitment_curve() -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=50.0), seed=3)
    medians = [
        np.median([s.stimulate(50.0 * f) for _ in range(400)])
        for f in (1.1, 1.2, 1.3, 1.5)
    ]
    assert all(b > a for a, b in itertools.pairwise(medians))


def test_noise_free_curve_is_analytic() -> None:
    p = SubjectParameters(threshold_pct_mso=40.0)
    s = SimulatedSubject(p, noise_free=True)
    # Criterion exactly at threshold, half the plateau at SI50 (Pitcher et al.).
    assert s.stimulate(40.0) == pytest.approx(C.MEP_PRESENT_UV, abs=ATOL_UV)
    si50 = 40.0 * C.SIM_SI50_PCT_RMT / 100.0
    assert s.stimulate(si50) == pytest.approx(C.SIM_MEP_MAX_UV / 2, abs=ATOL_UV)
    assert s.stimulate(39.99) < C.MEP_PRESENT_UV <= s.stimulate(40.0)
    assert s.mep_probability(39.99) == 0.0
    assert s.mep_probability(40.0) == 1.0


def test_spatial_threshold_rises_with_distance() -> None:
    p = SubjectParameters(threshold_pct_mso=50.0, hotspot_x_cm=1.0, hotspot_y_cm=-1.0)
    s = SimulatedSubject(p, noise_free=True)
    assert s.threshold_at(p.hotspot) == pytest.approx(50.0)
    one_cm = CoilPosition(2.0, -1.0)
    w = C.SIM_SPATIAL_WIDTH_CM
    assert s.threshold_at(one_cm) == pytest.approx(50.0 * math.exp(1 / (2 * w**2)))
    t1 = s.threshold_at(one_cm)
    assert s.stimulate_at(one_cm, t1) == pytest.approx(C.MEP_PRESENT_UV, abs=1e-6)
    assert s.stimulate_at(p.hotspot, 60.0) > s.stimulate_at(one_cm, 60.0)


def test_seeded_runs_are_reproducible() -> None:
    p = SubjectParameters(threshold_pct_mso=45.0)
    a = [SimulatedSubject(p, seed=5).stimulate(47.0) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    s1, s2 = SimulatedSubject(p, seed=5), SimulatedSubject(p, seed=5)
    assert [s1.stimulate(47.0) for _ in range(20)] == [
        s2.stimulate(47.0) for _ in range(20)
    ]
    s3 = SimulatedSubject(p, seed=6)
    assert [s3.stimulate(47.0) for _ in range(20)] != [
        SimulatedSubject(p, seed=5).stimulate(47.0) for _ in range(20)
    ]


@pytest.mark.parametrize("x", [-0.1, 100.5, float("nan"), float("inf")])
def test_stimulate_refuses_out_of_range_intensity(x: float) -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=45.0), seed=0)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        s.stimulate(x)


def test_stimulate_refuses_wrong_type() -> None:
    s = SimulatedSubject(SubjectParameters(threshold_pct_mso=45.0), seed=0)
    with pytest.raises(TypeError, match="intensity_pct_mso"):
        s.stimulate("50")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("threshold_pct_mso", 0.0),
        ("threshold_pct_mso", 250.0),
        ("relative_spread", 0.0),
        ("relative_spread", 1.5),
        ("mep_max_uv", 90.0),
        ("si50_pct_rmt", 100.0),
        ("amplitude_log_sd", -0.1),
        ("noise_median_uv", -1.0),
        ("noise_log_sd", 5.0),
        ("hotspot_x_cm", 30.0),
        ("spatial_width_cm", 0.0),
        ("mep_present_uv", 0.0),
    ],
)
def test_parameters_validation_names_field(field: str, value: float) -> None:
    kwargs: dict[str, float] = {"threshold_pct_mso": 50.0, field: value}
    with pytest.raises(ValueError, match=field):
        SubjectParameters(**kwargs)


@settings(max_examples=60)
@given(
    t=st.floats(0.0, 300.0, allow_nan=False),
    r=st.floats(0.0, 2.0, allow_nan=False),
)
def test_parameters_validation_property(t: float, r: float) -> None:
    ok_t = 0.0 < t <= 200.0
    ok_r = 0.0 < r <= 1.0
    if ok_t and ok_r:
        p = SubjectParameters(threshold_pct_mso=t, relative_spread=r)
        # Idempotent: re-validating the dump gives the same model.
        assert SubjectParameters.model_validate(p.model_dump()) == p
    else:
        with pytest.raises(ValueError, match=r"threshold_pct_mso|relative_spread"):
            SubjectParameters(threshold_pct_mso=t, relative_spread=r)


def test_population_distribution() -> None:
    pop = sample_population(5000, seed=1)
    t = pop.thresholds_pct_mso
    lo, hi = C.SIM_RMT_RANGE_PCT_MSO
    assert (t >= lo).all()
    assert (t <= hi).all()
    # Truncation at [30, 90] around 52.6 +/- 8 shifts the mean by < 0.1 % MSO.
    se = C.SIM_RMT_SD_PCT_MSO / math.sqrt(t.size)
    assert abs(t.mean() - C.SIM_RMT_MEAN_PCT_MSO) <= N_SIGMA * se + 0.1
    spreads = np.array([pop.subject_parameters(i).relative_spread for i in range(500)])
    assert np.median(spreads) == pytest.approx(C.SIM_RELATIVE_SPREAD_MEDIAN, rel=0.05)


def test_population_lockstep_probability_at_threshold() -> None:
    pop = sample_population(4000, seed=4)
    idx = np.arange(pop.n_subjects, dtype=np.intp)
    amps = pop.stimulate_subjects(idx, pop.thresholds_pct_mso)
    frac = float((amps >= C.MEP_PRESENT_UV).mean())
    assert abs(frac - 0.5) <= N_SIGMA * math.sqrt(0.25 / idx.size)


def test_population_refuses_bad_input() -> None:
    pop = sample_population(3, seed=0)
    idx = np.arange(3, dtype=np.intp)
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        pop.stimulate_subjects(idx, np.array([50.0, 101.0, 50.0]))
    with pytest.raises(ValueError, match="intensity_pct_mso"):
        pop.stimulate_subjects(idx, np.array([50.0, 50.0]))
    with pytest.raises(TypeError, match="n_subjects"):
        sample_population(2.5, seed=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_subjects"):
        sample_population(0, seed=0)
    with pytest.raises(ValueError, match="parameters"):
        SimulatedPopulation([], seed=0)
    with pytest.raises(ValueError, match="rmt_mean_pct_mso"):
        sample_subject_parameters(0, rmt_mean_pct_mso=10.0)


def test_sample_subject_is_seeded() -> None:
    assert sample_subject_parameters(7) == sample_subject_parameters(7)
    assert sample_subject_parameters(7) != sample_subject_parameters(8)
