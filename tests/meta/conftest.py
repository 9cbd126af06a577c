"""Fixtures for plptms.meta: metafor reference values pinned in tests/data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

DATA = Path(__file__).parents[1] / "data"

#: Agreement with metafor's full-precision output (closed-form quantities, and
#: iterative ones computed by metafor with tight convergence settings).
RTOL = 1e-7
#: Agreement with values that metafor's test suite prints to 4 decimals: half a unit
#: in the last printed place.
ATOL_4DP = 5e-5


def _load(name: str) -> dict[str, Any]:
    with (DATA / name).open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture(scope="session")
def bcg_ref() -> dict[str, Any]:
    """metafor 3.8-1 results on dat.bcg (tests/data/meta_metafor_reference.R)."""
    return _load("meta_metafor_bcg.json")


@pytest.fixture(scope="session")
def suite_ref() -> dict[str, Any]:
    """Values printed in metafor's own test suite (file and line in the JSON)."""
    return _load("meta_metafor_testsuite.json")


@pytest.fixture(scope="session")
def bcg(bcg_ref: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Log risk ratios and sampling variances of dat.bcg."""
    d = bcg_ref["data"]
    return np.array(d["yi"]), np.array(d["vi"])


def assert_close(
    actual: Any, expected: Any, rtol: float = RTOL, atol: float = 0.0
) -> None:
    """Compare numbers or sequences, reporting both on failure."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected, dtype=float),
        rtol=rtol,
        atol=atol,
    )
