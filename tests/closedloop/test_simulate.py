"""Simulated EEG: reproducible, in range, with a generator phase that matches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plptms.closedloop import (
    HjorthFilter,
    circular_sd,
    offline_phase,
    simulate_mu_eeg,
    wrap_phase,
)


def test_reproducible_and_restores_global_state() -> None:
    state = np.random.get_state()[1].copy()  # noqa: NPY002
    a = simulate_mu_eeg(6.0, seed=3)
    b = simulate_mu_eeg(6.0, seed=3)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    assert a.data.shape == (6000, 11)
    assert a.ch_names[0] == "C3"
    assert a.channel("Cz").shape == (6000,)
    with pytest.raises(ValueError, match="'name'"):
        a.channel("O1")


def test_generator_phase_matches_signal_at_high_snr() -> None:
    eeg = simulate_mu_eeg(30.0, snr_db=25.0, seed=4)
    x = HjorthFilter(eeg.ch_names).apply(eeg.data)
    truth = offline_phase(x, eeg.sfreq_hz, eeg.peak_hz)
    on = eeg.mu_envelope > 0.5 * eeg.mu_envelope.max()
    on[:2000] = on[-2000:] = False
    err = wrap_phase(truth.phase_rad[on] - eeg.true_phase_rad[on])
    # the offline filter sees a drifting frequency: a few degrees of spread
    assert math.degrees(circular_sd(err)) < 20.0


def test_c4_source() -> None:
    eeg = simulate_mu_eeg(6.0, center="C4", seed=1)
    assert eeg.center == "C4"
    with pytest.raises(ValueError, match="'center'"):
        simulate_mu_eeg(6.0, center="Cz")


@settings(max_examples=20, deadline=None)
@given(
    st.one_of(
        st.floats(max_value=-20.01, min_value=-1e6),
        st.floats(min_value=30.01, max_value=1e6),
    )
)
def test_snr_out_of_range(snr: float) -> None:
    with pytest.raises(ValueError, match="snr_db"):
        simulate_mu_eeg(6.0, snr_db=snr)


@settings(max_examples=20, deadline=None)
@given(
    st.one_of(
        st.floats(max_value=7.99, min_value=-1e3),
        st.floats(min_value=13.01, max_value=1e3),
    )
)
def test_peak_out_of_range(f: float) -> None:
    with pytest.raises(ValueError, match="peak_hz"):
        simulate_mu_eeg(6.0, peak_hz=f)
