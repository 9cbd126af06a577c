"""Group-sequential efficacy boundaries and the evaluation of an interim analysis.

The z statistics of a trial analysed at information levels
``I_1 < ... < I_K`` follow the canonical joint distribution: ``Z_k`` is normal
with variance 1, mean ``drift * sqrt(t_k)`` (``t_k = I_k / I_max``) and
``cov(Z_j, Z_k) = sqrt(t_j / t_k)`` for ``j <= k``. Crossing probabilities are
computed by the recursive numerical integration of Armitage, McPherson and Rowe
:footcite:`armitage1969` on the grid of Jennison and Turnbull
:footcite:`jennison2000` (chapter 19; the grid's form was read in the
independent re-implementation in gsDesign's test helpers, the book itself was
not read): points spaced ``3 / (2 r)`` within 3 SD of the mean, spreading out
logarithmically into the tails, trimmed to the continuation region, with
Simpson weights on the interval midpoints.

Boundaries come from

- the Lan-DeMets alpha-spending approach :footcite:`lan1983`: at look ``k``
  the boundary is the z value whose crossing probability (given no earlier
  crossing) is the increment of the spending function, so any number of looks
  at any (unequally spaced) information fractions keeps the overall type I
  error. Spending functions, for a one-sided level ``a`` (each side of a
  two-sided symmetric test spends ``alpha / 2`` by the same function, as in
  ld98 :footcite:`reboussin2000` and gsDesign :footcite:`gsdesign`):
  O'Brien-Fleming type ``a(t) = 2 - 2 Phi(z_{1 - a/2} / sqrt(t))``; Pocock type
  ``a(t) = a ln(1 + (e - 1) t)``; power family ``a(t) = a t^rho``
  :footcite:`kim1987`;
- the classical constant boundary of Pocock :footcite:`pocock1977` and the
  shape ``C sqrt(K / k)`` of O'Brien and Fleming :footcite:`obrien1979` for
  ``K`` equally spaced looks, with the constant found by root search.

Lan and DeMets' paper (Biometrika 70:659-663) was not read; the formulas above
are those of the brief of issue 16 and of the ld98/ldbounds and gsDesign
implementations, whose documented outputs the tests match.

.. footbibliography::
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range, check_type

__all__ = [
    "GroupSequentialBoundaries",
    "InterimDecision",
    "crossing_probabilities",
    "evaluate_interim",
    "lan_demets_boundaries",
    "obrien_fleming_boundaries",
    "pocock_boundaries",
    "spending_function",
]

Spending = Literal["obrien_fleming", "pocock", "power"]
Sides = Literal[1, 2]
_SPENDINGS: Final[tuple[str, ...]] = ("obrien_fleming", "pocock", "power")

#: Grid density ``r`` of the numerical integration: ``6 r - 1`` points per
#: stage; 18 is the value gsDesign's helper calls the recommendation of Jennison
#: and Turnbull (2000, ch. 19; book not read, not verified). [jennison2000]
GRID_R: Final[int] = 18
#: Largest |z| searched for a boundary; a boundary beyond it is +inf (the
#: spending increment is then below about 1e-300, i.e. nothing is spent).
_Z_MAX: Final[float] = 37.0


class GroupSequentialBoundaries(BaseModel):
    """Efficacy boundaries of a group-sequential test on the z scale.

    Parameters
    ----------
    method : str
        ``"lan_demets_obrien_fleming"``, ``"lan_demets_pocock"``,
        ``"lan_demets_power"``, ``"pocock"`` or ``"obrien_fleming"``.
    alpha : float
        Overall type I error (both sides together for a two-sided test).
    sides : int
        1 (reject for large Z only) or 2 (symmetric; reject for large |Z|).
    information_fractions : tuple of float
        ``t_k = I_k / I_max`` of each look (the last may exceed 1 at an
        over-running final analysis).
    upper : tuple of float
        Upper boundary ``b_k``: reject H0 at look ``k`` if ``Z_k >= b_k``;
        ``inf`` where nothing is spent.
    lower : tuple of float
        Lower boundary: ``-b_k`` for a two-sided test (reject if ``Z_k <= -b_k``),
        ``-inf`` for a one-sided test (no futility stopping).
    nominal_alpha : tuple of float
        One-sided nominal level of each look, ``1 - Phi(b_k)``.
    cumulative_alpha : tuple of float
        Probability under H0 of a rejection at or before look ``k`` (both sides),
        from the numerical integration.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: str
    alpha: float
    sides: int
    information_fractions: tuple[float, ...]
    upper: tuple[float, ...]
    lower: tuple[float, ...]
    nominal_alpha: tuple[float, ...]
    cumulative_alpha: tuple[float, ...]


