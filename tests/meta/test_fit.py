"""Meta-analysis and meta-regression against metafor on dat.bcg, and invariants."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.meta import ConvergenceError, MetaResult, meta_analysis, meta_regression

from .conftest import ATOL_4DP, RTOL, assert_close

#: metafor's default Paule-Mandel search stops when uniroot's interval is below
#: .Machine$double.eps^0.25 (about 1.2e-4 in tau^2); its default-setting output is
#: therefore only accurate to about 1e-4 relative (1e-3 for the p-value).
RTOL_METAFOR_DEFAULT_PM = 1e-3
#: metafor's default REML stops when tau^2 changes by less than 1e-5.
RTOL_METAFOR_DEFAULT_REML = 1e-5

_FIELDS = {
    "beta": "estimate",
    "se": "se",
    "zval": "statistic",
    "pval": "pvalue",
    "ci_lb": "ci_lower",
    "ci_ub": "ci_upper",
    "tau2": "tau2",
    "QE": "q",
    "QEp": "q_pvalue",
    "I2": "i2_pct",
    "H2": "h2",
    "pi_lb": "pi_lower",
    "pi_ub": "pi_upper",
}

RMA_CASES = ["FE_z", "DL_z", "DL_knha", "REML_z", "REML_knha", "PM_z", "PM_knha"]


@pytest.mark.parametrize("case", RMA_CASES)
def test_rma_matches_metafor(
    case: str, bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    method, test = case.split("_")
    res = meta_analysis(*bcg, method=method, test=test)  # type: ignore[arg-type]
    exp = bcg_ref["rma"][case]
    for key, attr in _FIELDS.items():
        if exp[key] is None:
            assert getattr(res, attr) is None, key
            continue
        assert_close(getattr(res, attr), exp[key], rtol=RTOL, atol=1e-12)
    assert res.df == (12 if test == "knha" else None)


@pytest.mark.parametrize(
    ("case", "rtol"),
    [
        ("REML_z_default", RTOL_METAFOR_DEFAULT_REML),
        ("PM_z_default", RTOL_METAFOR_DEFAULT_PM),
    ],
)
def test_rma_matches_metafor_default_settings(
    case: str, rtol: float, bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    res = meta_analysis(*bcg, method=case.split("_")[0])  # type: ignore[arg-type]
    exp = bcg_ref["rma"][case]
    for key, attr in _FIELDS.items():
        assert_close(getattr(res, attr), exp[key], rtol=rtol)


def test_rma_matches_metafor_test_suite(
    bcg: tuple[np.ndarray, np.ndarray], suite_ref: dict[str, Any]
) -> None:
    fe = meta_analysis(*bcg, method="FE")
    e = suite_ref["rma_EE"]
    assert_close(
        [fe.estimate, fe.ci_lower, fe.ci_upper, fe.statistic, fe.q],
        [e["beta"], e["ci_lb"], e["ci_ub"], e["zval"], e["QE"]],
        rtol=0,
        atol=ATOL_4DP,
    )
    dl = meta_analysis(*bcg, method="DL")
    e = suite_ref["rma_DL"]
    assert_close(
        [dl.estimate, dl.ci_lower, dl.ci_upper, dl.statistic, dl.tau2, dl.i2_pct],
        [e["beta"], e["ci_lb"], e["ci_ub"], e["zval"], e["tau2"], e["I2"]],
        rtol=0,
        atol=ATOL_4DP,
    )
    reml = meta_analysis(*bcg, method="REML")
    e = suite_ref["rma_REML"]
    assert_close(
        [reml.tau2, reml.q], [e["tau2"], e["QE"]], rtol=RTOL_METAFOR_DEFAULT_REML
    )
    pm = meta_analysis(*bcg, method="PM")
    assert_close(pm.tau2, suite_ref["iterated_to_PM"]["tau2"], rtol=0, atol=ATOL_4DP)


@pytest.mark.parametrize(
    "case", ["FE_z", "DL_z", "DL_knha", "REML_z", "REML_knha", "PM_z", "PM_knha"]
)
def test_metaregression_matches_metafor(
    case: str, bcg_ref: dict[str, Any], bcg: tuple[np.ndarray, np.ndarray]
) -> None:
    method, test = case.split("_")
    ablat = bcg_ref["data"]["ablat"]
    res = meta_regression(*bcg, ablat, names=["ablat"], method=method, test=test)  # type: ignore[arg-type]
    exp = bcg_ref["metareg_ablat"][case]
    coefs = res.coefficients
    assert [c.name for c in coefs] == ["intercept", "ablat"]
    assert_close([c.estimate for c in coefs], exp["beta"])
    assert_close([c.se for c in coefs], exp["se"])
    assert_close([c.statistic for c in coefs], exp["zval"])
    assert_close([c.pvalue for c in coefs], exp["pval"])
    assert_close([c.ci_lower for c in coefs], exp["ci_lb"])
    assert_close([c.ci_upper for c in coefs], exp["ci_ub"])
    assert_close(res.tau2, exp["tau2"], atol=1e-12)
    assert_close([res.q_residual, res.q_residual_pvalue], [exp["QE"], exp["QEp"]])
    assert_close([res.qm, res.qm_pvalue], [exp["QM"], exp["QMp"]])
    assert_close([res.i2_pct, res.h2], [exp["I2"], exp["H2"]])
    if method == "FE":  # metafor reports a weighted-lm adjusted R^2 here; plptms none
        assert res.r2_pct is None
    else:
        assert_close(res.r2_pct, exp["R2"])


def test_metaregression_predict_matches_metafor(
    bcg_ref: dict[str, Any], bcg: tuple[np.ndarray, np.ndarray]
) -> None:
    res = meta_regression(*bcg, bcg_ref["data"]["ablat"], names=["ablat"])
    exp = bcg_ref["metareg_ablat"]["REML_z"]["predict"]
    preds = [res.predict([a]) for a in exp["ablat"]]
    for attr, key in [
        ("estimate", "pred"),
        ("se", "se"),
        ("ci_lower", "ci_lb"),
        ("ci_upper", "ci_ub"),
        ("pi_lower", "pi_lb"),
        ("pi_upper", "pi_ub"),
    ]:
        assert_close([getattr(p, attr) for p in preds], exp[key])


def test_metaregression_matches_metafor_test_suite(
    bcg_ref: dict[str, Any],
    suite_ref: dict[str, Any],
    bcg: tuple[np.ndarray, np.ndarray],
) -> None:
    d = bcg_ref["data"]
    res = meta_regression(*bcg, d["ablat"], names=["ablat"])
    e = suite_ref["metareg_ablat_REML"]
    assert_close(
        [res.q_residual, res.q_residual_pvalue], [e["QE"], e["QEp"]], rtol=0, atol=5e-6
    )
    alloc = np.array(d["alloc"])
    mods = np.column_stack([d["ablat"], alloc == "random", alloc == "systematic"])
    names = ["ablat", "random", "systematic"]
    knha = meta_regression(*bcg, mods, names=names, test="knha")
    e = suite_ref["metareg_ablat_alloc_knha"]
    f_ablat, df1, p_ablat = knha.test_coefficients(["ablat"])
    f_alloc, df2, p_alloc = knha.test_coefficients(["random", "systematic"])
    assert (df1, df2, knha.df) == (1, 2, 9)
    assert_close(
        [f_ablat, p_ablat, f_alloc, p_alloc],
        [e["F_ablat"], e["p_ablat"], e["F_alloc"], e["p_alloc"]],
        rtol=0,
        atol=ATOL_4DP,
    )
    z = meta_regression(*bcg, mods, names=names)
    qm, _, qmp = z.test_coefficients(["random", "systematic"])
    e = suite_ref["metareg_ablat_alloc_z"]
    assert_close([qm, qmp], [e["QM_alloc"], e["QMp_alloc"]], rtol=0, atol=ATOL_4DP)


@pytest.mark.parametrize("method", ["FE", "DL", "PM", "REML"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_statsmodels_and_own_paths_agree(
    method: str, test: str, bcg: tuple[np.ndarray, np.ndarray]
) -> None:
    """Pooling through statsmodels equals the intercept of the own WLS engine."""
    y, v = bcg
    pooled = meta_analysis(y, v, method=method, test=test)  # type: ignore[arg-type]
    if method != "REML":
        assert pooled.engine.startswith("statsmodels")
    # An all-zero moderator column is collinear; use a null moderator instead and
    # compare the intercept of a model without moderators via the x = 0 prediction.
    from plptms.meta._fit import _estimate_tau2, _wls

    x = np.ones((y.size, 1))
    tau2 = _estimate_tau2(y, v, x, method)
    beta, a_inv, rss, _ = _wls(y, v, x, tau2)
    se = np.sqrt(a_inv[0, 0] * (rss / (y.size - 1) if test == "knha" else 1.0))
    assert_close(
        [pooled.tau2, pooled.estimate, pooled.se], [tau2, beta[0], se], atol=1e-12
    )


def test_single_study() -> None:
    res = meta_analysis([0.5], [0.04], method="REML")
    assert res.tau2 == 0.0
    assert (res.q, res.q_df, res.q_pvalue) == (0.0, 0, 1.0)
    assert_close(res.estimate, 0.5)
    assert res.pi_lower is None
    assert res.pi_upper is None
    with pytest.raises(ValueError, match="'test'"):
        meta_analysis([0.5], [0.04], test="knha")


def test_fixed_effect_has_no_prediction_interval(
    bcg: tuple[np.ndarray, np.ndarray],
) -> None:
    res = meta_analysis(*bcg, method="FE")
    assert res.pi_lower is None
    assert res.pi_upper is None
    assert not res.random_effects
    assert_close(sum(res.weights_pct), 100.0)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"effects": [], "variances": []}, "effects"),
        ({"effects": [1.0, np.nan], "variances": [1.0, 1.0]}, "effects"),
        ({"effects": [1.0, 2.0], "variances": [1.0, 0.0]}, "variances"),
        ({"effects": [1.0, 2.0], "variances": [1.0]}, "variances"),
        ({"effects": [1.0, 2.0], "variances": [1.0, 1.0], "method": "ML"}, "method"),
        ({"effects": [1.0, 2.0], "variances": [1.0, 1.0], "test": "t"}, "test"),
        (
            {"effects": [1.0, 2.0], "variances": [1.0, 1.0], "level_pct": 100},
            "level_pct",
        ),
        ({"effects": [1.0, 2.0], "variances": [1.0, 1.0], "labels": ["a"]}, "labels"),
    ],
)
def test_meta_analysis_rejects_bad_input(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        meta_analysis(**kwargs)


def test_meta_regression_rejects_bad_moderators(
    bcg: tuple[np.ndarray, np.ndarray],
) -> None:
    y, v = bcg
    with pytest.raises(ValueError, match="'moderators'"):
        meta_regression(y, v, np.ones(y.size))  # collinear with the intercept
    with pytest.raises(ValueError, match="'moderators'"):
        meta_regression(y[:2], v[:2], [1.0, 2.0])  # k == p
    with pytest.raises(ValueError, match="'moderators'"):
        meta_regression(y, v, [1.0, 2.0])  # wrong length
    with pytest.raises(ValueError, match="'names'"):
        meta_regression(y, v, np.arange(y.size), names=["intercept"])
    res = meta_regression(y, v, np.arange(y.size), names=["x"])
    with pytest.raises(ValueError, match="'moderators'"):
        res.predict([1.0, 2.0])
    with pytest.raises(ValueError, match="'names'"):
        res.test_coefficients(["y"])


# --------------------------------------------------------------------------------------
# Invariants (hypothesis)

_effects = st.lists(
    st.floats(-5, 5, allow_nan=False, allow_infinity=False), min_size=2, max_size=12
)


@st.composite
def _datasets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    y = np.array(draw(_effects))
    v = np.array(draw(st.lists(st.floats(0.01, 2.0), min_size=y.size, max_size=y.size)))
    return y, v


_METHODS = st.sampled_from(["FE", "DL", "REML", "PM"])


@settings(max_examples=60, deadline=None)
@given(data=_datasets(), method=_METHODS)
def test_i2_in_range_and_tau2_nonnegative(
    data: tuple[np.ndarray, np.ndarray], method: str
) -> None:
    res = meta_analysis(*data, method=method)  # type: ignore[arg-type]
    assert 0.0 <= res.i2_pct <= 100.0
    assert res.tau2 >= 0.0
    assert res.h2 >= 0.0
    assert res.ci_lower <= res.estimate <= res.ci_upper


@settings(max_examples=60, deadline=None)
@given(data=_datasets(), method=_METHODS, shift=st.floats(-10, 10))
def test_shift_invariance(
    data: tuple[np.ndarray, np.ndarray], method: str, shift: float
) -> None:
    """Adding a constant to every effect shifts the estimate by it, nothing else."""
    y, v = data
    a = meta_analysis(y, v, method=method)  # type: ignore[arg-type]
    b = meta_analysis(y + shift, v, method=method)  # type: ignore[arg-type]
    assert_close(b.estimate, a.estimate + shift, rtol=1e-9, atol=1e-7)
    assert_close([b.tau2, b.se, b.q], [a.tau2, a.se, a.q], rtol=1e-6, atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(data=_datasets(), method=st.sampled_from(["DL", "REML", "PM"]))
def test_random_equals_fixed_when_tau2_is_zero(
    data: tuple[np.ndarray, np.ndarray], method: str
) -> None:
    y, v = data
    re = meta_analysis(y, v, method=method)  # type: ignore[arg-type]
    fe = meta_analysis(y, v, method="FE")
    if re.tau2 == 0.0:
        assert_close([re.estimate, re.se], [fe.estimate, fe.se], rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(value=st.floats(-5, 5), v=st.floats(0.01, 2.0), k=st.integers(2, 10))
def test_identical_effects_have_no_heterogeneity(
    value: float, v: float, k: int
) -> None:
    res = meta_analysis([value] * k, [v] * k, method="REML")
    assert res.tau2 == 0.0
    assert_close(res.estimate, value, rtol=1e-12, atol=1e-12)
    assert res.i2_pct == 0.0


def test_result_is_frozen(bcg: tuple[np.ndarray, np.ndarray]) -> None:
    res = meta_analysis(*bcg)
    assert isinstance(res, MetaResult)
    with pytest.raises(ValueError, match="frozen"):
        res.tau2 = 0.0  # type: ignore[misc]
    assert MetaResult.model_validate_json(res.model_dump_json()) == res


def test_bcg_data_are_log_risk_ratios(
    bcg_ref: dict[str, Any], bcg: tuple[np.ndarray, np.ndarray]
) -> None:
    """The pinned yi/vi are escalc(measure="RR") of the pinned 2x2 counts."""
    d = bcg_ref["data"]
    a, b, c, e = (np.array(d[k], dtype=float) for k in ("tpos", "tneg", "cpos", "cneg"))
    yi = np.log((a / (a + b)) / (c / (c + e)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + e)
    assert_close(yi, bcg[0], rtol=1e-12)
    assert_close(vi, bcg[1], rtol=1e-12)
    assert len(yi) == 13


# --------------------------------------------------------------------------------------
# Edge cases, checked against metafor 3.8-1


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
def test_knha_without_residual_is_degenerate_as_in_metafor(method: str) -> None:
    """Equal effects leave no residual: Knapp-Hartung SE 0, as in metafor.

    metafor 3.8-1, ``rma(yi=c(.5,.5,.5), vi=c(.1,.2,.3), method=m, test="knha")``
    (``m`` = REML, DL, PM; FE warns that KnHa is not meant for FE models and gives the
    same): b = 0.5, se = 0, zval = Inf, pval = 0, ci.lb = ci.ub = 0.5, tau2 = 0,
    QE = 0, I2 = 0, s2w = 0, pi.lb = pi.ub = 0.5 (H2 = 1; FE: 0). With
    ``yi=c(0,0,0)``: b = 0, se = 0, zval = NaN, pval = NaN, ci.lb = ci.ub = 0.
    """
    res = meta_analysis([0.5] * 3, [0.1, 0.2, 0.3], method=method, test="knha")  # type: ignore[arg-type]
    assert_close(res.estimate, 0.5, rtol=1e-12)
    assert res.se == 0.0
    assert res.statistic == math.inf
    assert res.pvalue == 0.0
    assert_close([res.ci_lower, res.ci_upper], [0.5, 0.5], rtol=1e-12)
    assert res.tau2 == 0.0
    assert_close([res.q, res.i2_pct], [0.0, 0.0], atol=1e-20)
    assert_close(res.h2, 0.0 if method == "FE" else 1.0, atol=1e-20)
    if method != "FE":
        assert_close([res.pi_lower, res.pi_upper], [0.5, 0.5], rtol=1e-12)
    neg = meta_analysis([-0.5] * 3, [0.1, 0.2, 0.3], method=method, test="knha")  # type: ignore[arg-type]
    assert neg.statistic == -math.inf
    zero = meta_analysis([0.0] * 3, [0.1, 0.2, 0.3], method=method, test="knha")  # type: ignore[arg-type]
    assert zero.se == 0.0
    assert math.isnan(zero.statistic)
    assert math.isnan(zero.pvalue)
    assert_close([zero.ci_lower, zero.ci_upper], [0.0, 0.0], atol=0.0)
    # The z test is unaffected: the SE comes from the sampling variances.
    z = meta_analysis([0.5] * 3, [0.1, 0.2, 0.3], method=method, test="z")  # type: ignore[arg-type]
    assert_close(z.se, (1 / 0.1 + 1 / 0.2 + 1 / 0.3) ** -0.5, rtol=1e-12)


@pytest.mark.parametrize(
    "y", [[0.0, 0.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5], [1.0, 2.0, 3.0, 4.0]]
)
@pytest.mark.parametrize("method", ["DL", "REML"])
def test_metaregression_knha_without_residual_as_in_metafor(
    y: list[float], method: str
) -> None:
    """A moderator that fits the effects exactly: SE 0 and QM undefined.

    metafor 3.8-1, ``rma(yi, vi=c(.1,.2,.3,.1), mods=~c(1,2,3,4), method=m,
    test="knha")`` for ``yi`` = (0, 0, 0, 0), (.5, .5, .5, .5) and (1, 2, 3, 4):
    se = 0 for both coefficients, ci.lb = ci.ub = b, tau2 = 0, s2w = 0, QM = NA,
    QMp = NA (zval and pval Inf/0, or NaN/NaN for a zero coefficient); with two
    moderators, ``anova(r, btt=2)`` gives F = NA, p-val = NA.
    """
    v, x = [0.1, 0.2, 0.3, 0.1], [1.0, 2.0, 3.0, 4.0]
    res = meta_regression(y, v, x, names=["m"], method=method, test="knha")  # type: ignore[arg-type]
    assert res.tau2 == 0.0
    slope = y[1] - y[0]
    assert_close(
        [c.estimate for c in res.coefficients], [y[0] - slope, slope], atol=1e-12
    )
    for c in res.coefficients:
        assert c.se == 0.0
        assert_close([c.ci_lower, c.ci_upper], [c.estimate] * 2, rtol=0.0)
    assert math.isnan(res.qm)
    assert math.isnan(res.qm_pvalue)
    stat, df, p = res.test_coefficients(["m"])
    assert math.isnan(stat)
    assert df == 1
    assert math.isnan(p)
    pred = res.predict([2.5])
    assert pred.se == 0.0
    assert_close(pred.estimate, (y[1] + y[2]) / 2, atol=1e-12)
    z = meta_regression(y, v, x, names=["m"], method=method, test="z")  # type: ignore[arg-type]
    assert all(c.se > 0 for c in z.coefficients)
    assert np.isfinite(z.qm)


#: A data set on which REML Fisher scoring oscillates (tau^2 between about 0.09 and
#: 0.13 from the third iteration on). metafor 3.8-1, ``rma(yi, vi, method="REML")``
#: (and with ``control=list(maxiter=1000)``): "Error: Fisher scoring algorithm did not
#: converge. See 'help(rma)' for possible remedies."; ``method="PM"`` and ``"DL"``
#: give tau2 = 0.
OSCILLATING_Y = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
OSCILLATING_V = [0.11486202, 0.63682835, 0.38662003, 0.728041, 0.65732735, 0.43691448]


def test_reml_non_convergence_raises_a_clear_error() -> None:
    with pytest.raises(ConvergenceError, match="did not converge") as err:
        meta_analysis(OSCILLATING_Y, OSCILLATING_V, method="REML")
    msg = str(err.value)
    assert "method='PM' or 'DL'" in msg
    assert "metafor" in msg
    assert issubclass(ConvergenceError, RuntimeError)
    for method in ("PM", "DL"):
        res = meta_analysis(OSCILLATING_Y, OSCILLATING_V, method=method)
        assert res.tau2 == 0.0


@pytest.mark.parametrize(
    ("x", "tau2", "beta"),
    [
        (
            [0, 1, 0, 1, 0, 1],
            0.042007412406635539,
            [0.62881486085288418, -0.62881486085288407],
        ),
        ([1, 2, 3, 4, 5, 6], 0.0, [1.05868634386926841, -0.22393637604249461]),
    ],
)
def test_metaregression_r2_when_reml_without_moderators_fails(
    x: list[float], tau2: float, beta: list[float]
) -> None:
    """The regression fits; R^2 is not given, as metafor's R2 = NA.

    metafor 3.8-1, ``rma(yi, vi, mods=~x, method="REML", control=list(threshold=1e-12,
    maxiter=1000))`` on the oscillating data: tau2 and b as given, R2 = NA, because
    the fit without moderators, which R^2 compares with, does not converge.
    """
    res = meta_regression(OSCILLATING_Y, OSCILLATING_V, x, method="REML")
    assert_close(res.tau2, tau2, rtol=RTOL, atol=1e-12)
    assert_close([c.estimate for c in res.coefficients], beta, rtol=RTOL)
    assert res.r2_pct is None


#: Effects in the tens and hundreds (tau^2 in the thousands and millions) with
#: metafor 3.8-1's tau2, b and se: first ``rma(yi, vi, method="REML",
#: control=list(threshold=1e-12, maxiter=1000))``, then ``rma(yi, vi,
#: method="REML")`` (its default threshold 1e-5 is 1e-11 relative on a tau^2 of 1e6;
#: with threshold=1e-12 metafor does not converge there: tau^2 cannot move by less
#: than its rounding).
LARGE_TAU2 = [
    (
        [
            69.6754474,
            -10.88386767,
            -18.22648662,
            91.6514563,
            -114.22555662,
            131.8429275,
        ],
        [28.51463923, 53.47892949, 13.16922911, 82.12409749, 39.79185401, 12.18214891],
        [8046.4585146809659, 24.972190248714213, 36.707391077227982],
    ),
    (
        [
            962.3749133,
            -1034.78958528,
            788.58938236,
            1455.40247028,
            -488.90239934,
            -708.20837983,
        ],
        [
            335.267148,
            987.92837833,
            104.75268944,
            720.56951048,
            465.7958734,
            91.11560964,
        ],
        [1063138.4213248768, 162.45803168816826, 421.0283498821932],
    ),
]


@pytest.mark.parametrize(("y", "v", "expected"), LARGE_TAU2)
def test_reml_converges_for_large_tau2(
    y: list[float], v: list[float], expected: list[float]
) -> None:
    """REML converges to metafor's tau^2 when tau^2 is in the thousands or more.

    A step below 1e-12 cannot be reached there; convergence is declared within a few
    ulp of tau^2 (as the batched refits of plptms.meta._permutation do).
    """
    res = meta_analysis(y, v, method="REML")
    assert_close([res.tau2, res.estimate, res.se], expected, rtol=RTOL)
