"""Closed loop: EEG phase-triggered stimulation (signal processing and measurement).

Synthetic EEG with a known mu phase and shipped real recordings, the Hjorth
spatial filter, the individual mu peak, two real-time phase estimators
(autoregressive forward prediction and educated temporal prediction), the trigger
decision with its signal-quality guard and safety gate, EEG sources (LSL through
mne-lsl, or a recording in virtual time), the session that wires them to a
stimulator with every pulse logged, session biomarkers, and the offline ground
truth and accuracy measures.

Importing this package loads neither SciPy, MNE, neurodsp nor pylsl: they are
imported by the functions that need them.
"""

from ._biomarkers import SessionBiomarkers, band_power, session_biomarkers
from ._circular import (
    PhaseAccuracy,
    circular_mean,
    circular_sd,
    phase_accuracy,
    wrap_phase,
)
from ._datasets import RECORDINGS, read_recording, recording_path
from ._errors import (
    PulseRefusedError,
    SignalQualityError,
    StreamLostError,
    StreamMismatchError,
)
from ._estimators import (
    ARPhaseEstimator,
    ETPModel,
    ETPPhaseEstimator,
    PhaseEstimate,
    PhaseEstimator,
    fit_etp,
)
from ._evaluate import ReplayResult, polar_histogram, replay
from ._gate import GateVerdict, SafetyGate
from ._offline import OfflinePhase, offline_phase
from ._scoring import (
    PhaseErrorCI,
    paired_sd_difference,
    phase_error_ci,
    score_evenly,
)
from ._session import ClosedLoopOutcome, ClosedLoopProgress, ClosedLoopSession
from ._simulate import (
    PHASE_CASES,
    PhaseCase,
    SimulatedEEG,
    simulate_mu_eeg,
    simulate_phase_case,
)
from ._source import (
    ArraySource,
    EEGSource,
    LSLSource,
    play_recording,
    recording_source,
)
from ._spatial import HjorthFilter, default_neighbours
from ._spectral import MuPeak, bandpass_fir, individual_peak_frequency
from ._sspe import SSPEModel, SSPEPhaseEstimator, fit_sspe, sspe_filter
from ._trigger import (
    Calibration,
    PhaseTrigger,
    StreamSpec,
    TriggerDecision,
    TriggerPolicy,
    TriggerStatus,
    calibrate,
    make_estimator,
)

__all__ = [
    "PHASE_CASES",
    "RECORDINGS",
    "ARPhaseEstimator",
    "ArraySource",
    "Calibration",
    "ClosedLoopOutcome",
    "ClosedLoopProgress",
    "ClosedLoopSession",
    "EEGSource",
    "ETPModel",
    "ETPPhaseEstimator",
    "GateVerdict",
    "HjorthFilter",
    "LSLSource",
    "MuPeak",
    "OfflinePhase",
    "PhaseAccuracy",
    "PhaseCase",
    "PhaseErrorCI",
    "PhaseEstimate",
    "PhaseEstimator",
    "PhaseTrigger",
    "PulseRefusedError",
    "ReplayResult",
    "SSPEModel",
    "SSPEPhaseEstimator",
    "SafetyGate",
    "SessionBiomarkers",
    "SignalQualityError",
    "SimulatedEEG",
    "StreamLostError",
    "StreamMismatchError",
    "StreamSpec",
    "TriggerDecision",
    "TriggerPolicy",
    "TriggerStatus",
    "band_power",
    "bandpass_fir",
    "calibrate",
    "circular_mean",
    "circular_sd",
    "default_neighbours",
    "fit_etp",
    "fit_sspe",
    "individual_peak_frequency",
    "make_estimator",
    "offline_phase",
    "paired_sd_difference",
    "phase_accuracy",
    "phase_error_ci",
    "play_recording",
    "polar_histogram",
    "read_recording",
    "recording_path",
    "recording_source",
    "replay",
    "score_evenly",
    "session_biomarkers",
    "simulate_mu_eeg",
    "simulate_phase_case",
    "sspe_filter",
    "wrap_phase",
]
