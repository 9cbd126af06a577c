"""Group-sequential boundaries against published values, analytic results and
Monte Carlo (plptms.trial._sequential)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats  # type: ignore[import-untyped]

from plptms.trial._sequential import (
    GroupSequentialBoundaries,
    crossing_probabilities,
    evaluate_interim,
    lan_demets_boundaries,
    obrien_fleming_boundaries,
    pocock_boundaries,
    spending_function,
)

REF = json.loads(
    (
        Path(__file__).parents[1] / "data" / "trial_group_sequential_reference.json"
    ).read_text(encoding="utf-8")
)
#: Tolerance on a boundary z value (published values carry 3-4 decimals).
ATOL_Z = 1e-3
#: Tolerance on an exit probability printed by ld98/ldbounds.
ATOL_P = 1e-4
#: Tolerance of the numerical integration against an exact target.
ATOL_INT = 1e-7


# --------------------------------------------------------------------------
# published boundary values


def test_lan_demets_obf_matches_reboussin_example() -> None:
    """Lan-DeMets O'Brien-Fleming type, 5 equal looks, two-sided 0.05.

    Reboussin et al. (2000) example as printed by the ldbounds vignette:
    4.8769, 3.3569, 2.6803, 2.2898, 2.0310 and the cumulative exit
    probabilities.
    """
    case = REF["ldbounds_obf_k5"]
    b = lan_demets_boundaries(case["information_fractions"], case["alpha"])
    np.testing.assert_allclose(b.upper, case["upper"], atol=ATOL_Z)
    np.testing.assert_allclose(b.lower, -np.asarray(case["upper"]), atol=ATOL_Z)
    np.testing.assert_allclose(b.cumulative_alpha, case["cumulative_exit"], rtol=1e-3)


def test_lan_demets_power_family_matches_ldbounds() -> None:
    """Power-family spending alpha * t (Kim & DeMets 1987), ldbounds iuse = 3."""
    case = REF["ldbounds_power_k5"]
    b = lan_demets_boundaries(
        case["information_fractions"], case["alpha"], spending="power", rho=1.0
    )
    np.testing.assert_allclose(b.upper, case["upper"], atol=ATOL_Z)


@pytest.mark.parametrize("name", ["ldbounds_power_k5", "ldbounds_power_unequal"])
def test_exit_probabilities_under_drift_match_ld98(name: str) -> None:
    """Upper exit probabilities and power under a drift (ldbounds' ldPower).

    The second case has unequally spaced looks (0.13, 0.4, 0.69, 0.9, 0.98, 1).
    """
    case = REF[name]
    up, low = crossing_probabilities(
        case["upper"],
        case["information_fractions"],
        lower=[-u for u in case["upper"]],
        drift=case["drift"],
    )
    np.testing.assert_allclose(up, case["upper_exit"], atol=ATOL_P)
    assert up.sum() + low.sum() == pytest.approx(case["power"], abs=ATOL_P)


def test_repeated_nominal_testing_inflates_type_one_error() -> None:
    """Testing at |Z| >= 1.96 at every look (Armitage, McPherson & Rowe 1969).

    Expectations of gsDesign's test.Deming.gsProb (upper side, 3 decimals).
    """
    case = REF["gsdesign_repeated_196"]
    z = float(stats.norm.ppf(0.975))
    for k, expected in zip(case["n_looks"], case["upper_total"], strict=True):
        t = (np.arange(1, k + 1) / k).tolist()
        up, _ = crossing_probabilities([z] * k, t, lower=[-z] * k)
        assert up.sum() == pytest.approx(expected, abs=5e-4)


@pytest.mark.parametrize("alpha", ["0.01", "0.05", "0.1"])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 10])
def test_pocock_constants(k: int, alpha: str) -> None:
    """Pocock (1977) C_P(K, alpha), Jennison & Turnbull (2000) Table 2.1.

    As transcribed in public code (book not read: not verified).
    """
    expected = REF["jennison_turnbull_constants"]["pocock"][alpha][k - 1]
    b = pocock_boundaries(k, float(alpha))
    np.testing.assert_allclose(b.upper, [expected] * k, atol=ATOL_Z)
    assert b.cumulative_alpha[-1] == pytest.approx(float(alpha), abs=ATOL_INT)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
def test_obrien_fleming_constants(k: int) -> None:
    """O'Brien & Fleming (1979) C_B(K, 0.05), Jennison & Turnbull (2000) Table 2.3.

    As transcribed in public code (book not read: not verified).
    """
    expected = REF["jennison_turnbull_constants"]["obrien_fleming"]["0.05"][k - 1]
    b = obrien_fleming_boundaries(k, 0.05)
    assert b.upper[-1] == pytest.approx(expected, abs=ATOL_Z)
    shape = np.sqrt(k / np.arange(1, k + 1))
    np.testing.assert_allclose(b.upper, expected * shape, atol=ATOL_Z * math.sqrt(k))


def test_obrien_fleming_matches_gsdesign() -> None:
    """gsDesign test.Deming.OFbound, K = 4 (O'Brien & Fleming 1979)."""
    b = obrien_fleming_boundaries(4, 0.05)
    np.testing.assert_allclose(b.upper, REF["gsdesign_obf_k4"]["upper"], atol=5e-3)


def test_single_look_is_the_fixed_sample_test() -> None:
    """One look at t = 1 spends all alpha: the boundary is z_{1 - alpha/sides}."""
    for sides in (1, 2):
        for spending in ("obrien_fleming", "pocock", "power"):
            b = lan_demets_boundaries([1.0], 0.05, spending=spending, sides=sides)
            z = float(stats.norm.ppf(1 - 0.05 / sides))
            assert b.upper[0] == pytest.approx(z, abs=1e-8)


# --------------------------------------------------------------------------
# spending functions and exactness of the integration


def test_spending_functions_closed_form() -> None:
    """Lan & DeMets (1983): O'Brien-Fleming and Pocock types at t = 0, 0.5, 1.

    2 - 2 Phi(z_{1-a/2} / sqrt(0.5)) and a ln(1 + (e - 1) / 2), by hand.
    """
    a = 0.025
    zq = stats.norm.ppf(1 - a / 2)
    of = spending_function([0.0, 0.5, 1.0, 1.5], a, kind="obrien_fleming")
    np.testing.assert_allclose(
        of, [0.0, 2 - 2 * stats.norm.cdf(zq / math.sqrt(0.5)), a, a], atol=1e-15
    )
    pk = spending_function([0.0, 0.5, 1.0], a, kind="pocock")
    np.testing.assert_allclose(pk, [0.0, a * math.log(1 + (math.e - 1) / 2), a])
    pw = spending_function([0.25, 1.0], a, kind="power", rho=2.0)
    np.testing.assert_allclose(pw, [a / 16, a])


@pytest.mark.parametrize("spending", ["obrien_fleming", "pocock", "power"])
@pytest.mark.parametrize("sides", [1, 2])
def test_cumulative_alpha_equals_spending_function(spending: str, sides: int) -> None:
    """The alpha spent by look k is alpha(t_k) (Lan & DeMets 1983), unequal looks."""
    t = [0.13, 0.4, 0.69, 0.9, 1.0]
    b = lan_demets_boundaries(t, 0.05, spending=spending, sides=sides, rho=1.5)  # type: ignore[arg-type]
    target = sides * spending_function(t, 0.05 / sides, kind=spending, rho=1.5)  # type: ignore[arg-type]
    np.testing.assert_allclose(b.cumulative_alpha, target, atol=ATOL_INT)


def test_two_looks_against_bivariate_normal() -> None:
    """Two-look crossing probability against scipy's bivariate normal CDF.

    The canonical joint distribution (Jennison & Turnbull 2000) has
    corr(Z_1, Z_2) = sqrt(t_1 / t_2); P(no crossing) is a rectangle probability
    computed by an independent method (Genz).
    """
    t = [0.35, 0.8]
    b = lan_demets_boundaries(t, 0.05)
    rho = math.sqrt(t[0] / t[1])
    mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
    b1, b2 = b.upper
    inside = (
        mvn.cdf([b1, b2])
        - mvn.cdf([-b1, b2])
        - mvn.cdf([b1, -b2])
        + mvn.cdf([-b1, -b2])
    )
    assert 1 - inside == pytest.approx(b.cumulative_alpha[-1], abs=2e-5)
    assert b.cumulative_alpha[-1] == pytest.approx(
        2 * spending_function(0.8, 0.025)[0], abs=ATOL_INT
    )


@pytest.mark.parametrize(
    ("spending", "sides"),
    [("obrien_fleming", 2), ("pocock", 2), ("obrien_fleming", 1), ("pocock", 1)],
)
def test_monte_carlo_type_one_error(spending: str, sides: int) -> None:
    """Simulated trials under H0 reject at rate alpha (Lan & DeMets 1983).

    Brownian motion at unequally spaced looks; 200,000 trials, tolerance 4
    binomial standard errors.
    """
    t = np.array([0.25, 0.45, 0.7, 1.0])
    alpha = 0.05
    b = lan_demets_boundaries(t.tolist(), alpha, spending=spending, sides=sides)  # type: ignore[arg-type]
    rng = np.random.default_rng(20260416)
    n = 200_000
    incr = rng.standard_normal((n, t.size)) * np.sqrt(np.diff(np.r_[0.0, t]))
    z = np.cumsum(incr, axis=1) / np.sqrt(t)
    reject = np.any((z >= np.asarray(b.upper)) | (z <= np.asarray(b.lower)), axis=1)
    se = math.sqrt(alpha * (1 - alpha) / n)
    assert abs(reject.mean() - alpha) < 4 * se


@pytest.mark.parametrize("design", [pocock_boundaries, obrien_fleming_boundaries])
@pytest.mark.parametrize("sides", [1, 2])
def test_monte_carlo_classical_boundaries(design: object, sides: int) -> None:
    """Pocock (1977) and O'Brien & Fleming (1979) tests keep their level.

    Four equally spaced looks, alpha 0.025 one-sided or 0.05 two-sided;
    200,000 simulated trials under H0, tolerance 4 binomial standard errors.
    """
    alpha = 0.025 * sides
    b = design(4, alpha, sides=sides)  # type: ignore[operator]
    t = np.asarray(b.information_fractions)
    rng = np.random.default_rng(1977 + sides)
    n = 200_000
    incr = rng.standard_normal((n, t.size)) * np.sqrt(np.diff(np.r_[0.0, t]))
    z = np.cumsum(incr, axis=1) / np.sqrt(t)
    reject = np.any((z >= np.asarray(b.upper)) | (z <= np.asarray(b.lower)), axis=1)
    assert abs(reject.mean() - alpha) < 4 * math.sqrt(alpha * (1 - alpha) / n)


# --------------------------------------------------------------------------
# interim evaluation


def test_interim_first_look_boundary_is_analytic() -> None:
    """At the first look, b_1 = Phi^-1(1 - alpha_s(t_1)) (Lan & DeMets 1983).

    Information 30 of a planned 100: t = 0.3, O'Brien-Fleming type, 0.025/side.
    """
    d = evaluate_interim([2.5], [30.0], 100.0, alpha=0.05)
    spent = 2 * stats.norm.sf(stats.norm.ppf(1 - 0.0125) / math.sqrt(0.3))
    assert d.boundaries.upper[0] == pytest.approx(stats.norm.isf(spent), abs=1e-8)
    assert not d.crossed
    assert not d.stop_for_efficacy
    assert d.first_crossing is None


def test_interim_boundaries_follow_actual_information() -> None:
    """Boundaries are recomputed at the information reached, not the plan.

    Planned looks at t = 0.2, 0.4 (ldbounds example: 4.8769, 3.3569); the
    second look actually came at t = 0.55, where less is needed to stop, so
    z = 3.2 stops the trial although it is below the planned 3.3569.
    """
    d = evaluate_interim([1.1, 3.2], [20.0, 55.0], 100.0, alpha=0.05)
    assert d.boundaries.upper[0] == pytest.approx(4.8769, abs=ATOL_Z)
    assert d.boundaries.upper[1] < 3.2 < 3.3569
    assert d.crossed
    assert d.stop_for_efficacy
    assert d.first_crossing == 2
    assert d.direction == "upper"
    assert d.alpha_spent == pytest.approx(
        2 * spending_function(0.55, 0.025)[0], abs=ATOL_INT
    )


def test_interim_lower_crossing_two_sided() -> None:
    """A two-sided test also rejects for Z <= -b_k."""
    d = evaluate_interim([-5.0], [20.0], 100.0, alpha=0.05, sides=2)
    assert d.crossed
    assert d.direction == "lower"
    one = evaluate_interim([-5.0], [20.0], 100.0, alpha=0.025, sides=1)
    assert not one.crossed
    assert one.boundaries.lower[0] == -math.inf


def test_interim_earlier_crossing_is_reported() -> None:
    """A crossing at an earlier look is reported even if the latest look is below."""
    d = evaluate_interim([5.0, 1.0], [20.0, 50.0], 100.0)
    assert not d.crossed
    assert d.first_crossing == 1
    assert d.stop_for_efficacy


@pytest.mark.parametrize("last", [80.0, 100.0, 130.0])
def test_final_analysis_spends_all_alpha(last: float) -> None:
    """At the final analysis the rest of alpha is spent, over- or under-running."""
    d = evaluate_interim([1.0, 1.5, 2.0], [30.0, 60.0, last], 100.0, final=True)
    assert d.alpha_spent == pytest.approx(0.05, abs=ATOL_INT)
    assert d.final


def test_final_single_look_is_fixed_sample() -> None:
    """A trial with no interim look tests at z_{0.975} = 1.959964."""
    d = evaluate_interim([1.97], [100.0], 100.0, final=True)
    assert d.boundaries.upper[0] == pytest.approx(1.959964, abs=1e-6)
    assert d.crossed


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"information_fractions": [0.5, 0.4]}, "information_fractions"),
        ({"information_fractions": [0.5, 1.2]}, "information_fractions"),
        ({"information_fractions": []}, "information_fractions"),
        ({"information_fractions": [0.0, 1.0]}, "information_fractions"),
        ({"information_fractions": [0.5, 1.0], "alpha": 0.7}, "alpha"),
        ({"information_fractions": [0.5, 1.0], "sides": 3}, "sides"),
        ({"information_fractions": [0.5, 1.0], "spending": "obf"}, "spending"),
        ({"information_fractions": [0.5, 1.0], "spending": "power", "rho": 0}, "rho"),
    ],
)
def test_bad_design_input_names_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        lan_demets_boundaries(**kwargs)  # type: ignore[arg-type]


