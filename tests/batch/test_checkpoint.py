"""Checkpoints: resume after a failure or a kill, refusal of another run's files.

Calls are counted through files the task function writes (one per call), so the
oracle for "only the missing batches ran" is the hand-computed set of indices.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from plptms.batch._checkpoint import CheckpointMismatchError, is_records
from plptms.batch._run import run_tasks

from ._funcs import FAIL_AT, calls, counted, draw, identity

N = 10
SEED = 99
BATCH = 2  # batches [0,2) [2,4) [4,6) [6,8) [8,10); FAIL_AT = 5 is in batch 2


def _params(root: Path) -> list[tuple[str, int]]:
    return [(str(root), i) for i in range(N)]


def _expected_u(seed: int, n: int) -> list[float]:
    return [
        float(np.random.default_rng(c).random())
        for c in np.random.SeedSequence(seed).spawn(n)
    ]


def _batch_files(ckpt: Path) -> list[str]:
    return sorted(p.name for p in ckpt.glob("batch-*"))


def _check_full(results: list[dict]) -> None:
    assert [r["i"] for r in results] == list(range(N))
    assert [r["u"] for r in results] == _expected_u(SEED, N)  # exact: same streams
    assert all(type(r["u"]) is float and type(r["even"]) is bool for r in results)


def test_resume_after_task_failure_runs_only_missing_batches(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    (tmp_path / "fail").touch()
    with pytest.raises(RuntimeError, match="simulated failure at 5"):
        run_tasks(
            counted,
            _params(tmp_path),
            seed=SEED,
            backend="serial",
            batch_size=BATCH,
            checkpoint=ckpt,
        )
    assert calls(tmp_path) == [0, 1, 2, 3, 4, 5]
    assert _batch_files(ckpt) == ["batch-000000.parquet", "batch-000001.parquet"]

    (tmp_path / "fail").unlink()
    shutil.rmtree(tmp_path / "calls")
    results = run_tasks(
        counted, _params(tmp_path), seed=SEED, backend="serial", checkpoint=ckpt
    )  # batch size read from the checkpoint
    assert calls(tmp_path) == [4, 5, 6, 7, 8, 9]  # batch 2 reruns whole, 0-1 loaded
    _check_full(results)
    assert len(_batch_files(ckpt)) == 5

    shutil.rmtree(tmp_path / "calls")
    again = run_tasks(
        counted, _params(tmp_path), seed=SEED, backend="processes", checkpoint=ckpt
    )
    assert calls(tmp_path) == []  # everything loaded, nothing ran
    assert again == results


def test_resume_after_killed_client(tmp_path: Path) -> None:
    """The client process dies (os._exit) in batch 2: batches 0 and 1 survive."""
    ckpt = tmp_path / "ckpt"
    (tmp_path / "kill").touch()
    code = textwrap.dedent(
        f"""
        from plptms.batch._run import run_tasks
        from tests.batch._funcs import counted
        params = [({str(tmp_path)!r}, i) for i in range({N})]
        run_tasks(counted, params, seed={SEED}, backend="serial", batch_size={BATCH},
                  checkpoint={str(ckpt)!r})
        """
    )
    root = Path(__file__).parents[2]
    env = {"PYTHONPATH": f"{root / 'src'}:{root}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert calls(tmp_path) == [0, 1, 2, 3, 4, 5]
    assert _batch_files(ckpt) == ["batch-000000.parquet", "batch-000001.parquet"]

    (tmp_path / "kill").unlink()
    shutil.rmtree(tmp_path / "calls")
    results = run_tasks(
        counted,
        _params(tmp_path),
        seed=SEED,
        backend="processes",
        n_workers=2,
        checkpoint=ckpt,
    )
    assert calls(tmp_path) == [4, 5, 6, 7, 8, 9]
    _check_full(results)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": SEED + 1},
        {"seed": np.random.SeedSequence(SEED).spawn(1)[0]},
        {"params": list(range(1, N + 1))},
        {"func": identity},
    ],
)
def test_other_run_refused(tmp_path: Path, change: dict) -> None:
    ckpt = tmp_path / "ckpt"
    base = {"func": draw, "params": list(range(N)), "seed": SEED}
    run_tasks(
        base["func"],
        base["params"],
        seed=SEED,
        backend="serial",
        batch_size=BATCH,
        checkpoint=ckpt,
    )
    before = {p.name: p.read_bytes() for p in ckpt.iterdir()}
    args = {**base, **change}
    with pytest.raises(CheckpointMismatchError, match=r"'checkpoint'.*another run"):
        run_tasks(
            args["func"],
            args["params"],
            seed=args["seed"],
            backend="serial",
            checkpoint=ckpt,
        )
    assert {p.name: p.read_bytes() for p in ckpt.iterdir()} == before  # untouched


def test_same_seed_as_int_or_sequence_is_the_same_run(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    first = run_tasks(
        draw, list(range(N)), seed=SEED, backend="serial", checkpoint=ckpt
    )
    again = run_tasks(
        draw,
        list(range(N)),
        seed=np.random.SeedSequence(SEED),
        backend="serial",
        checkpoint=ckpt,
    )
    assert [a.tobytes() for a in again] == [f.tobytes() for f in first]


def test_batch_size_mismatch_and_bad_directories(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    run_tasks(
        draw,
        list(range(N)),
        seed=SEED,
        backend="serial",
        batch_size=BATCH,
        checkpoint=ckpt,
    )
    assert json.loads((ckpt / "manifest.json").read_text())["batch_size"] == BATCH
    with pytest.raises(ValueError, match=r"'batch_size': got 3.*allowed: 2 or None"):
        run_tasks(draw, list(range(N)), seed=SEED, batch_size=3, checkpoint=ckpt)
    # another time estimate does not matter on resume: the checkpoint's size is kept
    run_tasks(
        draw,
        list(range(N)),
        seed=SEED,
        backend="serial",
        task_time_s=0.01,
        checkpoint=ckpt,
    )

    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"'checkpoint'.*non-empty directory"):
        run_tasks(draw, [1], seed=0, checkpoint=other)
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]
    with pytest.raises(ValueError, match=r"'checkpoint'.*a file"):
        run_tasks(draw, [1], seed=0, checkpoint=other / "notes.txt")


def test_non_tabular_results_pickled_and_exact(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    first = run_tasks(
        draw, list(range(N)), seed=SEED, backend="serial", batch_size=4, checkpoint=ckpt
    )
    assert _batch_files(ckpt) == [f"batch-00000{i}.pkl" for i in range(3)]
    again = run_tasks(
        draw, list(range(N)), seed=SEED, backend="serial", checkpoint=ckpt
    )
    assert all(type(a) is np.ndarray and a.dtype == np.float64 for a in again)
    assert [a.tobytes() for a in again] == [f.tobytes() for f in first]


def _records(param: int, rng: np.random.Generator) -> dict:
    return {
        "n": param - 2**40,
        "x": -0.0 if param == 0 else 1 / 3 + param,
        "ok": param % 2 == 0,
        "s": f"é{param}",
        "maybe": None if param % 3 else param,
    }


def test_flat_records_round_trip_parquet_exactly(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    params = list(range(7))
    first = run_tasks(_records, params, seed=0, batch_size=7, checkpoint=ckpt)
    assert _batch_files(ckpt) == ["batch-000000.parquet"]
    again = run_tasks(_records, params, seed=0, backend="serial", checkpoint=ckpt)
    assert again == first
    assert [[type(v) for v in r.values()] for r in again] == [
        [type(v) for v in r.values()] for r in first
    ]
    assert np.signbit(again[0]["x"])  # -0.0 kept


@pytest.mark.parametrize(
    ("results", "ok"),
    [
        ([{"a": 1, "b": "x"}, {"a": None, "b": "y"}], True),
        (
            [{"a": 1}, {"a": 2.0}],
            False,
        ),  # int then float: Parquet would make both float
        ([{"a": True}, {"a": 1}], False),  # bool and int
        ([{"a": np.float64(1.0)}], False),  # numpy scalar: its type would be lost
        ([{"a": 1, "b": 2}, {"b": 2, "a": 1}], False),  # key order differs
        ([{"a": 2**63}], False),  # beyond int64
        ([{"a": [1, 2]}], False),  # nested
        ([{}], False),
        ([], False),
        ([1.0, 2.0], False),
    ],
)
def test_is_records_hand_cases(results: list, ok: bool) -> None:
    assert is_records(results) is ok


def test_resume_after_failure_on_process_pool(tmp_path: Path) -> None:
    """Two workers: whatever finished before the failure is kept, the rest reruns."""
    ckpt = tmp_path / "ckpt"
    (tmp_path / "fail").touch()
    with pytest.raises(RuntimeError, match="simulated failure at 5") as info:
        run_tasks(
            counted,
            _params(tmp_path),
            seed=SEED,
            backend="processes",
            n_workers=2,
            batch_size=BATCH,
            checkpoint=ckpt,
        )
    assert "Worker traceback" in "\n".join(info.value.__notes__)
    kept = {int(name[6:12]) for name in _batch_files(ckpt)}
    assert FAIL_AT // BATCH not in kept
    missing = [i for i in range(N) if i // BATCH not in kept]

    (tmp_path / "fail").unlink()
    shutil.rmtree(tmp_path / "calls")
    results = run_tasks(
        counted,
        _params(tmp_path),
        seed=SEED,
        backend="processes",
        n_workers=2,
        checkpoint=ckpt,
    )
    assert calls(tmp_path) == missing
    _check_full(results)
