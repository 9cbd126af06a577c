"""Effect sizes against metafor's escalc() and published worked examples."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.meta import (
    EffectMeasure,
    EffectSize,
    ReportedTest,
    hedges_correction,
    hedges_g,
    log_ratio_of_means,
    mean_difference,
    mean_difference_from_test,
    percent_change_difference,
    smd_from_test,
    t_from_p,
)

from .conftest import ATOL_4DP, RTOL, assert_close

#: Worked example of Borenstein et al. (2009), chapter 4: X1 = 103, X2 = 100,
#: S1 = 5.5, S2 = 4.5, n1 = n2 = 50 gives d = 0.5970, V_d = 0.0418, J = 0.9923,
#: g = 0.5924, V_g = 0.0411 (printed to 4 decimals; J there is the approximation).
BORENSTEIN_2009 = {"d": 0.5970, "J": 0.9923, "g": 0.5924, "Vg": 0.0411}


def _arms(ref: dict[str, Any], i: int) -> tuple[float, float, int, float, float, int]:
    e = ref["escalc_normand1999"]
    return (
        e["m1i"][i],
        e["sd1i"][i],
        e["n1i"][i],
        e["m2i"][i],
        e["sd2i"][i],
        e["n2i"][i],
    )


@pytest.mark.parametrize("i", range(9))
def test_effects_match_metafor_escalc(i: int, bcg_ref: dict[str, Any]) -> None:
    e = bcg_ref["escalc_normand1999"]
    g = hedges_g(*_arms(bcg_ref, i))
    # vtype="LS2" is the variance of Borenstein et al. (2009).
    assert_close([g.estimate, g.variance], [e["smd_yi"][i], e["smd_vi_LS2"][i]])
    md = mean_difference(*_arms(bcg_ref, i))
    assert_close([md.estimate, md.variance], [e["md_yi"][i], e["md_vi"][i]])
    rom = log_ratio_of_means(*_arms(bcg_ref, i))
    assert_close([rom.estimate, rom.variance], [e["rom_yi"][i], e["rom_vi"][i]])


def test_hedges_g_borenstein_worked_example() -> None:
    g = hedges_g(103.0, 5.5, 50, 100.0, 4.5, 50, exact=False)
    assert_close(
        hedges_correction(98, exact=False), BORENSTEIN_2009["J"], rtol=0, atol=ATOL_4DP
    )
    assert_close(
        g.estimate / hedges_correction(98, exact=False),
        BORENSTEIN_2009["d"],
        rtol=0,
        atol=ATOL_4DP,
    )
    assert_close(
        [g.estimate, g.variance],
        [BORENSTEIN_2009["g"], BORENSTEIN_2009["Vg"]],
        rtol=0,
        atol=ATOL_4DP,
    )
    # The exact correction differs from the approximation by < 1e-5 at 98 df.
    assert abs(hedges_correction(98) - hedges_correction(98, exact=False)) < 1e-5


@pytest.mark.parametrize("i", range(3))
def test_smd_from_t_matches_metafor(i: int, bcg_ref: dict[str, Any]) -> None:
    e = bcg_ref["escalc_smd_from_t"]
    t = e["ti"][i]
    test = ReportedTest(
        statistic="t",
        value=abs(t),
        direction="treatment_lower" if t < 0 else "treatment_higher",
        quantity="outcome",
    )
    g = smd_from_test(test, e["n1i"][i], e["n2i"][i])
    assert_close([g.estimate, g.variance], [e["yi"][i], e["vi"][i]], rtol=RTOL)


def test_smd_from_p_and_f_agree_with_t(bcg_ref: dict[str, Any]) -> None:
    """p = 0.03 with 27 + 27 participants: metafor's escalc on the implied t."""
    e = bcg_ref["escalc_smd_from_t"]
    by_p = smd_from_test(
        ReportedTest(
            statistic="p",
            value=0.03,
            direction="treatment_lower",
            quantity="percent change",
        ),
        27,
        27,
    )
    assert_close([by_p.estimate, by_p.variance], [e["yi"][2], e["vi"][2]], rtol=RTOL)
    t = abs(e["ti"][2])
    by_f = smd_from_test(
        ReportedTest(
            statistic="f",
            value=t * t,
            direction="treatment_lower",
            quantity="percent change",
        ),
        27,
        27,
    )
    assert_close(by_f.estimate, by_p.estimate, rtol=1e-12)
    assert by_p.assumptions
    assert "rounded" in by_p.assumptions[-1]


def test_t_from_p() -> None:
    assert_close(t_from_p(0.05, 1e9), 1.959963984540054, rtol=1e-8)
    assert_close(t_from_p(0.05, 10, sided=1), t_from_p(0.10, 10), rtol=1e-12)
    with pytest.raises(ValueError, match="'p'"):
        t_from_p(0.0, 10)
    with pytest.raises(ValueError, match="'sided'"):
        t_from_p(0.1, 10, sided=3)  # type: ignore[arg-type]


