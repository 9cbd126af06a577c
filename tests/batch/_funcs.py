"""Top-level task functions for the batch tests (importable by spawned workers)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

#: Index of the task that fails or kills its process while the marker file exists.
FAIL_AT = 5


def draw(param: int, rng: np.random.Generator) -> np.ndarray:
    """Three normal draws and one integer draw, shifted by the param."""
    return np.concatenate([rng.standard_normal(3), rng.integers(0, 2**31, 1)]) + param


def identity(param: Any, rng: np.random.Generator) -> Any:
    return param


def fail_at_five(param: int, rng: np.random.Generator) -> int:
    if param == FAIL_AT:
        raise ValueError(f"boom at {param}")
    return param


def counted(param: tuple[str, int], rng: np.random.Generator) -> dict[str, Any]:
    """Record the call as a file; raise (marker 'fail') or die (marker 'kill')."""
    root, index = Path(param[0]), param[1]
    (root / "calls").mkdir(exist_ok=True)
    (root / "calls" / f"{index}-{uuid.uuid4().hex}").touch()
    if index == FAIL_AT and (root / "fail").exists():
        raise RuntimeError(f"simulated failure at {index}")
    if index == FAIL_AT and (root / "kill").exists():
        os._exit(3)  # a kill: no cleanup, no exception handling
    return {"i": index, "u": float(rng.random()), "even": index % 2 == 0, "tag": "x"}


def held(param: tuple[str, int], rng: np.random.Generator) -> dict[str, Any]:
    """As :func:`counted`, but task FAIL_AT waits while the marker 'hold' exists.

    The call file holds the pid of the process running the task (a Dask worker's,
    for the kill tests). The wait ends after 60 s at most, so a test cannot hang.
    """
    root, index = Path(param[0]), param[1]
    (root / "calls").mkdir(exist_ok=True)
    (root / "calls" / f"{index}-{uuid.uuid4().hex}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 60.0
    while index == FAIL_AT and (root / "hold").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return {"i": index, "u": float(rng.random()), "even": index % 2 == 0, "tag": "x"}


def calls(root: Path) -> list[int]:
    """Indices called so far (one entry per call), sorted."""
    folder = root / "calls"
    if not folder.exists():
        return []
    return sorted(int(p.name.split("-")[0]) for p in folder.iterdir())