class InterimDecision(BaseModel):
    """The verdict of an interim (or final) analysis against its boundaries.

    Parameters
    ----------
    look : int
        Number of the latest look (1-based).
    z : tuple of float
        The observed z statistics, one per look so far.
    boundaries : GroupSequentialBoundaries
        Boundaries recomputed at the observed information fractions.
    crossed : bool
        Whether the latest look crosses its boundary.
    first_crossing : int | None
        First look (1-based) whose statistic crossed its boundary, if any; a
        crossing before the latest look means the trial should already have
        stopped.
    direction : str | None
        ``"upper"`` (Z above the upper boundary, benefit of the arm the
        statistic favours) or ``"lower"`` (two-sided tests only) at
        ``first_crossing``.
    stop_for_efficacy : bool
        Whether a boundary has been crossed (``first_crossing`` is set).
    final : bool
        Whether the latest look was evaluated as the final analysis (all the
        remaining alpha spent there).
    alpha_spent : float
        Type I error spent up to the latest look (both sides).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    look: int
    z: tuple[float, ...]
    boundaries: GroupSequentialBoundaries
    crossed: bool
    first_crossing: int | None
    direction: Literal["upper", "lower"] | None
    stop_for_efficacy: bool
    final: bool
    alpha_spent: float


# ---------------------------------------------------------------------------
# checks


def _check_alpha(alpha: float) -> float:
    check_type(alpha, (int, float), "alpha")
    return check_range(alpha, "alpha", 0.0, 0.5, low_inclusive=False)


def _check_sides(sides: int) -> Sides:
    check_type(sides, int, "sides")
    check_option(sides, "sides", (1, 2))
    return 1 if sides == 1 else 2


def _check_fractions(values: Sequence[float], field: str) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        check_type(values, (list, tuple), field)
    if len(values) == 0:
        raise ValueError(
            f"Invalid value for {field!r}: got an empty sequence; allowed: at least "
            "one look."
        )
    out = []
    for k, v in enumerate(values):
        check_type(v, (int, float), f"{field}[{k}]")
        out.append(check_range(v, f"{field}[{k}]", 0.0, None, low_inclusive=False))
    arr = np.asarray(out, dtype=float)
    if np.any(np.diff(arr) <= 0):
        raise ValueError(
            f"Invalid value for {field!r}: got {tuple(out)!r}; allowed: strictly "
            "increasing positive values."
        )
    return arr


def _check_n_looks(n_looks: int) -> int:
    check_type(n_looks, int, "n_looks")
    return int(check_range(n_looks, "n_looks", 1, 50))


# ---------------------------------------------------------------------------
# spending functions


def spending_function(
    t: float | Sequence[float] | np.ndarray,
    alpha: float,
    *,
    kind: Spending = "obrien_fleming",
    rho: float = 1.0,
) -> np.ndarray:
    """Cumulative type I error spent by information fraction ``t`` (one side).

    Parameters
    ----------
    t : float | array_like
        Information fractions; values above 1 count as 1, 0 spends nothing.
    alpha : float
        The level to spend in total, for one boundary (a two-sided symmetric
        test calls this with ``alpha / 2`` per side).
    kind : str
        ``"obrien_fleming"``: ``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))``;
        ``"pocock"``: ``alpha ln(1 + (e - 1) t)`` :footcite:`lan1983`;
        ``"power"``: ``alpha t^rho`` :footcite:`kim1987`.
    rho : float
        Exponent of the power family (> 0); ignored by the other kinds.

    Returns
    -------
    spent : ndarray
        Cumulative alpha spent at each ``t``, in ``[0, alpha]``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``alpha`` is outside ``(0, 1)``, ``t`` is negative or not finite,
        ``kind`` is unknown or ``rho`` is not positive.

    References
    ----------
    .. footbibliography::
    """
    from scipy.special import ndtr, ndtri  # type: ignore[import-untyped]

    check_type(alpha, (int, float), "alpha")
    a = check_range(alpha, "alpha", 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_option(kind, "kind", _SPENDINGS)
    check_type(rho, (int, float), "rho")
    rho = check_range(rho, "rho", 0.0, None, low_inclusive=False)
    tt = np.atleast_1d(np.asarray(t, dtype=float))
    if not np.all(np.isfinite(tt)) or np.any(tt < 0):
        raise ValueError(
            f"Invalid value for 't': got {tt.tolist()!r}; allowed: finite "
            "information fractions >= 0."
        )
    tt = np.minimum(tt, 1.0)
    out = np.zeros_like(tt)
    pos = tt > 0
    if kind == "obrien_fleming":
        z = float(ndtri(1.0 - a / 2.0))
        out[pos] = 2.0 * ndtr(-z / np.sqrt(tt[pos]))
    elif kind == "pocock":
        out[pos] = a * np.log1p((math.e - 1.0) * tt[pos])
    else:
        out[pos] = a * tt[pos] ** rho
    out[tt >= 1.0] = a
    return np.asarray(out)


# ---------------------------------------------------------------------------
# numerical integration


def _grid(mean: float, lo: float, hi: float, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid points and Simpson weights on [lo, hi] for a N(mean, 1) density."""
    i = np.arange(1, r)
    tail = 3.0 + 4.0 * np.log(r / i)
    x = np.concatenate(
        [
            mean - tail,
            mean - 3.0 + 3.0 * np.arange(4 * r + 1) / (2.0 * r),
            mean + tail[::-1],
        ]
    )
    if lo > x[0]:
        x = np.concatenate([[lo], x[x > lo]])
    if hi < x[-1]:
        x = np.concatenate([x[x < hi], [hi]])
    m = x.size
    if m < 2:  # degenerate continuation region: a single point
        return x, np.zeros(1)
    d = np.diff(x)
    z = np.empty(2 * m - 1)
    w = np.empty(2 * m - 1)
    z[0::2] = x
    z[1::2] = x[:-1] + d / 2.0
    w_odd = np.zeros(m)
    w_odd[:-1] += d / 6.0
    w_odd[1:] += d / 6.0
    w[0::2] = w_odd
    w[1::2] = 4.0 * d / 6.0
    return z, w


