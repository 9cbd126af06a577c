"""Blinding indices from the guesses of patients or raters about their arm.

The input is a table of arm x guess counts, one row per arm (active, then
sham/placebo) and one column per answer:

- 3 answers: guess active, guess placebo, don't know;
- 5 answers: strongly believe active, somewhat believe active, somewhat believe
  placebo, strongly believe placebo, don't know.

Two indices:

- James et al. :footcite:`james1996`: one overall index in ``[0, 1]``; 1 is
  complete blinding (everyone answers "don't know"), 0 complete unblinding
  (every guess right), 0.5 guesses as good as chance with no "don't know". It is
  a kappa-type statistic of disagreement between guess and arm among those who
  guess, ``BI = (1 + P_dk + (1 - P_dk) kappa_d) / 2``, with a delta-method
  variance.
- Bang et al. :footcite:`bang2004`: one index per arm in ``[-1, 1]``: the
  proportion of right minus wrong guesses among all respondents of the arm
  (``(2 p_correct - 1)`` times the share that guessed); 0 is consistent with
  random guessing, 1 complete unblinding, -1 every guess the opposite arm. Its
  variance is that of a multinomial linear combination.

Neither paper was read. The formulas (the James variance included) were read in
the R package BI :footcite:`schwartz2022bi` (an implementation, GPL; this module
is written independently from the formulas) and checked against the output that
BlindingIndex.jl :footcite:`blindingindexjl` documents for one published table.
The 5-answer Bang weights (1, 0.5, -0.5, -1, 0 for strong right, weak right,
weak wrong, strong wrong, don't know) are those of a public SAS macro that cites
Bang et al. 2010 :footcite:`bang2010`: not verified against Bang 2004. The
variance of the weighted index here is the exact multinomial one,
``(sum w^2 p - BI^2) / n``, which reduces to Bang's 3-answer formula; the SAS
macro's 5-answer variance adds rather than subtracts the cross terms.

.. footbibliography::
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_range, check_type

__all__ = [
    "BangBlindingIndex",
    "BlindingAssessment",
    "JamesBlindingIndex",
    "bang_blinding_index",
    "blinding_indices",
    "james_blinding_index",
]

#: Bang index weights for the 3-answer table (right, wrong, don't know) of
#: Bang et al. (2004): proportion right minus proportion wrong. [bang2004]
BANG_WEIGHTS_3: Final[tuple[float, float, float]] = (1.0, -1.0, 0.0)
#: Bang index weights for the 5-answer table (strong right, weak right, weak
#: wrong, strong wrong, don't know), as in the public SAS macro citing Bang et
#: al. (2010); not verified against Bang et al. (2004). [bang2010]
BANG_WEIGHTS_5: Final[tuple[float, float, float, float, float]] = (
    1.0,
    0.5,
    -0.5,
    -1.0,
    0.0,
)
_ARMS: Final[tuple[str, str]] = ("active", "placebo")


class JamesBlindingIndex(BaseModel):
    """James et al.'s overall blinding index.

    Parameters
    ----------
    estimate : float
        The index, in ``[0, 1]`` (1: complete blinding, 0.5: chance guessing
        with no "don't know", 0: complete unblinding).
    se : float
        Its delta-method standard error.
    ci_lower, ci_upper : float
        Two-sided Wald interval ``estimate -/+ z se`` (not truncated to [0, 1]).
    level_pct : float
        Confidence level, %.
    n : int
        Respondents.
    dont_know_fraction : float
        Share of "don't know" answers, ``P_dk``.
    kappa_d : float | None
        The disagreement kappa among those who guessed (None if nobody did).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    level_pct: float
    n: int
    dont_know_fraction: float
    kappa_d: float | None


class BangBlindingIndex(BaseModel):
    """Bang et al.'s blinding index of one arm.

    Parameters
    ----------
    arm : str
        ``"active"`` or ``"placebo"``.
    estimate : float
        The index, in ``[-1, 1]`` (0: consistent with random guessing, 1: all
        right, -1: all wrong).
    se : float
        Its multinomial standard error.
    ci_lower, ci_upper : float
        Two-sided Wald interval (not truncated to [-1, 1]).
    level_pct : float
        Confidence level, %.
    n : int
        Respondents in the arm.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    arm: str
    estimate: float
    se: float
    ci_lower: float
    ci_upper: float
    level_pct: float
    n: int


class BlindingAssessment(BaseModel):
    """Both indices of one blinding questionnaire.

    Parameters
    ----------
    james : JamesBlindingIndex
        The overall index.
    bang : tuple of BangBlindingIndex
        The active and the placebo arm's index, in that order.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    james: JamesBlindingIndex
    bang: tuple[BangBlindingIndex, BangBlindingIndex]


