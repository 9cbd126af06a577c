"""Leave-one-out and subgroup analyses against metafor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from plptms.meta import leave_one_out, meta_analysis, subgroup_analysis

from .conftest import RTOL, assert_close

_ROW = {
    "estimate": "estimate",
    "se": "se",
    "zval": "statistic",
    "pval": "pvalue",
    "ci.lb": "ci_lower",
    "ci.ub": "ci_upper",
    "Q": "q",
    "Qp": "q_pvalue",
    "tau2": "tau2",
    "I2": "i2_pct",
    "H2": "h2",
}


@pytest.mark.parametrize("method", ["REML", "DL"])
def test_leave_one_out_matches_metafor(
    method: str, bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    rows = leave_one_out(meta_analysis(*bcg, method=method))  # type: ignore[arg-type]
    exp = bcg_ref["leave1out"][method]
    assert len(rows) == 13
    for key, attr in _ROW.items():
        assert_close([getattr(r, attr) for r in rows], exp[key], rtol=RTOL)
    assert rows[0].omitted == "Study 1"


def test_leave_one_out_matches_metafor_test_suite(
    bcg: tuple[np.ndarray, np.ndarray], suite_ref: dict[str, Any]
) -> None:
    """metafor's printed full-precision row, from its default REML settings."""
    row = leave_one_out(meta_analysis(*bcg))[0]
    exp = suite_ref["leave1out_REML_trial1"]
    keys = {**_ROW, "ci.lb": "ci_lower", "ci.ub": "ci_upper"}
    for key, attr in keys.items():
        assert_close(getattr(row, attr), exp[key.replace(".", "_")], rtol=1e-5)


def test_leave_one_out_needs_studies() -> None:
    with pytest.raises(ValueError, match="'result'"):
        leave_one_out(meta_analysis([0.1], [0.1]))
    with pytest.raises(ValueError, match="'result'"):
        leave_one_out(meta_analysis([0.1, 0.3], [0.1, 0.2], test="knha"))
    with pytest.raises(TypeError, match="'result'"):
        leave_one_out("x")  # type: ignore[arg-type]


def test_subgroups_match_metafor(
    bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    res = subgroup_analysis(*bcg, bcg_ref["data"]["alloc"])
    exp = bcg_ref["subgroup_alloc"]
    assert set(res.groups) == set(exp["groups"])
    for i, g in enumerate(exp["groups"]):
        r = res.result(g)
        assert r.k == exp["k"][i]
        assert_close(
            [r.estimate, r.se, r.tau2, r.q],
            [exp["beta"][i], exp["se"][i], exp["tau2"][i], exp["QE"][i]],
            rtol=RTOL,
        )
    assert res.q_between_df == 2
    assert_close(
        [res.q_between, res.q_between_pvalue],
        [exp["Q_between"], exp["Q_between_p"]],
        rtol=RTOL,
    )


def test_subgroups_reject_bad_groups(bcg: tuple[np.ndarray, np.ndarray]) -> None:
    y, v = bcg
    with pytest.raises(ValueError, match="'groups'"):
        subgroup_analysis(y, v, ["a"] * y.size)
    with pytest.raises(ValueError, match="'groups'"):
        subgroup_analysis(y, v, ["a", "b"])
    res = subgroup_analysis(y, v, ["a", "b"] * 6 + ["a"])
    with pytest.raises(ValueError, match="'group'"):
        res.result("c")
