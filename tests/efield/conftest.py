"""Fixtures for the E-field tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plptms.efield import Coil, SphereHead, standard_coil

DATA = Path(__file__).parents[1] / "data"


def random_setup(
    seed: int, n_dip: int = 6, n_pts: int = 8, r_dip: tuple[float, float] = (0.09, 0.12)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random dipoles outside and points inside an 85 mm sphere."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_dip, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    pos = u * rng.uniform(*r_dip, size=(n_dip, 1))
    mom = rng.normal(size=(n_dip, 3)) * 1e-4
    v = rng.normal(size=(n_pts, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    pts = v * rng.uniform(0.0, 0.08, size=(n_pts, 1))
    return pos, mom, pts


@pytest.fixture(scope="session")
def fig8() -> Coil:
    return standard_coil("magstim_70mm_fig8")


@pytest.fixture(scope="session")
def head() -> SphereHead:
    return SphereHead()


@pytest.fixture(scope="session")
def coil_models() -> dict:  # type: ignore[type-arg]
    return json.loads((DATA / "efield_coil_models.json").read_text())
