"""Permutation tests for meta-analysis and meta-regression (metafor's ``permutest``).

A model without moderators is tested by flipping the signs of the effects
:footcite:`follmann1999`; a meta-regression by permuting the rows of the model
matrix against the effects :footcite:`higgins2004`. Each permuted data set is refitted
with the model's tau^2 estimator and test, and a p-value is the proportion of
permutations, the observed one included, whose statistic is at least as extreme as
the observed statistic, as metafor's ``permutest`` computes it
:footcite:`viechtbauer2010,viechtbauer2015`.

The refits are vectorised across permutations: weighted least squares for a batch of
data sets at once, the DerSimonian-Laird estimator in closed form, the REML
estimator by Fisher scoring and the Paule-Mandel estimator by a safeguarded Newton
search, both iterated on the whole batch until each data set has converged. The
trace terms of the scoring step are computed from p x p matrices, never from the
k x k matrix P.

References
----------
.. footbibliography::
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..utils import check_option, check_range, check_type
from ._constants import PERMUTATION_COMPTOL, PERMUTATION_DEFAULT_N
from ._fit import _MAXITER, _TAU2_TOL, MetaRegressionResult, MetaResult

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from numpy.typing import NDArray

__all__ = ["PermutationCoefficient", "PermutationResult", "permutation_test"]

logger = logging.getLogger(__name__)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
# Numerical settings (not literature values): permutations refitted per batch, and
# the largest number of permutations an exact test may enumerate.
_CHUNK = 2048
_MAX_EXACT = 2**20
_EPS = float(np.finfo(float).eps)

Scheme = Literal["sign_flip", "row_permutation"]
Statistic = Literal["test", "coef"]


class PermutationCoefficient(BaseModel):
    """Permutation test of one model coefficient.

    Parameters
    ----------
    name : str
        ``"intercept"`` or the moderator's name.
    estimate : float
        Coefficient of the fitted model, in effect units (per moderator unit).
    statistic : float
        Its z (or Knapp-Hartung t) statistic.
    pvalue_model : float
        Two-sided p-value of the model (normal or t distribution).
    pvalue : float
        Two-sided permutation p-value.
    """

    model_config = _FROZEN

    name: str
    estimate: float
    statistic: float
    pvalue_model: float
    pvalue: float


class PermutationResult(BaseModel):
    """Result of :func:`permutation_test`.

    Parameters
    ----------
    method : {"FE", "DL", "REML", "PM"}
        tau^2 estimator used for every refit.
    test : {"z", "knha"}
        Inference of the model (z, or Knapp-Hartung t and F).
    scheme : {"sign_flip", "row_permutation"}
        Signs of the effects flipped (no moderators) or rows of the model matrix
        permuted (meta-regression).
    statistic_type : {"test", "coef"}
        Whether the coefficients were compared by their test statistics or by their
        estimates (metafor's ``control=list(stat=...)``).
    exact : bool
        Whether every distinct permutation was evaluated.
    n_perm : int
        Permutations evaluated, the observed data included.
    n_distinct : int
        Distinct permutations: ``2^k`` sign patterns, or ``k! / prod(m_j!)`` row
        orders when rows ``j`` of the model matrix repeat ``m_j`` times.
    n_failed : int
        Permutations whose refit failed (left out of the p-values, as in metafor).
    seed : int | None
        Seed of the random permutations (``None`` for an exact test); passing it
        again reproduces the test.
    coefficients : tuple of PermutationCoefficient
        One per coefficient, intercept first.
    qm : float
        Omnibus statistic of the model: Wald chi^2 (``"z"``) or F (``"knha"``) of
        the moderators, or of the intercept in a model without moderators.
    qm_df : int
        Its (numerator) degrees of freedom.
    qm_pvalue_model, qm_pvalue : float
        Its p-value from the model and from the permutations.
    permuted_statistics : tuple of tuple of float | None
        With ``keep_distribution=True``: one row per permutation (the observed data
        first for a random test), the z/t statistic of each coefficient then QM.
    """

    model_config = _FROZEN

    method: Literal["FE", "DL", "REML", "PM"]
    test: Literal["z", "knha"]
    scheme: Scheme
    statistic_type: Statistic
    exact: bool
    n_perm: int
    n_distinct: int
    n_failed: int
    seed: int | None
    coefficients: tuple[PermutationCoefficient, ...]
    qm: float
    qm_df: int
    qm_pvalue_model: float
    qm_pvalue: float
    permuted_statistics: tuple[tuple[float, ...], ...] | None = None

    def coefficient(self, name: str) -> PermutationCoefficient:
        """Return the test of one coefficient by name.

        Parameters
        ----------
        name : str
            ``"intercept"`` or a moderator name.

        Returns
        -------
        coefficient : PermutationCoefficient
            Its permutation test.

        Raises
        ------
        ValueError
            If the name is unknown.
        """
        names = [c.name for c in self.coefficients]
        check_option(name, "name", names)
        return self.coefficients[names.index(name)]

    @property
    def pvalue(self) -> float:
        """Permutation p-value of the first coefficient (the pooled effect)."""
        return self.coefficients[0].pvalue

    def mc_se(self, pvalue: float) -> float:
        """Monte Carlo standard error of a permutation p-value.

        Parameters
        ----------
        pvalue : float
            A p-value of this test.

        Returns
        -------
        se : float
            ``sqrt(p (1 - p) / n_perm)`` for a random test, 0 for an exact test.
        """
        if self.exact:
            return 0.0
        n = self.n_perm - self.n_failed
        return math.sqrt(pvalue * (1.0 - pvalue) / n) if n > 0 else math.nan


# --------------------------------------------------------------------------------------
# Batched fits: y and v have shape (B, k), the model matrix x (k, p) is shared.


class _BatchFit(NamedTuple):
    beta: NDArray[np.float64]  # (B, p)
    stat: NDArray[np.float64]  # (B, p)
    qm: NDArray[np.float64]  # (B,)
    tau2: NDArray[np.float64]  # (B,)


class _Design(NamedTuple):
    x: NDArray[np.float64]  # (k, p)
    xx: NDArray[np.float64]  # (k, p * p): products x_i x_j, to build X'WX
    qm_idx: NDArray[np.intp]  # coefficients of the omnibus test


def _design(x: NDArray[np.float64], intercept: bool) -> _Design:
    k, p = x.shape
    xx = (x[:, :, None] * x[:, None, :]).reshape(k, p * p)
    qm_idx = np.arange(1 if intercept and p > 1 else 0, p)
    return _Design(x, xx, qm_idx)


def _gram(w: NDArray[np.float64], d: _Design) -> NDArray[np.float64]:
    p = d.x.shape[1]
    return np.asarray((w @ d.xx).reshape(-1, p, p), dtype=np.float64)


def _wls(
    y: NDArray[np.float64], w: NDArray[np.float64], d: _Design
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]
]:
    """Return beta (B, p), (X'WX)^-1 (B, p, p), residuals (B, k) and RSS (B,)."""
    a_inv = np.asarray(np.linalg.inv(_gram(w, d)), dtype=np.float64)
    beta = np.einsum("bij,bj->bi", a_inv, (w * y) @ d.x)
    resid = y - beta @ d.x.T
    rss = np.einsum("bk,bk->b", w, resid * resid)
    return beta, a_inv, resid, rss


def _trace_prod(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """tr(A B) for batches of symmetric matrices."""
    return np.asarray(np.einsum("bij,bij->b", a, b), dtype=np.float64)


def _tau2_dl(
    y: NDArray[np.float64], v: NDArray[np.float64], d: _Design
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Generalised DerSimonian-Laird tau^2 and the Q statistic at tau^2 = 0."""
    k, p = d.x.shape
    w = 1.0 / v
    _, a_inv, _, q = _wls(y, w, d)
    tr_p = w.sum(axis=1) - _trace_prod(a_inv, _gram(w * w, d))
    return np.maximum(0.0, (q - (k - p)) / tr_p), q


def _converged(
    step: NDArray[np.float64], tau2: NDArray[np.float64]
) -> NDArray[np.bool_]:
    return np.asarray(np.abs(step) <= np.maximum(_TAU2_TOL, 8 * _EPS * tau2))


def _reml_loglik(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    d: _Design,
    tau2: NDArray[np.float64],
) -> NDArray[np.float64]:
    w = 1.0 / (v + tau2[:, None])
    _, _, _, rss = _wls(y, w, d)
    _, logdet = np.linalg.slogdet(_gram(w, d))
    return np.asarray(-0.5 * (np.log(v + tau2[:, None]).sum(axis=1) + logdet + rss))


def _tau2_reml(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    d: _Design,
    start: NDArray[np.float64],
) -> NDArray[np.float64]:
    """REML tau^2 by Fisher scoring with step halving, as ``_fit._tau2_reml``.

    ``tr(P)`` and ``tr(P P)`` come from p x p matrices:
    ``tr(P) = sum(w) - tr(A^-1 X'W^2X)`` and
    ``tr(PP) = sum(w^2) - 2 tr(A^-1 X'W^3X) + tr((A^-1 X'W^2X)^2)``, ``A = X'WX``.
    Data sets that do not converge get NaN.
    """
    tau2 = start.copy()
    active = np.arange(tau2.size)
    for _ in range(_MAXITER):
        if active.size == 0:
            break
        ya, va, ta = y[active], v[active], tau2[active]
        w = 1.0 / (va + ta[:, None])
        _, a_inv, resid, _ = _wls(ya, w, d)
        py = w * resid
        w2 = w * w
        m2 = a_inv @ _gram(w2, d)
        tr_p = w.sum(axis=1) - np.trace(m2, axis1=1, axis2=2)
        tr_pp = (
            w2.sum(axis=1)
            - 2.0 * _trace_prod(a_inv, _gram(w2 * w, d))
            + np.einsum("bij,bji->b", m2, m2)
        )
        adj = (np.einsum("bk,bk->b", py, py) - tr_p) / tr_pp
        # Step halving while the step would make tau^2 negative; at tau^2 = 0 a
        # negative step halves to (negative) zero, as in the scalar loop.
        adj = np.where((ta == 0.0) & (adj < 0.0), 0.0, adj)
        neg = ta + adj < 0.0
        while np.any(neg):
            adj[neg] /= 2.0
            neg = ta + adj < 0.0
        new = ta + adj
        tau2[active] = new
        active = active[~_converged(adj, new)]
    tau2[active] = np.nan
    # As _fit._tau2_reml: prefer tau^2 = 0 where the restricted likelihood is larger.
    pos = np.flatnonzero(tau2 > 0.0)
    if pos.size:
        ll_t = _reml_loglik(y[pos], v[pos], d, tau2[pos])
        ll_0 = _reml_loglik(y[pos], v[pos], d, np.zeros(pos.size))
        tau2[pos[ll_0 > ll_t]] = 0.0
    return tau2


def _tau2_pm(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    d: _Design,
    dl: NDArray[np.float64],
    q0: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Paule-Mandel tau^2: root of Q_gen(tau^2) = k - p, safeguarded Newton.

    ``dQ/dtau^2 = -||P y||^2``; a Newton step that leaves the bracket is replaced by
    bisection. Data sets with ``Q_gen(0) <= k - p`` get 0.
    """
    k, p = d.x.shape
    target = float(k - p)
    tau2 = np.zeros(q0.size)
    idx = np.flatnonzero(q0 > target)
    if idx.size == 0:
        return tau2
    ya, va = y[idx], v[idx]
    lo = np.zeros(idx.size)
    hi = np.maximum(1.0, np.maximum(10.0 * dl[idx], 10.0 * ya.var(axis=1)))
    for _ in range(200):
        _, _, _, q_hi = _wls(ya, 1.0 / (va + hi[:, None]), d)
        up = q_hi >= target
        if not np.any(up):
            break
        hi[up] *= 2.0
    t = np.clip(dl[idx], lo, hi)
    t = np.where((t <= lo) | (t >= hi), 0.5 * (lo + hi), t)
    active = np.arange(idx.size)
    for _ in range(_MAXITER):
        if active.size == 0:
            break
        ta = t[active]
        w = 1.0 / (va[active] + ta[:, None])
        _, _, resid, q = _wls(ya[active], w, d)
        py = w * resid
        f = q - target
        lo_a = np.where(f > 0.0, ta, lo[active])
        hi_a = np.where(f < 0.0, ta, hi[active])
        lo[active], hi[active] = lo_a, hi_a
        with np.errstate(divide="ignore", invalid="ignore"):
            new = ta + f / np.einsum("bk,bk->b", py, py)
        bad = ~np.isfinite(new) | (new <= lo_a) | (new >= hi_a)
        new = np.where(bad, 0.5 * (lo_a + hi_a), new)
        t[active] = new
        done = (f == 0.0) | _converged(new - ta, new) | _converged(hi_a - lo_a, new)
        active = active[~done]
    t[active] = np.nan
    tau2[idx] = t
    return tau2


def _wald(b: NDArray[np.float64], vb: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wald statistics ``b' V^-1 b`` for a batch; NaN where V is singular."""
    if b.shape[1] == 1:
        return np.asarray(b[:, 0] ** 2 / vb[:, 0, 0], dtype=np.float64)
    try:
        sol = np.linalg.solve(vb, b[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # a singular V (e.g. zero residuals with knha)
        sol = np.full_like(b, np.nan)
        for i in range(b.shape[0]):
            try:
                sol[i] = np.linalg.solve(vb[i], b[i])
            except np.linalg.LinAlgError:
                continue
    return np.asarray(np.einsum("bi,bi->b", b, sol), dtype=np.float64)


def _fit_batch(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    d: _Design,
    method: str,
    test: str,
) -> _BatchFit:
    k, p = d.x.shape
    n = y.shape[0]
    if method == "FE" or k <= p:
        tau2 = np.zeros(n)
    else:
        dl, q0 = _tau2_dl(y, v, d)
        if method == "DL":
            tau2 = dl
        elif method == "PM":
            tau2 = _tau2_pm(y, v, d, dl, q0)
        else:
            tau2 = _tau2_reml(y, v, d, dl)
    ok = np.isfinite(tau2)
    t = np.where(ok, tau2, 0.0)
    beta, vb, _, rss = _wls(y, 1.0 / (v + t[:, None]), d)
    if test == "knha":
        vb = vb * (rss / (k - p))[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / np.sqrt(np.diagonal(vb, axis1=1, axis2=2))
        idx = d.qm_idx
        b_m = beta[:, idx]
        v_m = vb[:, idx[:, None], idx[None, :]]
        qm = _wald(b_m, v_m)
    if test == "knha":
        qm = qm / idx.size
    beta[~ok] = np.nan
    stat[~ok] = np.nan
    qm[~ok] = np.nan
    return _BatchFit(beta, stat, qm, tau2)


# --------------------------------------------------------------------------------------
# Permutations


def _sign_chunks(
    k: int, exact: bool, n_perm: int, rng: np.random.Generator | None
) -> Iterator[NDArray[np.float64]]:
    """Sign patterns (n, k): all 2^k, or the identity then n_perm - 1 random ones."""
    if exact:
        bits = np.arange(k, dtype=np.int64)
        total = 2**k
        for start in range(0, total, _CHUNK):
            codes = np.arange(start, min(total, start + _CHUNK), dtype=np.int64)
            yield np.asarray(1.0 - 2.0 * ((codes[:, None] >> bits) & 1), dtype=float)
        return
    assert rng is not None
    first = True
    for start in range(0, n_perm, _CHUNK):
        m = min(n_perm, start + _CHUNK) - start
        signs = np.asarray(1.0 - 2.0 * rng.integers(0, 2, size=(m, k)), dtype=float)
        if first:
            signs[0] = 1.0
            first = False
        yield signs


def _row_classes(x: NDArray[np.float64]) -> NDArray[np.intp]:
    """Label each row of x; equal rows share a label."""
    _, labels = np.unique(x, axis=0, return_inverse=True)
    return np.asarray(labels, dtype=np.intp).ravel()


def _n_row_perms(labels: NDArray[np.intp]) -> int:
    n = math.factorial(labels.size)
    for m in Counter(labels.tolist()).values():
        n //= math.factorial(m)
    return n


def _multiset_perms(labels: NDArray[np.intp]) -> Iterator[list[int]]:
    """Every distinct ordering of ``labels`` (lexicographic order)."""
    a = sorted(labels.tolist())
    n = len(a)
    while True:
        yield list(a)
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            return
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = reversed(a[i + 1 :])


def _order_chunks(
    labels: NDArray[np.intp], exact: bool, n_perm: int, rng: np.random.Generator | None
) -> Iterator[NDArray[np.intp]]:
    """Orders ``s`` (n, k): ``(y[s], v[s])`` with the fixed model matrix.

    Refitting the data ``(y[s], v[s])`` with the fixed model matrix is refitting
    the data with the rows of the model matrix permuted.
    An arrangement ``a`` of the row labels (study ``i`` gets a model-matrix row of
    class ``a[i]``) is realised by a permutation ``pi`` with ``labels[pi] = a``;
    refitting ``(y_i, v_i, x_pi(i))`` is refitting ``(y[pi^-1], v[pi^-1], x)``.
    """
    k = labels.size
    if exact:
        by_class = np.argsort(labels, kind="stable")
        gen = _multiset_perms(labels)
        while True:
            block = [a for _, a in zip(range(_CHUNK), gen, strict=False)]
            if not block:
                return
            arr = np.array(block, dtype=np.intp)
            pi = np.empty_like(arr)
            np.put_along_axis(pi, np.argsort(arr, axis=1, kind="stable"), by_class, 1)
            yield np.argsort(pi, axis=1)
    assert rng is not None
    first = True
    for start in range(0, n_perm, _CHUNK):
        m = min(n_perm, start + _CHUNK) - start
        orders = rng.permuted(np.tile(np.arange(k, dtype=np.intp), (m, 1)), axis=1)
        if first:
            orders[0] = np.arange(k)
            first = False
        yield orders


def _batches(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    labels: NDArray[np.intp],
    regression: bool,
    exact: bool,
    n_perm: int,
    rng: np.random.Generator | None,
) -> Iterator[tuple[NDArray[np.float64], NDArray[np.float64]]]:
    """Permuted data sets ``(y, v)``, shape (n, k) each, one chunk at a time."""
    if regression:
        for orders in _order_chunks(labels, exact, n_perm, rng):
            yield y[orders], v[orders]
        return
    vb = np.broadcast_to(v, (_CHUNK, y.size))
    for signs in _sign_chunks(y.size, exact, n_perm, rng):
        yield signs * y, vb[: signs.shape[0]]


def _count(n: int) -> str:
    """Format a count for a message: digits, or a power of ten when very large."""
    return f"{n:,}" if n < 10**12 else f"about 10^{len(str(n)) - 1}"


def _data(
    result: MetaResult | MetaRegressionResult,
) -> tuple[NDArray[np.float64], NDArray[np.float64], _Design, tuple[str, ...]]:
    y = np.array(result.effects, dtype=float)
    v = np.array(result.variances, dtype=float)
    if isinstance(result, MetaRegressionResult):
        x = np.array(result.design, dtype=float)
        names = tuple(c.name for c in result.coefficients)
        return y, v, _design(x, result.intercept), names
    return y, v, _design(np.ones((y.size, 1)), True), ("intercept",)


def permutation_test(
    result: MetaResult | MetaRegressionResult,
    *,
    n_perm: int = PERMUTATION_DEFAULT_N,
    exact: bool | None = None,
    seed: int | None = None,
    statistic: Statistic = "test",
    keep_distribution: bool = False,
) -> PermutationResult:
    """Permutation test of a meta-analysis or meta-regression, like metafor's.

    Parameters
    ----------
    result : MetaResult | MetaRegressionResult
        The fitted model; every permuted data set is refitted with its tau^2
        estimator, test (z or Knapp-Hartung) and intercept.
    n_perm : int
        Number of permutations of a random test, the observed data included (at
        least 2; default 1000, as metafor's ``iter``).
    exact : bool | None
        ``True``: evaluate every distinct permutation; ``False``: ``n_perm`` random
        permutations; ``None`` (default): exact when there are no more distinct
        permutations than ``n_perm``, as metafor decides.
    seed : int | None
        Seed of the random permutations (default: fresh entropy, recorded in the
        result).
    statistic : {"test", "coef"}
        Compare the coefficients by their z/t statistics (default) or by their
        estimates, as metafor's ``control=list(stat=...)``.
    keep_distribution : bool
        Keep the permuted statistics in the result.

    Returns
    -------
    result : PermutationResult
        Two-sided permutation p-values of each coefficient and of the omnibus test.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If an option is invalid, or an exact test would need more than 2^20
        permutations.

    Notes
    -----
    Without moderators the signs of the effects are flipped :footcite:`follmann1999`
    (``2^k`` patterns); with moderators the rows of the model matrix are permuted
    :footcite:`higgins2004`. A p-value is ``#{|T_b| >= |T_obs|} / n``, over the
    ``n`` permutations whose refit succeeded, the observed data included (a random
    test uses the observed data as its first permutation, as metafor does), with
    metafor's tolerance ``sqrt(eps)`` on the comparison :footcite:`viechtbauer2010`.
    Random permutation p-values differ from metafor's by Monte Carlo error only
    (:meth:`PermutationResult.mc_se`); exact ones agree.

    References
    ----------
    .. footbibliography::
    """
    check_type(result, (MetaResult, MetaRegressionResult), "result")
    check_type(n_perm, int, "n_perm")
    check_range(n_perm, "n_perm", 2, None)
    if exact is not None:
        check_type(exact, bool, "exact")
    if seed is not None:
        check_type(seed, int, "seed")
        check_range(seed, "seed", 0, None)
    check_option(statistic, "statistic", ("test", "coef"))
    check_type(keep_distribution, bool, "keep_distribution")

    y, v, d, names = _data(result)
    k, p = d.x.shape
    method, test = result.method, result.test
    regression = isinstance(result, MetaRegressionResult)
    labels = _row_classes(d.x) if regression else np.zeros(0, dtype=np.intp)
    n_distinct = _n_row_perms(labels) if regression else 2**k
    use_exact = n_distinct <= n_perm if exact is None else exact
    if use_exact and n_distinct > _MAX_EXACT:
        raise ValueError(
            f"Invalid value for 'exact': got True with {_count(n_distinct)} distinct "
            f"permutations; allowed: an exact test of at most {_MAX_EXACT:,} "
            "permutations (use exact=False and n_perm)."
        )
    rng: np.random.Generator | None = None
    used_seed: int | None = None
    if not use_exact:
        used_seed = (
            int(np.random.default_rng().integers(2**63)) if seed is None else seed
        )
        rng = np.random.default_rng(used_seed)

    obs = _fit_batch(y[None, :], v[None, :], d, method, test)
    ref = np.abs(obs.stat[0] if statistic == "test" else obs.beta[0])
    ref_qm = float(obs.qm[0])
    hits = np.zeros(p)
    hits_qm = 0
    n_ok = 0
    n_done = 0
    kept: list[NDArray[np.float64]] = []
    for yb, vb in _batches(y, v, labels, regression, use_exact, n_perm, rng):
        fit = _fit_batch(yb, vb, d, method, test)
        n_done += yb.shape[0]
        cmp = fit.stat if statistic == "test" else fit.beta
        ok = ~np.isnan(fit.qm)
        n_ok += int(ok.sum())
        hits += np.sum(np.abs(cmp[ok]) >= ref - PERMUTATION_COMPTOL, axis=0)
        hits_qm += int(np.sum(fit.qm[ok] >= ref_qm - PERMUTATION_COMPTOL))
        if keep_distribution:
            kept.append(np.column_stack([fit.stat, fit.qm]))
    n_failed = n_done - n_ok
    if n_failed:
        logger.warning(
            "permutation_test: %d of %d refits did not converge; left out",
            n_failed,
            n_done,
        )
    return _permutation_result(
        result,
        names,
        d,
        method=method,
        test=test,
        regression=regression,
        statistic=statistic,
        exact=use_exact,
        n_done=n_done,
        n_distinct=n_distinct,
        n_ok=n_ok,
        seed=used_seed,
        hits=[int(h) for h in hits],
        hits_qm=int(hits_qm),
        ref_qm=ref_qm,
        kept=np.vstack(kept) if keep_distribution else None,
    )


def _permutation_result(
    result: MetaResult | MetaRegressionResult,
    names: Sequence[str],
    d: _Design,
    *,
    method: str,
    test: str,
    regression: bool,
    statistic: Statistic,
    exact: bool,
    n_done: int,
    n_distinct: int | None,
    n_ok: int,
    seed: int | None,
    hits: Sequence[int],
    hits_qm: int,
    ref_qm: float,
    kept: NDArray[np.float64] | None,
) -> PermutationResult:
    """Assemble a permutation test's result from its counts.

    The one place the p-values (hits over converged refits) and the model's own
    figures are put together, for :func:`permutation_test` and the blocked,
    batched :func:`plptms.meta.blocked_permutation_test`.
    """
    if isinstance(result, MetaRegressionResult):
        coefs = [
            (c.name, c.estimate, c.statistic, c.pvalue) for c in result.coefficients
        ]
        qm_model, qm_p_model = result.qm, result.qm_pvalue
    else:
        coefs = [(names[0], result.estimate, result.statistic, result.pvalue)]
        qm_model, qm_p_model = ref_qm, result.pvalue
    return PermutationResult(
        method=method,
        test=test,
        scheme="row_permutation" if regression else "sign_flip",
        statistic_type=statistic,
        exact=exact,
        n_perm=n_done,
        n_distinct=n_distinct,
        n_failed=n_done - n_ok,
        seed=seed,
        coefficients=tuple(
            PermutationCoefficient(
                name=nm,
                estimate=est,
                statistic=st,
                pvalue_model=pm,
                pvalue=min(1.0, h / n_ok) if n_ok else math.nan,
            )
            for (nm, est, st, pm), h in zip(coefs, hits, strict=True)
        ),
        qm=qm_model,
        qm_df=int(d.qm_idx.size),
        qm_pvalue_model=qm_p_model,
        qm_pvalue=hits_qm / n_ok if n_ok else math.nan,
        permuted_statistics=(
            None if kept is None else tuple(tuple(float(a) for a in r) for r in kept)
        ),
    )
