"""MMRM (unstructured covariance, REML/ML, Satterthwaite) against mmrm and SAS.

Published references: the R package mmrm (Sabanes Bove et al., openpharma/mmrm,
Apache-2.0) ships ``fev_data`` and pins its fitted results in its test suite and
design documents, including SAS PROC MIXED logs of the same models; the numbers
and their provenance are in ``tests/data/mmrm_fev_reference.json``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plptms.trial._mmrm import (
    MMRMEstimate,
    MMRMResult,
    MMRMSpec,
    _build,
    _curvature,
    _evaluate,
    _hessian_fd,
    _padded,
    _theta_from_cov,
    fit_mmrm,
)

DATA = Path(__file__).parents[1] / "data"

#: mmrm's optimiser stops short of the exact maximum: its REML log-likelihood is
#: 4.6e-9 below ours (-1693.22493558573 vs -1693.2249355812). Along the flat
#: directions of the likelihood that moves the estimates by up to 1.5e-4 standard
#: errors; estimates are compared to 5e-4 SE.
ATOL_SE = 5e-4
#: Standard errors and Satterthwaite df, relative to mmrm's full-precision output.
RTOL_SE = 1e-4
RTOL_DF = 1e-4
#: t statistics then agree to ATOL_SE + RTOL_SE |t|, and p-values, whose log moves
#: by about (|t| + 1) per unit of t in the tail, to that times (|t| + 1) relative.
#: SAS prints 4 decimals (half a unit: 5e-5) and its optimum is about as far from
#: the exact one as mmrm's (-2 log L higher by 6e-6): 3e-4 absolute.
ATOL_SAS_4DP = 3e-4
#: SAS prints Satterthwaite df rounded to an integer.
ATOL_SAS_DF = 0.5 + 0.05
#: SAS covariance parameters printed to 4-6 significant digits.
RTOL_SAS_COV = 2e-4
#: SAS's REML optimum of the full model is 6e-6 above ours in -2 log L; along the
#: flat directions that allows covariances to differ by up to about 1e-4 of
#: sqrt(sigma_ii sigma_jj) (observed: at most 6.5e-5): compared in those units.
ATOL_SAS_CORR = 2e-4

FEV_SPEC = MMRMSpec(
    outcome="FEV1",
    subject="USUBJID",
    visit="AVISIT",
    arm="ARMCD",
    factors=("RACE", "SEX"),
    levels={
        "ARMCD": ("PBO", "TRT"),
        "SEX": ("Male", "Female"),
        "RACE": ("Asian", "Black or African American", "White"),
        "AVISIT": ("VIS1", "VIS2", "VIS3", "VIS4"),
    },
)
SIMPLE_SPEC = MMRMSpec(
    outcome="FEV1", subject="USUBJID", visit="AVISIT", visit_effects=False
)


@pytest.fixture(scope="module")
def fev_data() -> dict[str, list[Any]]:
    """mmrm's ``fev_data`` (800 rows, 263 missing FEV1) as columns."""
    with (DATA / "mmrm_fev_data.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    data: dict[str, list[Any]] = {k: [r[k] for r in rows] for k in rows[0]}
    data["FEV1"] = [float(v) if v else None for v in data["FEV1"]]
    data["FEV1_BL"] = [float(v) for v in data["FEV1_BL"]]
    return data


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    """Published mmrm and SAS PROC MIXED numbers (provenance in the JSON)."""
    with (DATA / "mmrm_fev_reference.json").open(encoding="utf-8") as f:
        out: dict[str, Any] = json.load(f)
    return out


@pytest.fixture(scope="module")
def fev_reml(fev_data: dict[str, list[Any]]) -> MMRMResult:
    return fit_mmrm(fev_data, FEV_SPEC)


@pytest.fixture(scope="module")
def fev_ml(fev_data: dict[str, list[Any]]) -> MMRMResult:
    return fit_mmrm(fev_data, FEV_SPEC, method="ML")


def _r_all_equal(actual: Any, target: Any, tolerance: float) -> bool:
    """R's ``all.equal`` (testthat's ``expect_equal``) for numeric vectors.

    The mean absolute difference relative to the mean absolute target, the
    criterion under which mmrm's own tests state their tolerances.
    """
    a, t = np.asarray(actual, dtype=float), np.asarray(target, dtype=float)
    return bool(np.mean(np.abs(a - t)) / np.mean(np.abs(t)) < tolerance)


# -- mmrm's published fit of FEV1 ~ RACE + SEX + ARMCD * AVISIT + us(AVISIT | USUBJID)


def test_fev_reml_coefficients_match_mmrm(
    fev_reml: MMRMResult, ref: dict[str, Any]
) -> None:
    """Estimates, SEs, Satterthwaite df, t, p and CIs of R's mmrm 0.3.18.

    Sabanes Bove et al., mmrm 0.3.18.

    Source: mmrm's tests/testthat/_snaps/tmb-methods.md (tidy_plus_plus of the
    REML fit), full precision.
    """
    exp = ref["reml_full"]["coefficients"]["values"]
    assert fev_reml.converged
    assert len(exp) == 10
    for name, e in exp.items():
        c = fev_reml.coefficient(name)
        tol = ATOL_SE * e["std_error"]
        assert c.estimate == pytest.approx(e["estimate"], abs=tol), name
        assert c.se == pytest.approx(e["std_error"], rel=RTOL_SE), name
        assert c.df == pytest.approx(e["df"], rel=RTOL_DF), name
        t_tol = ATOL_SE + RTOL_SE * abs(e["statistic"])
        assert c.statistic == pytest.approx(e["statistic"], abs=t_tol), name
        p_rel = t_tol * (abs(e["statistic"]) + 1.0)
        assert c.pvalue == pytest.approx(e["p_value"], rel=p_rel), name
        assert c.ci_lower == pytest.approx(e["conf_low"], abs=2 * tol), name
        assert c.ci_upper == pytest.approx(e["conf_high"], abs=2 * tol), name
    icpt = ref["reml_full"]["intercept"]
    c = fev_reml.coefficient("(Intercept)")
    assert c.estimate == pytest.approx(icpt["estimate"], abs=ATOL_SE * c.se)
    assert c.se == pytest.approx(icpt["se_sas"], abs=ATOL_SAS_4DP)
    assert c.df == pytest.approx(icpt["df_sas"], abs=ATOL_SAS_DF)


def test_fev_reml_loglik_matches_mmrm(
    fev_reml: MMRMResult, ref: dict[str, Any]
) -> None:
    """REML log-likelihood -1693.22493558573 of R's mmrm (test-fit.R).

    Sabanes Bove et al., mmrm 0.3.18.

    Also SAS PROC MIXED's -2 Res Log Like 3386.44987722 (mmrm design/SAS), and
    AIC/BIC as mmrm prints them (3406.4, 3439.3). Ours is the exact maximum, so it
    may only be higher than a published one, and by little.
    """
    exp = ref["reml_full"]["log_likelihood"]["nlminb"]
    assert fev_reml.log_likelihood == pytest.approx(exp, rel=1e-11)
    assert fev_reml.log_likelihood >= exp - 1e-9
    sas = ref["reml_full"]["minus2_reml_loglik_sas"]["value"]
    assert -2 * fev_reml.log_likelihood == pytest.approx(sas, rel=1e-8)
    assert -2 * fev_reml.log_likelihood <= sas + 1e-8
    assert fev_reml.aic == pytest.approx(ref["reml_full"]["aic_bic"]["aic"], abs=0.05)
    assert fev_reml.bic == pytest.approx(ref["reml_full"]["aic_bic"]["bic"], abs=0.05)
    assert fev_reml.n_obs == 537
    assert fev_reml.n_subjects == 197


def test_fev_reml_covariance_matches_sas(
    fev_reml: MMRMResult, ref: dict[str, Any]
) -> None:
    """Unstructured covariance of SAS PROC MIXED type=un, REML (mmrm design/SAS).

    The same 4 x 4 matrix mmrm prints (40.6, 14.4, ..., 95.6; Sabanes Bove et
    al., mmrm 0.3.18).
    """
    exp = np.array(ref["reml_full"]["covariance_sas"]["values"])
    assert fev_reml.visit_levels == ("VIS1", "VIS2", "VIS3", "VIS4")
    sd = np.sqrt(np.diag(exp))
    scaled = (fev_reml.covariance - exp) / np.outer(sd, sd)
    assert np.max(np.abs(scaled)) <= ATOL_SAS_CORR
    np.testing.assert_allclose(np.diag(fev_reml.covariance), np.diag(exp),
                               rtol=RTOL_SAS_COV)  # fmt: skip


def test_fev_lsmeans_and_arm_difference_match_sas(
    fev_reml: MMRMResult, ref: dict[str, Any]
) -> None:
    """LSMEANS AVISIT*ARMCD and TRT - PBO per visit of SAS PROC MIXED (mmrm design).

    Source: mmrm's design/SAS/sas_log_reml.txt (Satterthwaite df printed rounded);
    e.g. TRT - PBO at VIS4: 4.3985 (SE 1.6805, 133 df, 95 % CI 1.0746 to 7.7225).
    """
    ls = {e.label: e for e in fev_reml.lsmeans()}
    exp = ref["reml_full"]["lsmeans_sas"]["values"]
    assert set(ls) == set(exp)
    for label, e in exp.items():
        got = ls[label]
        assert got.estimate == pytest.approx(e["estimate"], abs=ATOL_SAS_4DP), label
        assert got.se == pytest.approx(e["se"], abs=ATOL_SAS_4DP), label
        assert got.df == pytest.approx(e["df"], abs=ATOL_SAS_DF), label
        assert got.ci_lower == pytest.approx(e["ci_lower"], abs=ATOL_SAS_4DP), label
        assert got.ci_upper == pytest.approx(e["ci_upper"], abs=ATOL_SAS_4DP), label
    for visit, e in ref["reml_full"]["arm_difference_sas"]["values"].items():
        d = fev_reml.arm_difference(visit)
        assert (d.arm, d.visit) == ("TRT", visit)
        assert d.estimate == pytest.approx(e["estimate"], abs=ATOL_SAS_4DP), visit
        assert d.se == pytest.approx(e["se"], abs=ATOL_SAS_4DP), visit
        assert d.df == pytest.approx(e["df"], abs=ATOL_SAS_DF), visit
        assert d.statistic == pytest.approx(e["t"], abs=0.005 + 1e-3), visit
        assert d.ci_lower == pytest.approx(e["ci_lower"], abs=ATOL_SAS_4DP), visit
        assert d.ci_upper == pytest.approx(e["ci_upper"], abs=ATOL_SAS_4DP), visit


def test_fev_ml_matches_sas(fev_ml: MMRMResult, ref: dict[str, Any]) -> None:
    """ML fit of the same model against SAS PROC MIXED method=ml (mmrm design/SAS).

    -2 log L 3397.57220025; estimates and SEs to 4 decimals, df rounded.
    """
    exp = ref["ml_full"]
    assert -2 * fev_ml.log_likelihood == pytest.approx(exp["minus2_loglik"], rel=1e-8)
    assert -2 * fev_ml.log_likelihood <= exp["minus2_loglik"] + 1e-8
    for name, (est, se, df) in exp["coefficients"].items():
        c = fev_ml.coefficient(name)
        assert c.estimate == pytest.approx(est, abs=ATOL_SAS_4DP), name
        assert c.se == pytest.approx(se, abs=ATOL_SAS_4DP), name
        assert c.df == pytest.approx(df, abs=ATOL_SAS_DF), name
    var = np.diag(fev_ml.covariance)
    assert var[0] == pytest.approx(exp["variance_vis1"], rel=RTOL_SAS_COV)
    assert var[1] == pytest.approx(exp["variance_vis2"], rel=RTOL_SAS_COV)
    assert var[3] == pytest.approx(exp["variance_vis4"], rel=RTOL_SAS_COV)
    # ML counts the fixed effects among the AIC parameters (10 + 11).
    assert fev_ml.aic == pytest.approx(3439.6, abs=0.05)  # SAS Fit Statistics


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_fev_intercept_only_matches_mmrm_tests(
    method: str, fev_data: dict[str, list[Any]], ref: dict[str, Any]
) -> None:
    """FEV1 ~ us(AVISIT | USUBJID), mmrm's test-tmb.R with SAS numbers (2022).

    -2 log L 3700.68707570 (ML) and 3700.94648570 (REML); intercept, its SE, the
    covariance to mmrm's own tolerances (1e-4 and 1e-3, R's all.equal);
    Satterthwaite df 171 (REML, mmrm's test-satterthwaite.R) and 172 (ML, SAS
    log).
    """
    exp = ref["simple"][method]
    res = fit_mmrm(fev_data, SIMPLE_SPEC, method=method)  # type: ignore[arg-type]
    assert res.names == ("(Intercept)",)
    # mmrm's own test compares at testthat's default tolerance, 1.5e-8 relative.
    assert -2 * res.log_likelihood == pytest.approx(exp["minus2_loglik"], rel=1.5e-8)
    assert -2 * res.log_likelihood <= exp["minus2_loglik"] + 1e-8
    c = res.coefficient("(Intercept)")
    # mmrm's own tolerance here: 1e-4 relative (SAS's optimum is 8e-6 above ours in
    # -2 log L, and the intercept moves by 2.6e-3 SE along the flat directions).
    assert c.estimate == pytest.approx(exp["intercept"], rel=1e-4)
    assert c.se == pytest.approx(exp["intercept_se"], rel=1e-4, abs=5e-5)
    cov = res.covariance
    lower = [cov[1, 0], cov[2, 0], cov[3, 0], cov[2, 1], cov[3, 1], cov[3, 2]]
    assert _r_all_equal(lower, exp["cov_lower_tri"], 1e-3)
    if method == "REML":
        assert round(c.df) == exp["intercept_df_rounded"]
        # 122.057 vs 122.07: the intercept is 2.3e-3 SE from SAS's (see
        # test_objective_at_sas_covariance_reproduces_sas for why).
        assert c.statistic == pytest.approx(exp["t_stat"], rel=2e-4)
    else:
        assert round(c.df) == exp["intercept_df_sas"]


@pytest.mark.parametrize(
    ("method", "variances", "minus2", "beta", "se"),
    [
        ("REML", [113.63, 44.0193, 27.2643, 158.17], 3700.94648570, 42.8338, 0.3509),
        ("ML", [113.55, 43.9179, 27.1302, 158.01], 3700.68707570, 42.8367, 0.3499),
    ],
)
def test_objective_at_sas_covariance_reproduces_sas(
    method: str,
    variances: list[float],
    minus2: float,
    beta: float,
    se: float,
    fev_data: dict[str, list[Any]],
    ref: dict[str, Any],
) -> None:
    """Our likelihood at SAS's printed covariance gives SAS's -2 log L, beta and SE.

    SAS PROC MIXED logs of FEV1 ~ us(AVISIT | USUBJID) in mmrm's design/SAS
    (sas_log_simple*.txt, 2022): covariance printed to 4-6 digits, -2 log L to 8
    decimals. Rounding the covariance moves -2 log L by about 1e-6. Our optimum is
    lower than SAS's by 7e-6 (SAS stops on a relative criterion), which is why its
    estimates differ from ours along the flat directions of the likelihood.
    """
    spec = SIMPLE_SPEC
    cov = np.diag(variances)
    pairs = [(1, 0), (2, 0), (3, 0), (2, 1), (3, 1), (3, 2)]
    for (i, j), v in zip(pairs, ref["simple"][method]["cov_lower_tri"], strict=True):
        cov[i, j] = cov[j, i] = v
    x, y, subj, visit, _ = _build(fev_data, spec)
    prob = _padded(x, y, subj, visit, 4, method == "REML")
    ev = _evaluate(_theta_from_cov(cov), prob, grad=False)
    assert ev.f == pytest.approx(minus2, abs=2e-6)
    assert ev.beta[0] == pytest.approx(beta, abs=5e-5)
    assert math.sqrt(ev.a_inv[0, 0]) == pytest.approx(se, abs=5e-5)
    fit = fit_mmrm(fev_data, spec, method=method)  # type: ignore[arg-type]
    assert -2 * fit.log_likelihood < ev.f


# -- analytic results ------------------------------------------------------------------


def _balanced(
    rng: np.random.Generator, n_per_arm: int, m: int
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    n = 2 * n_per_arm
    arm = np.repeat([0, 1], n_per_arm)
    a = rng.normal(size=(m, m))
    cov = a @ a.T + m * np.eye(m)
    y = rng.multivariate_normal(np.arange(m, dtype=float), cov, size=n)
    y[arm == 1] += 0.7
    data = {
        "id": np.repeat(np.arange(n), m),
        "visit": np.tile(np.arange(m), n),
        "arm": np.repeat(np.where(arm == 1, "active", "sham"), m),
        "y": y.reshape(-1),
    }
    return data, y, arm


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_balanced_complete_data_equals_per_visit_ols(method: str) -> None:
    """Complete balanced data, cell-means model: MMRM = per-visit OLS (analytic).

    With every patient observed at every visit and the mean ``arm x visit`` (the
    same regressors at each visit), the GLS estimate equals OLS whatever the
    covariance (seemingly unrelated regressions with identical regressors, Zellner
    1962, not verified; or directly: X = I_m kron Z, so X'V^-1 X factorises and
    Sigma^-1 cancels). The model is then a multivariate linear model whose REML
    (ML) covariance is E'E / (n - 2) (E'E / n), E the residuals from the arm
    means; the arm difference at a visit is the pooled two-sample t test, and its
    Satterthwaite df is exactly n - 2, because the REML likelihood is a Wishart
    likelihood with n - 2 degrees of freedom (Var S_vv = 2 sigma_vv^2 / (n - 2)).
    """
    from scipy import stats

    rng = np.random.default_rng(11)
    n_per_arm, m = 15, 3
    data, y, arm = _balanced(rng, n_per_arm, m)
    spec = MMRMSpec(
        outcome="y", subject="id", visit="visit", arm="arm",
        levels={"arm": ("sham", "active")},
    )  # fmt: skip
    res = fit_mmrm(data, spec, method=method)  # type: ignore[arg-type]
    n = 2 * n_per_arm
    means = np.stack([y[arm == 0].mean(axis=0), y[arm == 1].mean(axis=0)])
    resid = y - means[arm]
    denom = n - 2 if method == "REML" else n
    np.testing.assert_allclose(res.covariance, resid.T @ resid / denom, rtol=1e-8)
    ls = {(e.arm, e.visit): e for e in res.lsmeans()}
    for v in range(m):
        assert ls[("sham", str(v))].estimate == pytest.approx(means[0, v], rel=1e-10)
        assert ls[("active", str(v))].estimate == pytest.approx(means[1, v], rel=1e-10)
        d = res.arm_difference(v)
        assert d.estimate == pytest.approx(means[1, v] - means[0, v], rel=1e-9)
        if method == "REML":
            t = stats.ttest_ind(y[arm == 1, v], y[arm == 0, v])
            assert d.statistic == pytest.approx(t.statistic, rel=1e-7)
            assert d.pvalue == pytest.approx(t.pvalue, rel=1e-6)
        assert d.df == pytest.approx(denom if method == "REML" else n, rel=1e-6)


def test_arm_difference_ci_covers_known_effect() -> None:
    """95 % CI of the arm difference covers the true effect at its nominal rate.

    200 simulated trials (60 patients, 4 visits, AR(1)-like heterogeneous
    covariance, baseline covariate, 2 sites, monotone dropout of about 25 % by the
    last visit, missing at random). Coverage must lie within 3 binomial SDs of
    0.95: 3 sqrt(0.95 x 0.05 / 200) = 0.046 (Satterthwaite, 1946, for the df).
    """
    rng = np.random.default_rng(2024)
    n_trials, n, m, effect = 200, 60, 4, -1.5
    vis = np.arange(m)
    sd = np.array([2.0, 2.3, 2.6, 3.0])
    cov = 0.6 ** np.abs(vis[:, None] - vis[None, :]) * np.outer(sd, sd)
    spec = MMRMSpec(
        outcome="y", subject="id", visit="visit", arm="arm", baseline="base",
        site="site",
    )  # fmt: skip
    covered = 0
    for _ in range(n_trials):
        arm = rng.permutation(np.repeat([0, 1], n // 2))
        site = rng.integers(0, 2, n)
        base = rng.normal(6.0, 1.5, n)
        mu = 6.0 - 0.3 * vis + 0.5 * (base[:, None] - 6.0) + 0.4 * site[:, None]
        mu = mu + effect * arm[:, None] * (vis + 1) / m
        y = mu + rng.multivariate_normal(np.zeros(m), cov, n)
        last = rng.choice([2, 3, 4], size=n, p=[0.1, 0.15, 0.75])
        y[vis[None, :] >= last[:, None]] = np.nan
        data = {
            "id": np.repeat(np.arange(n), m),
            "visit": np.tile(vis, n),
            "arm": np.repeat(arm, m),
            "site": np.repeat(site, m),
            "base": np.repeat(base, m),
            "y": y.reshape(-1),
        }
        d = fit_mmrm(data, spec).arm_difference(m - 1)
        covered += d.ci_lower <= effect <= d.ci_upper
    coverage = covered / n_trials
    assert abs(coverage - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / n_trials)


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_analytic_gradient_and_hessian_match_finite_differences(
    method: str, fev_data: dict[str, list[Any]], fev_reml: MMRMResult
) -> None:
    """Analytic d(-2 log L)/d theta and the observed Hessian against differences."""
    x, y, subj, visit, _ = _build(fev_data, FEV_SPEC)
    prob = _padded(x, y, subj, visit, 4, method == "REML")
    theta = fev_reml.theta + np.linspace(-0.05, 0.05, fev_reml.theta.size)
    ev = _evaluate(theta, prob, grad=True)
    assert ev.grad is not None
    h = 1e-6
    fd = np.array(
        [
            (
                _evaluate(theta + h * e, prob, grad=False).f
                - _evaluate(theta - h * e, prob, grad=False).f
            )
            / (2 * h)
            for e in np.eye(theta.size)
        ]
    )
    np.testing.assert_allclose(ev.grad, fd, rtol=1e-5, atol=1e-5)
    hess = _curvature(theta, prob, ev, observed=True)
    np.testing.assert_allclose(hess, 0.5 * _hessian_fd(theta, prob), rtol=1e-6,
                               atol=1e-6)  # fmt: skip


def test_row_order_and_labels_do_not_matter(
    fev_data: dict[str, list[Any]], fev_reml: MMRMResult
) -> None:
    """Shuffling rows and renaming patients leaves the fit unchanged."""
    rng = np.random.default_rng(5)
    order = rng.permutation(len(fev_data["FEV1"]))
    shuffled = {k: [v[i] for i in order] for k, v in fev_data.items()}
    shuffled["USUBJID"] = ["X" + s[::-1] for s in shuffled["USUBJID"]]
    res = fit_mmrm(shuffled, FEV_SPEC)
    np.testing.assert_allclose(res.beta, fev_reml.beta, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(res.covariance, fev_reml.covariance, rtol=1e-9)
    assert res.log_likelihood == pytest.approx(fev_reml.log_likelihood, rel=1e-12)


def test_contrast_and_levels(fev_reml: MMRMResult) -> None:
    """A contrast equals the named coefficient; a 90 % CI is narrower than 95 %."""
    j = fev_reml.names.index("ARMCDTRT")
    w = np.zeros(len(fev_reml.names))
    w[j] = 1.0
    c = fev_reml.contrast(w, label="x", level_pct=90.0)
    ref = fev_reml.coefficient("ARMCDTRT")
    assert c.estimate == pytest.approx(ref.estimate, rel=1e-14)
    assert c.df == pytest.approx(ref.df, rel=1e-14)
    assert c.ci_upper - c.ci_lower < ref.ci_upper - ref.ci_lower
    # At VIS1 (the reference visit) the arm difference is the ARMCDTRT coefficient.
    d = fev_reml.arm_difference("VIS1")
    assert d.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert isinstance(d, MMRMEstimate)
    back = fev_reml.arm_difference("VIS1", arm="PBO", reference="TRT")
    assert back.estimate == pytest.approx(-d.estimate, rel=1e-12)


# -- bad input -------------------------------------------------------------------------


def _tiny() -> dict[str, list[Any]]:
    return {
        "id": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
        "visit": [1, 2] * 6,
        "arm": ["a", "a", "b", "b"] * 3,
        "y": [1.0, 2.0, 1.5, 2.5, 0.7, 2.2, 1.1, 3.0, 0.9, 1.9, 1.4, 2.8],
    }


_TINY = MMRMSpec(outcome="y", subject="id", visit="visit", arm="arm")


def test_bad_columns_and_values() -> None:
    data = _tiny()
    with pytest.raises(ValueError, match=r"'outcome'.*'score'"):
        fit_mmrm(data, _TINY.model_copy(update={"outcome": "score"}))
    bad = dict(data, y=[*data["y"][:-1], "high"])
    with pytest.raises(TypeError, match=r"'y'"):
        fit_mmrm(bad, _TINY)
    bad = dict(data, y=[*data["y"][:-1], math.inf])
    with pytest.raises(ValueError, match=r"'y'.*finite"):
        fit_mmrm(bad, _TINY)
    dup = dict(data, visit=[1, 1, *data["visit"][2:]])
    with pytest.raises(ValueError, match=r"'visit'.*two observations"):
        fit_mmrm(dup, _TINY)
    mixed = dict(data, arm=["a", "b", *data["arm"][2:]])
    with pytest.raises(ValueError, match=r"'arm'.*one arm per patient"):
        fit_mmrm(mixed, _TINY)
    short = dict(data, arm=data["arm"][:-1])
    with pytest.raises(ValueError, match=r"'arm'.*rows"):
        fit_mmrm(short, _TINY)
    spec = _TINY.model_copy(update={"levels": {"arm": ("a",)}})
    with pytest.raises(ValueError, match=r"'arm'.*'b'"):
        fit_mmrm(data, spec)
    with pytest.raises(ValueError, match=r"'method'.*'REML'"):
        fit_mmrm(data, _TINY, method="reml")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"'spec'"):
        fit_mmrm(data, {"outcome": "y"})  # type: ignore[arg-type]


def test_unobserved_visit_and_rank_deficiency() -> None:
    data = _tiny()
    gone = dict(data, y=[v if k % 2 == 0 else None for k, v in enumerate(data["y"])])
    spec = _TINY.model_copy(update={"levels": {"visit": (1, 2)}})
    with pytest.raises(ValueError, match=r"'visit'.*no observed"):
        fit_mmrm(gone, spec)
    dup_col = dict(data, arm2=list(data["arm"]))
    spec = _TINY.model_copy(update={"factors": ("arm2",)})
    with pytest.raises(ValueError, match=r"rank deficient.*arm2b"):
        fit_mmrm(dup_col, spec)


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match=r"'arm'.*already"):
        MMRMSpec(outcome="y", subject="id", visit="visit", arm="visit")
    with pytest.raises(ValueError, match=r"'baseline_by_visit'"):
        MMRMSpec(outcome="y", subject="id", visit="v", baseline_by_visit=True)
    with pytest.raises(ValueError, match=r"'levels'"):
        MMRMSpec(outcome="y", subject="id", visit="v", levels={"y": (1, 2)})
    with pytest.raises(ValueError, match=r"levels\['v'\]"):
        MMRMSpec(outcome="y", subject="id", visit="v", levels={"v": (1, 1)})
    with pytest.raises(ValueError, match=r"extra"):
        MMRMSpec(outcome="y", subject="id", visit="v", colour="red")  # type: ignore[call-arg]


def test_bad_contrasts(fev_reml: MMRMResult) -> None:
    with pytest.raises(ValueError, match=r"'weights'"):
        fev_reml.contrast([1.0, 2.0])
    with pytest.raises(ValueError, match=r"'weights'.*variance"):
        fev_reml.contrast(np.zeros(len(fev_reml.names)))
    with pytest.raises(ValueError, match=r"'level_pct'"):
        fev_reml.lsmeans(level_pct=100.0)
    with pytest.raises(ValueError, match=r"'visit'.*VIS5"):
        fev_reml.arm_difference("VIS5")
    with pytest.raises(ValueError, match=r"'reference'"):
        fev_reml.arm_difference("VIS1", arm="PBO")
    with pytest.raises(ValueError, match=r"'name'.*Did you mean"):
        fev_reml.coefficient("ARMCDTRX")
