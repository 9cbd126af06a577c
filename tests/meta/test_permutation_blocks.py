"""Blocked permutation tests (many permutations on run_tasks).

Oracles: the exact p-value of the 2^8 sign flips of Follmann & Proschan's data
(k = 8), enumerated here with the FE and DL formulas written out by hand, and
metafor's published exact p-value (10/256, DL, statistic "coef"); metafor's exact
row-permutation p-value of dat.bcg trials 1-8 on latitude; and, for the block
streams, the sign patterns drawn here directly from SeedSequence.spawn.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plptms.meta import meta_analysis, meta_regression
from plptms.meta._constants import PERMUTATION_COMPTOL
from plptms.meta._permutation_blocks import blocked_permutation_test

from .conftest import _load

#: A random p-value must lie within 4.5 Monte Carlo SEs of the exact one (a
#: two-sided normal tail of 7e-6; the seeds are fixed, so the test is deterministic).
MC_SIGMAS = 4.5
#: Hand-computed z statistics vs the batched refits (closed forms: rounding only).
RTOL_Z = 1e-9


@pytest.fixture(scope="module")
def ref() -> dict[str, Any]:
    """metafor 3.8-1 permutest() values (tests/data/meta_metafor_permutest.R)."""
    return _load("meta_metafor_permutest.json")


def _z_fe(y: np.ndarray, v: np.ndarray) -> float:
    w = 1.0 / v
    return float(np.sum(w * y) / math.sqrt(np.sum(w)))


def _z_dl(y: np.ndarray, v: np.ndarray) -> float:
    """DerSimonian-Laird by hand: tau^2 = max(0, (Q - (k-1)) / (S1 - S2 / S1))."""
    w = 1.0 / v
    mu = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - mu) ** 2)
    tau2 = max(0.0, (q - (y.size - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    ws = 1.0 / (v + tau2)
    return float(np.sum(ws * y) / math.sqrt(np.sum(ws)))


def _exact_p(y: np.ndarray, v: np.ndarray, z: Any) -> float:
    """Exact sign-flip p-value: all 2^k patterns enumerated."""
    obs = abs(z(y, v))
    stats = [abs(z(y * np.array(s), v)) for s in itertools.product([1, -1], repeat=8)]
    return sum(s >= obs - PERMUTATION_COMPTOL for s in stats) / len(stats)


@pytest.mark.parametrize(("method", "z"), [("FE", _z_fe), ("DL", _z_dl)])
def test_pvalue_equals_exact_enumeration_within_mcse(
    method: str, z: Any, ref: dict[str, Any]
) -> None:
    y, v = np.array(ref["follmann"]["yi"]), np.array(ref["follmann"]["vi"])
    exact = _exact_p(y, v, z)
    assert 0.01 < exact < 0.5  # a p-value the test can miss
    res = meta_analysis(y, v, method=method)  # type: ignore[arg-type]
    assert math.isclose(res.statistic, z(y, v), rel_tol=RTOL_Z)
    n = 200_001
    perm = blocked_permutation_test(
        res, n_perm=n, seed=7, block_size=2**15, backend="serial"
    )
    assert (perm.n_perm, perm.n_failed, perm.exact, perm.seed) == (n, 0, False, 7)
    assert perm.scheme == "sign_flip"
    se = math.sqrt(exact * (1 - exact) / n)
    assert abs(perm.pvalue - exact) <= MC_SIGMAS * se
    assert math.isclose(perm.mc_se(perm.pvalue), math.sqrt(
        perm.pvalue * (1 - perm.pvalue) / n), rel_tol=1e-12)  # fmt: skip


def test_coef_statistic_matches_metafor_published_exact(ref: dict[str, Any]) -> None:
    """metafor's test suite: DL, stat = "coef", exact p = 10/256."""
    f = ref["follmann"]
    res = meta_analysis(f["yi"], f["vi"], method="DL")
    n = 200_001
    perm = blocked_permutation_test(
        res, n_perm=n, seed=3, statistic="coef", backend="serial"
    )
    exact = 10 / 256
    assert abs(perm.pvalue - exact) <= MC_SIGMAS * math.sqrt(exact * (1 - exact) / n)