def test_percent_change_and_md_from_test() -> None:
    test = ReportedTest(
        statistic="p",
        value=0.03,
        direction="treatment_lower",
        quantity="percent change in VAS",
    )
    pc = percent_change_difference(-53.4, -22.9, 27, 27, test=test)
    assert pc.measure == EffectMeasure.PCT_CHANGE
    assert_close(pc.estimate, -30.5)
    assert_close(pc.se, 30.5 / t_from_p(0.03, 52))
    pc_sd = percent_change_difference(-50.0, -20.0, 10, 12, sd1=20.0, sd2=25.0)
    assert_close(pc_sd.variance, 400 / 10 + 625 / 12)
    md = mean_difference_from_test(3.0, 5.0, test, 27, 27)
    assert_close(md.se, 2.0 / t_from_p(0.03, 52))
    with pytest.raises(ValueError, match=r"'test\.direction'"):
        mean_difference_from_test(5.0, 3.0, test, 27, 27)
    with pytest.raises(ValueError, match="'sd1, sd2, test'"):
        percent_change_difference(-50.0, -20.0, 10, 12)


@pytest.mark.parametrize(
    ("args", "field", "exc"),
    [
        ((1.0, 0.0, 10, 0.5, 1.0, 10), "sd1", ValueError),
        ((1.0, 1.0, 1, 0.5, 1.0, 10), "n1", ValueError),
        ((1.0, 1.0, 10.5, 0.5, 1.0, 10), "n1", TypeError),
        ((float("nan"), 1.0, 10, 0.5, 1.0, 10), "mean1", ValueError),
        (("1", 1.0, 10, 0.5, 1.0, 10), "mean1", TypeError),
    ],
)
def test_effects_reject_bad_input(
    args: tuple[Any, ...], field: str, exc: type[Exception]
) -> None:
    with pytest.raises(exc, match=f"'{field}'"):
        hedges_g(*args)


def test_rom_needs_positive_means() -> None:
    with pytest.raises(ValueError, match="'mean2'"):
        log_ratio_of_means(1.0, 1.0, 10, -1.0, 1.0, 10)


def test_effect_size_ci() -> None:
    e = EffectSize(measure="md", estimate=1.0, variance=0.25, method="x")
    lo, hi = e.ci()
    assert_close([lo, hi], [1 - 1.959963984540054 * 0.5, 1 + 1.959963984540054 * 0.5])
    with pytest.raises(ValueError, match="'level_pct'"):
        e.ci(100)
    with pytest.raises(ValueError, match="variance"):
        EffectSize(measure="md", estimate=1.0, variance=0.0, method="x")


# --------------------------------------------------------------------------------------
# Properties

_pos = st.floats(0.1, 100.0)
_n = st.integers(2, 500)


@settings(max_examples=80)
@given(m1=st.floats(-100, 100), m2=st.floats(-100, 100), s1=_pos, s2=_pos, n1=_n, n2=_n)
def test_hedges_g_properties(
    m1: float, m2: float, s1: float, s2: float, n1: int, n2: int
) -> None:
    g = hedges_g(m1, s1, n1, m2, s2, n2)
    h = hedges_g(m2, s2, n2, m1, s1, n1)
    # Antisymmetric, shrunk towards 0 by J < 1, positive variance.
    assert_close(g.estimate, -h.estimate, rtol=1e-12, atol=1e-12)
    assert g.variance > 0
    sp = math.sqrt(((n1 - 1) * s1 * s1 + (n2 - 1) * s2 * s2) / (n1 + n2 - 2))
    assert abs(g.estimate) <= abs((m1 - m2) / sp) + 1e-12


@settings(max_examples=80)
@given(t=st.floats(0.01, 20.0), n1=_n, n2=_n)
def test_smd_from_t_round_trip(t: float, n1: int, n2: int) -> None:
    """g from t and g from the two-sided p of that t agree (the p route inverts)."""
    from scipy import stats

    p = float(2 * stats.t.sf(t, n1 + n2 - 2))
    if not 1e-12 < p < 1.0:
        return
    a = smd_from_test(
        ReportedTest(
            statistic="t", value=t, direction="treatment_higher", quantity="x"
        ),
        n1,
        n2,
    )
    b = smd_from_test(
        ReportedTest(
            statistic="p", value=p, direction="treatment_higher", quantity="x"
        ),
        n1,
        n2,
    )
    assert_close(b.estimate, a.estimate, rtol=1e-6)


@settings(max_examples=60)
@given(df=st.floats(1.0001, 1e4))
def test_hedges_correction_in_unit_interval(df: float) -> None:
    assert 0.0 < hedges_correction(df) < 1.0
    assert abs(hedges_correction(df) - hedges_correction(df, exact=False)) < 0.02
