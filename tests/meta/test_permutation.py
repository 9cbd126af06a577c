"""Permutation tests against metafor's permutest() and brute-force enumeration."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.meta import (
    PermutationResult,
    meta_analysis,
    meta_regression,
    permutation_test,
)
from plptms.meta._constants import PERMUTATION_COMPTOL
from plptms.meta._permutation import (
    _design,
    _fit_batch,
    _multiset_perms,
    _n_row_perms,
    _row_classes,
)

from .conftest import _load, assert_close

#: An exact permutation p-value is a count over a fixed set of permutations: equal
#: counts give the same float (rounding of the division only).
RTOL_EXACT = 1e-12
#: Agreement of the batched refits with the scalar fits of plptms.meta._fit
#: (both iterate tau^2 to 1e-12; the statistics inherit that error).
RTOL_REFIT = 1e-7
#: metafor's test suite compares p-values to 4 decimals (tests/testthat/settings.r,
#: .tol[["pval"]] = 1e-4).
ATOL_PVAL_SUITE = 1e-4
#: A random test must fall within 4.5 Monte Carlo standard errors of the exact
#: p-value (a two-sided normal tail of 7e-6 per test).
MC_SIGMAS = 4.5


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    """metafor 3.8-1 permutest() values (tests/data/meta_metafor_permutest.R)."""
    return _load("meta_metafor_permutest.json")


# --------------------------------------------------------------------------------------
# metafor


@pytest.mark.parametrize(
    "case", ["FE_z", "DL_z", "DL_knha", "REML_z", "REML_knha", "PM_z", "PM_knha"]
)
def test_sign_flip_matches_metafor_bcg(case: str, ref: dict[str, Any]) -> None:
    """All 2^13 = 8192 sign flips of dat.bcg, every tau^2 estimator and test."""
    method, test = case.split("_")
    exp = ref["bcg_intercept"][case]
    res = meta_analysis(ref["bcg"]["yi"], ref["bcg"]["vi"], method=method, test=test)  # type: ignore[arg-type]
    perm = permutation_test(res)  # 8192 > 1000: a random test unless asked
    assert not perm.exact
    perm = permutation_test(res, exact=True)
    assert perm.exact
    assert perm.n_perm == exp["n_perm"] == 8192
    assert perm.seed is None
    assert_close(perm.pvalue, exp["pval"], rtol=RTOL_EXACT)
    assert_close(perm.qm_pvalue, exp["QMp"], rtol=RTOL_EXACT)
    assert_close(perm.qm, exp["QM"], rtol=RTOL_REFIT)
    assert_close(perm.coefficients[0].statistic, exp["zval"], rtol=RTOL_REFIT)
    assert_close(perm.coefficients[0].pvalue_model, exp["pval_model"], rtol=1e-6)
    assert perm.n_failed == 0


def test_sign_flip_coef_statistic_matches_metafor_bcg(ref: dict[str, Any]) -> None:
    """control = list(stat = "coef"): compare |beta|, not |z|."""
    exp = ref["bcg_intercept"]["DL_z_coef"]
    res = meta_analysis(ref["bcg"]["yi"], ref["bcg"]["vi"], method="DL")
    perm = permutation_test(res, exact=True, statistic="coef")
    assert perm.statistic_type == "coef"
    assert_close([perm.pvalue, perm.qm_pvalue], [exp["pval"], exp["QMp"]], RTOL_EXACT)


@pytest.mark.parametrize(
    "case", ["FE_z", "FE_knha", "DL_z", "DL_knha", "REML_z", "REML_knha"]
)
def test_row_permutation_matches_metafor_bcg8(case: str, ref: dict[str, Any]) -> None:
    """Trials 1-8 of dat.bcg on latitude: all 8!/(2! 2!) = 10080 row orders."""
    method, test = case.split("_")
    exp = ref["bcg8_ablat"][case]
    d = ref["bcg8"]
    res = meta_regression(
        d["yi"],
        d["vi"],
        d["ablat"],
        names=["ablat"],
        method=method,
        test=test,  # type: ignore[arg-type]
    )
    perm = permutation_test(res, exact=True)
    assert perm.scheme == "row_permutation"
    assert perm.n_perm == perm.n_distinct == exp["n_perm"] == 10080
    assert_close([c.pvalue for c in perm.coefficients], exp["pval"], RTOL_EXACT)
    assert_close(perm.qm_pvalue, exp["QMp"], rtol=RTOL_EXACT)
    assert_close(perm.qm, exp["QM"], rtol=RTOL_REFIT)
    assert_close([c.statistic for c in perm.coefficients], exp["zval"], RTOL_REFIT)
    assert perm.coefficient("ablat").pvalue == perm.coefficients[1].pvalue


def test_matches_metafor_test_suite(ref: dict[str, Any]) -> None:
    """Values printed in metafor's tests/testthat/test_misc_permutest.r.

    The exact test is chosen automatically (64, 360 and 256 permutations are fewer
    than the default 1000), as in metafor.
    """
    pub = ref["source"]["published"]["values"]
    h = ref["hine"]
    perm = permutation_test(meta_analysis(h["yi"], h["vi"]))
    assert perm.exact
    assert perm.n_perm == 64
    assert_close(perm.pvalue, pub["hine_REML"]["pval"], rtol=RTOL_EXACT)
    perm = permutation_test(meta_regression(h["yi"], h["vi"], h["mod"]))
    assert perm.exact
    assert perm.n_perm == 360
    assert_close(
        [c.pvalue for c in perm.coefficients],
        pub["hine_REML_mod"]["pval"],
        rtol=0.0,
        atol=ATOL_PVAL_SUITE,
    )
    assert_close(
        [c.pvalue for c in perm.coefficients],
        ref["hine_REML_mod"]["pval"],
        rtol=RTOL_EXACT,
    )
    f = ref["follmann"]
    perm = permutation_test(
        meta_analysis(f["yi"], f["vi"], method="DL"), statistic="coef"
    )
    assert perm.exact
    assert perm.n_perm == 256
    assert_close(perm.pvalue, pub["follmann_DL_coef"]["pval"], rtol=RTOL_EXACT)
    assert_close(perm.pvalue, 10 / 256, rtol=RTOL_EXACT)
    assert_close(perm.qm_pvalue, ref["follmann_DL_coef"]["QMp"], rtol=RTOL_EXACT)


# --------------------------------------------------------------------------------------
# Brute force: every permutation refitted with meta_analysis / meta_regression


def _count_p(stats: list[float], observed: float) -> float:
    hits = sum(abs(s) >= abs(observed) - PERMUTATION_COMPTOL for s in stats)
    return hits / len(stats)


TINY_Y = [0.31, -0.12, 0.54, 0.08, 0.92, 0.25]
TINY_V = [0.04, 0.09, 0.02, 0.12, 0.30, 0.05]
TINY_X = [12.0, 30.0, 12.0, 45.0, 60.0, 20.0]


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_sign_flip_equals_brute_force(method: str, test: str) -> None:
    res = meta_analysis(TINY_Y, TINY_V, method=method, test=test)  # type: ignore[arg-type]
    y = np.array(TINY_Y)
    stats = []
    betas = []
    for signs in itertools.product([1.0, -1.0], repeat=y.size):
        r = meta_analysis(y * np.array(signs), TINY_V, method=method, test=test)  # type: ignore[arg-type]
        stats.append(r.statistic)
        betas.append(r.estimate)
    perm = permutation_test(res, keep_distribution=True)
    assert perm.exact
    assert perm.n_perm == 2**6
    assert_close(perm.pvalue, _count_p(stats, res.statistic), rtol=RTOL_EXACT)
    coef = permutation_test(res, statistic="coef")
    assert_close(coef.pvalue, _count_p(betas, res.estimate), rtol=RTOL_EXACT)
    dist = np.array(perm.permuted_statistics)
    assert dist.shape == (64, 2)
    assert_close(np.sort(dist[:, 0]), np.sort(stats), rtol=RTOL_REFIT, atol=1e-12)
    assert_close(dist[:, 1], dist[:, 0] ** 2, rtol=1e-12)  # QM = z^2 (or t^2 = F)


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_row_permutation_equals_brute_force(method: str, test: str) -> None:
    """All 6! = 720 orders (360 distinct: the moderator value 12 repeats)."""
    kw: dict[str, Any] = {"method": method, "test": test}
    res = meta_regression(TINY_Y, TINY_V, TINY_X, names=["hz"], **kw)
    x = np.array(TINY_X)
    stats: list[list[float]] = [[], []]
    qms = []
    for order in itertools.permutations(range(x.size)):
        r = meta_regression(TINY_Y, TINY_V, x[list(order)], **kw)
        for j in range(2):
            stats[j].append(r.coefficients[j].statistic)
        qms.append(r.qm)
    perm = permutation_test(res)
    assert perm.exact
    assert perm.n_perm == perm.n_distinct == 360
    expected = [_count_p(stats[j], res.coefficients[j].statistic) for j in range(2)]
    assert_close([c.pvalue for c in perm.coefficients], expected, rtol=RTOL_EXACT)
    hits = sum(q >= res.qm - PERMUTATION_COMPTOL for q in qms)
    assert_close(perm.qm_pvalue, hits / len(qms), rtol=RTOL_EXACT)


def test_two_moderators_and_no_intercept() -> None:
    rng = np.random.default_rng(7)
    k = 7
    y = rng.normal(0.3, 0.4, k)
    v = rng.uniform(0.02, 0.2, k)
    x = np.column_stack([rng.normal(size=k), rng.integers(0, 2, k)])
    for intercept in (True, False):
        res = meta_regression(y, v, x, names=["a", "b"], intercept=intercept)
        qms = [
            meta_regression(y, v, x[list(o)], intercept=intercept).qm
            for o in itertools.permutations(range(k))
        ]
        perm = permutation_test(res, n_perm=10_000)
        assert perm.exact
        assert perm.qm_df == 2
        hits = sum(q >= res.qm - PERMUTATION_COMPTOL for q in qms)
        assert_close(perm.qm_pvalue, hits / len(qms), rtol=RTOL_EXACT)


# --------------------------------------------------------------------------------------
# Random permutations


def test_random_test_within_monte_carlo_error(ref: dict[str, Any]) -> None:
    exp = ref["bcg_intercept"]["REML_z"]["pval"]
    res = meta_analysis(ref["bcg"]["yi"], ref["bcg"]["vi"])
    perm = permutation_test(res, n_perm=20_000, exact=False, seed=11)
    assert not perm.exact
    assert perm.n_perm == 20_000
    assert perm.seed == 11
    assert abs(perm.pvalue - exp) <= MC_SIGMAS * math.sqrt(exp * (1 - exp) / 20_000)
    assert perm.mc_se(perm.pvalue) > 0.0
    exp_reg = ref["bcg8_ablat"]["REML_z"]["pval"][1]
    d = ref["bcg8"]
    reg = meta_regression(d["yi"], d["vi"], d["ablat"], names=["ablat"])
    perm = permutation_test(reg, n_perm=5000, exact=False, seed=3)
    se = math.sqrt(exp_reg * (1 - exp_reg) / 5000)
    assert abs(perm.coefficient("ablat").pvalue - exp_reg) <= MC_SIGMAS * se


def test_seed_reproducible_and_recorded() -> None:
    res = meta_analysis(TINY_Y * 3, TINY_V * 3)
    a = permutation_test(res, n_perm=500, seed=5)
    b = permutation_test(res, n_perm=500, seed=5)
    assert a.pvalue == b.pvalue
    c = permutation_test(res, n_perm=500)
    assert c.seed is not None
    d = permutation_test(res, n_perm=500, seed=c.seed)
    assert c.pvalue == d.pvalue
    dist = np.array(permutation_test(res, n_perm=300, seed=1, keep_distribution=True)
                    .permuted_statistics)  # fmt: skip
    assert dist.shape == (300, 2)
    assert_close(dist[0, 0], res.statistic, rtol=RTOL_REFIT)  # observed data first


def test_exact_limit_and_validation() -> None:
    res = meta_analysis(np.linspace(-1, 1, 25), np.full(25, 0.1))
    with pytest.raises(ValueError, match="'exact'"):
        permutation_test(res, exact=True)
    with pytest.raises(ValueError, match="'n_perm'"):
        permutation_test(res, n_perm=1)
    with pytest.raises(TypeError, match="'n_perm'"):
        permutation_test(res, n_perm=10.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'exact'"):
        permutation_test(res, exact=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'seed'"):
        permutation_test(res, seed=-1)
    with pytest.raises(ValueError, match="'statistic'"):
        permutation_test(res, statistic="zval")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'result'"):
        permutation_test("fit")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'keep_distribution'"):
        permutation_test(res, keep_distribution=None)  # type: ignore[arg-type]
    perm = permutation_test(res, n_perm=200, seed=0)
    assert isinstance(perm, PermutationResult)
    with pytest.raises(ValueError, match="'name'"):
        perm.coefficient("slope")
    with pytest.raises(ValueError, match="frozen"):
        perm.n_perm = 3  # type: ignore[misc]


@settings(max_examples=25, deadline=None)
@given(n_perm=st.integers(2, 400))
def test_n_perm_in_range_passes(n_perm: int) -> None:
    res = meta_analysis(TINY_Y * 2, TINY_V * 2, method="DL")
    perm = permutation_test(res, n_perm=n_perm, seed=0)
    assert perm.n_perm == n_perm
    assert 1 / n_perm - 1e-15 <= perm.pvalue <= 1.0  # the observed data count


@settings(max_examples=25, deadline=None)
@given(n_perm=st.integers(-1000, 1))
def test_n_perm_out_of_range_names_field(n_perm: int) -> None:
    res = meta_analysis(TINY_Y, TINY_V)
    for _ in range(2):  # the check is idempotent
        with pytest.raises(ValueError, match="'n_perm'"):
            permutation_test(res, n_perm=n_perm)


# --------------------------------------------------------------------------------------
# The batched refits equal the scalar ones


_effects = st.lists(st.floats(-3, 3, allow_nan=False), min_size=3, max_size=10)


# Degenerate draws (all effects equal, knha) divide by a zero SE in the scalar fit.
@pytest.mark.filterwarnings("ignore:.*scalar divide:RuntimeWarning")
@settings(max_examples=40, deadline=None)
@given(
    ys=_effects,
    method=st.sampled_from(["FE", "DL", "REML", "PM"]),
    test=st.sampled_from(["z", "knha"]),
    seed=st.integers(0, 2**16),
)
def test_batched_fit_equals_scalar_fit(
    ys: list[float], method: str, test: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    y = np.array(ys)
    k = y.size
    v = rng.uniform(0.01, 1.0, k)
    x = rng.normal(size=k)
    batch_y = np.vstack([y, -y, y[::-1] * 0.5])
    for mods in (None, x):
        kw: dict[str, Any] = {"method": method, "test": test}
        fits: list[tuple[list[float], float] | None] = []
        for yy in batch_y:
            try:
                if mods is None:
                    r = meta_analysis(yy, v, **kw)
                    fits.append(([r.statistic], r.tau2))
                else:
                    rr = meta_regression(yy, v, mods, **kw)
                    fits.append(([c.statistic for c in rr.coefficients], rr.tau2))
            except RuntimeError:  # REML Fisher scoring oscillates (so in metafor)
                fits.append(None)
            except (ZeroDivisionError, np.linalg.LinAlgError):  # knha SE 0: no residual
                fits.append(([math.nan], math.nan))
        design = np.ones((k, 1)) if mods is None else np.column_stack([np.ones(k), x])
        got = _fit_batch(batch_y, np.tile(v, (3, 1)), _design(design, True), **kw)
        for i, fit in enumerate(fits):
            if fit is None:
                assert np.isnan(got.tau2[i])
                assert np.isnan(got.qm[i])
                continue
            stat, tau2 = fit
            if not np.all(np.abs(stat) < 1e6):  # knha with (nearly) no residual
                continue
            assert_close(got.tau2[i], tau2, rtol=RTOL_REFIT, atol=1e-9)
            assert_close(got.stat[i], stat, rtol=RTOL_REFIT, atol=1e-9)


def test_multiset_permutations() -> None:
    labels = _row_classes(np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 2.0], [1.0, 5.0]]))
    perms = list(_multiset_perms(labels))
    assert len(perms) == len({tuple(p) for p in perms}) == _n_row_perms(labels) == 12
    assert _n_row_perms(np.arange(6)) == 720