def test_row_permutation_matches_metafor_exact(ref: dict[str, Any]) -> None:
    """dat.bcg trials 1-8 on latitude, DL: metafor's exact p over 10080 orders."""
    d, exp = ref["bcg8"], ref["bcg8_ablat"]["DL_z"]
    res = meta_regression(d["yi"], d["vi"], d["ablat"], names=["ablat"], method="DL")
    n = 40_001
    perm = blocked_permutation_test(
        res, n_perm=n, seed=5, block_size=8192, backend="serial"
    )
    assert perm.scheme == "row_permutation"
    assert perm.n_distinct == 10080
    for got, want in [
        (perm.coefficient("ablat").pvalue, exp["pval"][1]),
        (perm.coefficient("intercept").pvalue, exp["pval"][0]),
        (perm.qm_pvalue, exp["QMp"]),
    ]:
        assert abs(got - want) <= MC_SIGMAS * math.sqrt(want * (1 - want) / n)


def test_blocks_draw_from_spawned_streams() -> None:
    """Block j's sign patterns are those of SeedSequence(seed).spawn(n_blocks)[j]."""
    y = np.array([0.4, -0.1, 0.3, 0.2, 0.05, 0.6])
    v = np.array([0.05, 0.1, 0.04, 0.2, 0.08, 0.3])
    seed, block, n_blocks = 12, 5, 3
    obs = abs(_z_fe(y, v))
    hits = 1  # the observed data, counted once
    for child in np.random.SeedSequence(seed).spawn(n_blocks):
        signs = 1.0 - 2.0 * np.random.default_rng(child).integers(0, 2, (block, 6))
        hits += sum(abs(_z_fe(s * y, v)) >= obs - PERMUTATION_COMPTOL for s in signs)
    n = 1 + block * n_blocks
    perm = blocked_permutation_test(
        meta_analysis(y, v, method="FE"),
        n_perm=n,
        seed=seed,
        block_size=block,
        backend="serial",
    )
    assert perm.n_perm == n
    assert perm.pvalue == hits / n  # integer counts: exact


def test_checkpoint_resumes_to_the_same_result(tmp_path: Path) -> None:
    res = meta_analysis([0.3, 0.1, 0.5, -0.2, 0.4], [0.04, 0.05, 0.1, 0.08, 0.06])
    kw: dict[str, Any] = {"n_perm": 5001, "seed": 1, "block_size": 1000}
    ckpt = tmp_path / "c"
    first = blocked_permutation_test(res, checkpoint=ckpt, backend="serial", **kw)
    assert len(list(ckpt.glob("batch-*.parquet"))) == 5
    (ckpt / "batch-000003.parquet").unlink()  # as if killed before block 3 ended
    again = blocked_permutation_test(res, checkpoint=ckpt, backend="serial", **kw)
    assert again == first
    assert blocked_permutation_test(res, backend="serial", **kw) == first


def test_bit_identical_serial_and_dask_two_workers(ref: dict[str, Any]) -> None:
    pytest.importorskip("distributed")
    d = ref["bcg8"]
    reg = meta_regression(d["yi"], d["vi"], d["ablat"], names=["ablat"], method="DL")
    kw: dict[str, Any] = {"n_perm": 20_001, "seed": 9, "block_size": 4096}
    serial = blocked_permutation_test(reg, backend="serial", **kw)
    dask = blocked_permutation_test(reg, backend="dask", n_workers=2, **kw)
    assert dask == serial  # every field, p-values as floats: bit for bit


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_perm": 1}, "n_perm"),
        ({"n_perm": 1.5e6}, "n_perm"),
        ({"seed": -1}, "seed"),
        ({"block_size": 0}, "block_size"),
        ({"statistic": "z"}, "statistic"),
        ({"backend": "dsak"}, "backend"),
    ],
)
def test_bad_arguments_name_the_field_and_store_nothing(
    kwargs: dict[str, Any], field: str, tmp_path: Path
) -> None:
    res = meta_analysis([0.3, 0.1, 0.5], [0.04, 0.05, 0.1])
    args: dict[str, Any] = {"n_perm": 100, "seed": 0, **kwargs}
    error = TypeError if isinstance(kwargs.get("n_perm"), float) else ValueError
    with pytest.raises(error, match=field):
        blocked_permutation_test(res, checkpoint=tmp_path / "c", **args)
    assert not (tmp_path / "c").exists()
    with pytest.raises(TypeError, match="result"):
        blocked_permutation_test("x", n_perm=10)  # type: ignore[arg-type]
