"""Offline ground truth on signals with a known phase."""

from __future__ import annotations

import math

import numpy as np
import pytest

from plptms.closedloop import offline_phase, wrap_phase

FS = 1000.0


def test_sinusoid_phase_recovered() -> None:
    t = np.arange(20_000) / FS
    phase = 2 * math.pi * 10.0 * t + 0.7
    truth = offline_phase(np.cos(phase), FS, 10.0)
    core = slice(2000, -2000)
    err = wrap_phase(truth.phase_rad[core] - phase[core])
    assert np.max(np.abs(err)) < math.radians(1.0)
    assert np.max(truth.spread_rad[core]) < math.radians(1.0)
    assert np.median(truth.amplitude[core]) == pytest.approx(1.0, rel=0.05)


def test_too_short_and_bad_shape() -> None:
    with pytest.raises(ValueError, match="'signal'"):
        offline_phase(np.ones(100), FS, 10.0)
    with pytest.raises(ValueError, match="'signal'"):
        offline_phase(np.ones((100, 2)), FS, 10.0)
    with pytest.raises(ValueError, match="half_width_hz"):
        offline_phase(np.ones(5000), FS, 10.0, half_width_hz=10.0)