class _Integrator:
    """Recursive density of the z statistic on the continuation region."""

    def __init__(self, fractions: np.ndarray, drift: float, r: int) -> None:
        self.t = fractions
        self.drift = drift
        self.r = r
        self.k = 0  # number of looks already closed
        self.z = np.zeros(0)
        self.wh = np.zeros(0)  # weight * density at the grid of the last look

    def _cond(self, b: float) -> tuple[float, float]:
        """P(Z_next >= b) and P(Z_next <= b), jointly with no earlier exit."""
        from scipy.special import ndtr

        t1 = self.t[self.k]
        mean1 = self.drift * math.sqrt(t1)
        if self.k == 0:
            return float(ndtr(mean1 - b)), float(ndtr(b - mean1))
        t0 = self.t[self.k - 1]
        dt = t1 - t0
        x = (b * math.sqrt(t1) - self.z * math.sqrt(t0) - self.drift * dt) / math.sqrt(
            dt
        )
        return float(self.wh @ ndtr(-x)), float(self.wh @ ndtr(x))

    def exit_probs(self, upper: float, lower: float) -> tuple[float, float]:
        up = self._cond(upper)[0] if math.isfinite(upper) else 0.0
        low = self._cond(lower)[1] if math.isfinite(lower) else 0.0
        return up, low

    def close(self, upper: float, lower: float) -> None:
        """Move to the next look, keeping the density on (lower, upper)."""
        t1 = self.t[self.k]
        mean1 = self.drift * math.sqrt(t1)
        z1, w1 = _grid(mean1, lower, upper, self.r)
        if self.k == 0:
            h = np.exp(-0.5 * (z1 - mean1) ** 2) / math.sqrt(2.0 * math.pi)
        else:
            t0 = self.t[self.k - 1]
            dt = t1 - t0
            u = (
                z1[:, None] * math.sqrt(t1)
                - self.z[None, :] * math.sqrt(t0)
                - self.drift * dt
            ) / math.sqrt(dt)
            kern = np.exp(-0.5 * u**2) / math.sqrt(2.0 * math.pi)
            h = (kern @ self.wh) * math.sqrt(t1 / dt)
        self.z = z1
        self.wh = w1 * h
        self.k += 1


