"""Polar histogram figure and import hygiene."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from plptms.closedloop import polar_histogram


def test_polar_histogram_panels(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    fig = polar_histogram(
        {
            "SNR 0 dB": rng.vonmises(math.pi, 1.0, 50),
            "SNR 10 dB": rng.vonmises(math.pi, 8.0, 50),
        },
        math.pi,
        title="test",
    )
    assert len(fig.axes) == 2
    fig.savefig(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_polar_histogram_refuses_empty() -> None:
    with pytest.raises(ValueError, match="phases_rad"):
        polar_histogram({}, math.pi)
    with pytest.raises(ValueError, match="n_bins"):
        polar_histogram({"a": [0.0]}, math.pi, n_bins=2)


def test_import_is_light() -> None:
    code = (
        "import sys, plptms.closedloop; "
        "print(' '.join(m for m in ('scipy', 'mne', 'neurodsp', 'pylsl', 'mne_lsl', "
        "'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
