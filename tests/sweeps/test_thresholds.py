"""Threshold-method benchmark: summaries by hand, the seam, checkpoints, checks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from plptms.motor import SimulatedSubject, hunt_ml_pest, sample_subject_parameters
from plptms.sweeps._summary import summarise_threshold_records
from plptms.sweeps._thresholds import (
    HuntSpec,
    ThresholdBenchmarkConfig,
    threshold_method_benchmark,
)

#: Hand-computed summaries vs the code: rounding only.
RTOL = 1e-12

#: A fast ML-PEST (5 pulses) keeps the back-end tests at a fraction of a second.
FAST = HuntSpec(key="mlp", method="ml_pest", options={"max_pulses": 5, "min_pulses": 5})
FAST_RF = HuntSpec(key="rf", method="relative_frequency", options={"step_pct_mso": 5.0})


def _rec(truth: float, est: float | None, pulses: int, conv: bool) -> dict:  # type: ignore[type-arg]
    return {
        "true_threshold_pct_mso": truth,
        "a.estimate_pct_mso": est,
        "a.pulses_used": pulses,
        "a.converged": conv,
        "a.stop_reason": "x",
    }


def test_summary_against_hand_values() -> None:
    records = [
        _rec(50.0, 51.0, 10, True),  # error +1
        _rec(60.0, 58.0, 20, True),  # error -2
        _rec(40.0, 45.0, 30, False),  # provisional estimate: not an RMT, excluded
    ]
    (s,) = summarise_threshold_records(records, ["a"])
    assert (s.n_subjects, s.n_converged) == (3, 2)
    assert math.isclose(s.convergence_rate.value, 2 / 3, rel_tol=RTOL)
    assert math.isclose(s.convergence_rate.mcse, math.sqrt(2 / 27), rel_tol=RTOL)
    # errors (1, -2): mean -0.5, sd sqrt(4.5), MCSE sqrt(4.5) / sqrt(2) = 1.5
    assert math.isclose(s.bias_pct_mso.value, -0.5, rel_tol=RTOL)
    assert math.isclose(s.bias_pct_mso.mcse, 1.5, rel_tol=RTOL)
    # squared errors (1, 4): MSE 2.5, sd sqrt(4.5), MCSE(MSE) 1.5
    assert math.isclose(s.rmse_pct_mso.value, math.sqrt(2.5), rel_tol=RTOL)
    assert math.isclose(s.rmse_pct_mso.mcse, 1.5 / (2 * math.sqrt(2.5)), rel_tol=RTOL)
    # |errors| (1, 2): mean 1.5, sd sqrt(0.5), MCSE 0.5
    assert math.isclose(s.mae_pct_mso.value, 1.5, rel_tol=RTOL)
    assert math.isclose(s.mae_pct_mso.mcse, 0.5, rel_tol=RTOL)
    # pulses over all hunts (10, 20, 30): mean 20, sd 10
    assert math.isclose(s.pulses_used.value, 20.0, rel_tol=RTOL)
    assert math.isclose(s.pulses_used.mcse, 10 / math.sqrt(3), rel_tol=RTOL)


def test_summary_with_no_converged_hunt_is_nan() -> None:
    (s,) = summarise_threshold_records([_rec(50.0, None, 7, False)], ["a"])
    assert s.n_converged == 0
    assert s.convergence_rate.value == 0.0
    assert math.isnan(s.bias_pct_mso.value)
    assert math.isnan(s.rmse_pct_mso.value)
    assert math.isnan(s.pulses_used.mcse)


def test_summary_refuses_unknown_key_and_no_records() -> None:
    with pytest.raises(ValueError, match="keys"):
        summarise_threshold_records([_rec(50.0, 50.0, 1, True)], ["b"])
    with pytest.raises(ValueError, match="records"):
        summarise_threshold_records([], ["a"])


def test_records_are_plptms_motors_subjects_and_hunts() -> None:
    """Task i draws the subject from SeedSequence(seed).spawn(n)[i] (the seam)."""
    seed, n = 11, 3
    bench = threshold_method_benchmark(n, [FAST], seed=seed, backend="serial")
    for i, child in enumerate(np.random.SeedSequence(seed).spawn(n)):
        rng = np.random.default_rng(child)
        params = sample_subject_parameters(rng)
        start = float(
            min(100.0, round(params.threshold_pct_mso * rng.uniform(1.1, 1.3)))
        )
        noise = int(rng.integers(0, 2**63))
        res = hunt_ml_pest(
            SimulatedSubject(params, seed=noise),
            start_intensity_pct_mso=start,
            max_pulses=5,
            min_pulses=5,
        )
        rec = bench.records[i]
        assert rec["true_threshold_pct_mso"] == params.threshold_pct_mso
        assert rec["start_pct_mso"] == start
        assert rec["mlp.estimate_pct_mso"] == res.estimate_pct_mso
        assert rec["mlp.pulses_used"] == res.pulses_used == 5


def test_a_methods_results_do_not_depend_on_the_others() -> None:
    alone = threshold_method_benchmark(3, [FAST], seed=5, backend="serial")
    both = threshold_method_benchmark(3, [FAST_RF, FAST], seed=5, backend="serial")
    cols = [k for k in alone.records[0] if k.startswith("mlp.")]
    for a, b in zip(alone.records, both.records, strict=True):
        assert {k: a[k] for k in cols} == {k: b[k] for k in cols}
    assert [s.key for s in both.summaries] == ["rf", "mlp"]


def test_population_settings_reach_plptms_motor() -> None:
    bench = threshold_method_benchmark(
        3, [FAST], seed=1, backend="serial", rmt_mean_pct_mso=60.0, rmt_sd_pct_mso=0.0
    )
    assert [r["true_threshold_pct_mso"] for r in bench.records] == [60.0] * 3


def test_serial_and_processes_identical_and_checkpoint_round_trip(
    tmp_path: Path,
) -> None:
    serial = threshold_method_benchmark(4, [FAST], seed=3, backend="serial")
    pooled = threshold_method_benchmark(
        4,
        [FAST],
        seed=3,
        backend="processes",
        n_workers=2,
        batch_size=2,
        checkpoint=tmp_path,
    )
    assert pooled.records == serial.records  # bit-identical
    assert pooled.summaries == serial.summaries
    import pyarrow.parquet as pq

    files = sorted(tmp_path.glob("batch-*.parquet"))
    assert len(files) == 2
    table = [row for f in files for row in pq.read_table(f).to_pylist()]
    assert table == serial.records
    resumed = threshold_method_benchmark(
        4, [FAST], seed=3, backend="serial", checkpoint=tmp_path
    )
    assert resumed.records == serial.records


def test_other_seed_other_subjects() -> None:
    a = threshold_method_benchmark(2, [FAST], seed=1, backend="serial")
    b = threshold_method_benchmark(2, [FAST], seed=2, backend="serial")
    assert (
        a.records[0]["true_threshold_pct_mso"] != b.records[0]["true_threshold_pct_mso"]
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": "ml pest", "method": "ml_pest"}, "key"),
        (
            {"key": "m", "method": "ml_pest", "options": {"step_pct_mso": 2.0}},
            "options",
        ),
        ({"key": "m", "method": "mlpest"}, "method"),
        ({"key": "m", "method": "ml_pest", "options": {"max_pulses": 0}}, "max_pulses"),
    ],
)
def test_hunt_spec_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        HuntSpec(**kwargs)  # type: ignore[arg-type]


def test_benchmark_validation() -> None:
    with pytest.raises(ValueError, match="methods"):
        ThresholdBenchmarkConfig(methods=(FAST, FAST))
    with pytest.raises(ValueError, match="methods"):
        threshold_method_benchmark(2, ["mlpest"], seed=1, backend="serial")
    with pytest.raises(ValueError, match="n_subjects"):
        threshold_method_benchmark(0, seed=1, backend="serial")
    with pytest.raises(TypeError, match="n_subjects"):
        threshold_method_benchmark(2.0, seed=1, backend="serial")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rmt_mean_pct_mso"):
        threshold_method_benchmark(2, seed=1, backend="serial", rmt_mean_pct_mso=95.0)
    with pytest.raises(TypeError, match=r"methods\[0\]"):
        threshold_method_benchmark(2, [3], seed=1, backend="serial")  # type: ignore[list-item]
