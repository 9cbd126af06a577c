"""Blinding indices of James et al. (1996) and Bang et al. (2004)
(plptms.trial._blinding)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.trial._blinding import (
    BlindingAssessment,
    bang_blinding_index,
    blinding_indices,
    james_blinding_index,
)

REF = json.loads(
    (Path(__file__).parents[1] / "data" / "trial_blinding_reference.json").read_text(
        encoding="utf-8"
    )
)
#: Published index values are rounded to 3 decimals.
ATOL_3DP = 6e-4
#: Hand computations are exact up to float rounding.
ATOL_EXACT = 1e-12
Z95 = 1.959963984540054


def test_houweling_investigators_james() -> None:
    """James et al. (1996) index on the Houweling et al. (2014) investigators' table.

    Oracle: BlindingIndex.jl's documented output (0.896, SE 0.011, 95 % CI
    0.875-0.918); the paper's printed values not verified.
    """
    case = REF["houweling_investigators"]
    j = james_blinding_index(case["table"])
    for key, value in case["james"].items():
        assert getattr(j, key) == pytest.approx(value, abs=ATOL_3DP)


def test_houweling_investigators_bang() -> None:
    """Bang et al. (2004) per-arm index on the same table (BlindingIndex.jl output)."""
    case = REF["houweling_investigators"]
    active, placebo = bang_blinding_index(case["table"])
    for res, key in ((active, "bang_active"), (placebo, "bang_placebo")):
        for field, value in case[key].items():
            assert getattr(res, field) == pytest.approx(value, abs=ATOL_3DP)


def test_bang_crisp_by_hand() -> None:
    """Bang et al. (2004) formula by hand on the CRISP table (not verified).

    BI = (2 p_right - 1) (n_guessed / n) and
    var = (p1 (1 - p1) + p2 (1 - p2) + 2 p1 p2) / n, with p1, p2 the shares
    right and wrong (Bang 2004 as given by the R package BI).
    """
    (a_act, a_pla, a_dk), (p_act, p_pla, p_dk) = REF["crisp_3"]["table"]
    active, placebo = bang_blinding_index(REF["crisp_3"]["table"])
    n_a = a_act + a_pla + a_dk
    est_a = (2 * a_act / (a_act + a_pla) - 1) * (a_act + a_pla) / n_a
    p1, p2 = a_act / n_a, a_pla / n_a
    se_a = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / n_a)
    assert active.estimate == pytest.approx(est_a, abs=ATOL_EXACT)
    assert active.estimate == pytest.approx(57 / 277, abs=ATOL_EXACT)
    assert active.se == pytest.approx(se_a, abs=ATOL_EXACT)
    assert active.ci_lower == pytest.approx(est_a - Z95 * se_a, abs=1e-9)
    n_p = p_act + p_pla + p_dk
    assert placebo.estimate == pytest.approx((p_pla - p_act) / n_p, abs=ATOL_EXACT)
    assert placebo.n == n_p


def test_bang_five_answers_by_hand() -> None:
    """Weighted Bang index on the CRISP 5-answer table, weights 1, .5, -.5, -1, 0.

    Weights of the SAS macro citing Bang et al. (2010); not verified.
    Active: (38 + 44/2 - 21/2 - 4) / 277; placebo (a placebo guess is right):
    (8 + 21/2 - 16/2 - 11) / 139.
    """
    active, placebo = bang_blinding_index(REF["crisp_5"]["table"])
    assert active.estimate == pytest.approx(45.5 / 277, abs=ATOL_EXACT)
    assert placebo.estimate == pytest.approx(-0.5 / 139, abs=ATOL_EXACT)
    p = np.array([38, 44, 21, 4, 170]) / 277
    w = np.array([1, 0.5, -0.5, -1, 0])
    cov = (np.diag(p) - np.outer(p, p)) / 277  # multinomial covariance
    assert active.se == pytest.approx(math.sqrt(w @ cov @ w), abs=ATOL_EXACT)


def test_bang_five_answers_pool_to_three() -> None:
    """Weights (1, 1, -1, -1, 0) on 5 answers equal Bang's 3-answer index."""
    five = bang_blinding_index(REF["crisp_5"]["table"], weights=[1, 1, -1, -1, 0])
    three = bang_blinding_index(REF["crisp_3"]["table"])
    for a, b in zip(five, three, strict=True):
        assert a.estimate == pytest.approx(b.estimate, abs=ATOL_EXACT)
        assert a.se == pytest.approx(b.se, abs=ATOL_EXACT)


def test_james_limits() -> None:
    """James et al. (1996): 1 all "don't know", 0 all right, 0.5 chance guessing.

    Chance (guess independent of arm, no "don't know") gives kappa_d = 0; with
    a share f of "don't know" and chance guessing the index is (1 + f) / 2.
    """
    assert james_blinding_index([[0, 0, 10], [0, 0, 7]]).estimate == 1.0
    right = james_blinding_index([[12, 0, 0], [0, 9, 0]])
    assert right.estimate == pytest.approx(0.0, abs=ATOL_EXACT)
    chance = james_blinding_index([[30, 10, 0], [15, 5, 0]])
    assert chance.estimate == pytest.approx(0.5, abs=ATOL_EXACT)
    assert chance.kappa_d == pytest.approx(0.0, abs=ATOL_EXACT)
    dk = james_blinding_index([[30, 10, 20], [15, 5, 20]])
    assert dk.estimate == pytest.approx((1 + 40 / 100) / 2, abs=ATOL_EXACT)