def _check_table(table: object) -> np.ndarray:
    """Validate a 2 x 3 or 2 x 5 table of non-negative integer counts."""
    data: Any = table.tolist() if isinstance(table, np.ndarray) else table
    check_type(data, (list, tuple), "table")
    rows: list[Any] = list(data)
    shape_ok = len(rows) == 2 and all(
        isinstance(row, (list, tuple)) and len(row) in (3, 5) for row in rows
    )
    if not shape_ok or len(rows[0]) != len(rows[1]):
        raise ValueError(
            f"Invalid value for 'table': got {rows!r}; allowed: 2 rows (active, "
            "placebo) of 3 counts (guess active, guess placebo, don't know) or 5 "
            "(strong active, weak active, weak placebo, strong placebo, don't know)."
        )
    out = np.zeros((2, len(rows[0])), dtype=np.int64)
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            field = f"table[{i}][{j}]"
            v: Any = int(value) if isinstance(value, np.integer) else value
            check_type(v, int, field)
            out[i, j] = int(check_range(v, field, 0, None))
    for i, arm in enumerate(_ARMS):
        if out[i].sum() == 0:
            raise ValueError(
                f"Invalid value for 'table[{i}]': got no respondents in the {arm} "
                "arm; allowed: at least one."
            )
    return out


def _check_level(level_pct: float) -> float:
    check_type(level_pct, (int, float), "level_pct")
    return check_range(
        level_pct, "level_pct", 0.0, 100.0, low_inclusive=False, high_inclusive=False
    )


def _collapse(counts: np.ndarray) -> np.ndarray:
    """5-answer table to 3 answers (strong and weak beliefs pooled)."""
    if counts.shape[1] == 3:
        return counts
    return np.stack(
        [counts[:, 0] + counts[:, 1], counts[:, 2] + counts[:, 3], counts[:, 4]],
        axis=1,
    )


def _z(level_pct: float) -> float:
    from scipy.special import ndtri  # type: ignore[import-untyped]

    return float(ndtri(0.5 + level_pct / 200.0))


def james_blinding_index(
    table: Sequence[Sequence[int]], *, level_pct: float = 95.0
) -> JamesBlindingIndex:
    """James et al.'s blinding index with its variance :footcite:`james1996`.

    Parameters
    ----------
    table : sequence of sequence of int
        Arm x guess counts: rows active, placebo; 3 columns (active, placebo,
        don't know) or 5 (strong/weak active, weak/strong placebo, don't know;
        pooled to 3 here).
    level_pct : float
        Confidence level of the interval, %.

    Returns
    -------
    index : JamesBlindingIndex
        The index, its standard error and interval. With no guess at all (all
        "don't know") the index is 1 with standard error 0.

    Raises
    ------
    TypeError
        If a count is not an integer.
    ValueError
        If the table has the wrong shape, a negative count or an empty arm, or
        if every guess falls in one cell that is right (the index is then
        undefined: the expected disagreement is 0).

    Notes
    -----
    With ``p_gj`` the share of respondents who guessed ``g`` in arm ``j``,
    ``P_dk`` the share of "don't know", ``r_g`` the guess totals and ``c_j`` the
    arm totals among those who guessed, and disagreement weights ``W`` (0 for a
    right guess, 1 for a wrong one; James' weight of a wrong guess cancels in
    both the index and its variance):
    ``P_o = sum W p / (1 - P_dk)``, ``P_e = sum W r c / (1 - P_dk)^2``,
    ``kappa_d = (P_o - P_e) / P_e`` and ``BI = (1 + P_dk + (1 - P_dk) kappa_d)/2``.

    References
    ----------
    .. footbibliography::
    """
    counts = _collapse(_check_table(table))
    level = _check_level(level_pct)
    n = int(counts.sum())
    p = counts.T / n  # rows: guess (active, placebo, don't know); cols: arm
    p_dk = float(p[2].sum())
    if p_dk >= 1.0:
        return JamesBlindingIndex(
            estimate=1.0,
            se=0.0,
            ci_lower=1.0,
            ci_upper=1.0,
            level_pct=level,
            n=n,
            dont_know_fraction=1.0,
            kappa_d=None,
        )
    w = np.array([[0.0, 1.0], [1.0, 0.0]])  # guess x arm disagreement
    g = p[:2]  # guessers only
    r = g.sum(axis=1)  # guess totals
    c = g.sum(axis=0)  # arm totals among guessers
    q = 1.0 - p_dk
    d = float(r @ w @ c)  # sum_gj W_gj r_g c_j
    if d <= 0.0:
        raise ValueError(
            f"Invalid value for 'table': got {counts.tolist()!r}; the James index "
            "is undefined when every guess is the same right answer (no expected "
            "disagreement); allowed: guesses in at least two cells or two arms."
        )
    p_obs = float((w * g).sum()) / q
    p_exp = d / q**2
    kappa = (p_obs - p_exp) / p_exp
    estimate = (1.0 + p_dk + q * kappa) / 2.0
    # delta-method variance (James et al. 1996, as implemented in R package BI)
    extra = (w.T @ r)[None, :] + (w @ c)[:, None]  # extra[g, j]
    num = float((g * q**2 * (q * w - (1.0 + kappa) * extra) ** 2).sum())
    var = (
        num / (4.0 * d**2)
        + p_dk * q
        - q * (1.0 + kappa) * (p_dk + q * (1.0 + kappa) / 4.0)
    ) / n
    se = math.sqrt(max(var, 0.0))
    zc = _z(level)
    return JamesBlindingIndex(
        estimate=estimate,
        se=se,
        ci_lower=estimate - zc * se,
        ci_upper=estimate + zc * se,
        level_pct=level,
        n=n,
        dont_know_fraction=p_dk,
        kappa_d=kappa,
    )