def _solve_upper(integ: _Integrator, target: float, symmetric: bool) -> float:
    """Upper boundary whose upper-exit probability equals ``target``."""
    from scipy.optimize import brentq  # type: ignore[import-untyped]

    if target <= 0.0:
        return math.inf

    def f(b: float) -> float:
        up = integ._cond(b)[0]
        return math.log(max(up, 1e-320)) - math.log(target)

    lo = 0.0 if symmetric else -_Z_MAX
    if f(_Z_MAX) > 0:  # even the largest boundary exits more often than target
        return _Z_MAX
    if f(lo) < 0:  # cannot spend that much (only for one-sided tests)
        return lo
    return float(brentq(f, lo, _Z_MAX, xtol=1e-10, rtol=1e-12, maxiter=200))


def _bounds_from_spending(
    cumulative: np.ndarray, fractions: np.ndarray, sides: Sides, r: int
) -> tuple[np.ndarray, np.ndarray]:
    """Boundaries that spend ``cumulative`` (per side) at ``fractions``."""
    integ = _Integrator(fractions, 0.0, r)
    upper = np.empty(fractions.size)
    spent_prev = 0.0
    for k in range(fractions.size):
        inc = float(cumulative[k]) - spent_prev
        b = _solve_upper(integ, inc, symmetric=sides == 2) if inc > 1e-300 else math.inf
        upper[k] = b
        spent_prev = float(cumulative[k])
        lower = -b if sides == 2 else -math.inf
        integ.close(b, lower)
    lower_arr = -upper if sides == 2 else np.full(fractions.size, -np.inf)
    return upper, lower_arr


