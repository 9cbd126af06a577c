"""Hjorth filter: weights, channel resolution and clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from plptms.closedloop import HjorthFilter, StreamMismatchError, default_neighbours

NAMES = ["Fz", "C3", "FC3", "CP3", "C1", "C5", "C4"]


def test_weights_and_output() -> None:
    h = HjorthFilter(NAMES, "C3")
    assert h.neighbours == ("FC3", "CP3", "C1", "C5")
    data = np.zeros((3, len(NAMES)))
    data[:, 1] = 10.0  # C3
    data[:, 2:6] = 4.0  # neighbours
    np.testing.assert_allclose(h.apply(data), 6.0)
    # a signal common to all channels cancels
    np.testing.assert_allclose(h.apply(np.ones((2, len(NAMES)))), 0.0, atol=1e-12)


def test_case_insensitive_and_fallback_set() -> None:
    names = ["c3", "fc1", "fc5", "cp1", "cp5"]
    h = HjorthFilter(names, "C3")
    assert h.neighbours == ("fc1", "fc5", "cp1", "cp5")


def test_missing_channels_are_named() -> None:
    with pytest.raises(StreamMismatchError, match="missing: CP3, C5") as exc:
        HjorthFilter(["C3", "FC3", "C1"], "C3")
    assert "FC1" in str(exc.value)  # the alternative set is listed too


def test_unknown_center_needs_neighbours() -> None:
    with pytest.raises(ValueError, match="'center'"):
        default_neighbours("Pz")
    h = HjorthFilter(["Pz", "P1", "P2"], "Pz", neighbours=["P1", "P2"])
    assert h.required_channels == ("Pz", "P1", "P2")


def test_duplicate_neighbour_refused() -> None:
    with pytest.raises(ValueError, match="neighbours"):
        HjorthFilter(["C3", "C1"], "C3", neighbours=["C1", "c1"])


def test_wrong_data_shape() -> None:
    h = HjorthFilter(NAMES, "C3")
    with pytest.raises(StreamMismatchError, match="'data'"):
        h.apply(np.zeros((5, 3)))


def test_removes_common_alpha_keeps_mu(eeg_high, hjorth_high) -> None:  # type: ignore[no-untyped-def]
    """On the simulation the raw C3 peak is the shared posterior alpha (10.7 Hz);
    the Hjorth signal peaks at the mu frequency (10 Hz)."""
    from plptms.closedloop import individual_peak_frequency

    x = hjorth_high.apply(eeg_high.data)
    peak = individual_peak_frequency(x, eeg_high.sfreq_hz)
    assert abs(peak.peak_hz - eeg_high.peak_hz) <= 0.5