def test_bad_types() -> None:
    with pytest.raises(TypeError, match="sides"):
        lan_demets_boundaries([1.0], sides=True)
    with pytest.raises(TypeError, match="alpha"):
        lan_demets_boundaries([1.0], alpha="0.05")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="n_looks"):
        pocock_boundaries(2.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="information_fractions"):
        lan_demets_boundaries("0.5")  # type: ignore[arg-type]


def test_bad_interim_input() -> None:
    with pytest.raises(ValueError, match="'z'"):
        evaluate_interim([1.0], [10.0, 20.0], 100.0)
    with pytest.raises(ValueError, match="information"):
        evaluate_interim([1.0, 2.0], [50.0, 120.0], 100.0)
    with pytest.raises(ValueError, match="max_information"):
        evaluate_interim([1.0], [10.0], 0.0)
    with pytest.raises(ValueError, match=r"z\[0\]"):
        evaluate_interim([math.nan], [10.0], 100.0)
    with pytest.raises(ValueError, match="lower"):
        crossing_probabilities([1.0], [1.0], lower=[2.0])


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=1e-4, max_value=0.5))
def test_alpha_in_range_passes(alpha: float) -> None:
    b = lan_demets_boundaries([1.0], alpha, sides=1)
    assert isinstance(b, GroupSequentialBoundaries)
    assert b.upper[0] == pytest.approx(stats.norm.isf(alpha), abs=1e-7)


@settings(max_examples=25, deadline=None)
@given(
    st.one_of(
        st.floats(max_value=0.0),
        st.floats(min_value=0.5, exclude_min=True, allow_infinity=True),
    )
)
def test_alpha_out_of_range_raises(alpha: float) -> None:
    with pytest.raises(ValueError, match="alpha"):
        lan_demets_boundaries([1.0], alpha)