def test_bang_limits() -> None:
    """Bang et al. (2004): 1 all right, -1 all wrong, 0 random guessing."""
    a, p = bang_blinding_index([[10, 0, 0], [0, 8, 0]])
    assert (a.estimate, p.estimate) == (pytest.approx(1.0), pytest.approx(1.0))
    assert a.se == pytest.approx(0.0, abs=ATOL_EXACT)
    a, p = bang_blinding_index([[0, 10, 0], [8, 0, 0]])
    assert (a.estimate, p.estimate) == (pytest.approx(-1.0), pytest.approx(-1.0))
    a, p = bang_blinding_index([[5, 5, 3], [4, 4, 9]])
    assert a.estimate == pytest.approx(0.0, abs=ATOL_EXACT)
    assert p.estimate == pytest.approx(0.0, abs=ATOL_EXACT)


@pytest.mark.parametrize("name", ["crisp_3", "houweling_investigators"])
def test_james_standard_error_by_simulation(name: str) -> None:
    """James et al.'s (1996) delta-method SE against the SD over resampled tables.

    Multinomial resamples of the observed table (2,000 of them): the SD of the
    index agrees with the analytic SE within 10 %.
    """
    table = np.asarray(REF[name]["table"])
    n = int(table.sum())
    rng = np.random.default_rng(1996)
    draws = rng.multinomial(n, (table / n).ravel(), size=2000).reshape(-1, 2, 3)
    values = [james_blinding_index(d.tolist()).estimate for d in draws]
    se = james_blinding_index(table.tolist()).se
    assert np.std(values, ddof=1) == pytest.approx(se, rel=0.10)


def test_bang_five_answer_standard_error_by_simulation() -> None:
    """The weighted index's multinomial SE against resampling (5,000 draws)."""
    row = np.array([38, 44, 21, 4, 170])
    rng = np.random.default_rng(2004)
    draws = rng.multinomial(row.sum(), row / row.sum(), size=5000)
    w = np.array([1, 0.5, -0.5, -1, 0])
    sd = np.std(draws @ w / row.sum(), ddof=1)
    active, _ = bang_blinding_index(REF["crisp_5"]["table"])
    assert sd == pytest.approx(active.se, rel=0.05)


def test_assessment_bundles_both_indices() -> None:
    out = blinding_indices(REF["crisp_3"]["table"], level_pct=90.0)
    assert isinstance(out, BlindingAssessment)
    assert out.james.level_pct == 90.0
    assert [b.arm for b in out.bang] == ["active", "placebo"]
    assert out.james.ci_upper - out.james.estimate == pytest.approx(
        1.6448536269514722 * out.james.se, abs=1e-12
    )


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "table",
    [
        [[1, 2, 3]],
        [[1, 2, 3], [1, 2]],
        [[1, 2, 3, 4], [1, 2, 3, 4]],
        [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
    ],
)
def test_bad_shape(table: list[list[int]]) -> None:
    with pytest.raises(ValueError, match="'table'"):
        james_blinding_index(table)


def test_bad_counts() -> None:
    with pytest.raises(ValueError, match=r"table\[1\]\[0\]"):
        bang_blinding_index([[1, 2, 3], [-1, 2, 3]])
    with pytest.raises(TypeError, match=r"table\[0\]\[2\]"):
        bang_blinding_index([[1, 2, 3.5], [1, 2, 3]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"table\[0\]\[0\]"):
        bang_blinding_index([[True, 2, 3], [1, 2, 3]])
    with pytest.raises(ValueError, match=r"table\[1\]"):
        bang_blinding_index([[1, 2, 3], [0, 0, 0]])
    with pytest.raises(TypeError, match="table"):
        bang_blinding_index("abc")  # type: ignore[arg-type]


def test_bad_weights_and_level() -> None:
    with pytest.raises(ValueError, match="weights"):
        bang_blinding_index([[1, 2, 3], [1, 2, 3]], weights=[1, -1])
    with pytest.raises(ValueError, match=r"weights\[0\]"):
        bang_blinding_index([[1, 2, 3], [1, 2, 3]], weights=[2, -1, 0])
    with pytest.raises(ValueError, match="level_pct"):
        james_blinding_index([[1, 2, 3], [1, 2, 3]], level_pct=100)


def test_james_undefined_single_right_cell() -> None:
    """All guesses right and in one arm's cell: no expected disagreement."""
    with pytest.raises(ValueError, match="undefined"):
        james_blinding_index([[5, 0, 2], [0, 0, 3]])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=60), min_size=6, max_size=6).filter(
        lambda c: sum(c[:3]) > 0 and sum(c[3:]) > 0
    )
)
def test_bang_in_range_and_idempotent(counts: list[int]) -> None:
    table = [counts[:3], counts[3:]]
    first = bang_blinding_index(table)
    assert all(-1.0 <= b.estimate <= 1.0 for b in first)
    assert bang_blinding_index(table) == first


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=-50, max_value=-1))
def test_negative_count_names_field(value: int) -> None:
    with pytest.raises(ValueError, match=r"table\[0\]\[1\]"):
        bang_blinding_index([[1, value, 3], [1, 2, 3]])
