"""Permutation tests with very many permutations, in blocks on ``run_tasks``.

:func:`permutation_test` refits its random permutations in one process. With
10^6 or more permutations (a p-value near 10^-4 needs about that many for a
Monte Carlo SE of 10 %), :func:`blocked_permutation_test` splits them into blocks,
one task of :func:`plptms.batch.run_tasks` each: block ``j`` draws its sign flips
(no moderators) or row orders (meta-regression) from its own stream,
``SeedSequence(seed).spawn(n_blocks)[j]``, refits them with the same vectorised
code as :func:`permutation_test` and returns only its counts (permutations
refitted, refits that succeeded, and hits per coefficient and for the omnibus
test). The p-values come from the pooled counts, the observed data counted once as
the first permutation, as in :func:`permutation_test` and metafor's ``permutest``
:footcite:`viechtbauer2010`.

The counts are integers, so a seeded test is bit-identical on any back-end and
worker count; it depends on ``seed`` and ``block_size`` (which fix the streams).
A block's counts are flat records, so a checkpoint is a Parquet table and a
killed run resumes.

References
----------
.. footbibliography::
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final

import numpy as np

from ..batch import run_tasks
from ..utils import check_option, check_range, check_type
from ._constants import PERMUTATION_COMPTOL
from ._fit import MetaRegressionResult, MetaResult
from ._permutation import (
    _CHUNK,
    PermutationResult,
    Statistic,
    _data,
    _design,
    _fit_batch,
    _n_row_perms,
    _permutation_result,
    _row_classes,
)

if TYPE_CHECKING:
    import os

    from numpy.typing import NDArray

__all__ = ["PERMUTATION_BLOCK", "blocked_permutation_test"]

#: Permutations per block (one task), 2^16: a numerical setting, not a literature
#: value. Measured on the shared 2-core development machine (k = 8, sign flips):
#: about 0.05 s a block for FE and DL, 0.3 s for PM, 0.8 s for REML (2 s for a
#: REML meta-regression, row orders); 10^6 permutations make 16 blocks.
PERMUTATION_BLOCK: Final[int] = 2**16

#: Most permutations of one test (10^10 at 2^16 a block is about 1.5 x 10^5 tasks,
#: batched by run_tasks to at most 10^4 Dask tasks).
_MAX_PERM = 10**10


@dataclass(frozen=True)
class _Block:
    """What one task refits: the data, the model and the observed statistics."""

    effects: tuple[float, ...]
    variances: tuple[float, ...]
    design: tuple[tuple[float, ...], ...]
    intercept: bool
    regression: bool
    method: str
    test: str
    statistic: str
    reference: tuple[float, ...]  # |coefficient statistic| of the observed data
    reference_qm: float
    size: int  # permutations to draw


def _hits(
    block: _Block,
    beta: NDArray[np.float64],
    stat: NDArray[np.float64],
    qm: NDArray[np.float64],
) -> tuple[NDArray[np.int64], int, int]:
    """Count, over successful refits, the statistics at least as extreme."""
    cmp = stat if block.statistic == "test" else beta
    ok = ~np.isnan(qm)
    ref = np.asarray(block.reference)
    hits = np.sum(np.abs(cmp[ok]) >= ref - PERMUTATION_COMPTOL, axis=0)
    hits_qm = int(np.sum(qm[ok] >= block.reference_qm - PERMUTATION_COMPTOL))
    return np.asarray(hits, dtype=np.int64), hits_qm, int(ok.sum())


def count_block(block: _Block, rng: np.random.Generator) -> dict[str, int]:
    """Refit ``block.size`` random permutations drawn from ``rng``; count the hits.

    Parameters
    ----------
    block : _Block
        The data, model and observed statistics.
    rng : numpy.random.Generator
        The block's stream: sign patterns ``1 - 2 * rng.integers(0, 2, (m, k))``,
        or row orders ``rng.permuted(..., axis=1)``, in chunks of 2048.

    Returns
    -------
    counts : dict of str to int
        ``n`` (refitted), ``n_ok`` (refits that succeeded), ``hits_qm`` and
        ``hits_<j>`` for each coefficient ``j``.
    """
    y = np.asarray(block.effects, dtype=float)
    v = np.asarray(block.variances, dtype=float)
    d = _design(np.asarray(block.design, dtype=float), block.intercept)
    k, p = d.x.shape
    hits = np.zeros(p, dtype=np.int64)
    hits_qm = 0
    n_ok = 0
    for start in range(0, block.size, _CHUNK):
        m = min(_CHUNK, block.size - start)
        if block.regression:
            orders = rng.permuted(np.tile(np.arange(k, dtype=np.intp), (m, 1)), axis=1)
            yb, vb = y[orders], v[orders]
        else:
            signs = 1.0 - 2.0 * rng.integers(0, 2, size=(m, k))
            yb, vb = signs * y, np.broadcast_to(v, (m, k))
        fit = _fit_batch(yb, vb, d, block.method, block.test)
        h, h_qm, ok = _hits(block, fit.beta, fit.stat, fit.qm)
        hits += h
        hits_qm += h_qm
        n_ok += ok
    out = {"n": block.size, "n_ok": n_ok, "hits_qm": hits_qm}
    out.update({f"hits_{j}": int(h) for j, h in enumerate(hits)})
    return out


def blocked_permutation_test(
    result: MetaResult | MetaRegressionResult,
    *,
    n_perm: int,
    seed: int | None = None,
    block_size: int = PERMUTATION_BLOCK,
    statistic: Statistic = "test",
    backend: str = "auto",
    n_workers: int | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> PermutationResult:
    """Random permutation test with very many permutations, in seeded blocks.

    The same test as :func:`permutation_test` with ``exact=False`` (sign flips
    without moderators, row permutations of the model matrix with them, every
    refit with the model's tau^2 estimator and test), with the ``n_perm - 1``
    random permutations split into blocks of ``block_size``, each one task of
    :func:`plptms.batch.run_tasks` with its own spawned stream.

    Parameters
    ----------
    result : MetaResult | MetaRegressionResult
        The fitted model.
    n_perm : int
        Permutations, the observed data included (counted once, as the first), in
        [2, 10^10].
    seed : int | None
        Seed of the blocks' streams, >= 0 (default: fresh entropy, recorded in the
        result). The p-values depend on ``seed`` and ``block_size``, never on the
        back-end or the number of workers.
    block_size : int
        Random permutations per block (one task), >= 1; default 2^16.
    statistic : {"test", "coef"}
        Compare coefficients by their z/t statistics or by their estimates.
    backend : str
        ``"serial"``, ``"processes"``, ``"dask"``, ``"auto"`` or a Dask scheduler
        address (see :func:`plptms.batch.run_tasks`).
    n_workers : int | None
        Local worker processes; ``None`` for one per CPU.
    checkpoint : str | os.PathLike | None
        Directory for the blocks' counts (Parquet), to resume a killed run.
    progress : bool
        Show a progress bar (and, with Dask, the dashboard address).

    Returns
    -------
    result : PermutationResult
        ``exact=False``, ``n_perm`` the permutations refitted (observed included),
        ``seed`` the seed used; p-values are pooled hits / pooled successful
        refits. ``permuted_statistics`` is not kept.

    Raises
    ------
    TypeError
        If an argument has the wrong type.
    ValueError
        If ``n_perm``, ``seed``, ``block_size`` or ``statistic`` is out of range,
        or an argument of :func:`plptms.batch.run_tasks` is invalid.

    Notes
    -----
    The Monte Carlo SE of a p-value is :meth:`PermutationResult.mc_se`,
    ``sqrt(p (1 - p) / n)``. When the distinct permutations are few (``2^k``
    sign patterns), the exact test of :func:`permutation_test` is better.
    """
    check_type(result, (MetaResult, MetaRegressionResult), "result")
    check_type(n_perm, int, "n_perm")
    check_range(n_perm, "n_perm", 2, _MAX_PERM)
    if seed is not None:
        check_type(seed, int, "seed")
        check_range(seed, "seed", 0, None)
    check_type(block_size, int, "block_size")
    check_range(block_size, "block_size", 1, None)
    check_option(statistic, "statistic", ("test", "coef"))

    y, v, d, names = _data(result)
    regression = isinstance(result, MetaRegressionResult)
    intercept = result.intercept if isinstance(result, MetaRegressionResult) else True
    n_distinct = _n_row_perms(_row_classes(d.x)) if regression else 2**y.size
    used_seed = int(np.random.default_rng().integers(2**63)) if seed is None else seed

    obs = _fit_batch(y[None, :], v[None, :], d, result.method, result.test)
    ref = np.abs(obs.stat[0] if statistic == "test" else obs.beta[0])
    template = _Block(
        effects=tuple(float(a) for a in y),
        variances=tuple(float(a) for a in v),
        design=tuple(tuple(float(a) for a in row) for row in d.x),
        intercept=intercept,
        regression=regression,
        method=result.method,
        test=result.test,
        statistic=statistic,
        reference=tuple(float(a) for a in ref),
        reference_qm=float(obs.qm[0]),
        size=block_size,
    )
    # the observed data is the first permutation: counted here, not drawn
    first_hits, first_qm, first_ok = _hits(template, obs.beta, obs.stat, obs.qm)
    n_random = n_perm - 1
    n_blocks = math.ceil(n_random / block_size)
    blocks = [template] * (n_blocks - 1)
    blocks.append(replace(template, size=n_random - block_size * (n_blocks - 1)))
    counts = run_tasks(
        count_block,
        blocks,
        seed=used_seed,
        backend=backend,
        checkpoint=checkpoint,
        progress=progress,
        n_workers=n_workers,
    )
    p = d.x.shape[1]
    n_done = 1 + sum(c["n"] for c in counts)
    n_ok = first_ok + sum(c["n_ok"] for c in counts)
    hits = [int(first_hits[j]) + sum(c[f"hits_{j}"] for c in counts) for j in range(p)]
    hits_qm = first_qm + sum(c["hits_qm"] for c in counts)
    return _permutation_result(
        result,
        names,
        d,
        method=result.method,
        test=result.test,
        regression=regression,
        statistic=statistic,
        exact=False,
        n_done=n_done,
        n_distinct=n_distinct,
        n_ok=n_ok,
        seed=used_seed,
        hits=hits,
        hits_qm=hits_qm,
        ref_qm=float(obs.qm[0]),
        kept=None,
    )
