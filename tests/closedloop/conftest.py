"""Fixtures: simulated recordings shared by the closed-loop tests."""

from __future__ import annotations

import pytest

from plptms.closedloop import HjorthFilter, SimulatedEEG, simulate_mu_eeg
from plptms.protocol import StimulationDose

SFREQ_HZ = 1000.0
BASELINE_S = 60.0


@pytest.fixture(scope="session")
def eeg_high() -> SimulatedEEG:
    """150 s at a mu-band SNR of 10 dB (a clear mu rhythm)."""
    return simulate_mu_eeg(150.0, SFREQ_HZ, snr_db=10.0, seed=11)


@pytest.fixture(scope="session")
def eeg_low() -> SimulatedEEG:
    """150 s at -5 dB (a weak mu rhythm)."""
    return simulate_mu_eeg(150.0, SFREQ_HZ, snr_db=-5.0, seed=12)


@pytest.fixture(scope="session")
def hjorth_high(eeg_high: SimulatedEEG) -> HjorthFilter:
    return HjorthFilter(eeg_high.ch_names, "C3")


def single_pulse_dose(**update: object) -> StimulationDose:
    base: dict[str, object] = {
        "pattern": "single_pulse",
        "target": "m1_hand",
        "laterality": "left",
        "frequency_hz": 0.9,
        "intensity_pct_rmt": 110.0,
        "pulses_per_train": 1,
        "trains_per_session": 1000,
        "inter_train_interval_s": None,
    }
    base.update(update)
    return StimulationDose.model_validate(base)
