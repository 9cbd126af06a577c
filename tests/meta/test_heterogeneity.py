"""Q-profile intervals for tau^2, I^2 and H^2 against metafor's confint()."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.meta import describe_i2, meta_analysis, meta_regression, tau2_confint

from .conftest import RTOL, assert_close

#: metafor's test-suite intervals come from its default Q-profile search, which
#: stops when uniroot's bracket is below .Machine$double.eps^0.25 (1.2e-4 in tau^2);
#: its lower bounds are accurate to about 2e-4 relative (H^2 lower bound: 1.6e-4).
RTOL_METAFOR_DEFAULT_QPROFILE = 5e-4


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_tau2_confint_matches_metafor(
    method: str, bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    ci = tau2_confint(meta_analysis(*bcg, method=method))  # type: ignore[arg-type]
    exp = bcg_ref["confint"][method]
    assert_close([ci.tau2, ci.tau2_lower, ci.tau2_upper], exp["tau2"], rtol=RTOL)
    assert_close([ci.tau, ci.tau_lower, ci.tau_upper], exp["tau"], rtol=RTOL)
    assert_close([ci.i2_pct, ci.i2_lower_pct, ci.i2_upper_pct], exp["I2"], rtol=RTOL)
    assert_close([ci.h2, ci.h2_lower, ci.h2_upper], exp["H2"], rtol=RTOL)


def test_tau2_confint_matches_metafor_test_suite(
    bcg: tuple[np.ndarray, np.ndarray], suite_ref: dict[str, Any]
) -> None:
    ci = tau2_confint(meta_analysis(*bcg, method="DL"))
    exp = suite_ref["confint_DL"]
    for got, want in [
        ([ci.tau2, ci.tau2_lower, ci.tau2_upper], exp["tau2"]),
        ([ci.i2_pct, ci.i2_lower_pct, ci.i2_upper_pct], exp["I2"]),
        ([ci.h2, ci.h2_lower, ci.h2_upper], exp["H2"]),
        (ci.tau, exp["tau"]),
    ]:
        assert_close(got, want, rtol=RTOL_METAFOR_DEFAULT_QPROFILE)


def test_tau2_confint_for_metaregression(
    bcg: tuple[np.ndarray, np.ndarray], bcg_ref: dict[str, Any]
) -> None:
    res = meta_regression(*bcg, bcg_ref["data"]["ablat"], names=["ablat"])
    ci = tau2_confint(res, level_pct=90)
    assert ci.level_pct == 90
    assert 0.0 <= ci.tau2_lower <= res.tau2 <= ci.tau2_upper


def test_tau2_confint_zero_bounds() -> None:
    ci = tau2_confint(meta_analysis([0.1, 0.1, 0.1], [0.1, 0.2, 0.3]))
    assert ci.tau2_lower == ci.tau2_upper == 0.0


def test_tau2_confint_rejects_bad_input() -> None:
    with pytest.raises(TypeError, match="'result'"):
        tau2_confint("model")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'result'"):
        tau2_confint(meta_analysis([0.1], [0.1]))
    with pytest.raises(ValueError, match="'level_pct'"):
        tau2_confint(meta_analysis([0.1, 0.2], [0.1, 0.1]), level_pct=0)


@settings(max_examples=40, deadline=None)
@given(
    y=st.lists(st.floats(-3, 3), min_size=3, max_size=10),
    seed=st.integers(0, 2**16),
)
def test_tau2_interval_brackets_estimate(y: list[float], seed: int) -> None:
    v = np.random.default_rng(seed).uniform(0.02, 1.0, len(y))
    ci = tau2_confint(meta_analysis(y, v, method="PM"))
    # The PM estimate solves Q = k - 1, which lies between the chi^2 quantiles.
    assert ci.tau2_lower <= ci.tau2 + 1e-10
    assert ci.tau2 <= ci.tau2_upper + 1e-10
    assert 0.0 <= ci.i2_lower_pct <= ci.i2_upper_pct <= 100.0


@pytest.mark.parametrize(
    ("i2", "label"),
    [
        (0.0, "below low"),
        (24.9, "below low"),
        (25.0, "low"),
        (60.0, "moderate"),
        (75.0, "high"),
        (100.0, "high"),
    ],
)
def test_describe_i2(i2: float, label: str) -> None:
    assert describe_i2(i2) == label


@settings(max_examples=30)
@given(st.one_of(st.floats(max_value=-1e-9), st.floats(min_value=100.0001)))
def test_describe_i2_out_of_range(i2: float) -> None:
    with pytest.raises(ValueError, match="'i2_pct'"):
        describe_i2(i2)