def bang_blinding_index(
    table: Sequence[Sequence[int]],
    *,
    level_pct: float = 95.0,
    weights: Sequence[float] | None = None,
) -> tuple[BangBlindingIndex, BangBlindingIndex]:
    """Bang et al.'s blinding index of each arm :footcite:`bang2004`.

    Parameters
    ----------
    table : sequence of sequence of int
        Arm x guess counts: rows active, placebo; 3 or 5 columns (see the module
        docstring).
    level_pct : float
        Confidence level of the intervals, %.
    weights : sequence of float | None
        Weights of the answers *relative to the arm* (right first, then wrong,
        then don't know): 3 for a 3-answer table, 5 for a 5-answer table (strong
        right, weak right, weak wrong, strong wrong, don't know). Default
        ``(1, -1, 0)`` and ``(1, 0.5, -0.5, -1, 0)``; each in ``[-1, 1]``.

    Returns
    -------
    active, placebo : BangBlindingIndex
        The index of each arm. In the placebo arm a "placebo" guess is right.

    Raises
    ------
    TypeError
        If a count or weight has the wrong type.
    ValueError
        If the table has the wrong shape, a negative count or an empty arm, or
        the weights do not match the table.

    Notes
    -----
    ``BI = sum_k w_k n_k / n`` over the answers of the arm and
    ``var(BI) = (sum_k w_k^2 p_k - BI^2) / n`` (multinomial); for 3 answers this
    is ``(p_r (1 - p_r) + p_w (1 - p_w) + 2 p_r p_w) / n``, Bang's formula.

    References
    ----------
    .. footbibliography::
    """
    counts = _check_table(table)
    level = _check_level(level_pct)
    m = counts.shape[1]
    if weights is None:
        wt = np.asarray(BANG_WEIGHTS_3 if m == 3 else BANG_WEIGHTS_5)
    else:
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
            check_type(weights, (list, tuple), "weights")
        if len(weights) != m:
            raise ValueError(
                f"Invalid value for 'weights': got {len(weights)} weights for a "
                f"table of {m} answers; allowed: {m} weights."
            )
        vals = []
        for k, v in enumerate(weights):
            check_type(v, (int, float), f"weights[{k}]")
            vals.append(check_range(v, f"weights[{k}]", -1.0, 1.0))
        wt = np.asarray(vals)
    # answers of the placebo arm re-ordered so that "right" comes first
    order = [1, 0, 2] if m == 3 else [3, 2, 1, 0, 4]
    zc = _z(level)
    out = []
    for i, arm in enumerate(_ARMS):
        row = counts[i] if i == 0 else counts[i][order]
        n = int(row.sum())
        p = row / n
        est = float(wt @ p)
        var = (float((wt**2) @ p) - est**2) / n
        se = math.sqrt(max(var, 0.0))
        out.append(
            BangBlindingIndex(
                arm=arm,
                estimate=est,
                se=se,
                ci_lower=est - zc * se,
                ci_upper=est + zc * se,
                level_pct=level,
                n=n,
            )
        )
    return out[0], out[1]


def blinding_indices(
    table: Sequence[Sequence[int]], *, level_pct: float = 95.0
) -> BlindingAssessment:
    """James' overall and Bang's per-arm blinding indices of one table.

    Parameters
    ----------
    table : sequence of sequence of int
        Arm x guess counts (2 x 3 or 2 x 5; see the module docstring).
    level_pct : float
        Confidence level of the intervals, %.

    Returns
    -------
    assessment : BlindingAssessment
        Both indices.

    Raises
    ------
    TypeError
        If a count is not an integer.
    ValueError
        If the table is invalid (see :func:`james_blinding_index`).
    """
    return BlindingAssessment(
        james=james_blinding_index(table, level_pct=level_pct),
        bang=bang_blinding_index(table, level_pct=level_pct),
    )