def crossing_probabilities(
    upper: Sequence[float],
    information_fractions: Sequence[float],
    *,
    lower: Sequence[float] | None = None,
    drift: float = 0.0,
    r: int = GRID_R,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of first crossing each boundary at each look.

    Parameters
    ----------
    upper : sequence of float
        Upper boundaries ``b_k`` (z scale; ``inf`` for none).
    information_fractions : sequence of float
        ``t_k``, strictly increasing and positive.
    lower : sequence of float | None
        Lower boundaries ``a_k`` (``-inf`` for none); default: none.
    drift : float
        Expected value of ``Z`` at ``t = 1`` (0 under H0); ``E[Z_k] = drift
        sqrt(t_k)``.
    r : int
        Grid density (``6 r - 1`` points per stage before trimming).

    Returns
    -------
    upper_probs, lower_probs : ndarray
        ``P(Z_k >= b_k, a_j < Z_j < b_j for j < k)`` and the same for
        ``Z_k <= a_k``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If the lengths differ, fractions are not increasing or a lower
        boundary lies above its upper boundary.
    """
    t = _check_fractions(information_fractions, "information_fractions")
    b = np.asarray([float(v) for v in upper], dtype=float)
    a = (
        np.full(t.size, -np.inf)
        if lower is None
        else np.asarray([float(v) for v in lower], dtype=float)
    )
    if b.size != t.size or a.size != t.size:
        raise ValueError(
            f"Invalid value for 'upper': got {b.size} upper and {a.size} lower "
            f"boundaries for {t.size} looks; allowed: one of each per look."
        )
    if np.any(np.isnan(a)) or np.any(np.isnan(b)) or np.any(a > b):
        raise ValueError(
            f"Invalid value for 'lower': got {a.tolist()!r} against upper "
            f"{b.tolist()!r}; allowed: lower <= upper at every look, no NaN."
        )
    check_type(drift, (int, float), "drift")
    drift = check_range(drift, "drift")
    check_type(r, int, "r")
    r = int(check_range(r, "r", 4, 200))
    integ = _Integrator(t, drift, r)
    up = np.empty(t.size)
    low = np.empty(t.size)
    for k in range(t.size):
        up[k], low[k] = integ.exit_probs(float(b[k]), float(a[k]))
        integ.close(float(b[k]), float(a[k]))
    return up, low


def _finish(
    method: str,
    alpha: float,
    sides: Sides,
    t: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    r: int,
) -> GroupSequentialBoundaries:
    from scipy.special import ndtr

    up, low = crossing_probabilities(
        upper.tolist(), t.tolist(), lower=lower.tolist(), r=r
    )
    cum = np.cumsum(up + low)
    return GroupSequentialBoundaries(
        method=method,
        alpha=alpha,
        sides=sides,
        information_fractions=tuple(float(v) for v in t),
        upper=tuple(float(v) for v in upper),
        lower=tuple(float(v) for v in lower),
        nominal_alpha=tuple(float(v) for v in ndtr(-upper)),
        cumulative_alpha=tuple(float(v) for v in cum),
    )


def lan_demets_boundaries(
    information_fractions: Sequence[float],
    alpha: float = 0.05,
    *,
    spending: Spending = "obrien_fleming",
    sides: int = 2,
    rho: float = 1.0,
    r: int = GRID_R,
) -> GroupSequentialBoundaries:
    """Efficacy boundaries by Lan-DeMets alpha spending :footcite:`lan1983`.

    Parameters
    ----------
    information_fractions : sequence of float
        ``t_k = I_k / I_max`` of each look, strictly increasing, in ``(0, 1]``;
        unequal spacing is allowed. If the last is below 1 the design spends only
        ``alpha(t_K)``.
    alpha : float
        Overall type I error, in ``(0, 0.5]``; a two-sided test spends
        ``alpha / 2`` per side.
    spending : str
        ``"obrien_fleming"``, ``"pocock"`` or ``"power"`` (see
        :func:`spending_function`).
    sides : int
        1 or 2.
    rho : float
        Exponent of the power family.
    r : int
        Grid density of the numerical integration.

    Returns
    -------
    boundaries : GroupSequentialBoundaries
        The boundaries and the alpha they spend.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range or a fraction exceeds 1.

    References
    ----------
    .. footbibliography::
    """
    s = _check_sides(sides)
    a = _check_alpha(alpha)
    t = _check_fractions(information_fractions, "information_fractions")
    if t[-1] > 1.0 + 1e-12:
        raise ValueError(
            f"Invalid value for 'information_fractions': got {t.tolist()!r}; allowed "
            "range is (0, 1] (use evaluate_interim for an over-running final look)."
        )
    check_option(spending, "spending", _SPENDINGS)
    check_type(r, int, "r")
    r = int(check_range(r, "r", 4, 200))
    cum = spending_function(t, a / s, kind=spending, rho=rho)
    upper, lower = _bounds_from_spending(cum, t, s, r)
    return _finish(f"lan_demets_{spending}", a, s, t, upper, lower, r)


def _constant_boundaries(
    shape: np.ndarray, t: np.ndarray, alpha: float, sides: Sides, r: int
) -> float:
    """Constant ``C`` such that boundaries ``C * shape`` have overall level alpha."""
    from scipy.optimize import brentq

    def level(c: float) -> float:
        b = c * shape
        a = -b if sides == 2 else np.full(b.size, -np.inf)
        up, low = crossing_probabilities(b.tolist(), t.tolist(), lower=a.tolist(), r=r)
        return float(up.sum() + low.sum()) - alpha

    return float(brentq(level, 0.0 if sides == 2 else -10.0, 20.0, xtol=1e-10))


def pocock_boundaries(
    n_looks: int, alpha: float = 0.05, *, sides: int = 2, r: int = GRID_R
) -> GroupSequentialBoundaries:
    """Pocock's constant boundary for equally spaced looks :footcite:`pocock1977`.

    Parameters
    ----------
    n_looks : int
        Number ``K`` of equally spaced analyses, 1 to 50.
    alpha : float
        Overall type I error in ``(0, 0.5]`` (both sides together if two-sided).
    sides : int
        1 or 2.
    r : int
        Grid density of the numerical integration.

    Returns
    -------
    boundaries : GroupSequentialBoundaries
        ``b_k = C_P(K, alpha)`` at every look.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    References
    ----------
    .. footbibliography::
    """
    k = _check_n_looks(n_looks)
    s = _check_sides(sides)
    a = _check_alpha(alpha)
    t = np.arange(1, k + 1) / k
    c = _constant_boundaries(np.ones(k), t, a, s, r)
    upper = np.full(k, c)
    lower = -upper if s == 2 else np.full(k, -np.inf)
    return _finish("pocock", a, s, t, upper, lower, r)


def obrien_fleming_boundaries(
    n_looks: int, alpha: float = 0.05, *, sides: int = 2, r: int = GRID_R
) -> GroupSequentialBoundaries:
    """O'Brien-Fleming boundary ``C sqrt(K / k)`` :footcite:`obrien1979`.

    Parameters
    ----------
    n_looks : int
        Number ``K`` of equally spaced analyses, 1 to 50.
    alpha : float
        Overall type I error in ``(0, 0.5]`` (both sides together if two-sided).
    sides : int
        1 or 2.
    r : int
        Grid density of the numerical integration.

    Returns
    -------
    boundaries : GroupSequentialBoundaries
        ``b_k = C_B(K, alpha) sqrt(K / k)``; the last equals ``C_B``.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an argument is out of range.

    References
    ----------
    .. footbibliography::
    """
    k = _check_n_looks(n_looks)
    s = _check_sides(sides)
    a = _check_alpha(alpha)
    t = np.arange(1, k + 1) / k
    shape = np.sqrt(1.0 / t)
    c = _constant_boundaries(shape, t, a, s, r)
    upper = c * shape
    lower = -upper if s == 2 else np.full(k, -np.inf)
    return _finish("obrien_fleming", a, s, t, upper, lower, r)


def evaluate_interim(
    z: Sequence[float],
    information: Sequence[float],
    max_information: float,
    *,
    alpha: float = 0.05,
    spending: Spending = "obrien_fleming",
    sides: int = 2,
    rho: float = 1.0,
    final: bool = False,
    r: int = GRID_R,
) -> InterimDecision:
    """Test the looks so far against boundaries recomputed at their information.

    The point of alpha spending :footcite:`lan1983`: the boundaries are those
    of the spending function at the information actually reached
    (``t_k = I_k / I_max``), not at the planned fractions. At the final analysis
    (``final=True``) all the alpha left is spent, whether the final information
    falls short of or overruns ``I_max``; the correlation of the statistics
    always uses the observed information.

    Parameters
    ----------
    z : sequence of float
        Observed z statistics, one per look so far (positive favours the
        experimental arm).
    information : sequence of float
        Statistical information (or its proxy: patients, events) at each look,
        strictly increasing and positive.
    max_information : float
        Planned maximum information ``I_max``, in the same unit.
    alpha : float
        Overall type I error (both sides together if two-sided).
    spending : str
        ``"obrien_fleming"``, ``"pocock"`` or ``"power"``.
    sides : int
        1 or 2.
    rho : float
        Exponent of the power family.
    final : bool
        Whether the latest look is the final analysis.
    r : int
        Grid density of the numerical integration.

    Returns
    -------
    decision : InterimDecision
        The boundaries and whether one was crossed.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``z`` and ``information`` differ in length, a z value is not finite,
        or an interim look (``final=False``) lies beyond ``max_information``.

    References
    ----------
    .. footbibliography::
    """
    s = _check_sides(sides)
    a = _check_alpha(alpha)
    info = _check_fractions(information, "information")
    check_type(max_information, (int, float), "max_information")
    imax = check_range(
        max_information, "max_information", 0.0, None, low_inclusive=False
    )
    check_type(final, bool, "final")
    check_option(spending, "spending", _SPENDINGS)
    if isinstance(z, (str, bytes)) or not isinstance(z, Sequence):
        check_type(z, (list, tuple), "z")
    zs = []
    for k, v in enumerate(z):
        check_type(v, (int, float), f"z[{k}]")
        zs.append(check_range(v, f"z[{k}]"))
    if len(zs) != info.size:
        raise ValueError(
            f"Invalid value for 'z': got {len(zs)} statistics for {info.size} "
            "information values; allowed: one per look."
        )
    t = info / imax
    if not final and t[-1] > 1.0 + 1e-12:
        raise ValueError(
            f"Invalid value for 'information': got {info.tolist()!r} beyond "
            f"max_information {imax:g}; allowed: an interim look at or below "
            "max_information (pass final=True for the final analysis)."
        )
    check_type(r, int, "r")
    r = int(check_range(r, "r", 4, 200))
    cum = spending_function(t, a / s, kind=spending, rho=rho)
    if final:
        cum[-1] = a / s
    upper, lower = _bounds_from_spending(cum, t, s, r)
    bounds = _finish(f"lan_demets_{spending}", a, s, t, upper, lower, r)
    zarr = np.asarray(zs)
    hit_up = zarr >= upper
    hit_low = zarr <= lower
    hits = np.flatnonzero(hit_up | hit_low)
    first = int(hits[0]) + 1 if hits.size else None
    direction: Literal["upper", "lower"] | None = None
    if first is not None:
        direction = "upper" if hit_up[first - 1] else "lower"
    return InterimDecision(
        look=int(info.size),
        z=tuple(zs),
        boundaries=bounds,
        crossed=bool(hit_up[-1] or hit_low[-1]),
        first_crossing=first,
        direction=direction,
        stop_for_efficacy=first is not None,
        final=final,
        alpha_spent=float(bounds.cumulative_alpha[-1]),
    )
