"""Egger's regression test and trim and fill against metafor."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from plptms.meta import egger_test, meta_analysis, trim_and_fill

from .conftest import RTOL, assert_close

#: metafor's trimfill() refits the filled data without the caller's control
#: settings, i.e. with REML's default stopping rule (tau^2 change < 1e-5).
RTOL_METAFOR_TRIMFILL_REFIT = 1e-5


def test_egger_rma_matches_metafor(
    bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    res = egger_test(meta_analysis(*bcg))
    exp = bcg_ref["regtest_rma"]
    assert res.model == "rma"
    assert res.df is None
    assert not res.underpowered
    assert_close(
        [
            res.statistic,
            res.pvalue,
            res.limit_estimate,
            res.limit_ci_lower,
            res.limit_ci_upper,
        ],
        [exp["zval"], exp["pval"], exp["est"], exp["ci_lb"], exp["ci_ub"]],
        rtol=RTOL,
    )


def test_egger_lm_matches_metafor(
    bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    res = egger_test(meta_analysis(*bcg), model="lm")
    exp = bcg_ref["regtest_lm"]
    assert res.df == exp["dfs"]
    assert_close(
        [
            res.statistic,
            res.pvalue,
            res.limit_estimate,
            res.limit_ci_lower,
            res.limit_ci_upper,
        ],
        [exp["zval"], exp["pval"], exp["est"], exp["ci_lb"], exp["ci_ub"]],
        rtol=RTOL,
    )


def test_egger_warns_when_underpowered(caplog: pytest.LogCaptureFixture) -> None:
    res0 = meta_analysis([0.1, 0.5, 0.3, 0.9], [0.1, 0.2, 0.05, 0.3])
    with caplog.at_level(logging.WARNING, logger="plptms.meta._bias"):
        res = egger_test(res0)
    assert res.underpowered
    assert "low power" in caplog.text
    with pytest.raises(ValueError, match="'result'"):
        egger_test(meta_analysis([0.1, 0.5], [0.1, 0.2]))
    with pytest.raises(ValueError, match="'model'"):
        egger_test(res0, model="glm")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "method", "kwargs"),
    [
        ("REML", "REML", {}),
        ("REML_left", "REML", {"side": "left"}),
        ("FE", "FE", {}),
        ("FE_R0", "FE", {"estimator": "R0"}),
    ],
)
def test_trim_and_fill_matches_metafor(
    key: str,
    method: str,
    kwargs: dict[str, Any],
    bcg: tuple[np.ndarray, np.ndarray],
    bcg_ref: dict[str, Any],
) -> None:
    tf = trim_and_fill(meta_analysis(*bcg, method=method), **kwargs)  # type: ignore[arg-type]
    exp = bcg_ref["trimfill"][key]
    assert (tf.k0, tf.side, tf.adjusted.k) == (exp["k0"], exp["side"], exp["k"])
    assert_close(tf.se_k0, exp["se_k0"], rtol=RTOL)
    a = tf.adjusted
    assert_close(
        [a.estimate, a.se, a.ci_lower, a.ci_upper, a.tau2],
        [exp["beta"], exp["se"], exp["ci_lb"], exp["ci_ub"], exp["tau2"]],
        rtol=RTOL_METAFOR_TRIMFILL_REFIT,
        atol=1e-12,
    )
    assert_close(
        sorted(tf.filled_effects), sorted(np.atleast_1d(exp["yi_filled"])), rtol=RTOL
    )


def test_trim_and_fill_mirror_image() -> None:
    """Filling mirrors the most extreme studies about the trimmed estimate."""
    y = np.array([0.1, 0.2, 0.25, 0.3, 0.5, 0.8, 1.2, 1.6])
    v = np.array([0.01, 0.02, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3])
    tf = trim_and_fill(meta_analysis(y, v, method="FE"), side="left")
    assert tf.k0 > 0
    assert len(tf.filled_effects) == tf.k0
    assert tf.adjusted.estimate < meta_analysis(y, v, method="FE").estimate
    assert tf.adjusted.labels[-1] == f"Filled {tf.k0}"


def test_trim_and_fill_rejects_bad_input(bcg: tuple[np.ndarray, np.ndarray]) -> None:
    res = meta_analysis(*bcg)
    with pytest.raises(ValueError, match="'side'"):
        trim_and_fill(res, side="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'estimator'"):
        trim_and_fill(res, estimator="Q0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'result'"):
        trim_and_fill(meta_analysis([0.1, 0.2], [0.1, 0.1]))
